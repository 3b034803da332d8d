//! Herald's native REST API, `/api/herald/v1/...`: everything the admin UI does, as JSON.
//! Reads of the public page come from the snapshot (`/api/herald/v1/page`); writes go through
//! the domain commands and answer with the object as it now is.

use crate::http::api_monitoring as mon;
use crate::http::api_notify as notify;
use crate::http::auth::Caller;
use crate::http::body::Body;
use crate::http::error::AppError;
use crate::http::openapi::{self as doc, Failures, ReadFailures};
use crate::http::session;
use crate::http::state::AppState;
use crate::service::access::NewApiKey;
use crate::service::subscribers::TemplateInput;
use crate::service::users::NewUser;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
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

/// Where the native routes are nested.
pub const PREFIX: &str = "/api/herald/v1";

/// Declares the native routes once. [`NATIVE_ROUTES`] lists them, [`routes`] serves them and
/// [`NativeApi`] documents them, so a route cannot be served without its `#[utoipa::path]`.
macro_rules! native_routes {
    ($(($method:ident, $path:literal, $($handler:ident)::+)),+ $(,)?) => {
        /// Every native route: (lowercase method, path under [`PREFIX`]).
        pub const NATIVE_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),+];

        /// The routes, to be nested under [`PREFIX`].
        pub fn routes() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($($handler)::+)))+
        }

        /// The OpenAPI description of the native routes, nested under [`PREFIX`].
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($handler)::+),+))]
        pub struct NativeApi;
    };
}

native_routes!(
    (get, "/page", page),
    (patch, "/page", update_page),
    (post, "/components", create_component),
    (patch, "/components/{id}", update_component),
    (delete, "/components/{id}", delete_component),
    (post, "/groups", create_group),
    (patch, "/groups/{id}", update_group),
    (delete, "/groups/{id}", delete_group),
    (post, "/incidents", create_incident),
    (patch, "/incidents/{id}", update_incident),
    (delete, "/incidents/{id}", delete_incident),
    (get, "/incidents/{id}/events", incident_events),
    (patch, "/incidents/{id}/updates/{update}", edit_update),
    (delete, "/incidents/{id}/updates/{update}", delete_update),
    (put, "/incidents/{id}/postmortem", save_postmortem),
    (delete, "/incidents/{id}/postmortem", delete_postmortem),
    (
        post,
        "/incidents/{id}/postmortem/publish",
        publish_postmortem
    ),
    (post, "/incidents/{id}/postmortem/revert", revert_postmortem),
    (post, "/maintenances", create_maintenance),
    (patch, "/maintenances/{id}", update_maintenance),
    (delete, "/maintenances/{id}", delete_maintenance),
    (get, "/audit", audit_log),
    (post, "/api-keys", create_api_key),
    (get, "/api-keys", list_api_keys),
    (delete, "/api-keys/{id}", revoke_api_key),
    (post, "/session", session::create),
    (delete, "/session", session::delete),
    (get, "/templates", list_templates),
    (post, "/templates", create_template),
    (delete, "/templates/{id}", delete_template),
    (get, "/users", list_users),
    (post, "/users", create_user),
    (get, "/monitors", mon::list_monitors),
    (post, "/monitors", mon::create_monitor),
    (get, "/monitors/{id}", mon::get_monitor),
    (put, "/monitors/{id}", mon::replace_monitor),
    (delete, "/monitors/{id}", mon::delete_monitor),
    (get, "/monitors/{id}/results", mon::monitor_results),
    (get, "/components/{id}/automation", mon::get_automation),
    (put, "/components/{id}/automation", mon::put_automation),
    (get, "/integrations", mon::list_integrations),
    (post, "/integrations", mon::create_integration),
    (delete, "/integrations/{id}", mon::delete_integration),
    (get, "/alert-channels", mon::list_alert_channels),
    (post, "/alert-channels", mon::create_alert_channel),
    (delete, "/alert-channels/{id}", mon::delete_alert_channel),
    (get, "/metrics", mon::list_metrics),
    (post, "/metrics", mon::create_metric),
    (delete, "/metrics/{id}", mon::delete_metric),
    (post, "/metrics/{id}/data", mon::add_metric_data),
    (get, "/monitoring/stats", mon::monitoring_stats),
    (delete, "/monitoring/stats", mon::reset_monitoring_stats),
    (get, "/subscribers", notify::list_subscribers),
    (post, "/subscribers", notify::create_subscriber),
    (get, "/subscribers/{id}", notify::get_subscriber),
    (patch, "/subscribers/{id}", notify::update_subscriber),
    (get, "/deliveries", notify::list_deliveries),
    (post, "/deliveries/{id}/retry", notify::retry_delivery),
);

/// The public page document with its status, from the snapshot like every public read.
#[utoipa::path(
    get,
    path = "/page",
    operation_id = "get_page",
    responses(
        (status = 200, description = "The whole page with its status", body = doc::Page),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
    )
)]
async fn page(
    state: State<crate::http::public::ReadState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    crate::http::public::from_snapshot(&state, method, uri, headers)
}

pub(crate) fn id(raw: &str) -> Result<Id, AppError> {
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PageBody {
    name: Option<String>,
    url: Option<String>,
    time_zone: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/page",
    summary = "Changes the page settings; answers with them as they now are",
    request_body = PageBody,
    responses(
        (status = 200, description = "Changes the page settings", body = doc::PageSettings),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComponentBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    #[schema(value_type = Option<doc::ComponentStatus>)]
    status: Option<ComponentStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<doc::Id>)]
    group_id: Option<Option<Id>>,
    position: Option<i32>,
    showcase: Option<bool>,
    only_show_if_degraded: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
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

#[utoipa::path(
    post,
    path = "/components",
    summary = "Creates a component",
    request_body = ComponentBody,
    responses(
        (status = 201, description = "Creates a component", body = doc::Component),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    patch,
    path = "/components/{id}",
    summary = "Changes a component; omitted fields stay, `null` clears",
    params(("id" = String, Path, description = "The component's id")),
    request_body = ComponentBody,
    responses(
        (status = 200, description = "Changes a component", body = doc::Component),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/components/{id}",
    summary = "Deletes a component",
    params(("id" = String, Path, description = "The component's id")),
    responses(
        (status = 200, description = "Deletes a component", body = doc::Deleted),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    position: Option<i32>,
    #[schema(value_type = Option<Vec<doc::Id>>)]
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

#[utoipa::path(
    post,
    path = "/groups",
    summary = "Creates a component group",
    request_body = GroupBody,
    responses(
        (status = 201, description = "Creates a component group", body = doc::ComponentGroup),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    patch,
    path = "/groups/{id}",
    summary = "Changes a component group",
    params(("id" = String, Path, description = "The group's id")),
    request_body = GroupBody,
    responses(
        (status = 200, description = "Changes a component group", body = doc::ComponentGroup),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/groups/{id}",
    summary = "Deletes a component group; its components stay",
    params(("id" = String, Path, description = "The group's id")),
    responses(
        (status = 200, description = "Deletes a component group", body = doc::Deleted),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn delete_group(State(s): State<AppState>, caller: Caller, Path(raw): Path<String>) -> Reply {
    Ok(answer(
        s.write(&caller, Command::DeleteGroup { id: id(&raw)? })
            .await?,
        false,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentBody {
    name: Option<String>,
    #[schema(value_type = Option<doc::IncidentStatus>)]
    status: Option<IncidentStatus>,
    #[schema(value_type = Option<doc::Impact>)]
    impact: Option<Impact>,
    body: Option<String>,
    #[schema(value_type = Option<Vec<doc::Id>>)]
    component_ids: Option<Vec<Id>>,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, doc::ComponentStatus>)]
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

#[utoipa::path(
    post,
    path = "/incidents",
    summary = "Opens (or backfills) an incident",
    request_body = IncidentBody,
    responses(
        (status = 201, description = "Opens (or backfills) an incident", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    patch,
    path = "/incidents/{id}",
    summary = "Changes an incident; a `body` posts an update",
    params(("id" = String, Path, description = "The incident's id")),
    request_body = IncidentBody,
    responses(
        (status = 200, description = "Changes an incident", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/incidents/{id}",
    summary = "Deletes an incident",
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "Deletes an incident", body = doc::Deleted),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    get,
    path = "/incidents/{id}/events",
    summary = "The event log of an incident, oldest first",
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "The event log of an incident, oldest first", body = Vec<doc::IncidentEvent>),
        ReadFailures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EditUpdateBody {
    body: Option<String>,
    display_at: Option<DateTime<Utc>>,
    deliver_notifications: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/incidents/{id}/updates/{update}",
    summary = "Edits one update of an incident; answers with the incident",
    params(("id" = String, Path, description = "The incident's id"), ("update" = String, Path, description = "The update's id")),
    request_body = EditUpdateBody,
    responses(
        (status = 200, description = "Edits one update of an incident", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostmortemBody {
    body: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    timeline_zone_label: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    timeline_note: Option<Option<String>>,
    #[schema(value_type = Option<Vec<doc::TimelineRow>>)]
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

#[utoipa::path(
    put,
    path = "/incidents/{id}/postmortem",
    summary = "Saves the postmortem draft; answers with the incident",
    params(("id" = String, Path, description = "The incident's id")),
    request_body = PostmortemBody,
    responses(
        (status = 200, description = "Saves the postmortem draft", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    post,
    path = "/incidents/{id}/postmortem/publish",
    summary = "Publishes the postmortem",
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "Publishes the postmortem", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    post,
    path = "/incidents/{id}/postmortem/revert",
    summary = "Takes the postmortem back to draft",
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "Takes the postmortem back to draft", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/incidents/{id}/postmortem",
    summary = "Deletes the postmortem",
    params(("id" = String, Path, description = "The incident's id")),
    responses(
        (status = 200, description = "Deletes the postmortem", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    name: Option<String>,
    #[schema(value_type = Option<doc::MaintenanceStatus>)]
    status: Option<MaintenanceStatus>,
    body: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    scheduled_until: Option<DateTime<Utc>>,
    auto_start: Option<bool>,
    auto_complete: Option<bool>,
    #[schema(value_type = Option<Vec<doc::Id>>)]
    component_ids: Option<Vec<Id>>,
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, doc::ComponentStatus>)]
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

#[utoipa::path(
    post,
    path = "/maintenances",
    summary = "Schedules a maintenance",
    request_body = MaintenanceBody,
    responses(
        (status = 201, description = "Schedules a maintenance", body = doc::Maintenance),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    patch,
    path = "/maintenances/{id}",
    summary = "Changes a maintenance; a `body` posts an update",
    params(("id" = String, Path, description = "The maintenance's id")),
    request_body = MaintenanceBody,
    responses(
        (status = 200, description = "Changes a maintenance", body = doc::Maintenance),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/maintenances/{id}",
    summary = "Deletes a maintenance",
    params(("id" = String, Path, description = "The maintenance's id")),
    responses(
        (status = 200, description = "Deletes a maintenance", body = doc::Deleted),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
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

#[utoipa::path(
    get,
    path = "/audit",
    summary = "The latest 200 audit log entries, newest first",
    responses(
        (status = 200, description = "The latest 200 audit log entries, newest first", body = Vec<doc::AuditEntry>),
        ReadFailures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn audit_log(State(s): State<AppState>, _caller: Caller) -> Reply {
    let mut entries = s.store.audit_log(200).await?;
    // Every role reads the log, and old entries may predate redaction on write.
    for e in &mut entries {
        for v in [&mut e.before, &mut e.after].into_iter().flatten() {
            herald_core::secret::redact_audit(&e.action, v);
        }
    }
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(entries).unwrap_or_default()),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ApiKeyBody {
    name: String,
    #[schema(value_type = doc::Role)]
    role: herald_core::access::Role,
}

#[utoipa::path(
    post,
    path = "/api-keys",
    summary = "Creates an API key (owners only); its secret is shown this once",
    request_body = ApiKeyBody,
    responses(
        (status = 201, description = "Creates an API key (owners only)", body = doc::NewApiKey),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn create_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ApiKeyBody>,
) -> Reply {
    let issued = s
        .create_api_key(
            &caller,
            NewApiKey {
                name: b.name,
                role: b.role,
            },
        )
        .await?;
    let mut body = serde_json::to_value(&issued.key).unwrap_or_default();
    body["key"] = Value::String(issued.secret);
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(
    get,
    path = "/api-keys",
    summary = "Lists the API keys (owners only)",
    responses(
        (status = 200, description = "Lists the API keys (owners only)", body = Vec<doc::ApiKeyInfo>),
        ReadFailures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn list_api_keys(State(s): State<AppState>, caller: Caller) -> Reply {
    caller.require_owner()?;
    let keys = s.store.list_api_keys().await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(keys).unwrap_or_default()),
    ))
}

#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    summary = "Revokes an API key (owners only)",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Revokes an API key (owners only)", body = doc::Revoked),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn revoke_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_owner()?;
    let key = id(&raw)?;
    s.service.revoke_api_key(&caller, &key).await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "revoked": true}))))
}

#[utoipa::path(
    get,
    path = "/templates",
    summary = "Lists incident templates",
    responses(
        (status = 200, description = "Every template, by name", body = Vec<doc::Template>),
        ReadFailures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn list_templates(State(s): State<AppState>, _caller: Caller) -> Reply {
    let all = s.store.list_templates().await?;
    Ok((
        StatusCode::OK,
        Json(serde_json::to_value(all).unwrap_or_default()),
    ))
}

#[utoipa::path(
    delete,
    path = "/incidents/{id}/updates/{update}",
    summary = "Deletes one update of an incident (not its last); answers with the incident",
    params(("id" = String, Path, description = "The incident's id"), ("update" = String, Path, description = "The update's id")),
    responses(
        (status = 200, description = "The incident without that update", body = doc::Incident),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn delete_update(
    State(s): State<AppState>,
    caller: Caller,
    Path((raw, update)): Path<(String, String)>,
) -> Reply {
    let incident = id(&raw)?;
    let cmd = Command::DeleteUpdate {
        incident: incident.clone(),
        update: id(&update)?,
    };
    let applied = s.write(&caller, cmd).await?;
    Ok((StatusCode::OK, Json(object(&applied.doc, &incident))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    name: Option<String>,
    title: Option<String>,
    body: Option<String>,
    #[schema(value_type = Option<doc::IncidentStatus>)]
    update_status: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<doc::Id>)]
    component_ids: Vec<Id>,
    should_send_notifications: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/templates",
    summary = "Creates an incident template",
    request_body = TemplateBody,
    responses(
        (status = 201, description = "The new template", body = doc::Template),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn create_template(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<TemplateBody>,
) -> Reply {
    let input = TemplateInput {
        name: b.name,
        title: b.title,
        body: b.body,
        update_status: b.update_status,
        component_ids: b.component_ids,
        should_send_notifications: b.should_send_notifications,
    };
    let t = s.service.create_template(&caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(t).unwrap_or_default()),
    ))
}

#[utoipa::path(
    delete,
    path = "/templates/{id}",
    summary = "Deletes an incident template",
    params(("id" = String, Path, description = "The template's id")),
    responses(
        (status = 200, description = "The template is gone", body = doc::Deleted),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn delete_template(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let tid = id(&raw)?;
    s.service.delete_template(&caller, &tid).await?;
    Ok((StatusCode::OK, Json(json!({"id": tid, "deleted": true}))))
}

/// A user as the API shows it: never the password hash.
fn user_json(u: &herald_store::User) -> Value {
    json!({
        "id": u.id, "email": u.email, "role": u.role.as_str(),
        "created_at": herald_core::timefmt::api(u.created_at),
        "locked_until": u.locked_until.map(herald_core::timefmt::api)
    })
}

#[utoipa::path(
    get,
    path = "/users",
    summary = "Lists the people who can sign in (owners only)",
    responses(
        (status = 200, description = "Every user, by email", body = Vec<doc::UserInfo>),
        ReadFailures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn list_users(State(s): State<AppState>, caller: Caller) -> Reply {
    caller.require_owner()?;
    let users = s.store.list_users().await?;
    Ok((
        StatusCode::OK,
        Json(Value::Array(users.iter().map(user_json).collect())),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UserBody {
    email: String,
    /// At least ten characters.
    password: String,
    #[schema(value_type = doc::Role)]
    role: herald_core::access::Role,
}

#[utoipa::path(
    post,
    path = "/users",
    summary = "Creates a user (owners only)",
    request_body = UserBody,
    responses(
        (status = 201, description = "The new user", body = doc::UserInfo),
        (status = 409, description = "A user with this email exists", body = doc::ErrorBody),
        Failures,
    ),
    security(("api_key" = []), ("session" = []))
)]
async fn create_user(State(s): State<AppState>, caller: Caller, Body(b): Body<UserBody>) -> Reply {
    let input = NewUser {
        email: b.email,
        password: b.password,
        role: b.role,
    };
    let user = s.add_user(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}
