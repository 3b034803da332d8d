//! Who may do what, in the admin UI: API keys and users (owners only; a new key's secret is
//! shown once), and the audit log of every change with its before and after.

use super::{
    invalid, load, page, page_with_status, parse_id, shown, zone, Admin, AdminError, Fields,
    FormState, Reply,
};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::service::access::NewApiKey;
use crate::service::users::NewUser;
use crate::service::ServiceError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use herald_core::access::Role;
use serde::{Deserialize, Serialize};

/// The access routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(keys).post(create_key))
        .route("/api-keys/{id}/revoke", post(revoke_key))
        .route("/users", get(users).post(create_user))
        .route("/audit", get(audit))
}

const ROLES: &[&str] = &["owner", "editor", "viewer"];

fn require_owner(admin: &Admin) -> Result<(), AdminError> {
    admin.caller().require_owner().map_err(AdminError::from)
}

/// One key in the list.
#[derive(Serialize)]
struct KeyRow {
    id: String,
    name: String,
    role: &'static str,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
}

#[derive(Serialize)]
struct KeysView {
    keys: Vec<KeyRow>,
    roles: &'static [&'static str],
    form: FormState,
    /// The secret of the key just created: shown this once.
    new_secret: Option<String>,
}

async fn keys_page(
    state: &AppState,
    admin: &Admin,
    form: FormState,
    new_secret: Option<String>,
    status: StatusCode,
) -> Reply {
    let doc = load(state).await?;
    let tz = zone(&doc);
    let keys = state
        .store
        .list_api_keys()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name,
            role: k.role.as_str(),
            created: shown(k.created_at, tz),
            last_used: k.last_used_at.map(|t| shown(t, tz)),
            revoked: k.revoked_at.map(|t| shown(t, tz)),
        })
        .collect();
    let view = KeysView {
        keys,
        roles: ROLES,
        form,
        new_secret,
    };
    page_with_status(admin, "api-keys", "API keys", "api_keys.html", view, status)
}

async fn keys(State(state): State<AppState>, admin: Admin) -> Reply {
    require_owner(&admin)?;
    let form = FormState::new([("role", "editor".into())]);
    keys_page(&state, &admin, form, None, StatusCode::OK).await
}

/// The new-key form.
#[derive(Deserialize)]
struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/api-keys`: creates a key and shows its secret on the answer, once.
async fn create_key(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_administer(&form)?;
    let f: KeyForm = super::typed::typed(&form)?;
    let issued = match Role::parse(&f.role) {
        None => Err(invalid("role", "choose a listed role")),
        Some(role) => state
            .create_api_key(&admin.caller(), NewApiKey { name: f.name, role })
            .await
            .map_err(AppError::from),
    };
    let issued = match issued {
        Ok(issued) => issued,
        Err(e @ AppError::Invalid { .. }) => {
            let refused = FormState::refused(&form, &e);
            return keys_page(
                &state,
                &admin,
                refused,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let form = FormState::new([("role", "editor".into())]);
    keys_page(
        &state,
        &admin,
        form,
        Some(issued.secret),
        StatusCode::CREATED,
    )
    .await
}

async fn revoke_key(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_administer(&form)?;
    let id = parse_id(&raw)?;
    state.revoke_api_key(&admin.caller(), &id).await?;
    super::done("/admin/api-keys")
}

/// One user in the list.
#[derive(Serialize)]
struct UserRow {
    email: String,
    role: &'static str,
    created: String,
    locked: bool,
}

#[derive(Serialize)]
struct UsersView {
    users: Vec<UserRow>,
    roles: &'static [&'static str],
    form: FormState,
}

async fn users_page(state: &AppState, admin: &Admin, form: FormState, status: StatusCode) -> Reply {
    let doc = load(state).await?;
    let tz = zone(&doc);
    let now = (state.clock)();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            email: u.email,
            role: u.role.as_str(),
            created: shown(u.created_at, tz),
            locked: herald_core::access::is_locked(u.locked_until, now),
        })
        .collect();
    let view = UsersView {
        users,
        roles: ROLES,
        form,
    };
    page_with_status(admin, "users", "Users", "users.html", view, status)
}

async fn users(State(state): State<AppState>, admin: Admin) -> Reply {
    require_owner(&admin)?;
    let form = FormState::new([("role", "editor".into())]);
    users_page(&state, &admin, form, StatusCode::OK).await
}

/// The new-user form.
#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users`: creates a user with the email, role and password given.
async fn create_user(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_administer(&form)?;
    let f: UserForm = super::typed::typed(&form)?;
    let refusal = match Role::parse(&f.role) {
        None => invalid("role", "choose a listed role"),
        Some(role) => {
            let input = NewUser {
                email: f.email,
                password: f.password,
                role,
            };
            match state.add_user(&admin.caller(), input).await {
                Ok(_) => return super::done("/admin/users"),
                Err(ServiceError::Invalid {
                    field: Some(field),
                    message,
                }) => invalid(&field, message),
                Err(ServiceError::Conflict(what)) => invalid("email", what),
                Err(other) => return Err(other.into()),
            }
        }
    };
    let mut refused = FormState::refused(&form, &refusal);
    refused.values.remove("password");
    users_page(&state, &admin, refused, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// One entry of the audit log.
#[derive(Serialize)]
struct AuditRow {
    at: String,
    actor: String,
    action: String,
    subject: String,
    before: Option<String>,
    after: Option<String>,
}

#[derive(Serialize)]
struct AuditView {
    entries: Vec<AuditRow>,
}

fn pretty(value: Option<serde_json::Value>) -> Option<String> {
    value.map(|v| serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()))
}

async fn audit(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let entries = state
        .store
        .audit_log(200)
        .await?
        .into_iter()
        .map(|mut e| {
            // Every role reads the log, and old entries may predate redaction on write.
            for v in [&mut e.before, &mut e.after].into_iter().flatten() {
                herald_core::secret::redact_audit(&e.action, v);
            }
            e
        })
        .map(|e| AuditRow {
            at: shown(e.at, tz),
            actor: e.actor,
            action: e.action,
            subject: e.subject_id.unwrap_or_default(),
            before: pretty(e.before),
            after: pretty(e.after),
        })
        .collect();
    page(
        &admin,
        "audit",
        "Audit log",
        "audit.html",
        AuditView { entries },
    )
}
