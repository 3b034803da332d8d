//! The OpenAPI 3 description of Herald's native API, served at `GET /api/openapi.json` and
//! generated from the code by `utoipa`: the handlers carry `#[utoipa::path]`, the request bodies
//! derive `ToSchema`, and the native route table in [`crate::http::api`] lists the paths.
//!
//! The response objects are `herald-core` and `herald-store` types, which stay free of any HTTP
//! or documentation dependency. Rust's orphan rule keeps this crate from implementing `ToSchema`
//! for them, so this module holds schema-only mirrors of their wire shape. The mirrors cannot
//! drift unnoticed: `tests/it/openapi.rs` compares their fields with the JSON the API really serves.
//! The enumerations are not mirrored by hand: their values come from the core's own wire names.

use crate::http::{api, public};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

/// The whole document: the native API nested under its prefix, plus the health checks.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        version = env!("CARGO_PKG_VERSION"),
        description = "Herald's native REST API: everything the admin UI does, as JSON. \
            Request bodies may also be sent form-encoded."
    ),
    servers((url = "/", description = "This Herald server")),
    paths(public::healthz, public::readyz, openapi_json),
    nest((path = "/api/herald/v1", api = api::NativeApi)),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub struct HeraldApi;

/// `GET /api/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(HeraldApi::openapi())
}

/// Adds the two ways of authenticating that `crate::http::auth::Caller` accepts.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "An API key as `OAuth <key>` (`Bearer <key>` and `?api_key=` work too).",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::http::auth::SESSION_COOKIE,
                "The cookie set by `POST /api/herald/v1/session`; writes also need the \
                 `x-csrf-token` header it returned.",
            ))),
        );
    }
}

/// Every error: `error` and `message` say what went wrong, `field` names the offending input.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub message: Option<String>,
    pub field: Option<String>,
    /// The request's id, as in the `x-request-id` header: quote it when reporting a problem.
    pub request_id: String,
}

/// The failures an authenticated write can answer with.
#[derive(IntoResponses)]
pub enum Failures {
    /// No valid API key or session.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The role does not allow this, or a session write lacks its CSRF token.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such object.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The body or a field is invalid; `field` names it.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// The database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The failures an authenticated read can answer with.
#[derive(IntoResponses)]
pub enum ReadFailures {
    /// No valid API key or session.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The role does not allow this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such object.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The failures an authenticated read with query parameters can answer with.
#[derive(IntoResponses)]
pub enum QueryFailures {
    /// No valid API key or session.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The role does not allow this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// No such object.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// A query parameter is invalid.
    #[response(status = 422)]
    Invalid(ErrorBody),
    /// The database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Defines a string schema whose values are the wire names of a core enumeration.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident = $values:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some($values))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

wire_enum!(
    /// A component's status.
    ComponentStatus = herald_core::ComponentStatus::ALL.iter().map(|s| s.as_str())
);
wire_enum!(
    /// An incident's status.
    IncidentStatus = herald_core::IncidentStatus::ALL.iter().map(|s| s.as_str())
);
wire_enum!(
    /// A maintenance's status.
    MaintenanceStatus = herald_core::MaintenanceStatus::ALL.iter().map(|s| s.as_str())
);
wire_enum!(
    /// How bad an incident is.
    Impact = herald_core::Impact::ALL.iter().map(|s| s.as_str())
);
wire_enum!(
    /// The page's overall indicator.
    Indicator = herald_core::status::Indicator::ALL.iter().map(|s| s.as_str())
);
wire_enum!(
    /// A user's or an API key's role.
    Role = {
        use herald_core::access::Role;
        [Role::Owner, Role::Editor, Role::Viewer].map(Role::as_str)
    }
);

/// A public identifier: 12 characters of `0-9a-z`.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-z]{12}$"))
            .into()
    }
}

impl ToSchema for Id {}

/// Page-wide settings.
#[derive(ToSchema)]
pub struct PageSettings {
    pub id: Id,
    pub name: String,
    pub url: String,
    pub time_zone: String,
}

/// A named set of components shown together.
#[derive(ToSchema)]
pub struct ComponentGroup {
    pub id: Id,
    pub name: String,
    pub description: Option<String>,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One part of the service whose status the page shows.
#[derive(ToSchema)]
pub struct Component {
    pub id: Id,
    pub group_id: Option<Id>,
    pub name: String,
    pub description: Option<String>,
    pub position: i32,
    pub status: ComponentStatus,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub start_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A component status set by an update.
#[derive(ToSchema)]
pub struct AffectedComponent {
    pub component_id: Id,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

/// One message posted on an incident.
#[derive(ToSchema)]
pub struct IncidentUpdate {
    pub id: Id,
    pub status: IncidentStatus,
    /// Markdown.
    pub body: String,
    pub display_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub affected_components: Vec<AffectedComponent>,
    pub deliver_notifications: bool,
}

/// One message posted on a maintenance.
#[derive(ToSchema)]
pub struct MaintenanceUpdate {
    pub id: Id,
    pub status: MaintenanceStatus,
    /// Markdown.
    pub body: String,
    pub display_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub affected_components: Vec<AffectedComponent>,
    pub deliver_notifications: bool,
}

/// One row of a postmortem's timeline.
#[derive(ToSchema)]
pub struct TimelineRow {
    pub at: DateTime<Utc>,
    pub activity: String,
}

/// The write-up after an incident.
#[derive(ToSchema)]
pub struct Postmortem {
    pub body: String,
    pub timeline_zone_label: Option<String>,
    pub timeline_note: Option<String>,
    pub timeline: Vec<TimelineRow>,
    pub contributing_factors: String,
    pub stabilization_steps: String,
    pub impact: String,
    pub corrective_actions: String,
    /// Absent while it is a draft.
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A realtime incident; `updates` newest first.
#[derive(ToSchema)]
pub struct Incident {
    pub id: Id,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub shortlink: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub backfilled: bool,
    pub component_ids: Vec<Id>,
    pub updates: Vec<IncidentUpdate>,
    pub postmortem: Option<Postmortem>,
}

/// A scheduled maintenance window; `updates` newest first.
#[derive(ToSchema)]
pub struct Maintenance {
    pub id: Id,
    pub name: String,
    pub status: MaintenanceStatus,
    pub impact: Impact,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub component_ids: Vec<Id>,
    pub updates: Vec<MaintenanceUpdate>,
}

/// The page's overall status.
#[derive(ToSchema)]
pub struct PageStatus {
    pub indicator: Indicator,
    pub description: String,
}

/// `GET /api/herald/v1/page`: the whole page with its status.
#[derive(ToSchema)]
pub struct Page {
    pub page: PageSettings,
    pub groups: Vec<ComponentGroup>,
    pub components: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub maintenances: Vec<Maintenance>,
    pub status: PageStatus,
    /// The last change to anything on the page; null for an empty page.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The answer to a delete.
#[derive(ToSchema)]
pub struct Deleted {
    pub id: Id,
    pub deleted: bool,
}

/// The answer to revoking an API key.
#[derive(ToSchema)]
pub struct Revoked {
    pub id: Id,
    pub revoked: bool,
}

/// One entry of an incident's event log.
#[derive(ToSchema)]
pub struct IncidentEvent {
    pub incident_id: Id,
    pub at: DateTime<Utc>,
    /// `created`, `updated`, `status_changed`, `components_changed`, `renamed`,
    /// `update_deleted`, `postmortem_published`, `postmortem_reverted` or `deleted`.
    pub kind: String,
    pub detail: serde_json::Value,
}

/// One line of the audit log.
#[derive(ToSchema)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// An API key; its secret is never shown again after creation.
#[derive(ToSchema)]
pub struct ApiKeyInfo {
    pub id: Id,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new API key, with its secret: shown this once only.
#[derive(ToSchema)]
pub struct NewApiKey {
    pub id: Id,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The secret, for `Authorization: OAuth <key>`.
    pub key: String,
}

/// A signed-in session; the cookie comes in `Set-Cookie`.
#[derive(ToSchema)]
pub struct SessionOpened {
    pub email: String,
    pub role: Role,
    /// Send it back as `x-csrf-token` on every write.
    pub csrf_token: String,
}

/// Reusable wording for opening or updating an incident.
#[derive(ToSchema)]
pub struct Template {
    pub id: Id,
    pub name: String,
    pub title: String,
    pub body: String,
    pub update_status: Option<IncidentStatus>,
    pub component_ids: Vec<Id>,
    pub should_send_notifications: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A person who can sign in; the password hash is never shown.
#[derive(ToSchema)]
pub struct UserInfo {
    pub id: Id,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}
