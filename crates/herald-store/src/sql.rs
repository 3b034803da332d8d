//! The SQL both engines run, written once. `$N` placeholders work on SQLite and PostgreSQL
//! alike; instants are stored as milliseconds since the epoch.
//!
//! [`store_impl!`] expands the same bodies for each engine's pool type: sqlx's executor traits
//! make one generic implementation far harder to read than one macro instantiated twice.

use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| StoreError::Other(format!("stored instant {v} is out of range")))
}

pub(crate) fn from_ms_opt(v: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    v.map(from_ms).transpose()
}

/// Parses a stored enum value with the wire parser `parse`.
pub(crate) fn wire<T>(parse: fn(&str) -> Option<T>, v: &str) -> StoreResult<T> {
    parse(v).ok_or_else(|| StoreError::Other(format!("stored value `{v}` is not recognised")))
}

pub(crate) fn id(v: &str) -> StoreResult<herald_core::Id> {
    herald_core::Id::parse(v).map_err(|e| StoreError::Other(e.to_string()))
}

/// Implements [`crate::Store`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
/// `$read_tx` is run first in a read transaction to make it one consistent snapshot;
/// `$write_lock` first in a write transaction, to serialise writers across processes.
macro_rules! store_impl {
    ($store:ident, $db:ty, $engine:literal, $read_tx:expr, $write_lock:expr) => {
        mod store_impl {
            use super::$store;
            use crate::sql::{from_ms, from_ms_opt, id, ms, wire};
            use crate::{Applied, ApiKey, AuditEntry, ImportOptions, ImportReport, Session, Store, StoreError, StoreResult, User, WriteMeta};
            use herald_core::access::Role;
            use herald_core::audience::{IncidentTemplate, Subscriber, SubscriberMode, SubscriberState};
            use herald_core::commands::{self, Command, IncidentEvent, IncidentEventKind};
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use herald_core::datafile::{sort_document, DataFile};
            use herald_core::*;
            use sqlx::Row;
            use std::collections::HashMap;

            type Conn = <$db as sqlx::Database>::Connection;

            async fn load_in(c: &mut Conn) -> StoreResult<Option<PageDocument>> {
                let Some(p) = sqlx::query("SELECT id, name, url, time_zone FROM page LIMIT 1")
                    .fetch_optional(&mut *c)
                    .await?
                else {
                    return Ok(None);
                };
                let page = PageSettings {
                    id: id(p.try_get("id")?)?,
                    name: p.try_get("name")?,
                    url: p.try_get("url")?,
                    time_zone: p.try_get("time_zone")?,
                };
                let mut groups = Vec::new();
                for r in sqlx::query("SELECT * FROM component_groups").fetch_all(&mut *c).await? {
                    groups.push(ComponentGroup {
                        id: id(r.try_get("id")?)?,
                        name: r.try_get("name")?,
                        description: r.try_get("description")?,
                        position: r.try_get("position")?,
                        created_at: from_ms(r.try_get("created_at")?)?,
                        updated_at: from_ms(r.try_get("updated_at")?)?,
                    });
                }
                let mut components = Vec::new();
                for r in sqlx::query("SELECT * FROM components").fetch_all(&mut *c).await? {
                    let group: Option<String> = r.try_get("group_id")?;
                    let start: Option<String> = r.try_get("start_date")?;
                    components.push(Component {
                        id: id(r.try_get("id")?)?,
                        group_id: group.as_deref().map(id).transpose()?,
                        name: r.try_get("name")?,
                        description: r.try_get("description")?,
                        position: r.try_get("position")?,
                        status: wire(ComponentStatus::parse, r.try_get("status")?)?,
                        showcase: r.try_get("showcase")?,
                        only_show_if_degraded: r.try_get("only_show_if_degraded")?,
                        start_date: start
                            .map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d"))
                            .transpose()
                            .map_err(|e| StoreError::Other(e.to_string()))?,
                        created_at: from_ms(r.try_get("created_at")?)?,
                        updated_at: from_ms(r.try_get("updated_at")?)?,
                    });
                }

                let mut links: HashMap<String, Vec<Id>> = HashMap::new();
                for r in sqlx::query(
                    "SELECT incident_id, component_id FROM incident_components \
                     ORDER BY incident_id, position",
                )
                .fetch_all(&mut *c)
                .await?
                {
                    links.entry(r.try_get("incident_id")?).or_default().push(id(r.try_get("component_id")?)?);
                }
                let mut affected: HashMap<String, Vec<AffectedComponent>> = HashMap::new();
                for r in sqlx::query(
                    "SELECT update_id, component_id, old_status, new_status FROM update_components \
                     ORDER BY update_id, position",
                )
                .fetch_all(&mut *c)
                .await?
                {
                    affected.entry(r.try_get("update_id")?).or_default().push(AffectedComponent {
                        component_id: id(r.try_get("component_id")?)?,
                        old_status: wire(ComponentStatus::parse, r.try_get("old_status")?)?,
                        new_status: wire(ComponentStatus::parse, r.try_get("new_status")?)?,
                    });
                }
                // Raw updates per incident, newest first; their status is parsed per kind below.
                let mut updates: HashMap<String, Vec<(String, Update<()>)>> = HashMap::new();
                for r in sqlx::query(
                    "SELECT * FROM incident_updates ORDER BY incident_id, display_at DESC, created_at DESC",
                )
                .fetch_all(&mut *c)
                .await?
                {
                    let uid: String = r.try_get("id")?;
                    updates.entry(r.try_get("incident_id")?).or_default().push((
                        r.try_get("status")?,
                        Update {
                            affected_components: affected.remove(&uid).unwrap_or_default(),
                            id: id(&uid)?,
                            status: (),
                            body: r.try_get("body")?,
                            display_at: from_ms(r.try_get("display_at")?)?,
                            created_at: from_ms(r.try_get("created_at")?)?,
                            updated_at: from_ms(r.try_get("updated_at")?)?,
                            deliver_notifications: r.try_get("deliver_notifications")?,
                        },
                    ));
                }
                let mut timelines: HashMap<String, Vec<TimelineRow>> = HashMap::new();
                for r in sqlx::query(
                    "SELECT incident_id, at, activity FROM postmortem_timeline ORDER BY incident_id, position",
                )
                .fetch_all(&mut *c)
                .await?
                {
                    timelines.entry(r.try_get("incident_id")?).or_default().push(TimelineRow {
                        at: from_ms(r.try_get("at")?)?,
                        activity: r.try_get("activity")?,
                    });
                }
                let mut postmortems: HashMap<String, Postmortem> = HashMap::new();
                for r in sqlx::query("SELECT * FROM postmortems").fetch_all(&mut *c).await? {
                    let iid: String = r.try_get("incident_id")?;
                    postmortems.insert(
                        iid.clone(),
                        Postmortem {
                            body: r.try_get("body")?,
                            timeline_zone_label: r.try_get("timeline_zone_label")?,
                            timeline_note: r.try_get("timeline_note")?,
                            timeline: timelines.remove(&iid).unwrap_or_default(),
                            contributing_factors: r.try_get("contributing_factors")?,
                            stabilization_steps: r.try_get("stabilization_steps")?,
                            impact: r.try_get("impact")?,
                            corrective_actions: r.try_get("corrective_actions")?,
                            published_at: from_ms_opt(r.try_get("published_at")?)?,
                            updated_at: from_ms(r.try_get("updated_at")?)?,
                        },
                    );
                }

                fn typed<S>(
                    raw: Vec<(String, Update<()>)>,
                    parse: fn(&str) -> Option<S>,
                ) -> StoreResult<Vec<Update<S>>> {
                    raw.into_iter()
                        .map(|(s, u)| {
                            Ok(Update {
                                status: wire(parse, &s)?,
                                id: u.id,
                                body: u.body,
                                display_at: u.display_at,
                                created_at: u.created_at,
                                updated_at: u.updated_at,
                                affected_components: u.affected_components,
                                deliver_notifications: u.deliver_notifications,
                            })
                        })
                        .collect()
                }

                let mut incidents = Vec::new();
                let mut maintenances = Vec::new();
                for r in sqlx::query("SELECT * FROM incidents").fetch_all(&mut *c).await? {
                    let iid: String = r.try_get("id")?;
                    let kind: String = r.try_get("kind")?;
                    let raw = updates.remove(&iid).unwrap_or_default();
                    let component_ids = links.remove(&iid).unwrap_or_default();
                    let status: String = r.try_get("status")?;
                    if kind == "maintenance" {
                        maintenances.push(Maintenance {
                            id: id(&iid)?,
                            name: r.try_get("name")?,
                            status: wire(MaintenanceStatus::parse, &status)?,
                            impact: wire(Impact::parse, r.try_get("impact")?)?,
                            scheduled_for: from_ms(r.try_get::<Option<i64>, _>("scheduled_for")?.unwrap_or(0))?,
                            scheduled_until: from_ms(r.try_get::<Option<i64>, _>("scheduled_until")?.unwrap_or(0))?,
                            auto_start: r.try_get("auto_start")?,
                            auto_complete: r.try_get("auto_complete")?,
                            created_at: from_ms(r.try_get("created_at")?)?,
                            updated_at: from_ms(r.try_get("updated_at")?)?,
                            component_ids,
                            updates: typed(raw, MaintenanceStatus::parse)?,
                        });
                    } else {
                        incidents.push(Incident {
                            postmortem: postmortems.remove(&iid),
                            id: id(&iid)?,
                            name: r.try_get("name")?,
                            status: wire(IncidentStatus::parse, &status)?,
                            impact: wire(Impact::parse, r.try_get("impact")?)?,
                            shortlink: r.try_get("shortlink")?,
                            created_at: from_ms(r.try_get("created_at")?)?,
                            started_at: from_ms(r.try_get("started_at")?)?,
                            monitoring_at: from_ms_opt(r.try_get("monitoring_at")?)?,
                            resolved_at: from_ms_opt(r.try_get("resolved_at")?)?,
                            updated_at: from_ms(r.try_get("updated_at")?)?,
                            backfilled: r.try_get("backfilled")?,
                            component_ids,
                            updates: typed(raw, IncidentStatus::parse)?,
                        });
                    }
                }
                let mut doc = PageDocument { page, groups, components, incidents, maintenances };
                sort_document(&mut doc);
                Ok(Some(doc))
            }

            async fn write_page(c: &mut Conn, p: &PageSettings, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("DELETE FROM page WHERE id <> $1").bind(p.id.as_str()).execute(&mut *c).await?;
                sqlx::query(
                    "INSERT INTO page (id, name, url, time_zone, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO UPDATE SET \
                     name = excluded.name, url = excluded.url, time_zone = excluded.time_zone, \
                     updated_at = excluded.updated_at",
                )
                .bind(p.id.as_str())
                .bind(&p.name)
                .bind(&p.url)
                .bind(&p.time_zone)
                .bind(ms(now))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            async fn write_group(c: &mut Conn, g: &ComponentGroup) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO component_groups (id, name, description, position, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
                     name = excluded.name, description = excluded.description, \
                     position = excluded.position, created_at = excluded.created_at, \
                     updated_at = excluded.updated_at",
                )
                .bind(g.id.as_str())
                .bind(&g.name)
                .bind(&g.description)
                .bind(g.position)
                .bind(ms(g.created_at))
                .bind(ms(g.updated_at))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            async fn write_component(c: &mut Conn, x: &Component) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO components (id, group_id, name, description, position, status, \
                     showcase, only_show_if_degraded, start_date, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
                     group_id = excluded.group_id, name = excluded.name, \
                     description = excluded.description, position = excluded.position, \
                     status = excluded.status, showcase = excluded.showcase, \
                     only_show_if_degraded = excluded.only_show_if_degraded, \
                     start_date = excluded.start_date, created_at = excluded.created_at, \
                     updated_at = excluded.updated_at",
                )
                .bind(x.id.as_str())
                .bind(x.group_id.as_ref().map(|g| g.as_str().to_string()))
                .bind(&x.name)
                .bind(&x.description)
                .bind(x.position)
                .bind(x.status.as_str())
                .bind(x.showcase)
                .bind(x.only_show_if_degraded)
                .bind(x.start_date.map(|d| d.format("%Y-%m-%d").to_string()))
                .bind(ms(x.created_at))
                .bind(ms(x.updated_at))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            async fn record_change(c: &mut Conn, ch: &StatusChange) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO component_status_changes (component_id, at, old_status, new_status, cause) \
                     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM component_status_changes \
                     WHERE component_id = $1 AND at = $2 AND cause = $5 AND new_status = $4)",
                )
                .bind(ch.component_id.as_str())
                .bind(ms(ch.at))
                .bind(ch.old_status.map(|s| s.as_str()))
                .bind(ch.new_status.as_str())
                .bind(&ch.cause)
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            /// The columns an incident and a maintenance share, plus their children.
            struct Owner<'a, S> {
                id: &'a Id,
                kind: &'static str,
                updates: &'a [Update<S>],
                components: &'a [Id],
                update_status: fn(&S) -> &'static str,
            }

            async fn write_children<S>(c: &mut Conn, r: &Owner<'_, S>) -> StoreResult<()> {
                sqlx::query("DELETE FROM incident_components WHERE incident_id = $1")
                    .bind(r.id.as_str())
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM incident_updates WHERE incident_id = $1")
                    .bind(r.id.as_str())
                    .execute(&mut *c)
                    .await?;
                for (n, comp) in r.components.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO incident_components (incident_id, component_id, position) VALUES ($1, $2, $3)",
                    )
                    .bind(r.id.as_str())
                    .bind(comp.as_str())
                    .bind(n as i32)
                    .execute(&mut *c)
                    .await?;
                }
                for u in r.updates {
                    sqlx::query(
                        "INSERT INTO incident_updates (id, incident_id, status, body, display_at, \
                         created_at, updated_at, deliver_notifications) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(u.id.as_str())
                    .bind(r.id.as_str())
                    .bind((r.update_status)(&u.status))
                    .bind(&u.body)
                    .bind(ms(u.display_at))
                    .bind(ms(u.created_at))
                    .bind(ms(u.updated_at))
                    .bind(u.deliver_notifications)
                    .execute(&mut *c)
                    .await?;
                    for (n, a) in u.affected_components.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO update_components (update_id, component_id, position, \
                             old_status, new_status) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(u.id.as_str())
                        .bind(a.component_id.as_str())
                        .bind(n as i32)
                        .bind(a.old_status.as_str())
                        .bind(a.new_status.as_str())
                        .execute(&mut *c)
                        .await?;
                        if a.old_status == a.new_status {
                            continue;
                        }
                        let cause = format!("{}:{}", r.kind, r.id);
                        let change = StatusChange {
                            component_id: a.component_id.clone(),
                            at: u.display_at,
                            old_status: Some(a.old_status),
                            new_status: a.new_status,
                            cause,
                        };
                        record_change(c, &change).await?;
                    }
                }
                Ok(())
            }

            async fn write_incident(c: &mut Conn, i: &Incident) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO incidents (id, kind, name, status, impact, shortlink, created_at, \
                     started_at, monitoring_at, resolved_at, updated_at, backfilled) \
                     VALUES ($1, 'incident', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                     status = excluded.status, impact = excluded.impact, shortlink = excluded.shortlink, \
                     created_at = excluded.created_at, started_at = excluded.started_at, \
                     monitoring_at = excluded.monitoring_at, resolved_at = excluded.resolved_at, \
                     updated_at = excluded.updated_at, backfilled = excluded.backfilled",
                )
                .bind(i.id.as_str())
                .bind(&i.name)
                .bind(i.status.as_str())
                .bind(i.impact.as_str())
                .bind(&i.shortlink)
                .bind(ms(i.created_at))
                .bind(ms(i.started_at))
                .bind(i.monitoring_at.map(ms))
                .bind(i.resolved_at.map(ms))
                .bind(ms(i.updated_at))
                .bind(i.backfilled)
                .execute(&mut *c)
                .await?;
                write_children(
                    c,
                    &Owner {
                        id: &i.id,
                        kind: "incident",
                        updates: &i.updates,
                        components: &i.component_ids,
                        update_status: |s: &IncidentStatus| s.as_str(),
                    },
                )
                .await?;
                sqlx::query("DELETE FROM postmortems WHERE incident_id = $1")
                    .bind(i.id.as_str())
                    .execute(&mut *c)
                    .await?;
                if let Some(p) = &i.postmortem {
                    sqlx::query(
                        "INSERT INTO postmortems (incident_id, body, timeline_zone_label, timeline_note, \
                         contributing_factors, stabilization_steps, impact, corrective_actions, \
                         published_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(i.id.as_str())
                    .bind(&p.body)
                    .bind(&p.timeline_zone_label)
                    .bind(&p.timeline_note)
                    .bind(&p.contributing_factors)
                    .bind(&p.stabilization_steps)
                    .bind(&p.impact)
                    .bind(&p.corrective_actions)
                    .bind(p.published_at.map(ms))
                    .bind(ms(p.updated_at))
                    .execute(&mut *c)
                    .await?;
                    for (n, row) in p.timeline.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO postmortem_timeline (incident_id, position, at, activity) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(i.id.as_str())
                        .bind(n as i32)
                        .bind(ms(row.at))
                        .bind(&row.activity)
                        .execute(&mut *c)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn write_maintenance(c: &mut Conn, m: &Maintenance) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO incidents (id, kind, name, status, impact, created_at, started_at, \
                     updated_at, scheduled_for, scheduled_until, auto_start, auto_complete) \
                     VALUES ($1, 'maintenance', $2, $3, $4, $5, $6, $7, $6, $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                     status = excluded.status, impact = excluded.impact, created_at = excluded.created_at, \
                     started_at = excluded.started_at, updated_at = excluded.updated_at, \
                     scheduled_for = excluded.scheduled_for, scheduled_until = excluded.scheduled_until, \
                     auto_start = excluded.auto_start, auto_complete = excluded.auto_complete",
                )
                .bind(m.id.as_str())
                .bind(&m.name)
                .bind(m.status.as_str())
                .bind(m.impact.as_str())
                .bind(ms(m.created_at))
                .bind(ms(m.scheduled_for))
                .bind(ms(m.updated_at))
                .bind(ms(m.scheduled_until))
                .bind(m.auto_start)
                .bind(m.auto_complete)
                .execute(&mut *c)
                .await?;
                write_children(
                    c,
                    &Owner {
                        id: &m.id,
                        kind: "maintenance",
                        updates: &m.updates,
                        components: &m.component_ids,
                        update_status: |s: &MaintenanceStatus| s.as_str(),
                    },
                )
                .await
            }

            fn change_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<StatusChange> {
                let old: Option<String> = r.try_get("old_status")?;
                Ok(StatusChange {
                    component_id: id(r.try_get("component_id")?)?,
                    at: from_ms(r.try_get("at")?)?,
                    old_status: old.as_deref().map(|s| wire(ComponentStatus::parse, s)).transpose()?,
                    new_status: wire(ComponentStatus::parse, r.try_get("new_status")?)?,
                    cause: r.try_get("cause")?,
                })
            }

            /// Adds to `doc` the objects of `old` it does not mention.
            fn keep_unmentioned(doc: &mut PageDocument, old: &PageDocument) {
                for g in &old.groups {
                    if !doc.groups.iter().any(|x| x.id == g.id) {
                        doc.groups.push(g.clone());
                    }
                }
                for c in &old.components {
                    if doc.component(&c.id).is_none() {
                        doc.components.push(c.clone());
                    }
                }
                for i in &old.incidents {
                    if doc.incident(&i.id).is_none() {
                        doc.incidents.push(i.clone());
                    }
                }
                for m in &old.maintenances {
                    if !doc.maintenances.iter().any(|x| x.id == m.id) {
                        doc.maintenances.push(m.clone());
                    }
                }
                sort_document(doc);
            }

            /// Writes what differs between `old` and `new`: new and changed objects are written,
            /// objects gone from `new` are deleted.
            async fn write_diff(
                c: &mut Conn,
                old: Option<&PageDocument>,
                new: &PageDocument,
                now: DateTime<Utc>,
            ) -> StoreResult<ImportReport> {
                let mut report = ImportReport::default();
                let mut count = |changed: bool| {
                    if changed { report.written += 1 } else { report.unchanged += 1 }
                    changed
                };
                if count(old.map(|e| &e.page) != Some(&new.page)) {
                    write_page(c, &new.page, now).await?;
                }
                for g in &new.groups {
                    if count(old.and_then(|e| e.groups.iter().find(|x| x.id == g.id)) != Some(g)) {
                        write_group(c, g).await?;
                    }
                }
                for comp in &new.components {
                    if count(old.and_then(|e| e.component(&comp.id)) != Some(comp)) {
                        write_component(c, comp).await?;
                    }
                }
                for i in &new.incidents {
                    if count(old.and_then(|e| e.incident(&i.id)) != Some(i)) {
                        write_incident(c, i).await?;
                    }
                }
                for m in &new.maintenances {
                    if count(old.and_then(|e| e.maintenances.iter().find(|x| x.id == m.id)) != Some(m)) {
                        write_maintenance(c, m).await?;
                    }
                }
                let Some(old) = old else { return Ok(report) };
                for i in old.incidents.iter().filter(|i| new.incident(&i.id).is_none()) {
                    delete(c, "DELETE FROM incidents WHERE id = $1", &i.id).await?;
                }
                for m in old.maintenances.iter().filter(|m| !new.maintenances.iter().any(|x| x.id == m.id)) {
                    delete(c, "DELETE FROM incidents WHERE id = $1", &m.id).await?;
                }
                for comp in old.components.iter().filter(|x| new.component(&x.id).is_none()) {
                    delete(c, "DELETE FROM components WHERE id = $1", &comp.id).await?;
                }
                for g in old.groups.iter().filter(|g| !new.groups.iter().any(|x| x.id == g.id)) {
                    delete(c, "DELETE FROM component_groups WHERE id = $1", &g.id).await?;
                }
                Ok(report)
            }

            async fn delete(c: &mut Conn, sql: &'static str, id: &Id) -> StoreResult<()> {
                sqlx::query(sql).bind(id.as_str()).execute(&mut *c).await?;
                Ok(())
            }

            /// The JSON of the object with this id, for the audit log.
            fn object_json(doc: &PageDocument, id: &Id) -> Option<serde_json::Value> {
                let found = if &doc.page.id == id {
                    serde_json::to_value(&doc.page)
                } else if let Some(x) = doc.groups.iter().find(|g| &g.id == id) {
                    serde_json::to_value(x)
                } else if let Some(x) = doc.component(id) {
                    serde_json::to_value(x)
                } else if let Some(x) = doc.incident(id) {
                    serde_json::to_value(x)
                } else if let Some(x) = doc.maintenances.iter().find(|m| &m.id == id) {
                    serde_json::to_value(x)
                } else {
                    return None;
                };
                found.ok()
            }

            #[allow(clippy::too_many_arguments)]
            async fn audit(
                c: &mut Conn,
                at: DateTime<Utc>,
                actor: &str,
                action: &str,
                subject: Option<&Id>,
                before: Option<serde_json::Value>,
                after: Option<serde_json::Value>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, subject_id, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(ms(at))
                .bind(actor)
                .bind(action)
                .bind(subject.map(|s| s.as_str().to_string()))
                .bind(before.map(|v| v.to_string()))
                .bind(after.map(|v| v.to_string()))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            fn user_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<User> {
                Ok(User {
                    id: id(r.try_get("id")?)?,
                    email: r.try_get("email")?,
                    password_hash: r.try_get("password_hash")?,
                    role: wire(Role::parse, r.try_get("role")?)?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    failed_logins: r.try_get("failed_logins")?,
                    locked_until: from_ms_opt(r.try_get("locked_until")?)?,
                })
            }

            fn key_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<ApiKey> {
                Ok(ApiKey {
                    id: id(r.try_get("id")?)?,
                    name: r.try_get("name")?,
                    role: wire(Role::parse, r.try_get("role")?)?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    last_used_at: from_ms_opt(r.try_get("last_used_at")?)?,
                    revoked_at: from_ms_opt(r.try_get("revoked_at")?)?,
                })
            }

            fn ids_json(ids: &[Id]) -> String {
                serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
            }

            fn ids_from(text: &str) -> StoreResult<Vec<Id>> {
                serde_json::from_str(text).map_err(|e| StoreError::Other(format!("stored id list: {e}")))
            }

            /// Puts a notice in the outbox inside the caller's transaction.
            async fn enqueue_in(c: &mut Conn, nid: &Id, notice: &herald_core::notify::Notice, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO notifications (id, kind, subject_id, notice, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(nid.as_str())
                .bind(notice.kind.as_str())
                .bind(notice.subject_id.as_str())
                .bind(crate::sql_delivery::notice_json(notice)?)
                .bind(ms(now))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            pub(super) fn subscriber_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<Subscriber> {
                let incident: Option<String> = r.try_get("incident_id")?;
                Ok(Subscriber {
                    id: id(r.try_get("id")?)?,
                    mode: wire(SubscriberMode::parse, r.try_get("mode")?)?,
                    email: r.try_get("email")?,
                    endpoint: r.try_get("endpoint")?,
                    component_ids: ids_from(r.try_get("component_ids")?)?,
                    incident_id: incident.as_deref().map(id).transpose()?,
                    state: wire(SubscriberState::parse, r.try_get("state")?)?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    updated_at: from_ms(r.try_get("updated_at")?)?,
                })
            }

            fn template_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<IncidentTemplate> {
                let status: Option<String> = r.try_get("update_status")?;
                Ok(IncidentTemplate {
                    id: id(r.try_get("id")?)?,
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    update_status: status.as_deref().map(|s| wire(IncidentStatus::parse, s)).transpose()?,
                    component_ids: ids_from(r.try_get("component_ids")?)?,
                    should_send_notifications: r.try_get("should_send_notifications")?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    updated_at: from_ms(r.try_get("updated_at")?)?,
                })
            }

            #[async_trait]
            impl Store for $store {
                fn engine(&self) -> &'static str {
                    $engine
                }

                async fn migrate(&self) -> StoreResult<()> {
                    Self::MIGRATOR.run(&self.pool).await?;
                    Ok(())
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn probe_writes(&self, instance: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    // Fresh random bytes each time, so the pages really are written out again.
                    let filler: Vec<u8> = (0..16 * 1024).map(|_| rand::random::<u8>()).collect();
                    let _guard = self.writer.lock().await;
                    sqlx::query(
                        "INSERT INTO write_probe (instance, filler, at) VALUES ($1, $2, $3) \
                         ON CONFLICT (instance) DO UPDATE SET filler = excluded.filler, at = excluded.at",
                    )
                    .bind(instance)
                    .bind(filler)
                    .bind(now.timestamp_millis())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all, fields(engine = $engine))]
                async fn load(&self) -> StoreResult<Option<PageDocument>> {
                    let mut tx = self.pool.begin().await?;
                    if let Some(sql) = $read_tx {
                        sqlx::query(sql).execute(&mut *tx).await?;
                    }
                    let doc = load_in(&mut tx).await?;
                    tx.commit().await?;
                    Ok(doc)
                }

                #[tracing::instrument(skip_all, fields(engine = $engine))]
                async fn import(
                    &self,
                    file: DataFile,
                    now: DateTime<Utc>,
                    _options: &ImportOptions,
                ) -> StoreResult<ImportReport> {
                    let _writer = self.writer.lock().await;
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    if let Some(sql) = $write_lock {
                        sqlx::query(sql).execute(&mut *tx).await?;
                    }
                    let existing = load_in(&mut tx).await?;
                    let monitoring = crate::sql_monitoring::MonitoringSections::of(&file);
                    let mut doc = file.into_document(existing.as_ref(), now)?;
                    // Objects the file does not mention stay as they are.
                    if let Some(old) = &existing {
                        keep_unmentioned(&mut doc, old);
                    }
                    let mut report = write_diff(&mut tx, existing.as_ref(), &doc, now).await?;
                    let (written, unchanged) = $store::import_monitoring(&mut tx, &monitoring, now).await?;
                    report.written += written;
                    report.unchanged += unchanged;
                    for comp in &doc.components {
                        let before = existing.as_ref().and_then(|e| e.component(&comp.id));
                        let at = if before.is_some() { now } else { comp.created_at };
                        if let Some(ch) = history::change(&comp.id, before.map(|b| b.status), comp.status, at, "import") {
                            record_change(&mut tx, &ch).await?;
                        }
                    }
                    if report.written > 0 {
                        audit(&mut tx, now, "import", "data_file.import", None, None, Some(serde_json::json!({
                            "written": report.written, "unchanged": report.unchanged
                        }))).await?;
                    }
                    tx.commit().await?;
                    Ok(report)
                }

                #[tracing::instrument(skip_all, fields(engine = $engine, action = command.action()))]
                async fn apply(&self, command: Command, meta: &WriteMeta) -> StoreResult<Applied> {
                    let _writer = self.writer.lock().await;
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    if let Some(sql) = $write_lock {
                        sqlx::query(sql).execute(&mut *tx).await?;
                    }
                    let old = load_in(&mut tx)
                        .await?
                        .ok_or_else(|| StoreError::NotFound { what: "page".into() })?;
                    let action = command.action();
                    let outcome = {
                        let mut new_id = crate::random_id;
                        let mut ctx = commands::Context { now: meta.now, new_id: &mut new_id };
                        commands::apply(&old, command, &mut ctx)?
                    };
                    write_diff(&mut tx, Some(&old), &outcome.doc, meta.now).await?;
                    for ch in &outcome.changes {
                        record_change(&mut tx, ch).await?;
                    }
                    for e in &outcome.events {
                        sqlx::query("INSERT INTO incident_events (incident_id, at, kind, detail) VALUES ($1, $2, $3, $4)")
                            .bind(e.incident_id.as_str())
                            .bind(ms(e.at))
                            .bind(e.kind.as_str())
                            .bind(e.detail.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    let touched: Vec<Id> = outcome.events.iter().map(|e| e.incident_id.clone()).collect();
                    for notice in herald_core::notify::plan(&old, &outcome.doc, &touched, &outcome.changes) {
                        enqueue_in(&mut tx, &crate::random_id(), &notice, meta.now).await?;
                    }
                    let subject = outcome.subject.as_ref();
                    let before = subject.and_then(|id| object_json(&old, id));
                    let after = subject.and_then(|id| object_json(&outcome.doc, id));
                    audit(&mut tx, meta.now, &meta.actor, action, subject, before, after).await?;
                    tx.commit().await?;
                    Ok(Applied { subject: outcome.subject, doc: outcome.doc, changes: outcome.changes, events: outcome.events })
                }

                async fn count_users(&self) -> StoreResult<i64> {
                    let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?;
                    Ok(row.try_get("n")?)
                }

                async fn create_user(&self, email: &str, password_hash: &str, role: Role, meta: &WriteMeta) -> StoreResult<Id> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let uid = crate::random_id();
                    sqlx::query(
                        "INSERT INTO users (id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(uid.as_str())
                    .bind(email)
                    .bind(password_hash)
                    .bind(role.as_str())
                    .bind(ms(meta.now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict { .. } => StoreError::Conflict { what: format!("a user with email {email} exists") },
                        other => other,
                    })?;
                    let after = serde_json::json!({"email": email, "role": role.as_str()});
                    audit(&mut tx, meta.now, &meta.actor, "user.create", Some(&uid), None, Some(after)).await?;
                    tx.commit().await?;
                    Ok(uid)
                }

                async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                    let row = sqlx::query("SELECT * FROM users WHERE email = $1")
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(user_from_row).transpose()
                }

                async fn list_users(&self) -> StoreResult<Vec<User>> {
                    let rows = sqlx::query("SELECT * FROM users ORDER BY email").fetch_all(&self.pool).await?;
                    rows.iter().map(user_from_row).collect()
                }

                async fn create_session(
                    &self,
                    token_hash: &str,
                    user: &Id,
                    csrf_token: &str,
                    now: DateTime<Utc>,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(ms(now)).execute(&self.pool).await?;
                    sqlx::query(
                        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(token_hash)
                    .bind(user.as_str())
                    .bind(csrf_token)
                    .bind(ms(now))
                    .bind(ms(expires_at))
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>> {
                    let row = sqlx::query(
                        "SELECT u.*, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id \
                         WHERE s.token_hash = $1 AND s.expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(ms(now))
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(|r| {
                        Ok(Session {
                            user: user_from_row(&r)?,
                            csrf_token: r.try_get("csrf_token")?,
                            expires_at: from_ms(r.try_get("expires_at")?)?,
                        })
                    })
                    .transpose()
                }

                async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn create_api_key(&self, name: &str, key_hash: &str, role: Role, meta: &WriteMeta) -> StoreResult<ApiKey> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let key = ApiKey {
                        id: crate::random_id(),
                        name: name.to_string(),
                        role,
                        created_at: meta.now,
                        last_used_at: None,
                        revoked_at: None,
                    };
                    sqlx::query("INSERT INTO api_keys (id, name, key_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(key.id.as_str())
                        .bind(name)
                        .bind(key_hash)
                        .bind(role.as_str())
                        .bind(ms(meta.now))
                        .execute(&mut *tx)
                        .await?;
                    let after = serde_json::json!({"name": name, "role": role.as_str()});
                    audit(&mut tx, meta.now, &meta.actor, "api_key.create", Some(&key.id), None, Some(after)).await?;
                    tx.commit().await?;
                    Ok(key)
                }

                async fn api_key_by_hash(&self, key_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<ApiKey>> {
                    let row = sqlx::query("SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
                        .bind(key_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    let Some(row) = row else { return Ok(None) };
                    let key = key_from_row(&row)?;
                    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                        .bind(ms(now))
                        .bind(key.id.as_str())
                        .execute(&self.pool)
                        .await?;
                    Ok(Some(key))
                }

                async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
                    let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_at").fetch_all(&self.pool).await?;
                    rows.iter().map(key_from_row).collect()
                }

                async fn revoke_api_key(&self, key: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(ms(meta.now))
                        .bind(key.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("api key {key}") });
                    }
                    audit(&mut tx, meta.now, &meta.actor, "api_key.revoke", Some(key), None, None).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_subscriber(&self, sub: &Subscriber, meta: &WriteMeta) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let dup = sqlx::query(
                        "SELECT id FROM subscribers WHERE mode = $1 AND state <> 'unsubscribed' \
                         AND COALESCE(email, '') = $2 AND COALESCE(endpoint, '') = $3 \
                         AND COALESCE(incident_id, '') = $4",
                    )
                    .bind(sub.mode.as_str())
                    .bind(sub.email.clone().unwrap_or_default())
                    .bind(sub.endpoint.clone().unwrap_or_default())
                    .bind(sub.incident_id.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if dup.is_some() {
                        return Err(StoreError::Conflict { what: "this subscriber already exists".into() });
                    }
                    sqlx::query(
                        "INSERT INTO subscribers (id, mode, email, endpoint, component_ids, incident_id, state, \
                         created_at, updated_at, secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
                    )
                    .bind(sub.id.as_str())
                    .bind(sub.mode.as_str())
                    .bind(&sub.email)
                    .bind(&sub.endpoint)
                    .bind(ids_json(&sub.component_ids))
                    .bind(sub.incident_id.as_ref().map(|i| i.as_str().to_string()))
                    .bind(sub.state.as_str())
                    .bind(ms(sub.created_at))
                    .bind(crate::sql_delivery::random_secret(24))
                    .execute(&mut *tx)
                    .await?;
                    if sub.state == SubscriberState::Unconfirmed {
                        let notice = herald_core::notify::confirmation(sub);
                        enqueue_in(&mut tx, &crate::random_id(), &notice, meta.now).await?;
                    }
                    let after = serde_json::json!({"mode": sub.mode.as_str(), "state": sub.state.as_str()});
                    audit(&mut tx, meta.now, &meta.actor, "subscriber.create", Some(&sub.id), None, Some(after)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_subscribers(
                    &self,
                    state: Option<SubscriberState>,
                    mode: Option<SubscriberMode>,
                ) -> StoreResult<Vec<Subscriber>> {
                    let rows = sqlx::query(
                        "SELECT * FROM subscribers WHERE ($1 = '' OR state = $1) AND ($2 = '' OR mode = $2) \
                         ORDER BY created_at, id",
                    )
                    .bind(state.map(|s| s.as_str()).unwrap_or(""))
                    .bind(mode.map(|m| m.as_str()).unwrap_or(""))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(subscriber_from_row).collect()
                }

                async fn subscriber(&self, sid: &Id) -> StoreResult<Option<Subscriber>> {
                    let row = sqlx::query("SELECT * FROM subscribers WHERE id = $1")
                        .bind(sid.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(subscriber_from_row).transpose()
                }

                async fn set_subscriber_state(&self, sid: &Id, state: SubscriberState, meta: &WriteMeta) -> StoreResult<Subscriber> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let done = sqlx::query("UPDATE subscribers SET state = $1, updated_at = $2 WHERE id = $3")
                        .bind(state.as_str())
                        .bind(ms(meta.now))
                        .bind(sid.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("subscriber {sid}") });
                    }
                    let after = serde_json::json!({"state": state.as_str()});
                    audit(&mut tx, meta.now, &meta.actor, "subscriber.state", Some(sid), None, Some(after)).await?;
                    tx.commit().await?;
                    self.subscriber(sid).await?.ok_or_else(|| StoreError::NotFound { what: format!("subscriber {sid}") })
                }

                async fn set_subscriber_components(&self, sid: &Id, components: &[Id], meta: &WriteMeta) -> StoreResult<Subscriber> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let done = sqlx::query("UPDATE subscribers SET component_ids = $1, updated_at = $2 WHERE id = $3")
                        .bind(ids_json(components))
                        .bind(ms(meta.now))
                        .bind(sid.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("subscriber {sid}") });
                    }
                    let after = serde_json::json!({"component_ids": components});
                    audit(&mut tx, meta.now, &meta.actor, "subscriber.components", Some(sid), None, Some(after)).await?;
                    tx.commit().await?;
                    self.subscriber(sid).await?.ok_or_else(|| StoreError::NotFound { what: format!("subscriber {sid}") })
                }

                async fn create_template(&self, t: &IncidentTemplate, meta: &WriteMeta) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    sqlx::query(
                        "INSERT INTO incident_templates (id, name, title, body, update_status, component_ids, \
                         should_send_notifications, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(t.id.as_str())
                    .bind(&t.name)
                    .bind(&t.title)
                    .bind(&t.body)
                    .bind(t.update_status.map(|s| s.as_str()))
                    .bind(ids_json(&t.component_ids))
                    .bind(t.should_send_notifications)
                    .bind(ms(t.created_at))
                    .bind(ms(t.updated_at))
                    .execute(&mut *tx)
                    .await?;
                    let after = serde_json::to_value(t).ok();
                    audit(&mut tx, meta.now, &meta.actor, "template.create", Some(&t.id), None, after).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_templates(&self) -> StoreResult<Vec<IncidentTemplate>> {
                    let rows = sqlx::query("SELECT * FROM incident_templates ORDER BY name, id").fetch_all(&self.pool).await?;
                    rows.iter().map(template_from_row).collect()
                }

                async fn delete_template(&self, tid: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let done = sqlx::query("DELETE FROM incident_templates WHERE id = $1")
                        .bind(tid.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("template {tid}") });
                    }
                    audit(&mut tx, meta.now, &meta.actor, "template.delete", Some(tid), None, None).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn append_audit(&self, meta: &WriteMeta, action: &str, subject: Option<&Id>, detail: serde_json::Value) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    audit(&mut tx, meta.now, &meta.actor, action, subject, None, Some(detail)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>> {
                    let rows = sqlx::query("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1")
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                    let json = |v: Option<String>| v.and_then(|s| serde_json::from_str(&s).ok());
                    rows.iter()
                        .map(|r| {
                            let subject: Option<String> = r.try_get("subject_id")?;
                            Ok(AuditEntry {
                                at: from_ms(r.try_get("at")?)?,
                                actor: r.try_get("actor")?,
                                action: r.try_get("action")?,
                                subject_id: subject,
                                before: json(r.try_get("before")?),
                                after: json(r.try_get("after")?),
                            })
                        })
                        .collect()
                }

                async fn incident_events(&self, incident: &Id) -> StoreResult<Vec<IncidentEvent>> {
                    let rows = sqlx::query("SELECT * FROM incident_events WHERE incident_id = $1 ORDER BY at, id")
                        .bind(incident.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| {
                            let detail: String = r.try_get("detail")?;
                            Ok(IncidentEvent {
                                incident_id: incident.clone(),
                                at: from_ms(r.try_get("at")?)?,
                                kind: wire(IncidentEventKind::parse, r.try_get("kind")?)?,
                                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                            })
                        })
                        .collect()
                }

                async fn save_page_settings(&self, p: &PageSettings, now: DateTime<Utc>) -> StoreResult<()> {
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    write_page(&mut tx, p, now).await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all, fields(engine = $engine, component = %component))]
                async fn status_history(&self, component: &Id) -> StoreResult<Vec<StatusChange>> {
                    let rows = sqlx::query(
                        "SELECT component_id, at, old_status, new_status, cause FROM component_status_changes \
                         WHERE component_id = $1 ORDER BY at, id",
                    )
                    .bind(component.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(change_from_row).collect()
                }

                async fn all_status_changes(&self) -> StoreResult<Vec<StatusChange>> {
                    let rows = sqlx::query(
                        "SELECT component_id, at, old_status, new_status, cause FROM component_status_changes \
                         ORDER BY at, id",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(change_from_row).collect()
                }
            }
        }
    };
}

pub(crate) use store_impl;
