//! View models: exactly what the templates see, built from the page document. Bodies are
//! already rendered to safe HTML by [`markdown::to_html`] (fields ending in `_html`); every other
//! string is plain text that the templates escape.

use super::text;
use crate::render::markdown::to_html;
use crate::render::RenderContext;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use herald_core::uptime::{self, Day, Uptime, Window};
use herald_core::{
    Component, ComponentStatus, Id, Incident, Maintenance, MaintenanceStatus, Update,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Days in an uptime bar.
pub const UPTIME_DAYS: u32 = 90;
/// Days listed under "Past Incidents" on the home page.
pub const PAST_DAYS: u32 = 15;
/// Calendar months per history page.
pub const MONTHS_PER_PAGE: usize = 3;
/// Oldest month the history reaches back to, counted from the newest.
const MAX_HISTORY_MONTHS: usize = 600;
/// Incidents listed on a component's page.
const COMPONENT_INCIDENTS: usize = 10;

/// Page-wide values every template shows.
#[derive(Serialize)]
pub struct Site {
    pub name: String,
    /// Only `http(s)://` or site-relative addresses; anything else is dropped.
    pub logo_url: Option<String>,
    /// IANA name of the page's zone.
    pub time_zone: String,
    /// When anything on the page last changed.
    pub updated: Option<Time>,
    /// Set while the database cannot be read: since when the page has been frozen.
    pub stale_since: Option<Time>,
}

/// An instant shown in the page's zone, with the UTC form a `<time datetime>` carries.
#[derive(Serialize)]
pub struct Time {
    /// RFC 3339 in UTC, e.g. `2022-11-03T12:44:00Z`.
    pub datetime: String,
    /// What the page prints, in the page's zone.
    pub text: String,
    pub title: Option<String>,
    /// For a window: when it ends, RFC 3339 in UTC.
    pub end: Option<String>,
}

/// One posted update of an incident or maintenance.
#[derive(Serialize)]
pub struct UpdateView {
    /// "Resolved", …, or "Update" when the status is that of the update before.
    pub label: &'static str,
    /// The status's wire name, for styling.
    pub status: &'static str,
    pub body_html: String,
    pub posted: Time,
}

/// An incident or maintenance as listed on the home and history pages.
#[derive(Serialize)]
pub struct Entry {
    /// `incident` or `maintenance`.
    pub kind: &'static str,
    pub url: String,
    pub name: String,
    /// Impact wire name, for styling.
    pub impact: &'static str,
    pub status_label: &'static str,
    /// The scheduled window of a maintenance.
    pub window: Option<Time>,
    pub latest: Option<UpdateView>,
}

/// The page's overall status.
#[derive(Serialize)]
pub struct Banner {
    pub indicator: &'static str,
    pub description: &'static str,
}

/// One day of an uptime bar.
#[derive(Serialize)]
pub struct Cell {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `ok`, `degraded`, `partial`, `major`, `maintenance` or `none` (no data).
    pub class: &'static str,
    /// "Nov 3, 2022 — Partial outage 3 hrs 10 mins; Related: …".
    pub title: String,
}

/// A 90-day uptime bar.
#[derive(Serialize)]
pub struct Bar {
    /// "99.95% uptime", or "No uptime data".
    pub percent: String,
    /// A sentence summarising the bar for screen readers.
    pub label: String,
    pub cells: Vec<Cell>,
}

/// A component as a row of the home page and the head of its own page.
#[derive(Serialize)]
pub struct ComponentRow {
    pub id: String,
    pub url: String,
    pub name: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub bar: Bar,
}

/// A component group with the components it shows.
#[derive(Serialize)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub components: Vec<ComponentRow>,
}

/// A top-level row of the component list: a group or a component on its own.
#[derive(Serialize)]
pub struct Row {
    pub group: Option<GroupRow>,
    pub component: Option<ComponentRow>,
}

/// A day or a month of incidents.
#[derive(Serialize)]
pub struct Period {
    /// `YYYY-MM-DD` for a day, `YYYY-MM` for a month.
    pub date: String,
    pub heading: String,
    pub entries: Vec<Entry>,
}

/// `/` and `/index.html`.
#[derive(Serialize)]
pub struct HomePage {
    pub banner: Banner,
    pub incidents: Vec<Entry>,
    pub active_maintenance: Vec<Entry>,
    pub upcoming_maintenance: Vec<Entry>,
    pub rows: Vec<Row>,
    pub past_days: Vec<Period>,
    pub metrics: Vec<MetricView>,
}

/// A system metric on the home page: its charts for three ranges.
#[derive(Serialize)]
pub struct MetricView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub chart: String,
}

/// One row of a postmortem timeline.
#[derive(Serialize)]
pub struct TimelineRowView {
    pub time: Time,
    pub activity_html: String,
}

/// A titled part of a postmortem.
#[derive(Serialize)]
pub struct Section {
    pub heading: &'static str,
    pub body_html: String,
}

/// A published postmortem.
#[derive(Serialize)]
pub struct PostmortemView {
    pub body_html: String,
    pub timeline_note: Option<String>,
    pub timeline: Vec<TimelineRowView>,
    pub sections: Vec<Section>,
    pub posted: Time,
}

/// `/incidents/{id}`.
#[derive(Serialize)]
pub struct IncidentPage {
    pub name: String,
    pub impact: &'static str,
    pub postmortem: Option<PostmortemView>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    /// "drchrono.com and drchrono iPad EHR"; `None` when no component was affected.
    pub affected: Option<String>,
}

/// `/maintenance/{id}`.
#[derive(Serialize)]
pub struct MaintenancePage {
    pub name: String,
    pub status_label: &'static str,
    pub window: Time,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    pub affected: Option<String>,
}

/// A day with something to report on a component's page.
#[derive(Serialize)]
pub struct NotableDay {
    pub heading: String,
    pub summary: String,
}

/// `/components/{id}`.
#[derive(Serialize)]
pub struct ComponentPage {
    pub component: ComponentRow,
    pub group_name: Option<String>,
    /// Days of the bar with anything but full operation, newest first.
    pub notable_days: Vec<NotableDay>,
    pub incidents: Vec<Entry>,
    /// The response-time chart, when monitors measure the component.
    pub response_chart: Option<String>,
}

/// `/history` and `/history/page/{n}`.
#[derive(Serialize)]
pub struct HistoryPage {
    pub months: Vec<Period>,
    pub number: usize,
    pub count: usize,
    pub previous_url: Option<String>,
    pub next_url: Option<String>,
}

/// The address of a history page.
pub fn history_url(number: usize) -> String {
    if number <= 1 {
        "/history".to_string()
    } else {
        format!("/history/page/{number}")
    }
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Builds every view from one render context; uptime is computed once per component.
pub struct Views<'a> {
    ctx: &'a RenderContext<'a>,
    tz: Tz,
    uptime: HashMap<&'a Id, Uptime>,
}

impl<'a> Views<'a> {
    /// Prepares the views, computing each component's uptime over the bar's window.
    pub fn new(ctx: &'a RenderContext<'a>) -> Self {
        let window = Window::ending_at(ctx.now, UPTIME_DAYS, ctx.tz);
        let mut by_component: HashMap<&Id, Vec<herald_core::StatusChange>> = HashMap::new();
        for change in &ctx.input.history {
            by_component
                .entry(&change.component_id)
                .or_default()
                .push(change.clone());
        }
        let uptime = ctx
            .doc
            .components
            .iter()
            .map(|c| {
                let changes = by_component.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
                let u = uptime::daily(
                    c,
                    changes,
                    &ctx.doc.incidents,
                    &ctx.doc.maintenances,
                    window,
                    ctx.now,
                );
                (&c.id, u)
            })
            .collect();
        Views {
            ctx,
            tz: ctx.tz,
            uptime,
        }
    }

    /// Values shared by every page.
    pub fn site(&self) -> Site {
        let logo_url = self
            .ctx
            .input
            .branding
            .logo_url
            .as_deref()
            .map(str::trim)
            .filter(|u| {
                u.starts_with("https://")
                    || u.starts_with("http://")
                    || (u.starts_with('/') && !u.starts_with("//"))
            })
            .map(str::to_string);
        Site {
            name: self.ctx.doc.page.name.clone(),
            logo_url,
            time_zone: self.tz.name().to_string(),
            updated: self.ctx.doc.updated_at().map(|at| self.posted(at)),
            stale_since: self.ctx.input.extras.stale_since.map(|at| self.posted(at)),
        }
    }

    fn posted(&self, at: DateTime<Utc>) -> Time {
        Time {
            datetime: iso(at),
            text: herald_core::timefmt::posted(at, self.tz),
            title: None,
            end: None,
        }
    }

    fn window(&self, m: &Maintenance) -> Time {
        Time {
            datetime: iso(m.scheduled_for),
            text: text::window(m.scheduled_for, m.scheduled_until, self.tz, self.ctx.now),
            title: None,
            end: Some(iso(m.scheduled_until)),
        }
    }

    /// Up to `limit` updates, newest first, labelled the Statuspage way.
    fn updates<S: Copy + PartialEq>(
        &self,
        newest_first: &[Update<S>],
        label: fn(S) -> &'static str,
        wire: fn(S) -> &'static str,
        limit: usize,
    ) -> Vec<UpdateView> {
        let oldest_first: Vec<S> = newest_first.iter().rev().map(|u| u.status).collect();
        let labels = text::update_labels(&oldest_first, label);
        newest_first
            .iter()
            .zip(labels.into_iter().rev())
            .take(limit)
            .map(|(u, label)| UpdateView {
                label,
                status: wire(u.status),
                body_html: to_html(&u.body),
                posted: self.posted(u.display_at),
            })
            .collect()
    }

    fn incident_updates(&self, i: &Incident, limit: usize) -> Vec<UpdateView> {
        self.updates(
            &i.updates,
            herald_core::IncidentStatus::label,
            herald_core::IncidentStatus::as_str,
            limit,
        )
    }

    fn maintenance_updates(&self, m: &Maintenance, limit: usize) -> Vec<UpdateView> {
        self.updates(
            &m.updates,
            MaintenanceStatus::label,
            MaintenanceStatus::as_str,
            limit,
        )
    }

    fn incident_entry(&self, i: &Incident) -> Entry {
        Entry {
            kind: "incident",
            url: format!("/incidents/{}", i.id),
            name: i.name.clone(),
            impact: i.impact.as_str(),
            status_label: i.status.label(),
            window: None,
            latest: self.incident_updates(i, 1).into_iter().next(),
        }
    }

    fn maintenance_entry(&self, m: &Maintenance) -> Entry {
        Entry {
            kind: "maintenance",
            url: format!("/maintenance/{}", m.id),
            name: m.name.clone(),
            impact: m.impact.as_str(),
            status_label: m.status.label(),
            window: Some(self.window(m)),
            latest: self.maintenance_updates(m, 1).into_iter().next(),
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// Incidents and maintenance that has begun, each with the instant that files it under a
    /// day or month: creation for an incident, the window's start for maintenance.
    fn dated_entries(&self) -> Vec<(DateTime<Utc>, Entry)> {
        let incidents = self
            .ctx
            .doc
            .incidents
            .iter()
            .map(|i| (i.created_at, self.incident_entry(i)));
        let maintenances = self
            .ctx
            .doc
            .maintenances
            .iter()
            .filter(|m| m.status != MaintenanceStatus::Scheduled)
            .map(|m| (m.scheduled_for, self.maintenance_entry(m)));
        let mut all: Vec<(DateTime<Utc>, Entry)> = incidents.chain(maintenances).collect();
        all.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        all
    }

    fn bar(&self, c: &Component) -> Bar {
        let Some(u) = self.uptime.get(&c.id) else {
            return Bar {
                percent: Self::uptime_legend(None),
                label: format!("{}: no uptime data", c.name),
                cells: Vec::new(),
            };
        };
        let cells = u.days.iter().map(|d| self.cell(d)).collect();
        let outages = u
            .days
            .iter()
            .filter(|d| d.major_outage > 0 || d.partial_outage > 0)
            .count();
        let degraded = u
            .days
            .iter()
            .filter(|d| d.worst == Some(ComponentStatus::DegradedPerformance))
            .count();
        let missing = u.days.iter().filter(|d| !d.has_data()).count();
        let days = |n: usize| {
            if n == 1 {
                "1 day".to_string()
            } else {
                format!("{n} days")
            }
        };
        let mut label = format!(
            "{}, past {} days: {}; {} with outages",
            c.name,
            u.days.len(),
            Self::uptime_legend(u.percent),
            days(outages)
        );
        if degraded > 0 {
            label.push_str(&format!("; {} with degraded performance", days(degraded)));
        }
        if missing > 0 {
            label.push_str(&format!("; no data for {}", days(missing)));
        }
        Bar {
            percent: Self::uptime_legend(u.percent),
            label,
            cells,
        }
    }

    fn uptime_legend(percent: Option<f64>) -> String {
        match percent {
            Some(_) => format!("{} uptime", text::percent(percent)),
            None => "No uptime data".to_string(),
        }
    }

    /// What happened on a day, in words: "Partial outage 3 hrs 10 mins", "No downtime recorded".
    fn day_summary(d: &Day) -> String {
        if !d.has_data() {
            return "No data".to_string();
        }
        let mut parts = Vec::new();
        if d.major_outage > 0 {
            parts.push(format!("Major outage {}", text::duration(d.major_outage)));
        }
        if d.partial_outage > 0 {
            parts.push(format!(
                "Partial outage {}",
                text::duration(d.partial_outage)
            ));
        }
        if parts.is_empty() {
            parts.push("No downtime recorded".to_string());
        }
        if d.degraded_performance > 0 {
            parts.push(format!(
                "degraded performance {}",
                text::duration(d.degraded_performance)
            ));
        }
        if d.under_maintenance > 0 {
            parts.push(format!(
                "under maintenance {}",
                text::duration(d.under_maintenance)
            ));
        }
        parts.join(", ")
    }

    fn related_names(&self, d: &Day) -> Vec<&'a str> {
        let doc = self.ctx.doc;
        let incidents = d
            .incidents
            .iter()
            .filter_map(|id| doc.incident(id).map(|i| i.name.as_str()));
        let maintenances = d.maintenances.iter().filter_map(|id| {
            doc.maintenances
                .iter()
                .find(|m| &m.id == id)
                .map(|m| m.name.as_str())
        });
        incidents.chain(maintenances).collect()
    }

    fn cell(&self, d: &Day) -> Cell {
        let class = match d.worst {
            None => "none",
            Some(ComponentStatus::Operational) => "ok",
            Some(ComponentStatus::DegradedPerformance) => "degraded",
            Some(ComponentStatus::PartialOutage) => "partial",
            Some(ComponentStatus::MajorOutage) => "major",
            Some(ComponentStatus::UnderMaintenance) => "maintenance",
        };
        let mut title = format!("{} — {}", text::day(d.date), Self::day_summary(d));
        let related = self.related_names(d);
        if !related.is_empty() {
            title.push_str("; Related: ");
            title.push_str(&related.join(", "));
        }
        Cell {
            date: d.date.format("%Y-%m-%d").to_string(),
            class,
            title,
        }
    }

    fn component_row(&self, c: &Component) -> ComponentRow {
        ComponentRow {
            id: c.id.to_string(),
            url: format!("/components/{}", c.id),
            name: c.name.clone(),
            description: c.description.clone().filter(|d| !d.trim().is_empty()),
            status: c.status.as_str(),
            status_label: c.status.label(),
            bar: self.bar(c),
        }
    }

    /// The component list: groups and lone components in page order, without components that
    /// only show when degraded and are not, and without groups left empty.
    fn rows(&self) -> Vec<Row> {
        let doc = self.ctx.doc;
        let shown =
            |c: &Component| !(c.only_show_if_degraded && c.status == ComponentStatus::Operational);
        let mut rows = Vec::new();
        let mut groups_done: Vec<&Id> = Vec::new();
        for c in &doc.components {
            let group = c
                .group_id
                .as_ref()
                .and_then(|g| doc.groups.iter().find(|x| &x.id == g));
            match group {
                None => {
                    if shown(c) {
                        rows.push(Row {
                            group: None,
                            component: Some(self.component_row(c)),
                        });
                    }
                }
                Some(g) if !groups_done.contains(&&g.id) => {
                    groups_done.push(&g.id);
                    let members: Vec<&Component> = doc
                        .components
                        .iter()
                        .filter(|m| m.group_id.as_ref() == Some(&g.id))
                        .collect();
                    let status = ComponentStatus::worst(members.iter().map(|m| m.status));
                    let components: Vec<ComponentRow> = members
                        .iter()
                        .filter(|m| shown(m))
                        .map(|m| self.component_row(m))
                        .collect();
                    if !components.is_empty() {
                        rows.push(Row {
                            group: Some(GroupRow {
                                id: g.id.to_string(),
                                name: g.name.clone(),
                                description: g.description.clone(),
                                status: status.as_str(),
                                status_label: status.label(),
                                components,
                            }),
                            component: None,
                        });
                    }
                }
                Some(_) => {}
            }
        }
        rows
    }

    /// The home page.
    pub fn home(&self) -> HomePage {
        let doc = self.ctx.doc;
        let status = doc.status();
        let now = self.ctx.now;
        let mut upcoming: Vec<&Maintenance> = doc
            .maintenances
            .iter()
            .filter(|m| m.status == MaintenanceStatus::Scheduled && m.scheduled_until > now)
            .collect();
        upcoming.sort_by_key(|m| m.scheduled_for);
        let entries = self.dated_entries();
        let today = self.local_date(now);
        let mut past_days: Vec<Period> = (0..PAST_DAYS)
            .filter_map(|back| today.checked_sub_days(Days::new(u64::from(back))))
            .map(|date| Period {
                date: date.format("%Y-%m-%d").to_string(),
                heading: text::day(date),
                entries: Vec::new(),
            })
            .collect();
        for (at, entry) in entries {
            let day = self.local_date(at).format("%Y-%m-%d").to_string();
            if let Some(p) = past_days.iter_mut().find(|p| p.date == day) {
                p.entries.push(entry);
            }
        }
        let metrics = self
            .ctx
            .input
            .extras
            .metrics
            .iter()
            .filter(|m| m.display)
            .map(|m| MetricView {
                id: m.id.to_string(),
                name: m.name.clone(),
                description: m.description.clone(),
                chart: format!("/metrics/{}.svg", m.id),
            })
            .collect();
        HomePage {
            metrics,
            banner: Banner {
                indicator: status.indicator.as_str(),
                description: status.description,
            },
            incidents: doc
                .unresolved_incidents()
                .map(|i| self.incident_entry(i))
                .collect(),
            active_maintenance: doc
                .active_maintenances()
                .map(|m| self.maintenance_entry(m))
                .collect(),
            upcoming_maintenance: upcoming
                .into_iter()
                .map(|m| self.maintenance_entry(m))
                .collect(),
            rows: self.rows(),
            past_days,
        }
    }

    /// Names of the components an incident or maintenance affected, in the order it lists them
    /// and then in the order its updates first changed them.
    fn affected<S>(&self, component_ids: &[Id], updates: &[Update<S>]) -> Option<String> {
        let mut ids: Vec<&Id> = component_ids.iter().collect();
        for u in updates.iter().rev() {
            for a in &u.affected_components {
                if !ids.contains(&&a.component_id) {
                    ids.push(&a.component_id);
                }
            }
        }
        let names: Vec<&str> = ids
            .into_iter()
            .filter_map(|id| self.ctx.doc.component(id).map(|c| c.name.as_str()))
            .collect();
        (!names.is_empty()).then(|| text::join_names(&names))
    }

    /// The page of one incident.
    pub fn incident(&self, i: &Incident) -> IncidentPage {
        let postmortem = i.postmortem.as_ref().and_then(|p| {
            let published = p.published_at?;
            let sections = [
                ("Contributing Factor(s)", &p.contributing_factors),
                ("Stabilization Steps", &p.stabilization_steps),
                ("Impact", &p.impact),
                ("Corrective Actions", &p.corrective_actions),
            ]
            .into_iter()
            .filter(|(_, body)| !body.trim().is_empty())
            .map(|(heading, body)| Section {
                heading,
                body_html: to_html(body),
            })
            .collect();
            let timeline_note = p.timeline_note.clone().or_else(|| {
                p.timeline_zone_label
                    .as_ref()
                    .map(|label| format!("All times are {label}."))
            });
            Some(PostmortemView {
                body_html: to_html(&p.body),
                timeline_note,
                timeline: p
                    .timeline
                    .iter()
                    .map(|row| {
                        let wall = herald_core::timefmt::wall_clock(row.at, self.tz);
                        let zone = herald_core::timefmt::abbreviation(row.at, self.tz);
                        TimelineRowView {
                            time: Time {
                                datetime: iso(row.at),
                                title: Some(format!("{wall} {zone}")),
                                text: wall,
                                end: None,
                            },
                            activity_html: to_html(&row.activity),
                        }
                    })
                    .collect(),
                sections,
                posted: self.posted(published),
            })
        });
        IncidentPage {
            name: i.name.clone(),
            impact: i.impact.as_str(),
            postmortem,
            updates: self.incident_updates(i, usize::MAX),
            affected: self.affected(&i.component_ids, &i.updates),
        }
    }

    /// The page of one maintenance.
    pub fn maintenance(&self, m: &Maintenance) -> MaintenancePage {
        MaintenancePage {
            name: m.name.clone(),
            status_label: m.status.label(),
            window: self.window(m),
            updates: self.maintenance_updates(m, usize::MAX),
            affected: self.affected(&m.component_ids, &m.updates),
        }
    }

    /// The page of one component.
    pub fn component(&self, c: &Component) -> ComponentPage {
        let doc = self.ctx.doc;
        let notable_days = self
            .uptime
            .get(&c.id)
            .map(|u| {
                u.days
                    .iter()
                    .rev()
                    .filter(|d| {
                        d.worst.is_some_and(|w| w != ComponentStatus::Operational)
                            || !d.incidents.is_empty()
                            || !d.maintenances.is_empty()
                    })
                    .map(|d| {
                        let related = self.related_names(d);
                        let mut summary = Self::day_summary(d);
                        if !related.is_empty() {
                            summary.push_str("; Related: ");
                            summary.push_str(&related.join(", "));
                        }
                        NotableDay {
                            heading: text::day(d.date),
                            summary,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let response_chart = self
            .ctx
            .input
            .extras
            .charted_components
            .contains(&c.id)
            .then(|| format!("/components/{}/response-time.svg", c.id));
        ComponentPage {
            response_chart,
            component: self.component_row(c),
            group_name: c
                .group_id
                .as_ref()
                .and_then(|g| doc.groups.iter().find(|x| &x.id == g))
                .map(|g| g.name.clone()),
            notable_days,
            incidents: doc
                .incidents
                .iter()
                .filter(|i| uptime::involves(&i.component_ids, &i.updates, &c.id))
                .take(COMPONENT_INCIDENTS)
                .map(|i| self.incident_entry(i))
                .collect(),
        }
    }

    /// Every history page: calendar months from the current one (or a later one holding an
    /// incident) back to the month of the oldest incident, `MONTHS_PER_PAGE` to a page, the last
    /// page filled up with earlier (empty) months as Statuspage does.
    pub fn history(&self) -> Vec<HistoryPage> {
        let mut by_month: BTreeMap<NaiveDate, Vec<Entry>> = BTreeMap::new();
        for (at, entry) in self.dated_entries() {
            let month = first_of_month(self.local_date(at));
            by_month.entry(month).or_default().push(entry);
        }
        let this_month = first_of_month(self.local_date(self.ctx.now));
        let newest = by_month
            .keys()
            .next_back()
            .copied()
            .map_or(this_month, |m| m.max(this_month));
        let oldest = by_month
            .keys()
            .next()
            .copied()
            .map_or(this_month, |m| m.min(this_month));
        let earlier = |m: &NaiveDate| m.checked_sub_months(Months::new(1));
        let mut dates: Vec<NaiveDate> = std::iter::successors(Some(newest), earlier)
            .take_while(|m| *m >= oldest)
            .take(MAX_HISTORY_MONTHS)
            .collect();
        // Whole pages: the last one is filled up with the months before the oldest incident.
        let whole = dates.len().div_ceil(MONTHS_PER_PAGE) * MONTHS_PER_PAGE;
        let padding: Vec<NaiveDate> =
            std::iter::successors(dates.last().and_then(earlier), earlier)
                .take(whole - dates.len())
                .collect();
        dates.extend(padding);
        let months: Vec<Period> = dates
            .into_iter()
            .map(|m| Period {
                date: m.format("%Y-%m").to_string(),
                heading: text::month(m),
                entries: by_month.remove(&m).unwrap_or_default(),
            })
            .collect();
        let count = months.len().div_ceil(MONTHS_PER_PAGE).max(1);
        let mut pages = Vec::with_capacity(count);
        let mut months = months.into_iter();
        for number in 1..=count {
            pages.push(HistoryPage {
                months: months.by_ref().take(MONTHS_PER_PAGE).collect(),
                number,
                count,
                previous_url: (number > 1).then(|| history_url(number - 1)),
                next_url: (number < count).then(|| history_url(number + 1)),
            });
        }
        pages
    }
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day0(0).unwrap_or(date)
}
