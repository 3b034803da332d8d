//! Herald's native REST API, `/api/herald/v1/...`: everything the admin UI does, as JSON.
//! Reads of the public page come from the snapshot (`/api/herald/v1/page`); writes go through
//! the domain commands and answer with the object as it now is.

use crate::app::AppState;
use crate::auth::Caller;
use crate::http::body::Body;
use crate::http::error::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, patch, post, put};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use herald_core::commands::*;
use herald_core::{
    ComponentStatus, Id, Impact, IncidentStatus, MaintenanceStatus, PageDocument, TimelineRow,
};
use herald_store::Applied;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The routes, to be nested under `/api/herald/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/page",
            axum::routing::get(crate::http::public::snapshot).patch(update_page),
        )
        .route("/components", post(create_component))
        .route(
            "/components/{id}",
            patch(update_component).delete(delete_component),
        )
        .route("/groups", post(create_group))
        .route("/groups/{id}", patch(update_group).delete(delete_group))
        .route("/incidents", post(create_incident))
        .route(
            "/incidents/{id}",
            patch(update_incident).delete(delete_incident),
        )
        .route(
            "/incidents/{id}/events",
            axum::routing::get(incident_events),
        )
        .route("/incidents/{id}/updates/{update}", patch(edit_update))
        .route(
            "/incidents/{id}/postmortem",
            put(save_postmortem).delete(delete_postmortem),
        )
        .route(
            "/incidents/{id}/postmortem/publish",
            post(publish_postmortem),
        )
        .route("/incidents/{id}/postmortem/revert", post(revert_postmortem))
        .route("/maintenances", post(create_maintenance))
        .route(
            "/maintenances/{id}",
            patch(update_maintenance).delete(delete_maintenance),
        )
        .route("/audit", axum::routing::get(audit_log))
        .route("/api-keys", post(create_api_key).get(list_api_keys))
        .route("/api-keys/{id}", delete(revoke_api_key))
        .route(
            "/session",
            post(crate::http::session::create).delete(crate::http::session::delete),
        )
        .route(
            "/templates",
            axum::routing::get(list_templates).post(create_template),
        )
        .route("/templates/{id}", delete(delete_template))
}

fn id(raw: &str) -> Result<Id, AppError> {
    Id::parse(raw).map_err(|_| AppError::NotFound)
}

/// The JSON of the object a command acted on, as it now is.
fn object(doc: &PageDocument, id: &Id) -> Value {
    let found = if let Some(x) = doc.component(id) {
        serde_json::to_value(x)
    } else if let Some(x) = doc.groups.iter().find(|g| &g.id == id) {
        serde_json::to_value(x)
    } else if let Some(x) = doc.incident(id) {
        serde_json::to_value(x)
    } else if let Some(x) = doc.maintenances.iter().find(|m| &m.id == id) {
        serde_json::to_value(x)
    } else if &doc.page.id == id {
        serde_json::to_value(&doc.page)
    } else {
        Ok(json!({"id": id, "deleted": true}))
    };
    found.unwrap_or(Value::Null)
}

fn answer(applied: Applied, created: bool) -> (StatusCode, Json<Value>) {
    let body = applied
        .subject
        .as_ref()
        .map(|s| object(&applied.doc, s))
        .unwrap_or(Value::Null);
    (
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(body),
    )
}

type Reply = Result<(StatusCode, Json<Value>), AppError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageBody {
    name: Option<String>,
    url: Option<String>,
    time_zone: Option<String>,
}

async fn update_page(State(s): State<AppState>, caller: Caller, Body(b): Body<PageBody>) -> Reply {
    let cmd = Command::SetPage {
        name: b.name,
        url: b.url,
        time_zone: b.time_zone,
    };
    Ok(answer(s.write(&caller, cmd).await?, false))
}

/// Distinguishes a field sent as `null` (clear it) from one left out (keep it).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComponentBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    status: Option<ComponentStatus>,
    #[serde(default, deserialize_with = "nullable")]
    group_id: Option<Option<Id>>,
    position: Option<i32>,
    showcase: Option<bool>,
    only_show_if_degraded: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    start_date: Option<Option<NaiveDate>>,
}

impl From<ComponentBody> for ComponentInput {
    fn from(b: ComponentBody) -> Self {
        ComponentInput {
            name: b.name,
            description: b.description,
            status: b.status,
            group_id: b.group_id,
            position: b.position,
            showcase: b.showcase,
            only_show_if_degraded: b.only_show_if_degraded,
            start_date: b.start_date,
        }
    }
}

async fn create_component(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ComponentBody>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::CreateComponent(b.into())).await?,
        true,
    ))
}

async fn update_component(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<ComponentBody>,
) -> Reply {
    let cmd = Command::UpdateComponent {
        id: id(&raw)?,
        input: b.into(),
        cause: "manual".into(),
    };
    Ok(answer(s.write(&caller, cmd).await?, false))
}

async fn delete_component(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::DeleteComponent { id: id(&raw)? })
            .await?,
        false,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    position: Option<i32>,
    component_ids: Option<Vec<Id>>,
}

impl From<GroupBody> for GroupInput {
    fn from(b: GroupBody) -> Self {
        GroupInput {
            name: b.name,
            description: b.description,
            position: b.position,
            component_ids: b.component_ids,
        }
    }
}

async fn create_group(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<GroupBody>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::CreateGroup(b.into())).await?,
        true,
    ))
}

async fn update_group(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<GroupBody>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::UpdateGroup {
                id: id(&raw)?,
                input: b.into(),
            },
        )
        .await?,
        false,
    ))
}

async fn delete_group(State(s): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Reply {
    Ok(answer(
        s.write(&caller, Command::DeleteGroup { id: id(&raw)? })
            .await?,
        false,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentBody {
    name: Option<String>,
    status: Option<IncidentStatus>,
    impact: Option<Impact>,
    body: Option<String>,
    component_ids: Option<Vec<Id>>,
    #[serde(default)]
    components: BTreeMap<Id, ComponentStatus>,
    deliver_notifications: Option<bool>,
    #[serde(default)]
    backfilled: bool,
    backfill_date: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
}

impl From<IncidentBody> for IncidentInput {
    fn from(b: IncidentBody) -> Self {
        IncidentInput {
            name: b.name,
            status: b.status,
            impact: b.impact,
            body: b.body,
            component_ids: b.component_ids,
            components: b.components.into_iter().collect(),
            deliver_notifications: b.deliver_notifications,
            backfilled: b.backfilled,
            backfill_date: b.backfill_date,
            started_at: b.started_at,
        }
    }
}

async fn create_incident(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<IncidentBody>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::CreateIncident(b.into())).await?,
        true,
    ))
}

async fn update_incident(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<IncidentBody>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::UpdateIncident {
                id: id(&raw)?,
                input: b.into(),
            },
        )
        .await?,
        false,
    ))
}

async fn delete_incident(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::DeleteIncident { id: id(&raw)? })
            .await?,
        false,
    ))
}

async fn incident_events(
    State(s): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    let events = s.store.incident_events(&id(&raw)?).await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(events).unwrap_or_default()),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditUpdateBody {
    body: Option<String>,
    display_at: Option<DateTime<Utc>>,
    deliver_notifications: Option<bool>,
}

async fn edit_update(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, update)): Path<(String, String)>,
    Body(b): Body<EditUpdateBody>,
) -> Reply {
    let incident = id(&raw)?;
    let cmd = Command::EditUpdate {
        incident: incident.clone(),
        update: id(&update)?,
        body: b.body,
        display_at: b.display_at,
        deliver_notifications: b.deliver_notifications,
    };
    let applied = s.write(&caller, cmd).await?;
    Ok((StatusCode::OK, Json(object(&applied.doc, &incident))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostmortemBody {
    body: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    timeline_zone_label: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    timeline_note: Option<Option<String>>,
    timeline: Option<Vec<TimelineRow>>,
    contributing_factors: Option<String>,
    stabilization_steps: Option<String>,
    impact: Option<String>,
    corrective_actions: Option<String>,
}

impl From<PostmortemBody> for PostmortemInput {
    fn from(b: PostmortemBody) -> Self {
        PostmortemInput {
            body: b.body,
            timeline_zone_label: b.timeline_zone_label,
            timeline_note: b.timeline_note,
            timeline: b.timeline,
            contributing_factors: b.contributing_factors,
            stabilization_steps: b.stabilization_steps,
            impact: b.impact,
            corrective_actions: b.corrective_actions,
        }
    }
}

async fn save_postmortem(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<PostmortemBody>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::SavePostmortem {
                incident: id(&raw)?,
                input: b.into(),
            },
        )
        .await?,
        false,
    ))
}

async fn publish_postmortem(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::PublishPostmortem {
                incident: id(&raw)?,
            },
        )
        .await?,
        false,
    ))
}

async fn revert_postmortem(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::RevertPostmortem {
                incident: id(&raw)?,
            },
        )
        .await?,
        false,
    ))
}

async fn delete_postmortem(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::DeletePostmortem {
                incident: id(&raw)?,
            },
        )
        .await?,
        false,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    name: Option<String>,
    status: Option<MaintenanceStatus>,
    body: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    scheduled_until: Option<DateTime<Utc>>,
    auto_start: Option<bool>,
    auto_complete: Option<bool>,
    component_ids: Option<Vec<Id>>,
    #[serde(default)]
    components: BTreeMap<Id, ComponentStatus>,
    deliver_notifications: Option<bool>,
}

impl From<MaintenanceBody> for MaintenanceInput {
    fn from(b: MaintenanceBody) -> Self {
        MaintenanceInput {
            name: b.name,
            status: b.status,
            body: b.body,
            scheduled_for: b.scheduled_for,
            scheduled_until: b.scheduled_until,
            auto_start: b.auto_start,
            auto_complete: b.auto_complete,
            component_ids: b.component_ids,
            components: b.components.into_iter().collect(),
            deliver_notifications: b.deliver_notifications,
        }
    }
}

async fn create_maintenance(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<MaintenanceBody>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::CreateMaintenance(b.into()))
            .await?,
        true,
    ))
}

async fn update_maintenance(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<MaintenanceBody>,
) -> Reply {
    Ok(answer(
        s.write(
            &caller,
            Command::UpdateMaintenance {
                id: id(&raw)?,
                input: b.into(),
            },
        )
        .await?,
        false,
    ))
}

async fn delete_maintenance(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    Ok(answer(
        s.write(&caller, Command::DeleteMaintenance { id: id(&raw)? })
            .await?,
        false,
    ))
}

async fn audit_log(State(s): State<AppState>, _caller: Caller) -> Reply {
    let entries = s.store.audit_log(200).await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(entries).unwrap_or_default()),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyBody {
    name: String,
    role: herald_core::access::Role,
}

async fn create_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ApiKeyBody>,
) -> Reply {
    caller.require_owner()?;
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::Invalid {
            field: Some("name".into()),
            message: "must be 1 to 100 characters".into(),
        });
    }
    let secret = crate::auth::new_secret(20);
    let meta = herald_store::WriteMeta {
        actor: caller.actor(),
        now: (s.clock)(),
    };
    let key = s
        .store
        .create_api_key(name, &crate::auth::secret_hash(&secret), b.role, &meta)
        .await?;
    let mut body = serde_json::to_value(&key).unwrap_or_default();
    body["key"] = Value::String(secret);
    Ok((StatusCode::CREATED, Json(body)))
}

async fn list_api_keys(State(s): State<AppState>, caller: Caller) -> Reply {
    caller.require_owner()?;
    let keys = s.store.list_api_keys().await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(keys).unwrap_or_default()),
    ))
}

async fn revoke_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_owner()?;
    let meta = herald_store::WriteMeta {
        actor: caller.actor(),
        now: (s.clock)(),
    };
    let key = id(&raw)?;
    s.store.revoke_api_key(&key, &meta).await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "revoked": true}))))
}

/// Checks a template's fields and builds it; `prefix` is put before field names in errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn template(
    name: Option<String>,
    title: Option<String>,
    body: Option<String>,
    update_status: Option<&str>,
    component_ids: Vec<Id>,
    notify: Option<bool>,
    doc: &PageDocument,
    now: DateTime<Utc>,
    prefix: &str,
) -> Result<herald_core::audience::IncidentTemplate, AppError> {
    let bad = |field: &str, message: String| AppError::Invalid {
        field: Some(format!("{prefix}{field}")),
        message,
    };
    let name = name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(bad("name", "must be 1 to 255 characters".into()));
    }
    let title = title.unwrap_or_else(|| name.clone());
    if title.chars().count() > 255 {
        return Err(bad("title", "must be at most 255 characters".into()));
    }
    let body = body.unwrap_or_default();
    if body.chars().count() > MAX_BODY {
        return Err(bad(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ));
    }
    let update_status = update_status
        .map(|s| {
            IncidentStatus::parse(s)
                .ok_or_else(|| bad("update_status", format!("`{s}` is not an incident status")))
        })
        .transpose()?;
    if let Some(missing) = component_ids.iter().find(|c| doc.component(c).is_none()) {
        return Err(bad(
            "component_ids",
            format!("no component has id `{missing}` on this page"),
        ));
    }
    Ok(herald_core::audience::IncidentTemplate {
        id: herald_store::random_id(),
        name,
        title,
        body,
        update_status,
        component_ids,
        should_send_notifications: notify.unwrap_or(true),
        created_at: now,
        updated_at: now,
    })
}

async fn list_templates(State(s): State<AppState>, _caller: Caller) -> Reply {
    let all = s.store.list_templates().await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(all).unwrap_or_default()),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
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
    caller: Caller,
    Body(b): Body<TemplateBody>,
) -> Reply {
    caller.require_write()?;
    let doc = s.store.load().await?.ok_or(AppError::NotFound)?;
    let now = (s.clock)();
    let t = template(
        b.name,
        b.title,
        b.body,
        b.update_status.as_deref(),
        b.component_ids,
        b.should_send_notifications,
        &doc,
        now,
        "",
    )?;
    let meta = herald_store::WriteMeta {
        actor: caller.actor(),
        now,
    };
    s.store.create_template(&t, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(t).unwrap_or_default()),
    ))
}

async fn delete_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let meta = herald_store::WriteMeta {
        actor: caller.actor(),
        now: (s.clock)(),
    };
    let tid = id(&raw)?;
    s.store.delete_template(&tid, &meta).await?;
    Ok((StatusCode::OK, Json(json!({"id": tid, "deleted": true}))))
}
