//! The admin web UI under `/admin`: server-rendered minijinja pages and plain HTML forms that
//! work without JavaScript. Every page needs a session; every form carries the session's CSRF
//! token in a hidden `csrf_token` field, checked before anything is written (the sign-in form,
//! before there is a session, carries a token of its own that must match its cookie). A form
//! that needs a role the person lacks is refused before its body is read. Responses are never
//! cached or framed, and carry a strict Content-Security-Policy (no inline scripts or styles).

use crate::http::auth::{self, Caller, Credential};
use crate::http::error::AppError;
use crate::http::limit::ClientIp;
use crate::http::session;
use crate::http::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use herald_core::access::Role;
use herald_core::{Id, PageDocument, PageSettings};
use minijinja::{context, Environment, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod access;
mod components;
mod incidents;
mod maintenance;
mod monitoring;
mod postmortem;
mod subscribers;
mod typed;

/// The admin stylesheet, served at `/admin/assets/admin.css`.
const ADMIN_CSS: &str = include_str!("../../assets/admin.css");
/// The admin script (confirmations before deleting), served at `/admin/assets/admin.js`.
const ADMIN_JS: &str = include_str!("../../assets/admin.js");

/// The admin templates, by name, as compiled into the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/admin/base.html")),
    (
        "macros.html",
        include_str!("../../templates/admin/macros.html"),
    ),
    (
        "login.html",
        include_str!("../../templates/admin/login.html"),
    ),
    (
        "error.html",
        include_str!("../../templates/admin/error.html"),
    ),
    (
        "dashboard.html",
        include_str!("../../templates/admin/dashboard.html"),
    ),
    (
        "incidents.html",
        include_str!("../../templates/admin/incidents.html"),
    ),
    (
        "incident_new.html",
        include_str!("../../templates/admin/incident_new.html"),
    ),
    (
        "backfill.html",
        include_str!("../../templates/admin/backfill.html"),
    ),
    (
        "incident.html",
        include_str!("../../templates/admin/incident.html"),
    ),
    (
        "postmortem.html",
        include_str!("../../templates/admin/postmortem.html"),
    ),
    (
        "components.html",
        include_str!("../../templates/admin/components.html"),
    ),
    (
        "maintenance.html",
        include_str!("../../templates/admin/maintenance.html"),
    ),
    (
        "api_keys.html",
        include_str!("../../templates/admin/api_keys.html"),
    ),
    (
        "users.html",
        include_str!("../../templates/admin/users.html"),
    ),
    (
        "audit.html",
        include_str!("../../templates/admin/audit.html"),
    ),
    (
        "monitor_form.html",
        include_str!("../../templates/admin/monitor_form.html"),
    ),
    (
        "monitors.html",
        include_str!("../../templates/admin/monitors.html"),
    ),
    (
        "monitor.html",
        include_str!("../../templates/admin/monitor.html"),
    ),
    (
        "alerting.html",
        include_str!("../../templates/admin/alerting.html"),
    ),
    (
        "subscribers.html",
        include_str!("../../templates/admin/subscribers.html"),
    ),
    (
        "subscriber.html",
        include_str!("../../templates/admin/subscriber.html"),
    ),
];

/// The routes, to be nested under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/drafts/{component}/publish", post(publish_draft))
        .route("/assets/admin.css", get(stylesheet))
        .route("/assets/admin.js", get(script))
        .merge(incidents::routes())
        .merge(postmortem::routes())
        .merge(components::routes())
        .merge(maintenance::routes())
        .merge(access::routes())
        .merge(monitoring::routes())
        .merge(subscribers::routes())
        .fallback(not_found)
        .layer(axum::middleware::map_response(protect))
}

/// Adds the headers every admin response carries.
async fn protect(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}

/// The template environment, built once; auto-escaping is on for every `.html` template.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "admin template does not compile");
            }
        }
        env
    })
}

/// Renders a template with `status`; a template error becomes a plain 500.
fn render(status: StatusCode, template: &str, values: Value) -> Response {
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(values));
    match rendered {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "admin page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// Why an admin request ended early; each becomes an HTML page or a redirect.
#[derive(Debug)]
pub enum AdminError {
    /// No live session: go to the sign-in page.
    SignIn,
    /// Refused (viewer writing, wrong CSRF token, not an owner).
    Forbidden(String),
    NotFound,
    /// Anything else from the application layer.
    App(AppError),
}

impl From<AppError> for AdminError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => AdminError::NotFound,
            AppError::Forbidden(why) => AdminError::Forbidden(why),
            other => AdminError::App(other),
        }
    }
}

impl From<crate::service::ServiceError> for AdminError {
    fn from(e: crate::service::ServiceError) -> Self {
        AdminError::from(AppError::from(e))
    }
}

impl From<herald_store::StoreError> for AdminError {
    fn from(e: herald_store::StoreError) -> Self {
        AdminError::from(AppError::from(e))
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            AdminError::SignIn => return Redirect::to("/admin/login").into_response(),
            AdminError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", why),
            AdminError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.".to_string(),
            ),
            AdminError::App(AppError::Invalid { message, .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "Not accepted", message)
            }
            AdminError::App(AppError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Database unavailable",
                "The database is unavailable; try again shortly.".to_string(),
            ),
            AdminError::App(AppError::CannotWrite(why)) => {
                let message = format!("The database cannot take writes right now ({why}). Nothing was changed; try again once it has room.");
                let mut res = render(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error.html",
                    context! { title => "Nothing was saved", heading => "Nothing was saved", message => message },
                );
                res.extensions_mut()
                    .insert(crate::http::error::WriteRefused(why));
                return res;
            }
            AdminError::App(other) => {
                if let AppError::Internal(cause) = &other {
                    tracing::error!(
                        error = format!("{cause:#}"),
                        "internal error in the admin UI"
                    );
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Herald could not complete the request.".to_string(),
                )
            }
        };
        let request_id = crate::http::trace::current().map(|id| id.to_string());
        render(
            status,
            "error.html",
            context! { title => heading, heading => heading, message => message, request_id => request_id },
        )
    }
}

/// What an admin handler returns.
pub type Reply = Result<Response, AdminError>;

/// The signed-in person behind an admin request.
#[derive(Clone, Debug)]
pub struct Admin {
    pub email: String,
    pub role: Role,
    pub csrf_token: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = auth::session_token(&parts.headers) else {
            return Err(AdminError::SignIn);
        };
        let found = state
            .store
            .session(&auth::secret_hash(&token), (state.clock)())
            .await?;
        let Some(s) = found else {
            return Err(AdminError::SignIn);
        };
        let admin = Admin {
            email: s.user.email,
            role: s.user.role,
            csrf_token: s.csrf_token,
        };
        // A form that needs a role this person lacks is refused before it is read.
        if auth::is_unsafe(&parts.method) {
            let path = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map(|u| u.0.path().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string());
            let path = path.strip_prefix("/admin").unwrap_or(&path);
            if path != "/logout" {
                let caller = admin.caller();
                if owner_only(path) {
                    caller.require_owner()?;
                } else {
                    caller.require_write()?;
                }
            }
        }
        Ok(admin)
    }
}

/// Admin forms only an owner may send (API keys and users).
fn owner_only(path: &str) -> bool {
    ["/api-keys", "/users"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

impl Admin {
    /// The caller the domain layer sees.
    pub fn caller(&self) -> Caller {
        Caller {
            role: self.role,
            credential: Credential::Session {
                email: self.email.clone(),
                csrf_token: self.csrf_token.clone(),
            },
        }
    }

    /// Checks a form's CSRF token and that this person may change the page.
    pub fn may_write(&self, form: &Fields) -> Result<(), AdminError> {
        self.check_csrf(form)?;
        self.caller().require_write().map_err(AdminError::from)
    }

    /// Checks a form's CSRF token and that this person is an owner.
    pub fn may_administer(&self, form: &Fields) -> Result<(), AdminError> {
        self.check_csrf(form)?;
        self.caller().require_owner().map_err(AdminError::from)
    }

    /// Refuses a form whose `csrf_token` is not this session's.
    pub fn check_csrf(&self, form: &Fields) -> Result<(), AdminError> {
        let sent = form.get("csrf_token");
        // Compare digests so the comparison time says nothing about the token.
        if !sent.is_empty() && auth::secret_hash(sent) == auth::secret_hash(&self.csrf_token) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(
                "The form's security token is missing or out of date. Reload the page and try again."
                    .into(),
            ))
        }
    }

    /// What every page's frame shows about the signed-in person.
    pub fn frame(&self, nav: &str) -> Frame {
        Frame {
            email: self.email.clone(),
            role: self.role.as_str(),
            csrf_token: self.csrf_token.clone(),
            can_write: self.role.can_write(),
            is_owner: self.role.can_administer(),
            nav: nav.to_string(),
        }
    }
}

/// The part of every admin page about who is signed in and where they are.
#[derive(Serialize)]
pub struct Frame {
    pub email: String,
    pub role: &'static str,
    pub csrf_token: String,
    pub can_write: bool,
    pub is_owner: bool,
    pub nav: String,
}

/// Renders an admin page: the frame as `me`, the title, and the page's own view as `page`.
pub fn page(admin: &Admin, nav: &str, title: &str, template: &str, view: impl Serialize) -> Reply {
    page_with_status(admin, nav, title, template, view, StatusCode::OK)
}

/// [`page`] with a status other than 200 (a form sent back with errors).
pub fn page_with_status(
    admin: &Admin,
    nav: &str,
    title: &str,
    template: &str,
    view: impl Serialize,
    status: StatusCode,
) -> Reply {
    Ok(render(
        status,
        template,
        context! {
            me => admin.frame(nav),
            title => title,
            page => Value::from_serialize(view),
        },
    ))
}

/// A submitted form: its fields in order, repeated names kept.
#[derive(Clone, Debug, Default)]
pub struct Fields(Vec<(String, String)>);

/// Bounds on an admin form: the form parser's, with room for the longest real form (an
/// incident over every component of a large page sends a few fields per component).
const FIELD_LIMITS: crate::http::form::Limits = crate::http::form::Limits {
    pairs: 5_000,
    ..crate::http::form::LIMITS
};

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = AdminError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let refused = |message: String| {
            AdminError::App(AppError::Invalid {
                field: None,
                message,
            })
        };
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(refused(
                "the form could not be read: it was not sent as a form".into(),
            ));
        }
        let body = axum::body::to_bytes(req.into_body(), FIELD_LIMITS.bytes)
            .await
            .map_err(|_| {
                refused(format!(
                    "the form could not be read: it is larger than {} bytes",
                    FIELD_LIMITS.bytes
                ))
            })?;
        crate::http::form::pairs(&body, FIELD_LIMITS)
            .map(Fields)
            .map_err(|e| refused(format!("the form could not be read: {e}")))
    }
}

impl Fields {
    /// The last value of a field, or "" when it is absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// Fields whose names start with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }

    /// The typed values, for sending a form back as it was (the token left out).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter(|(k, _)| k != "csrf_token")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A form sent back: what was typed and the message for each field that was refused.
#[derive(Default, Serialize)]
pub struct FormState {
    pub values: BTreeMap<String, String>,
    pub errors: BTreeMap<String, String>,
}

impl FormState {
    /// A fresh form with these starting values.
    pub fn new<const N: usize>(defaults: [(&str, String); N]) -> Self {
        FormState {
            values: defaults
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            errors: BTreeMap::new(),
        }
    }

    /// A form sent back with the error from a refused command.
    pub fn refused(form: &Fields, error: &AppError) -> Self {
        let (field, message) = match error {
            AppError::Invalid { field, message } => (field.clone(), message.clone()),
            other => (None, other.to_string()),
        };
        FormState {
            values: form.values(),
            errors: BTreeMap::from([(field.unwrap_or_else(|| "form".into()), message)]),
        }
    }
}

/// A refusal of one field, as the domain layer words them.
pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: Some(field.to_string()),
        message: message.into(),
    }
}

/// The stored page; an empty one when nothing has been set up yet.
pub async fn load(state: &AppState) -> Result<PageDocument, AdminError> {
    Ok(state.store.load().await?.unwrap_or_else(|| {
        PageDocument::empty(PageSettings {
            id: Id::derive("page"),
            name: "Status".into(),
            url: String::new(),
            time_zone: "Etc/UTC".into(),
        })
    }))
}

/// The page's time zone (UTC when it names none Herald knows).
pub fn zone(doc: &PageDocument) -> Tz {
    herald_core::timefmt::zone(&doc.page.time_zone).unwrap_or(Tz::UTC)
}

/// An instant as the page's zone shows it, e.g. "Nov 03, 2022 - 05:44 PDT".
pub fn shown(at: DateTime<Utc>, tz: Tz) -> String {
    herald_core::timefmt::posted(at, tz)
}

/// An instant as a `datetime-local` input holds it, in the page's zone.
pub fn local_input(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Reads a `datetime-local` value as a time in the page's zone.
pub fn parse_local(field: &str, raw: &str, tz: Tz) -> Result<DateTime<Utc>, AppError> {
    let raw = raw.trim();
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
        .map_err(|_| invalid(field, "must be a date and time, like 2024-05-01T14:30"))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| invalid(field, "does not exist in the page's time zone"))
}

/// Parses an id from a path or a form; an unknown one is "not found".
pub fn parse_id(raw: &str) -> Result<Id, AdminError> {
    Id::parse(raw).map_err(|_| AdminError::NotFound)
}

/// A 303 to `to`, the answer to a form that did its work.
pub fn done(to: &str) -> Reply {
    Ok(Redirect::to(to).into_response())
}

/// One option of a `<select>`: its value and label.
#[derive(Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// The choices for a select over one of the domain's enumerations.
pub fn choices<T: Copy>(
    all: &[T],
    wire: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: wire(*v),
            label: label(*v),
        })
        .collect()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        ADMIN_CSS,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        ADMIN_JS,
    )
        .into_response()
}

async fn not_found() -> AdminError {
    AdminError::NotFound
}

/// The pre-session cookie that carries the sign-in form's token.
const LOGIN_COOKIE: &str = "herald_login";
/// How long a sign-in form stays usable.
const LOGIN_FORM_SECONDS: u32 = 15 * 60;

/// The sign-in form's view.
#[derive(Serialize)]
struct LoginView {
    email: String,
    error: Option<String>,
    login_token: String,
}

/// The sign-in form with a fresh token, set in a short-lived cookie that only `/admin` sees;
/// the form's POST must bring both back, so another site cannot sign a browser in.
fn login_page(
    status: StatusCode,
    email: String,
    error: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let login_token = auth::new_secret(16);
    let cookie = format!(
        "{LOGIN_COOKIE}={login_token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={LOGIN_FORM_SECONDS}{}",
        session::secure_suffix(headers)
    );
    let view = LoginView {
        email,
        error,
        login_token,
    };
    let mut res = render(
        status,
        "login.html",
        context! { title => "Sign in", page => Value::from_serialize(view) },
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_form(headers: HeaderMap) -> Response {
    login_page(StatusCode::OK, String::new(), None, &headers)
}

/// Whether the form's token is the one its cookie carries.
fn login_token_matches(headers: &HeaderMap, form: &Fields) -> bool {
    let sent = form.get("login_token");
    let kept = auth::cookie_value(headers, LOGIN_COOKIE).unwrap_or_default();
    // Compare digests so the comparison time says nothing about the token.
    !sent.is_empty() && auth::secret_hash(sent) == auth::secret_hash(&kept)
}

/// The sign-in form (its token is checked apart).
#[derive(Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/login`: the form's token, then the password check of [`session::sign_in`],
/// then the cookie. Every refused sign-in gets the same page.
async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    form: Fields,
) -> Response {
    // Text fields with defaults always read.
    let LoginForm { email, password } = typed::typed(&form).unwrap_or_default();
    if !login_token_matches(&headers, &form) {
        return login_page(
            StatusCode::FORBIDDEN,
            email,
            Some(
                "This sign-in form is out of date or was not sent from this site. \
                 Sign in again below."
                    .into(),
            ),
            &headers,
        );
    }
    match session::sign_in(&state, ip, &email, &password).await {
        Ok(opened) => {
            let mut res = Redirect::to("/admin").into_response();
            match HeaderValue::from_str(&session::cookie(&opened.token, &headers)) {
                Ok(v) => {
                    let h = res.headers_mut();
                    h.append(header::SET_COOKIE, v);
                    h.append(
                        header::SET_COOKIE,
                        HeaderValue::from_static(
                            "herald_login=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
                        ),
                    );
                    res
                }
                Err(_) => AdminError::App(AppError::Internal(anyhow::anyhow!("bad cookie")))
                    .into_response(),
            }
        }
        Err(e) => {
            let (status, message) = match e {
                AppError::Unauthorized => (
                    StatusCode::UNAUTHORIZED,
                    "That email and password do not match an account.",
                ),
                AppError::TooManyRequests => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed sign-ins from your address. Wait a few minutes and try again.",
                ),
                other => return AdminError::from(other).into_response(),
            };
            login_page(status, email, Some(message.to_string()), &headers)
        }
    }
}

/// `POST /admin/logout`: ends the session (with a valid token) and clears the cookie.
async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    form: Fields,
) -> Reply {
    admin.check_csrf(&form)?;
    if let Some(token) = auth::session_token(&headers) {
        state.close_session(&token).await?;
    }
    let mut res = Redirect::to("/admin/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("herald_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

/// A component's row on the dashboard and component lists.
#[derive(Serialize)]
struct StatusRow {
    name: String,
    status: &'static str,
    label: &'static str,
}

/// A group of component rows (the ungrouped ones under `name` = None).
#[derive(Serialize)]
struct StatusGroup {
    name: Option<String>,
    components: Vec<StatusRow>,
}

/// A short line about an incident or maintenance.
#[derive(Serialize)]
struct Brief {
    url: String,
    name: String,
    status: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct DashboardView {
    drafts: Vec<DraftBrief>,
    page_name: String,
    indicator: &'static str,
    description: &'static str,
    open_incidents: Vec<Brief>,
    groups: Vec<StatusGroup>,
    upcoming: Vec<Brief>,
}

fn status_groups(doc: &PageDocument) -> Vec<StatusGroup> {
    let row = |c: &herald_core::Component| StatusRow {
        name: c.name.clone(),
        status: c.status.as_str(),
        label: c.status.label(),
    };
    let mut out = vec![StatusGroup {
        name: None,
        components: doc
            .components
            .iter()
            .filter(|c| c.group_id.is_none())
            .map(row)
            .collect(),
    }];
    for g in &doc.groups {
        out.push(StatusGroup {
            name: Some(g.name.clone()),
            components: doc
                .components
                .iter()
                .filter(|c| c.group_id.as_ref() == Some(&g.id))
                .map(row)
                .collect(),
        });
    }
    out
}

/// An incident drafted by automation, on the dashboard.
#[derive(Serialize)]
struct DraftBrief {
    component: String,
    title: String,
    body: String,
    since: String,
}

/// `POST /admin/drafts/{component}/publish`: opens the drafted incident as the signed-in person,
/// who owns it from then on.
async fn publish_draft(
    State(state): State<AppState>,
    admin: Admin,
    axum::extract::Path(raw): axum::extract::Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let component = parse_id(&raw)?;
    let draft = state
        .monitoring
        .take_draft(&state, &component)
        .await
        .ok_or(AdminError::NotFound)?;
    let command =
        herald_core::commands::Command::CreateIncident(herald_core::commands::IncidentInput {
            name: Some(draft.title),
            status: Some(herald_core::IncidentStatus::Investigating),
            impact: Some(herald_core::monitor::automation::impact_for(draft.status)),
            body: Some(draft.body),
            components: vec![(component, draft.status)],
            ..Default::default()
        });
    let applied = state.write(&admin.caller(), command).await?;
    let target = applied
        .subject
        .map(|i| format!("/admin/incidents/{i}"))
        .unwrap_or_else(|| "/admin".into());
    Ok(Redirect::to(&target).into_response())
}

async fn dashboard(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let overall = doc.status();
    let drafts = state
        .monitoring
        .drafts(&state)
        .await
        .into_iter()
        .map(|(component, d)| DraftBrief {
            component: component.to_string(),
            title: d.title,
            body: d.body,
            since: shown(d.created_at, tz),
        })
        .collect();
    let view = DashboardView {
        drafts,
        page_name: doc.page.name.clone(),
        indicator: overall.indicator.as_str(),
        description: overall.description,
        open_incidents: doc
            .unresolved_incidents()
            .map(|i| Brief {
                url: format!("/admin/incidents/{}", i.id),
                name: i.name.clone(),
                status: i.status.label(),
                detail: format!(
                    "{} impact, since {}",
                    i.impact.label(),
                    shown(i.started_at, tz)
                ),
            })
            .collect(),
        groups: status_groups(&doc),
        upcoming: doc
            .maintenances
            .iter()
            .rev()
            .filter(|m| m.status != herald_core::MaintenanceStatus::Completed)
            .map(|m| Brief {
                url: "/admin/maintenance".into(),
                name: m.name.clone(),
                status: m.status.label(),
                detail: format!(
                    "{} to {}",
                    shown(m.scheduled_for, tz),
                    shown(m.scheduled_until, tz)
                ),
            })
            .collect(),
    };
    page(&admin, "dashboard", "Dashboard", "dashboard.html", view)
}
