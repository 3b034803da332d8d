//! Signing in and out: a password check with lock-out after repeated failures and a per-client
//! rate limit, then an HttpOnly, SameSite=Strict session cookie plus a CSRF token for writes.

use crate::app::AppState;
use crate::auth::{self, Caller, Credential, SESSION_COOKIE};
use crate::http::body::Body;
use crate::http::error::AppError;
use crate::http::limit::ClientIp;
use crate::http::openapi::{ErrorBody, SessionOpened};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_core::access;
use serde::Deserialize;
use serde_json::json;

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// The body of `POST /api/herald/v1/session`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// A signed-in session: the cookie value and its CSRF token.
pub struct Opened {
    pub token: String,
    pub csrf_token: String,
    pub email: String,
    pub role: access::Role,
}

/// Checks the password and opens a session. Every refusal looks the same to the caller.
pub async fn sign_in(
    state: &AppState,
    ip: ClientIp,
    email: &str,
    password: &str,
) -> Result<Opened, AppError> {
    let email = email.trim().to_ascii_lowercase();
    if !state.login_limit.allow(&ip.0.to_string())
        || !state.login_limit.allow(&format!("email:{email}"))
    {
        return Err(AppError::TooManyRequests);
    }
    let now = (state.clock)();
    let refused = || AppError::Unauthorized;
    let Some(user) = state.store.user_by_email(&email).await? else {
        // Spend the same effort as a real check, so timing does not reveal unknown emails.
        let _ = auth::verify_password(password, decoy_hash());
        return Err(refused());
    };
    if access::is_locked(user.locked_until, now) {
        return Err(AppError::Forbidden(
            "this account is locked after repeated failed sign-ins; try again later".into(),
        ));
    }
    if !auth::verify_password(password, &user.password_hash) {
        let (failed, locked) = access::after_failed_login(user.failed_logins, now);
        state.store.record_login(&user.id, failed, locked).await?;
        return Err(refused());
    }
    state.store.record_login(&user.id, 0, None).await?;
    let token = auth::new_secret(32);
    let csrf_token = auth::new_secret(16);
    let expires = now + chrono::Duration::hours(SESSION_HOURS);
    state
        .store
        .create_session(
            &auth::secret_hash(&token),
            &user.id,
            &csrf_token,
            now,
            expires,
        )
        .await?;
    Ok(Opened {
        token,
        csrf_token,
        email: user.email,
        role: user.role,
    })
}

/// A real hash of nothing in particular, checked against when the email is unknown.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| auth::hash_password("no such user here").unwrap_or_default())
}

/// The `Set-Cookie` value for a session; `Secure` when the request came over TLS.
pub fn cookie(token: &str, headers: &HeaderMap) -> String {
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        == Some("https");
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if tls { "; Secure" } else { "" }
    )
}

/// `POST /api/herald/v1/session`.
#[utoipa::path(
    post,
    path = "/session",
    operation_id = "create_session",
    summary = "Signs in with email and password",
    request_body = Login,
    responses(
        (status = 201, description = "Signed in; the session cookie is in `Set-Cookie`", body = SessionOpened),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 403, description = "The account is locked after repeated failures", body = ErrorBody),
        (status = 422, description = "The body is invalid", body = ErrorBody),
        (status = 429, description = "Too many attempts; wait a minute", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Body(login): Body<Login>,
) -> Result<Response, AppError> {
    let opened = sign_in(&state, ip, &login.email, &login.password).await?;
    let mut res = (
        StatusCode::CREATED,
        Json(json!({"email": opened.email, "role": opened.role.as_str(), "csrf_token": opened.csrf_token})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(&opened.token, &headers)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `DELETE /api/herald/v1/session`.
#[utoipa::path(
    delete,
    path = "/session",
    operation_id = "delete_session",
    summary = "Signs out, ending the session",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "No valid API key or session", body = ErrorBody),
        (status = 403, description = "A session write without its CSRF token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let (Credential::Session { .. }, Some(token)) =
        (&caller.credential, auth::session_token(&headers))
    {
        state
            .store
            .delete_session(&auth::secret_hash(&token))
            .await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("herald_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}
