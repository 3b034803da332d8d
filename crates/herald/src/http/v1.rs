//! Atlassian Statuspage's manage API v1 (`/v1/pages/{page_id}/…`), so that a client written for
//! Statuspage works by changing only its base URL. Requests carry `Authorization: OAuth KEY`
//! (or the other forms [`crate::http::auth`] accepts), JSON or Rails-style form bodies wrapped in
//! Statuspage's envelopes; every route also answers with a `.json` suffix. Writes go through
//! the same domain commands as the native API.

use crate::http::auth::Caller;
use crate::http::body::{parse, Body};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::render::{v2, Branding, RenderContext, SnapshotInput};
use crate::service::subscribers::TemplateInput;
use crate::service::ServiceError;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use herald_core::audience::{
    IncidentTemplate, NewSubscriber, Subscriber, SubscriberMode, SubscriberState,
};
use herald_core::commands::*;
use herald_core::{ComponentStatus, Id, Impact, IncidentStatus, MaintenanceStatus, PageDocument};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The routes, nested under `/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(super::v1_metrics::routes())
        .route("/pages", get(list_pages))
        .route(
            "/pages/{page_id}",
            get(get_page).patch(update_page).put(update_page),
        )
        .route(
            "/pages/{page_id}/components",
            get(list_components).post(create_component),
        )
        .route(
            "/pages/{page_id}/components/{id}",
            get(get_component)
                .patch(update_component)
                .put(update_component)
                .delete(delete_component),
        )
        .route(
            "/pages/{page_id}/component-groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/pages/{page_id}/component-groups/{id}",
            get(get_group)
                .patch(update_group)
                .put(update_group)
                .delete(delete_group),
        )
        .route(
            "/pages/{page_id}/incidents",
            get(list_incidents).post(create_incident),
        )
        .route(
            "/pages/{page_id}/incidents/unresolved",
            get(list_unresolved),
        )
        .route("/pages/{page_id}/incidents/upcoming", get(list_upcoming))
        .route(
            "/pages/{page_id}/incidents/active_maintenance",
            get(list_active_maintenance),
        )
        .route("/pages/{page_id}/incidents/scheduled", get(list_scheduled))
        .route(
            "/pages/{page_id}/incidents/{id}",
            get(get_incident)
                .patch(update_incident)
                .put(update_incident)
                .delete(delete_incident),
        )
        .route(
            "/pages/{page_id}/incidents/{id}/incident_updates/{update}",
            put(edit_update).patch(edit_update),
        )
        .route(
            "/pages/{page_id}/incidents/{id}/postmortem",
            get(get_postmortem)
                .put(save_postmortem)
                .delete(delete_postmortem),
        )
        .route(
            "/pages/{page_id}/incidents/{id}/postmortem/publish",
            put(publish_postmortem),
        )
        .route(
            "/pages/{page_id}/incidents/{id}/postmortem/revert",
            put(revert_postmortem),
        )
        .route(
            "/pages/{page_id}/subscribers",
            get(list_subscribers).post(create_subscriber),
        )
        .route("/pages/{page_id}/subscribers/count", get(count_subscribers))
        .route(
            "/pages/{page_id}/subscribers/{id}",
            get(get_subscriber)
                .patch(update_subscriber)
                .delete(unsubscribe),
        )
        .route(
            "/pages/{page_id}/incident_templates",
            get(list_templates).post(create_template),
        )
}

/// Strips the `.json` suffix Statuspage's older clients add to every path, and a trailing `/`.
pub fn normalise_path(path: &str) -> Option<String> {
    if !path.starts_with("/v1/") {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".json").unwrap_or(trimmed);
    (trimmed != path).then(|| trimmed.to_string())
}

type Reply = Result<Response, AppError>;

fn ok(value: Value) -> Reply {
    Ok((StatusCode::OK, Json(value)).into_response())
}

fn created(value: Value) -> Reply {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

/// The current page, and a check that the path names it.
async fn page(state: &AppState, page_id: &str) -> Result<PageDocument, AppError> {
    let doc = state.store.load().await?.ok_or(AppError::NotFound)?;
    if doc.page.id.as_str() == page_id {
        Ok(doc)
    } else {
        Err(AppError::NotFound)
    }
}

fn id(raw: &str) -> Result<Id, AppError> {
    Id::parse(raw).map_err(|_| AppError::NotFound)
}

/// Renders v1 objects from one document.
struct View {
    input: SnapshotInput,
}

impl View {
    fn new(doc: PageDocument, now: DateTime<Utc>) -> View {
        View {
            input: SnapshotInput {
                doc,
                history: vec![],
                now,
                branding: Branding::default(),
                extras: Default::default(),
            },
        }
    }

    fn ctx(&self) -> RenderContext<'_> {
        RenderContext::new(&self.input)
    }

    fn doc(&self) -> &PageDocument {
        &self.input.doc
    }

    fn page(&self) -> Value {
        let d = self.doc();
        let created = d
            .components
            .iter()
            .map(|c| c.created_at)
            .min()
            .or(d.updated_at())
            .unwrap_or(self.input.now);
        let host = d
            .page
            .url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        json!({
            "id": d.page.id, "created_at": api(created), "updated_at": api(d.updated_at().unwrap_or(created)),
            "name": d.page.name, "page_description": null, "headline": null, "branding": "basic",
            "subdomain": host.split('.').next().unwrap_or(""), "domain": host, "url": d.page.url,
            "support_url": null, "hidden_from_search": false,
            "allow_page_subscribers": true, "allow_incident_subscribers": true,
            "allow_email_subscribers": true, "allow_sms_subscribers": false,
            "allow_rss_atom_feeds": true, "allow_webhook_subscribers": true,
            "notifications_from_email": null, "notifications_email_footer": null,
            "activity_score": 0, "twitter_username": null, "viewers_must_be_team_members": false,
            "ip_restrictions": null, "city": null, "state": null, "country": null,
            "time_zone": d.page.time_zone,
            "css_body_background_color": "#ffffff", "css_font_color": "#333333",
            "css_light_font_color": "#939393", "css_greens": "#2fcc66", "css_yellows": "#f1c40f",
            "css_oranges": "#e67e22", "css_blues": "#3498db", "css_reds": "#e74c3c",
            "css_border_color": "#ecf0f1", "css_graph_color": "#3498db",
            "css_link_color": "#3498db", "css_no_data": "#b3bac5",
            "favicon_logo": null, "transactional_logo": null, "hero_cover": null,
            "email_logo": null, "twitter_logo": null
        })
    }

    fn component(&self, c: &herald_core::Component) -> Value {
        let mut v = v2::component_value(&self.ctx(), c);
        let host = self
            .doc()
            .page
            .url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split('/')
            .next()
            .unwrap_or("localhost");
        v["automation_email"] = json!(format!("component+{}@{}", c.id, host));
        v
    }

    fn group(&self, g: &herald_core::ComponentGroup) -> Value {
        let members: Vec<&Id> = self
            .doc()
            .components
            .iter()
            .filter(|c| c.group_id.as_ref() == Some(&g.id))
            .map(|c| &c.id)
            .collect();
        json!({
            "id": g.id, "page_id": self.doc().page.id, "name": g.name, "description": g.description,
            "components": members, "position": g.position,
            "created_at": api(g.created_at), "updated_at": api(g.updated_at)
        })
    }

    fn components_of(&self, ids: &[Id]) -> Value {
        Value::Array(
            ids.iter()
                .filter_map(|i| self.doc().component(i))
                .map(|c| self.component(c))
                .collect(),
        )
    }

    fn incident(&self, i: &herald_core::Incident) -> Value {
        let mut v = v2::incident_value(&self.ctx(), i);
        let pm = i.postmortem.as_ref();
        let published = pm.and_then(|p| p.published_at);
        extend(
            &mut v,
            json!({
                "components": self.components_of(&i.component_ids),
                "impact_override": null, "metadata": {},
                "postmortem_body": published.and(pm.map(|p| p.body.clone())),
                "postmortem_body_last_updated_at": pm.map(|p| api(p.updated_at)),
                "postmortem_ignored": false, "postmortem_notified_subscribers": false,
                "postmortem_notified_twitter": false, "postmortem_published_at": published.map(api),
                "scheduled_auto_completed": false, "scheduled_auto_in_progress": false,
                "scheduled_for": null, "scheduled_until": null, "scheduled_remind_prior": false,
                "scheduled_reminded_at": null,
                "auto_transition_deliver_notifications_at_end": null,
                "auto_transition_deliver_notifications_at_start": null,
                "auto_transition_to_maintenance_state": null, "auto_transition_to_operational_state": null,
                "backfilled": i.backfilled, "reference_name": null
            }),
        );
        v1_updates(&mut v);
        v
    }

    fn maintenance(&self, m: &herald_core::Maintenance) -> Value {
        let mut v = v2::maintenance_value(&self.ctx(), m);
        extend(
            &mut v,
            json!({
                "components": self.components_of(&m.component_ids),
                "impact_override": null, "metadata": {},
                "postmortem_body": null, "postmortem_body_last_updated_at": null,
                "postmortem_ignored": true, "postmortem_notified_subscribers": false,
                "postmortem_notified_twitter": false, "postmortem_published_at": null,
                "scheduled_auto_completed": m.auto_complete, "scheduled_auto_in_progress": m.auto_start,
                "scheduled_remind_prior": false, "scheduled_reminded_at": null,
                "auto_transition_deliver_notifications_at_end": true,
                "auto_transition_deliver_notifications_at_start": true,
                "auto_transition_to_maintenance_state": true, "auto_transition_to_operational_state": true,
                "backfilled": false, "reference_name": null
            }),
        );
        v1_updates(&mut v);
        v
    }

    /// An incident or a maintenance, whichever has this id.
    fn any_incident(&self, id: &Id) -> Option<Value> {
        self.doc()
            .incident(id)
            .map(|i| self.incident(i))
            .or_else(|| {
                self.doc()
                    .maintenances
                    .iter()
                    .find(|m| &m.id == id)
                    .map(|m| self.maintenance(m))
            })
    }

    fn postmortem(&self, i: &herald_core::Incident) -> Option<Value> {
        let p = i.postmortem.as_ref()?;
        let published = p.published_at.is_some();
        Some(json!({
            "preview_key": i.id, "body": published.then(|| p.body.clone()),
            "body_updated_at": published.then(|| api(p.updated_at)),
            "body_draft": p.body, "body_draft_updated_at": api(p.updated_at),
            "published_at": p.published_at.map(api), "notify_subscribers": false,
            "notify_twitter": false, "custom_tweet": null,
            "created_at": api(p.updated_at), "updated_at": api(p.updated_at)
        }))
    }
}

fn api(t: DateTime<Utc>) -> String {
    herald_core::timefmt::api(t)
}

fn extend(target: &mut Value, extra: Value) {
    if let (Value::Object(t), Value::Object(e)) = (target, extra) {
        t.extend(e);
    }
}

/// v1 incident updates carry the Twitter fields too.
fn v1_updates(incident: &mut Value) {
    if let Some(updates) = incident["incident_updates"].as_array_mut() {
        for u in updates {
            extend(
                u,
                json!({"twitter_updated_at": null, "wants_twitter_update": false}),
            );
        }
    }
}

#[derive(Deserialize, Default)]
struct Paging {
    page: Option<usize>,
    per_page: Option<usize>,
    limit: Option<usize>,
    q: Option<String>,
}

impl Paging {
    fn apply(&self, items: Vec<Value>) -> Value {
        let per = self.limit.or(self.per_page).unwrap_or(100).clamp(1, 100);
        let page = self.page.unwrap_or(1).max(1);
        Value::Array(items.into_iter().skip((page - 1) * per).take(per).collect())
    }
}

/// Takes the object inside a Statuspage envelope such as `{"incident": {...}}`.
fn envelope<T: for<'de> Deserialize<'de>>(body: &Value, key: &str) -> Result<T, AppError> {
    let inner = body.get(key).cloned().ok_or_else(|| AppError::Invalid {
        field: Some(key.into()),
        message: format!("the body must be wrapped as {{\"{key}\": {{…}}}}"),
    })?;
    parse::<T>(inner).map_err(|e| match e {
        AppError::Invalid { field, message } => AppError::Invalid {
            field: Some(match field {
                Some(f) => format!("{key}.{}", f.trim_start_matches('.')),
                None => key.to_string(),
            }),
            message,
        },
        other => other,
    })
}

async fn view(state: &AppState, page_id: &str) -> Result<View, AppError> {
    Ok(View::new(page(state, page_id).await?, (state.clock)()))
}

async fn write(
    state: &AppState,
    caller: &Caller,
    page_id: &str,
    command: Command,
) -> Result<(View, Option<Id>), AppError> {
    page(state, page_id).await?;
    let applied = state.write(caller, command).await?;
    Ok((View::new(applied.doc, (state.clock)()), applied.subject))
}

// Pages

async fn list_pages(State(s): State<AppState>, _c: Caller) -> Reply {
    let doc = s.store.load().await?.ok_or(AppError::NotFound)?;
    ok(json!([View::new(doc, (s.clock)()).page()]))
}

async fn get_page(State(s): State<AppState>, _c: Caller, Path(page_id): Path<String>) -> Reply {
    ok(view(&s, &page_id).await?.page())
}

#[derive(Deserialize)]
struct PageFields {
    name: Option<String>,
    url: Option<String>,
    time_zone: Option<String>,
}

async fn update_page(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    let f: PageFields = envelope(&b, "page")?;
    let (v, _) = write(
        &s,
        &c,
        &page_id,
        Command::SetPage {
            name: f.name,
            url: f.url,
            time_zone: f.time_zone,
        },
    )
    .await?;
    ok(v.page())
}

// Components

#[derive(Deserialize)]
struct ComponentFields {
    name: Option<String>,
    description: Option<String>,
    status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    group_id: Option<Option<Id>>,
    showcase: Option<bool>,
    only_show_if_degraded: Option<bool>,
    start_date: Option<NaiveDate>,
    position: Option<i32>,
}

/// A field sent as `null` is `Some(None)`; one left out is `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn component_status(raw: &str, field: &str) -> Result<ComponentStatus, AppError> {
    ComponentStatus::parse(raw).ok_or_else(|| AppError::Invalid {
        field: Some(field.into()),
        message: format!("`{raw}` is not a component status"),
    })
}

impl ComponentFields {
    fn input(self) -> Result<ComponentInput, AppError> {
        Ok(ComponentInput {
            name: self.name,
            description: self.description.map(Some),
            status: match self.status.as_deref() {
                None | Some("") => None,
                Some(s) => Some(component_status(s, "component.status")?),
            },
            group_id: self.group_id,
            position: self.position,
            showcase: self.showcase,
            only_show_if_degraded: self.only_show_if_degraded,
            start_date: self.start_date.map(Some),
        })
    }
}

async fn list_components(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(p.apply(v.doc().components.iter().map(|c| v.component(c)).collect()))
}

async fn create_component(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    let input = envelope::<ComponentFields>(&b, "component")?.input()?;
    let (v, subject) = write(&s, &c, &page_id, Command::CreateComponent(input)).await?;
    let comp = subject
        .and_then(|i| v.doc().component(&i).cloned())
        .ok_or(AppError::NotFound)?;
    created(v.component(&comp))
}

async fn get_component(
    State(s): State<AppState>,
    _c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    let comp = v.doc().component(&id(&raw)?).ok_or(AppError::NotFound)?;
    ok(v.component(comp))
}

async fn update_component(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
    Body(b): Body<Value>,
) -> Reply {
    let input = envelope::<ComponentFields>(&b, "component")?.input()?;
    let cid = id(&raw)?;
    let cmd = Command::UpdateComponent {
        id: cid.clone(),
        input,
        cause: "manual".into(),
    };
    let (v, _) = write(&s, &c, &page_id, cmd).await?;
    let comp = v.doc().component(&cid).ok_or(AppError::NotFound)?;
    ok(v.component(comp))
}

async fn delete_component(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    write(&s, &c, &page_id, Command::DeleteComponent { id: id(&raw)? }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Component groups

#[derive(Deserialize)]
struct GroupFields {
    name: Option<String>,
    components: Option<Vec<Id>>,
}

fn group_input(b: &Value, creating: bool) -> Result<GroupInput, AppError> {
    let f: GroupFields = envelope(b, "component_group")?;
    if creating && f.components.is_none() {
        return Err(AppError::Invalid {
            field: Some("component_group.components".into()),
            message: "is required".into(),
        });
    }
    let description = match b.get("description") {
        Some(Value::String(d)) => Some(Some(d.clone())),
        Some(Value::Null) => Some(None),
        _ => None,
    };
    Ok(GroupInput {
        name: f.name,
        description,
        position: None,
        component_ids: f.components,
    })
}

async fn list_groups(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(p.apply(v.doc().groups.iter().map(|g| v.group(g)).collect()))
}

async fn create_group(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    let (v, subject) = write(
        &s,
        &c,
        &page_id,
        Command::CreateGroup(group_input(&b, true)?),
    )
    .await?;
    let g = subject
        .and_then(|i| v.doc().groups.iter().find(|g| g.id == i).cloned())
        .ok_or(AppError::NotFound)?;
    created(v.group(&g))
}

async fn get_group(
    State(s): State<AppState>,
    _c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    let gid = id(&raw)?;
    let g = v
        .doc()
        .groups
        .iter()
        .find(|g| g.id == gid)
        .ok_or(AppError::NotFound)?;
    ok(v.group(g))
}

async fn update_group(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
    Body(b): Body<Value>,
) -> Reply {
    let gid = id(&raw)?;
    let (v, _) = write(
        &s,
        &c,
        &page_id,
        Command::UpdateGroup {
            id: gid.clone(),
            input: group_input(&b, false)?,
        },
    )
    .await?;
    let g = v
        .doc()
        .groups
        .iter()
        .find(|g| g.id == gid)
        .ok_or(AppError::NotFound)?;
    ok(v.group(g))
}

async fn delete_group(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let before = view(&s, &page_id).await?;
    let gid = id(&raw)?;
    let g = before
        .doc()
        .groups
        .iter()
        .find(|g| g.id == gid)
        .ok_or(AppError::NotFound)?;
    let shown = before.group(g);
    write(&s, &c, &page_id, Command::DeleteGroup { id: gid }).await?;
    ok(shown)
}

// Incidents and scheduled maintenance

#[derive(Deserialize, Default)]
struct IncidentFields {
    name: Option<String>,
    status: Option<String>,
    body: Option<String>,
    impact_override: Option<Impact>,
    component_ids: Option<Vec<Id>>,
    #[serde(default)]
    components: BTreeMap<Id, String>,
    deliver_notifications: Option<bool>,
    #[serde(default)]
    backfilled: bool,
    backfill_date: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    scheduled_until: Option<DateTime<Utc>>,
    scheduled_auto_in_progress: Option<bool>,
    scheduled_auto_transition: Option<bool>,
    scheduled_auto_completed: Option<bool>,
}

impl IncidentFields {
    fn components(&self) -> Result<Vec<(Id, ComponentStatus)>, AppError> {
        self.components
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    component_status(v, &format!("incident.components.{k}"))?,
                ))
            })
            .collect()
    }

    fn backfill_date(&self) -> Result<Option<DateTime<Utc>>, AppError> {
        let Some(raw) = self.backfill_date.as_deref() else {
            return Ok(None);
        };
        if let Ok(t) = raw.parse::<DateTime<Utc>>() {
            return Ok(Some(t));
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Some(t.and_utc()))
            .ok_or_else(|| AppError::Invalid {
                field: Some("incident.backfill_date".into()),
                message: format!("`{raw}` is not a date (YYYY-MM-DD) or an RFC 3339 time"),
            })
    }

    fn incident_status(&self) -> Result<Option<IncidentStatus>, AppError> {
        self.status
            .as_deref()
            .map(|s| {
                IncidentStatus::parse(s).ok_or_else(|| AppError::Invalid {
                    field: Some("incident.status".into()),
                    message: format!("`{s}` is not an incident status"),
                })
            })
            .transpose()
    }

    fn maintenance_status(&self) -> Result<Option<MaintenanceStatus>, AppError> {
        self.status
            .as_deref()
            .map(|s| {
                MaintenanceStatus::parse(s).ok_or_else(|| AppError::Invalid {
                    field: Some("incident.status".into()),
                    message: format!("`{s}` is not a scheduled maintenance status"),
                })
            })
            .transpose()
    }

    fn incident_input(&self) -> Result<IncidentInput, AppError> {
        Ok(IncidentInput {
            name: self.name.clone(),
            status: self.incident_status()?,
            impact: self.impact_override,
            body: self.body.clone(),
            component_ids: self.component_ids.clone(),
            components: self.components()?,
            deliver_notifications: self.deliver_notifications,
            backfilled: self.backfilled,
            backfill_date: self.backfill_date()?,
            started_at: None,
        })
    }

    fn maintenance_input(&self) -> Result<MaintenanceInput, AppError> {
        Ok(MaintenanceInput {
            name: self.name.clone(),
            status: self.maintenance_status()?,
            body: self.body.clone(),
            scheduled_for: self.scheduled_for,
            scheduled_until: self.scheduled_until,
            auto_start: self
                .scheduled_auto_in_progress
                .or(self.scheduled_auto_transition),
            auto_complete: self.scheduled_auto_completed,
            component_ids: self.component_ids.clone(),
            components: self.components()?,
            deliver_notifications: self.deliver_notifications,
        })
    }
}

fn incident_list(v: &View, p: &Paging, keep: impl Fn(&herald_core::Incident) -> bool) -> Value {
    let q = p.q.as_deref().map(str::to_lowercase);
    let items = v
        .doc()
        .incidents
        .iter()
        .filter(|i| keep(i))
        .filter(|i| q.as_ref().is_none_or(|q| i.name.to_lowercase().contains(q)))
        .map(|i| v.incident(i))
        .collect();
    p.apply(items)
}

fn maintenance_list(
    v: &View,
    p: &Paging,
    keep: impl Fn(&herald_core::Maintenance) -> bool,
) -> Value {
    p.apply(
        v.doc()
            .maintenances
            .iter()
            .filter(|m| keep(m))
            .map(|m| v.maintenance(m))
            .collect(),
    )
}

async fn list_incidents(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(incident_list(&v, &p, |_| true))
}

async fn list_unresolved(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(incident_list(&v, &p, |i| i.status.is_unresolved()))
}

async fn list_upcoming(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(maintenance_list(&v, &p, |m| {
        m.status == MaintenanceStatus::Scheduled
    }))
}

async fn list_active_maintenance(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(maintenance_list(&v, &p, |m| m.status.is_active()))
}

async fn list_scheduled(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(maintenance_list(&v, &p, |_| true))
}

async fn create_incident(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    let f: IncidentFields = envelope(&b, "incident")?;
    let maintenance_word = f
        .status
        .as_deref()
        .and_then(MaintenanceStatus::parse)
        .is_some();
    let is_maintenance = f.scheduled_for.is_some() || maintenance_word;
    let command = if is_maintenance {
        Command::CreateMaintenance(f.maintenance_input()?)
    } else {
        Command::CreateIncident(f.incident_input()?)
    };
    let (v, subject) = write(&s, &c, &page_id, command).await?;
    let shown = subject
        .and_then(|i| v.any_incident(&i))
        .ok_or(AppError::NotFound)?;
    created(shown)
}

async fn get_incident(
    State(s): State<AppState>,
    _c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(v.any_incident(&id(&raw)?).ok_or(AppError::NotFound)?)
}

async fn update_incident(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
    Body(b): Body<Value>,
) -> Reply {
    let f: IncidentFields = envelope(&b, "incident")?;
    let iid = id(&raw)?;
    let before = page(&s, &page_id).await?;
    let command = if before.incident(&iid).is_some() {
        Command::UpdateIncident {
            id: iid.clone(),
            input: f.incident_input()?,
        }
    } else if before.maintenances.iter().any(|m| m.id == iid) {
        Command::UpdateMaintenance {
            id: iid.clone(),
            input: f.maintenance_input()?,
        }
    } else {
        return Err(AppError::NotFound);
    };
    let (v, _) = write(&s, &c, &page_id, command).await?;
    ok(v.any_incident(&iid).ok_or(AppError::NotFound)?)
}

async fn delete_incident(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let iid = id(&raw)?;
    let before = view(&s, &page_id).await?;
    let shown = before.any_incident(&iid).ok_or(AppError::NotFound)?;
    let command = if before.doc().incident(&iid).is_some() {
        Command::DeleteIncident { id: iid }
    } else {
        Command::DeleteMaintenance { id: iid }
    };
    write(&s, &c, &page_id, command).await?;
    ok(shown)
}

#[derive(Deserialize)]
struct UpdateFields {
    body: Option<String>,
    display_at: Option<DateTime<Utc>>,
    deliver_notifications: Option<bool>,
}

async fn edit_update(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw, update)): Path<(String, String, String)>,
    Body(b): Body<Value>,
) -> Reply {
    let f: UpdateFields = envelope(&b, "incident_update")?;
    let (iid, uid) = (id(&raw)?, id(&update)?);
    let cmd = Command::EditUpdate {
        incident: iid.clone(),
        update: uid.clone(),
        body: f.body,
        display_at: f.display_at,
        deliver_notifications: f.deliver_notifications,
    };
    let (v, _) = write(&s, &c, &page_id, cmd).await?;
    let inc = v.any_incident(&iid).ok_or(AppError::NotFound)?;
    let found = inc["incident_updates"]
        .as_array()
        .and_then(|us| us.iter().find(|u| u["id"] == uid.as_str()).cloned())
        .ok_or(AppError::NotFound)?;
    ok(found)
}

// Postmortems

async fn postmortem_of(v: &View, iid: &Id) -> Result<Value, AppError> {
    let inc = v.doc().incident(iid).ok_or(AppError::NotFound)?;
    v.postmortem(inc).ok_or(AppError::NotFound)
}

async fn get_postmortem(
    State(s): State<AppState>,
    _c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    ok(postmortem_of(&v, &id(&raw)?).await?)
}

#[derive(Deserialize)]
struct PostmortemFields {
    body_draft: Option<String>,
}

async fn save_postmortem(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
    Body(b): Body<Value>,
) -> Reply {
    let f: PostmortemFields = envelope(&b, "postmortem")?;
    let iid = id(&raw)?;
    let input = PostmortemInput {
        body: f.body_draft,
        ..Default::default()
    };
    let (v, _) = write(
        &s,
        &c,
        &page_id,
        Command::SavePostmortem {
            incident: iid.clone(),
            input,
        },
    )
    .await?;
    ok(postmortem_of(&v, &iid).await?)
}

async fn publish_postmortem(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let iid = id(&raw)?;
    let (v, _) = write(
        &s,
        &c,
        &page_id,
        Command::PublishPostmortem {
            incident: iid.clone(),
        },
    )
    .await?;
    ok(postmortem_of(&v, &iid).await?)
}

async fn revert_postmortem(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let iid = id(&raw)?;
    let (v, _) = write(
        &s,
        &c,
        &page_id,
        Command::RevertPostmortem {
            incident: iid.clone(),
        },
    )
    .await?;
    ok(postmortem_of(&v, &iid).await?)
}

async fn delete_postmortem(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    write(
        &s,
        &c,
        &page_id,
        Command::DeletePostmortem {
            incident: id(&raw)?,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// Subscribers

fn subscriber_json(sub: &Subscriber) -> Value {
    json!({
        "id": sub.id, "skip_confirmation_notification": false, "mode": sub.mode.as_str(),
        "email": sub.email, "endpoint": sub.endpoint, "phone_number": null, "phone_country": null,
        "display_phone_number": null, "obfuscated_channel_name": null, "workspace_name": null,
        "quarantined_at": (sub.state == SubscriberState::Quarantined).then(|| api(sub.updated_at)),
        "purge_at": null, "components": sub.component_ids, "page_access_user_id": null,
        "created_at": api(sub.created_at)
    })
}

#[derive(Deserialize, Default)]
struct SubscriberQuery {
    state: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    q: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
    limit: Option<usize>,
}

fn subscriber_filters(
    q: &SubscriberQuery,
) -> Result<(Option<SubscriberState>, Option<SubscriberMode>), AppError> {
    let state = match q.state.as_deref().unwrap_or("active") {
        "all" => None,
        s => Some(SubscriberState::parse(s).ok_or_else(|| AppError::Invalid {
            field: Some("state".into()),
            message: format!("`{s}` is not a subscriber state"),
        })?),
    };
    let mode = q
        .kind
        .as_deref()
        .map(|m| {
            SubscriberMode::parse(m).ok_or_else(|| AppError::Invalid {
                field: Some("type".into()),
                message: format!("`{m}` is not a subscriber type"),
            })
        })
        .transpose()?;
    Ok((state, mode))
}

async fn list_subscribers(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Query(q): Query<SubscriberQuery>,
) -> Reply {
    page(&s, &page_id).await?;
    let (state, mode) = subscriber_filters(&q)?;
    let needle = q.q.as_deref().map(str::to_lowercase);
    let items = s
        .store
        .list_subscribers(state, mode)
        .await?
        .iter()
        // Viewers search what they may see, so a search cannot spell out a hidden URL.
        .map(|sub| crate::http::api_notify::shown_to(&c, sub))
        .filter(|sub| {
            needle.as_ref().is_none_or(|n| {
                sub.email.as_deref().unwrap_or("").contains(n.as_str())
                    || sub
                        .endpoint
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(n.as_str())
            })
        })
        .map(|sub| subscriber_json(&sub))
        .collect();
    let paging = Paging {
        page: q.page,
        per_page: q.per_page,
        limit: q.limit,
        q: None,
    };
    ok(paging.apply(items))
}

async fn count_subscribers(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(q): Query<SubscriberQuery>,
) -> Reply {
    page(&s, &page_id).await?;
    let (state, _) = subscriber_filters(&q)?;
    let all = s.store.list_subscribers(state, None).await?;
    let count = |m: SubscriberMode| all.iter().filter(|x| x.mode == m).count();
    ok(json!({
        "email": count(SubscriberMode::Email), "sms": 0, "webhook": count(SubscriberMode::Webhook),
        "integration_partner": 0, "slack": count(SubscriberMode::Slack),
        "teams": count(SubscriberMode::Teams), "discord": count(SubscriberMode::Discord)
    }))
}

#[derive(Deserialize)]
struct SubscriberFields {
    email: Option<String>,
    endpoint: Option<String>,
    phone_number: Option<String>,
    #[serde(default)]
    skip_confirmation_notification: bool,
    #[serde(default)]
    component_ids: Vec<Id>,
}

async fn create_subscriber(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    c.require_write()?;
    page(&s, &page_id).await?;
    let f: SubscriberFields = envelope(&b, "subscriber")?;
    if f.phone_number.is_some() {
        return Err(AppError::Invalid {
            field: Some("subscriber.phone_number".into()),
            message: "SMS subscriptions are not offered by this page".into(),
        });
    }
    let request = NewSubscriber {
        mode: None,
        email: f.email,
        endpoint: f.endpoint,
        component_ids: f.component_ids,
        incident_id: None,
        skip_confirmation: f.skip_confirmation_notification,
    };
    let sub = s
        .prepare_subscriber(request)
        .await
        .map_err(|e| under("subscriber.", e))?;
    if let Some(url) = &sub.endpoint {
        s.notifier
            .guard()
            .check(url)
            .await
            .map_err(|e| AppError::Invalid {
                field: Some("subscriber.endpoint".into()),
                message: e.to_string(),
            })?;
    }
    s.service.create_subscriber(&c, &sub).await?;
    created(subscriber_json(&sub))
}

/// A service error with its field named inside Statuspage's envelope (`subscriber.email`).
fn under(prefix: &str, e: ServiceError) -> AppError {
    match e {
        ServiceError::Invalid {
            field: Some(field),
            message,
        } => AppError::Invalid {
            field: Some(format!("{prefix}{field}")),
            message,
        },
        other => other.into(),
    }
}

async fn find_subscriber(s: &AppState, page_id: &str, raw: &str) -> Result<Subscriber, AppError> {
    page(s, page_id).await?;
    s.store
        .subscriber(&id(raw)?)
        .await?
        .ok_or(AppError::NotFound)
}

async fn get_subscriber(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    let sub = find_subscriber(&s, &page_id, &raw).await?;
    ok(subscriber_json(&crate::http::api_notify::shown_to(
        &c, &sub,
    )))
}

#[derive(Deserialize)]
struct SubscriberComponents {
    component_ids: Vec<Id>,
}

async fn update_subscriber(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
    Body(b): Body<SubscriberComponents>,
) -> Reply {
    c.require_write()?;
    let sub = find_subscriber(&s, &page_id, &raw).await?;
    ok(subscriber_json(
        &s.service
            .set_subscriber_components(&c, &sub.id, &b.component_ids)
            .await?,
    ))
}

async fn unsubscribe(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, raw)): Path<(String, String)>,
) -> Reply {
    c.require_write()?;
    let sub = find_subscriber(&s, &page_id, &raw).await?;
    ok(subscriber_json(
        &s.service
            .set_subscriber_state(&c, &sub.id, SubscriberState::Unsubscribed)
            .await?,
    ))
}

// Incident templates

fn template_json(v: &View, t: &IncidentTemplate) -> Value {
    json!({
        "id": t.id, "components": v.components_of(&t.component_ids), "name": t.name, "title": t.title,
        "body": t.body, "group_id": null, "update_status": t.update_status.map(|s| s.as_str()),
        "should_tweet": false, "should_send_notifications": t.should_send_notifications
    })
}

async fn list_templates(
    State(s): State<AppState>,
    _c: Caller,
    Path(page_id): Path<String>,
    Query(p): Query<Paging>,
) -> Reply {
    let v = view(&s, &page_id).await?;
    let all = s.store.list_templates().await?;
    ok(p.apply(all.iter().map(|t| template_json(&v, t)).collect()))
}

#[derive(Deserialize)]
struct TemplateFields {
    name: Option<String>,
    title: Option<String>,
    body: Option<String>,
    update_status: Option<String>,
    #[serde(default)]
    component_ids: Vec<Id>,
    should_send_notifications: Option<bool>,
}

async fn create_template(
    State(s): State<AppState>,
    c: Caller,
    Path(page_id): Path<String>,
    Body(b): Body<Value>,
) -> Reply {
    c.require_write()?;
    let v = view(&s, &page_id).await?;
    let f: TemplateFields = envelope(&b, "template")?;
    let input = TemplateInput {
        name: f.name,
        title: f.title,
        body: f.body,
        update_status: f.update_status,
        component_ids: f.component_ids,
        should_send_notifications: f.should_send_notifications,
    };
    let template = s
        .service
        .create_template(&c, input)
        .await
        .map_err(|e| under("template.", e))?;
    created(template_json(&v, &template))
}
