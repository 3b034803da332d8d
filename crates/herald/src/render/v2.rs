//! The Statuspage public API v2 under `/api/v2/`: the same objects, key order, enums, `null`s and
//! timestamp format as Statuspage, so existing clients and widgets keep working unchanged.
//!
//! Lists follow the document's order (incidents newest first, maintenances latest
//! `scheduled_for` first) and hold at most [`MAX_ITEMS`] incidents or maintenances.

use super::{RenderContext, Rendered, JSON};
use chrono::{DateTime, NaiveDate, Utc};
use herald_core::timefmt::api;
use herald_core::{
    Component, ComponentGroup, ComponentStatus, Id, Impact, Incident, IncidentStatus, Indicator,
    Maintenance, MaintenanceStatus, Update,
};
use serde::Serialize;

/// The most incidents or maintenances any list endpoint returns.
pub const MAX_ITEMS: usize = 50;

/// The `page` object that opens every response.
#[derive(Serialize)]
struct PageObject<'a> {
    id: &'a Id,
    name: &'a str,
    url: &'a str,
    time_zone: &'a str,
    updated_at: String,
}

/// `status`: the indicator and its sentence.
#[derive(Serialize)]
struct StatusObject {
    indicator: Indicator,
    description: &'static str,
}

/// A component row; a group is listed as a row too, with its children's ids.
#[derive(Serialize)]
struct ComponentObject<'a> {
    id: &'a Id,
    name: &'a str,
    status: ComponentStatus,
    created_at: String,
    updated_at: String,
    position: i32,
    description: Option<&'a str>,
    showcase: bool,
    start_date: Option<NaiveDate>,
    group_id: Option<&'a Id>,
    page_id: &'a Id,
    group: bool,
    only_show_if_degraded: bool,
    /// Present on group rows only.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<&'a Id>>,
}

/// One entry of an update's `affected_components`.
#[derive(Serialize)]
struct AffectedObject<'a> {
    code: &'a Id,
    name: String,
    old_status: ComponentStatus,
    new_status: ComponentStatus,
}

/// One entry of `incident_updates`; `S` is the incident or maintenance status.
#[derive(Serialize)]
struct UpdateObject<'a, S> {
    id: &'a Id,
    status: S,
    body: &'a str,
    incident_id: &'a Id,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Vec<AffectedObject<'a>>,
    deliver_notifications: bool,
    custom_tweet: Option<&'a str>,
    tweet_id: Option<&'a str>,
}

/// The maintenance window, appended to the incident shape for maintenances.
#[derive(Serialize)]
struct Window {
    scheduled_for: String,
    scheduled_until: String,
}

/// An incident, or (with `window`) a scheduled maintenance.
#[derive(Serialize)]
struct IncidentObject<'a, S> {
    id: &'a Id,
    name: &'a str,
    status: S,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: Impact,
    shortlink: String,
    started_at: String,
    page_id: &'a Id,
    incident_updates: Vec<UpdateObject<'a, S>>,
    components: Vec<ComponentObject<'a>>,
    #[serde(flatten)]
    window: Option<Window>,
}

type IncidentJson<'a> = IncidentObject<'a, IncidentStatus>;
type MaintenanceJson<'a> = IncidentObject<'a, MaintenanceStatus>;

#[derive(Serialize)]
struct StatusBody<'a> {
    page: &'a PageObject<'a>,
    status: StatusObject,
}

#[derive(Serialize)]
struct ComponentsBody<'a> {
    page: &'a PageObject<'a>,
    components: &'a [ComponentObject<'a>],
}

#[derive(Serialize)]
struct IncidentsBody<'a> {
    page: &'a PageObject<'a>,
    incidents: &'a [IncidentJson<'a>],
}

#[derive(Serialize)]
struct MaintenancesBody<'a> {
    page: &'a PageObject<'a>,
    scheduled_maintenances: &'a [MaintenanceJson<'a>],
}

#[derive(Serialize)]
struct SummaryBody<'a> {
    page: &'a PageObject<'a>,
    components: &'a [ComponentObject<'a>],
    incidents: &'a [IncidentJson<'a>],
    scheduled_maintenances: &'a [MaintenanceJson<'a>],
    status: StatusObject,
}

/// Renders every v2 endpoint.
pub fn render(ctx: &RenderContext) -> Vec<Rendered> {
    let doc = ctx.doc;
    let page = PageObject {
        id: &doc.page.id,
        name: &doc.page.name,
        url: ctx.base_url(),
        time_zone: &doc.page.time_zone,
        updated_at: api(doc.updated_at().unwrap_or(ctx.now)),
    };
    let status = || {
        let s = doc.status();
        StatusObject {
            indicator: s.indicator,
            description: s.description,
        }
    };
    let components = component_rows(ctx);

    let incidents: Vec<IncidentJson> = doc
        .incidents
        .iter()
        .take(MAX_ITEMS)
        .map(|i| incident(ctx, i))
        .collect();
    let unresolved: Vec<IncidentJson> = doc
        .unresolved_incidents()
        .take(MAX_ITEMS)
        .map(|i| incident(ctx, i))
        .collect();
    let maintenances_where = |keep: fn(MaintenanceStatus) -> bool| -> Vec<MaintenanceJson> {
        doc.maintenances
            .iter()
            .filter(|m| keep(m.status))
            .take(MAX_ITEMS)
            .map(|m| maintenance(ctx, m))
            .collect()
    };
    let all_maintenances = maintenances_where(|_| true);
    let upcoming = maintenances_where(|s| s == MaintenanceStatus::Scheduled);
    let active = maintenances_where(MaintenanceStatus::is_active);
    let not_finished = maintenances_where(|s| s == MaintenanceStatus::Scheduled || s.is_active());

    let maintenances_body = |list: &[MaintenanceJson]| {
        json(&MaintenancesBody {
            page: &page,
            scheduled_maintenances: list,
        })
    };
    vec![
        Rendered::new(
            "/api/v2/summary.json",
            JSON,
            json(&SummaryBody {
                page: &page,
                components: &components,
                incidents: &unresolved,
                scheduled_maintenances: &not_finished,
                status: status(),
            }),
        ),
        Rendered::new(
            "/api/v2/status.json",
            JSON,
            json(&StatusBody {
                page: &page,
                status: status(),
            }),
        ),
        Rendered::new(
            "/api/v2/components.json",
            JSON,
            json(&ComponentsBody {
                page: &page,
                components: &components,
            }),
        ),
        Rendered::new(
            "/api/v2/incidents.json",
            JSON,
            json(&IncidentsBody {
                page: &page,
                incidents: &incidents,
            }),
        ),
        Rendered::new(
            "/api/v2/incidents/unresolved.json",
            JSON,
            json(&IncidentsBody {
                page: &page,
                incidents: &unresolved,
            }),
        ),
        Rendered::new(
            "/api/v2/scheduled-maintenances.json",
            JSON,
            maintenances_body(&all_maintenances),
        ),
        Rendered::new(
            "/api/v2/scheduled-maintenances/upcoming.json",
            JSON,
            maintenances_body(&upcoming),
        ),
        Rendered::new(
            "/api/v2/scheduled-maintenances/active.json",
            JSON,
            maintenances_body(&active),
        ),
    ]
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Only plain structs, strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).expect("v2 objects always serialise")
}

/// The group a component sits in, if that group exists (children of a missing group are shown
/// at the top level rather than lost).
fn group_of<'a>(ctx: &RenderContext<'a>, c: &Component) -> Option<&'a ComponentGroup> {
    let id = c.group_id.as_ref()?;
    ctx.doc.groups.iter().find(|g| &g.id == id)
}

/// Every row of `components`: top-level rows (groups and ungrouped components) by position,
/// each group followed by its children by their position within it.
fn component_rows<'a>(ctx: &RenderContext<'a>) -> Vec<ComponentObject<'a>> {
    enum Row<'a> {
        Single(&'a Component),
        Group(&'a ComponentGroup),
    }
    let doc = ctx.doc;
    let mut top: Vec<(i32, u8, &Id, Row)> = doc
        .components
        .iter()
        .filter(|c| group_of(ctx, c).is_none())
        .map(|c| (c.position, 0, &c.id, Row::Single(c)))
        .chain(
            doc.groups
                .iter()
                .map(|g| (g.position, 1, &g.id, Row::Group(g))),
        )
        .collect();
    top.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));

    let mut rows = Vec::with_capacity(doc.components.len() + doc.groups.len());
    for (_, _, _, row) in top {
        match row {
            Row::Single(c) => rows.push(component(ctx, c)),
            Row::Group(g) => {
                let mut children: Vec<&Component> = doc
                    .components
                    .iter()
                    .filter(|c| c.group_id.as_ref() == Some(&g.id))
                    .collect();
                children.sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
                rows.push(ComponentObject {
                    id: &g.id,
                    name: &g.name,
                    status: ComponentStatus::worst(children.iter().map(|c| c.status)),
                    created_at: api(g.created_at),
                    updated_at: api(g.updated_at),
                    position: g.position,
                    description: g.description.as_deref(),
                    showcase: false,
                    start_date: None,
                    group_id: None,
                    page_id: &doc.page.id,
                    group: true,
                    only_show_if_degraded: false,
                    components: Some(children.iter().map(|c| &c.id).collect()),
                });
                rows.extend(children.into_iter().map(|c| component(ctx, c)));
            }
        }
    }
    rows
}

/// A component's row as it is now.
fn component<'a>(ctx: &RenderContext<'a>, c: &'a Component) -> ComponentObject<'a> {
    ComponentObject {
        id: &c.id,
        name: &c.name,
        status: c.status,
        created_at: api(c.created_at),
        updated_at: api(c.updated_at),
        position: c.position,
        description: c.description.as_deref(),
        showcase: c.showcase,
        start_date: c.start_date,
        group_id: c.group_id.as_ref(),
        page_id: &ctx.doc.page.id,
        group: false,
        only_show_if_degraded: c.only_show_if_degraded,
        components: None,
    }
}

/// The current rows of the components an incident or maintenance names; unknown ids are
/// skipped, as there is no current state to show for them.
fn attached<'a>(ctx: &RenderContext<'a>, ids: &'a [Id]) -> Vec<ComponentObject<'a>> {
    ids.iter()
        .filter_map(|id| ctx.doc.component(id))
        .map(|c| component(ctx, c))
        .collect()
}

/// The name an affected component is shown with: "Group - Child" inside a group. A component
/// that no longer exists is named by its id.
fn affected_name(ctx: &RenderContext, id: &Id) -> String {
    match ctx.doc.component(id) {
        Some(c) => match group_of(ctx, c) {
            Some(g) => format!("{} - {}", g.name, c.name),
            None => c.name.clone(),
        },
        None => id.to_string(),
    }
}

fn updates<'a, S: Copy>(
    ctx: &RenderContext<'a>,
    owner: &'a Id,
    updates: &'a [Update<S>],
) -> Vec<UpdateObject<'a, S>> {
    updates
        .iter()
        .map(|u| UpdateObject {
            id: &u.id,
            status: u.status,
            body: &u.body,
            incident_id: owner,
            created_at: api(u.created_at),
            updated_at: api(u.updated_at),
            display_at: api(u.display_at),
            affected_components: u
                .affected_components
                .iter()
                .map(|a| AffectedObject {
                    code: &a.component_id,
                    name: affected_name(ctx, &a.component_id),
                    old_status: a.old_status,
                    new_status: a.new_status,
                })
                .collect(),
            deliver_notifications: u.deliver_notifications,
            custom_tweet: None,
            tweet_id: None,
        })
        .collect()
}

fn incident<'a>(ctx: &RenderContext<'a>, i: &'a Incident) -> IncidentJson<'a> {
    IncidentObject {
        id: &i.id,
        name: &i.name,
        status: i.status,
        created_at: api(i.created_at),
        updated_at: api(i.updated_at),
        monitoring_at: i.monitoring_at.map(api),
        resolved_at: i.resolved_at.map(api),
        impact: i.impact,
        shortlink: i
            .shortlink
            .clone()
            .unwrap_or_else(|| format!("{}/incidents/{}", ctx.base_url(), i.id)),
        started_at: api(i.started_at),
        page_id: &ctx.doc.page.id,
        incident_updates: updates(ctx, &i.id, &i.updates),
        components: attached(ctx, &i.component_ids),
        window: None,
    }
}

/// When a maintenance first reached `status`, by its updates.
fn first_reached(m: &Maintenance, status: MaintenanceStatus) -> Option<DateTime<Utc>> {
    m.updates
        .iter()
        .filter(|u| u.status == status)
        .map(|u| u.display_at)
        .min()
}

/// A maintenance in the incident shape: `monitoring_at` is when it started verifying,
/// `resolved_at` when it completed, `started_at` when it was created (as Statuspage does);
/// the shortlink is the maintenance's own page.
fn maintenance<'a>(ctx: &RenderContext<'a>, m: &'a Maintenance) -> MaintenanceJson<'a> {
    IncidentObject {
        id: &m.id,
        name: &m.name,
        status: m.status,
        created_at: api(m.created_at),
        updated_at: api(m.updated_at),
        monitoring_at: first_reached(m, MaintenanceStatus::Verifying).map(api),
        resolved_at: first_reached(m, MaintenanceStatus::Completed).map(api),
        impact: m.impact,
        shortlink: format!("{}/maintenance/{}", ctx.base_url(), m.id),
        started_at: api(m.created_at),
        page_id: &ctx.doc.page.id,
        incident_updates: updates(ctx, &m.id, &m.updates),
        components: attached(ctx, &m.component_ids),
        window: Some(Window {
            scheduled_for: api(m.scheduled_for),
            scheduled_until: api(m.scheduled_until),
        }),
    }
}

/// A component as a JSON value, for the manage API (v1), which adds its own fields.
pub(crate) fn component_value(ctx: &RenderContext, c: &Component) -> serde_json::Value {
    serde_json::to_value(component(ctx, c)).unwrap_or_default()
}

/// An incident as a JSON value, for the manage API (v1).
pub(crate) fn incident_value(ctx: &RenderContext, i: &Incident) -> serde_json::Value {
    serde_json::to_value(incident(ctx, i)).unwrap_or_default()
}

/// A maintenance as a JSON value, for the manage API (v1).
pub(crate) fn maintenance_value(ctx: &RenderContext, m: &Maintenance) -> serde_json::Value {
    serde_json::to_value(maintenance(ctx, m)).unwrap_or_default()
}
