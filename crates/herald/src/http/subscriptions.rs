//! Subscribing from the public page, and the signed links every message carries: confirm
//! (double opt-in), manage (choose components), unsubscribe (a page with a button, and the
//! RFC 8058 one-click POST mail clients send). `POST /subscribe` takes the page's form or JSON;
//! JSON callers get JSON answers, browsers get small pages.
//!
//! Subscribing never tells whether an address was already subscribed: a new address, one
//! waiting for confirmation and a confirmed one get the same status and the same body. One
//! waiting for confirmation is sent the confirmation again, at most once per [`RESEND_AFTER`]
//! per destination (silently skipped otherwise); a confirmed one is sent nothing.

use crate::http::body::Body;
use crate::http::error::AppError;
use crate::http::limit::ClientIp;
use crate::http::state::AppState;
use crate::render::charts::escape;
use crate::runtime::notify::links::{Keys, Purpose};
use crate::service::subscribers::Subscribed;
use crate::service::Actor;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use herald_core::audience::{NewSubscriber, SubscriberMode, SubscriberState};
use herald_core::Id;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscribe",
            get(crate::http::public::snapshot).post(subscribe),
        )
        .route("/subscriptions/confirm", get(confirm))
        .route("/subscriptions/manage", get(manage_form).post(manage_save))
        .route(
            "/subscriptions/unsubscribe",
            get(unsubscribe_form).post(unsubscribe),
        )
}

/// A small page in the site's style.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><link rel=\"stylesheet\" href=\"/assets/herald.css\">\
         <link rel=\"stylesheet\" href=\"/assets/theme.css\">\
         <link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\"></head><body>\
         <main id=\"main\" class=\"wrap site-main\"><h1>{t}</h1>{body}\
         <p><a href=\"/\">Back to the status page</a></p></main></body></html>",
        t = escape(title)
    );
    (status, Html(html)).into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

#[derive(Deserialize)]
struct SubscribeFields {
    email: Option<String>,
    endpoint: Option<String>,
    /// `email` (default), `webhook`, `slack`, `discord` or `teams`.
    #[serde(rename = "type")]
    mode: Option<String>,
    #[serde(default)]
    component_ids: Vec<String>,
}

/// How long after a confirmation mail another may go to the same unconfirmed subscriber.
pub const RESEND_AFTER: chrono::Duration = chrono::Duration::minutes(15);

/// When each destination was last sent a confirmation by this instance (in memory).
#[derive(Default)]
pub struct Resends(std::sync::Mutex<std::collections::HashMap<String, DateTime<Utc>>>);

impl Resends {
    /// Whether a confirmation may go to `destination` at `now`; when it may, it is counted.
    fn take(&self, destination: &str, now: DateTime<Utc>) -> bool {
        let Ok(mut sent) = self.0.lock() else {
            return false;
        };
        if sent.len() > 100_000 {
            sent.retain(|_, at| now - *at < RESEND_AFTER);
        }
        match sent.get(destination) {
            Some(at) if now - *at < RESEND_AFTER => false,
            _ => {
                sent.insert(destination.to_string(), now);
                true
            }
        }
    }
}

async fn subscribe(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(b): Body<Value>,
) -> Response {
    let json_reply = wants_json(&headers);
    // Answered from the request alone, never from what was stored before.
    match do_subscribe(&s, ip, b).await {
        Ok(sub) if json_reply => (
            StatusCode::CREATED,
            Json(json!({
                "type": sub.mode.as_str(), "state": sub.state.as_str(),
                "component_ids": sub.component_ids,
            })),
        )
            .into_response(),
        Ok(sub) if sub.state == SubscriberState::Unconfirmed => page(
            StatusCode::CREATED,
            "Check your inbox",
            "<p>Unless this address is subscribed already, an email with a link is on its way. \
             Follow it to confirm the subscription; nothing is sent before that.</p>",
        ),
        Ok(_) => page(
            StatusCode::CREATED,
            "Subscribed",
            "<p>Notifications will be posted to the address you gave.</p>",
        ),
        Err(e) if json_reply => e.into_response(),
        Err(e) => {
            let message = e.to_string();
            let status = e.into_response().status();
            page(
                status,
                "Could not subscribe",
                &format!("<p>{}</p>", escape(&message)),
            )
        }
    }
}

/// The key confirmations are counted by: the destination, whatever its subscriber's id.
fn destination(sub: &herald_core::audience::Subscriber) -> String {
    format!(
        "{}:{}:{}",
        sub.mode.as_str(),
        sub.email.as_deref().unwrap_or(""),
        sub.endpoint.as_deref().unwrap_or("")
    )
}

/// Validates and stores a subscription; returns the subscriber as requested (also when the
/// destination was subscribed already, which the caller is not told).
async fn do_subscribe(
    s: &AppState,
    ip: std::net::IpAddr,
    b: Value,
) -> Result<herald_core::audience::Subscriber, AppError> {
    let f: SubscribeFields = crate::http::body::parse(b)?;
    let who = f
        .email
        .clone()
        .or(f.endpoint.clone())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !s.subscribe_limit.allow(&format!("ip:{ip}"))
        || !s.subscribe_limit.allow(&format!("to:{who}"))
    {
        return Err(AppError::TooManyRequests);
    }
    let mode = match f.mode.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(SubscriberMode::parse(m).ok_or_else(|| AppError::Invalid {
            field: Some("type".into()),
            message: format!(
                "`{m}` is not a subscription type (email, webhook, slack, discord, teams)"
            ),
        })?),
    };
    let mut component_ids = Vec::new();
    for raw in f.component_ids.iter().filter(|c| !c.is_empty()) {
        component_ids.push(Id::parse(raw).map_err(|_| AppError::Invalid {
            field: Some("component_ids".into()),
            message: format!("`{raw}` is not a component id"),
        })?);
    }
    let request = NewSubscriber {
        mode,
        email: f.email.filter(|e| !e.trim().is_empty()),
        endpoint: f.endpoint.filter(|e| !e.trim().is_empty()),
        component_ids,
        incident_id: None,
        skip_confirmation: false,
    };
    let sub = s.prepare_subscriber(request).await?;
    if let Some(url) = &sub.endpoint {
        s.notifier
            .guard
            .check(url)
            .await
            .map_err(|e| AppError::Invalid {
                field: Some("endpoint".into()),
                message: e.to_string(),
            })?;
    }
    let now = s.now();
    match s.subscribe(&Actor::Public(ip), &sub).await? {
        // The confirmation just queued counts as the first one sent.
        Subscribed::New => {
            s.resend_limit.take(&destination(&sub), now);
        }
        Subscribed::Waiting(existing) => confirm_again(s, &existing, now).await?,
        Subscribed::Confirmed => {}
    }
    Ok(sub)
}

/// Someone subscribed a destination still waiting for confirmation: it is sent the
/// confirmation again unless one went lately.
async fn confirm_again(
    s: &AppState,
    existing: &herald_core::audience::Subscriber,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if now - existing.created_at < RESEND_AFTER || !s.resend_limit.take(&destination(existing), now)
    {
        return Ok(());
    }
    s.resend_confirmation(existing, RESEND_AFTER).await?;
    Ok(())
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn subscriber_for(
    s: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<herald_core::audience::Subscriber, Response> {
    let keys = Keys::load(&s.notifier, s.store.as_ref())
        .await
        .map_err(|e| AppError::from(e).into_response())?;
    let bad = || {
        page(
            StatusCode::NOT_FOUND,
            "Link not recognised",
            "<p>This link is not valid. Use the newest message you received, or subscribe again.</p>",
        )
    };
    let id = keys.check(token, purpose).ok_or_else(bad)?;
    s.store
        .subscriber(&id)
        .await
        .map_err(|e| AppError::from(e).into_response())?
        .ok_or_else(bad)
}

/// The stored page, or the error page to answer with.
async fn stored_page(s: &AppState) -> Result<herald_core::PageDocument, Response> {
    match s.store.load().await {
        Ok(Some(doc)) => Ok(doc),
        Ok(None) => Err(AppError::NotFound.into_response()),
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

async fn confirm(State(s): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let sub = match subscriber_for(&s, &q.token, Purpose::Confirm).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    match sub.state {
        SubscriberState::Unconfirmed => {
            if let Err(e) = s.confirm_subscription(&sub.id).await {
                return AppError::from(e).into_response();
            }
            page(
                StatusCode::OK,
                "Subscription confirmed",
                "<p>You will get an email when something happens.</p>",
            )
        }
        SubscriberState::Active => page(
            StatusCode::OK,
            "Subscription confirmed",
            "<p>This subscription was already confirmed.</p>",
        ),
        _ => page(
            StatusCode::GONE,
            "Subscription ended",
            "<p>This subscription was ended. Subscribe again from the status page.</p>",
        ),
    }
}

async fn manage_form(State(s): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let sub = match subscriber_for(&s, &q.token, Purpose::Manage).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    let doc = match stored_page(&s).await {
        Ok(doc) => doc,
        Err(r) => return r,
    };
    if sub.state == SubscriberState::Unsubscribed {
        return page(
            StatusCode::GONE,
            "Subscription ended",
            "<p>This subscription was ended.</p>",
        );
    }
    let token = escape(&q.token);
    let mut boxes = String::new();
    for c in &doc.components {
        let checked = if sub.component_ids.contains(&c.id) {
            " checked"
        } else {
            ""
        };
        boxes.push_str(&format!(
            "<li><label><input type=\"checkbox\" name=\"component_ids[]\" value=\"{}\"{checked}> {}</label></li>",
            c.id,
            escape(&c.name)
        ));
    }
    let who = escape(
        sub.email
            .as_deref()
            .or(sub.endpoint.as_deref())
            .unwrap_or(""),
    );
    let body = format!(
        "<p>Notifications for <strong>{who}</strong>. Tick the components you want to hear about; \
         tick none to hear about the whole page.</p>\
         <form method=\"post\" action=\"/subscriptions/manage?token={token}\"><ul class=\"subscribe-components\">{boxes}</ul>\
         <button type=\"submit\">Save preferences</button></form>\
         <form method=\"post\" action=\"/subscriptions/unsubscribe?token={token}\">\
         <button type=\"submit\">Unsubscribe from everything</button></form>"
    );
    page(StatusCode::OK, "Manage your subscription", &body)
}

#[derive(Deserialize)]
struct ManageFields {
    #[serde(default)]
    component_ids: Vec<String>,
}

async fn manage_save(
    State(s): State<AppState>,
    Query(q): Query<TokenQuery>,
    Body(b): Body<ManageFields>,
) -> Response {
    let sub = match subscriber_for(&s, &q.token, Purpose::Manage).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    let doc = match stored_page(&s).await {
        Ok(doc) => doc,
        Err(r) => return r,
    };
    let mut ids = Vec::new();
    for raw in b.component_ids.iter().filter(|c| !c.is_empty()) {
        match Id::parse(raw).ok().filter(|id| doc.component(id).is_some()) {
            Some(id) => ids.push(id),
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Could not save",
                    &format!("<p>`{}` is not a component of this page.</p>", escape(raw)),
                )
            }
        }
    }
    if let Err(e) = s.choose_components(&sub.id, &ids).await {
        return AppError::from(e).into_response();
    }
    page(
        StatusCode::OK,
        "Preferences saved",
        "<p>Your choice of components was saved.</p>",
    )
}

async fn unsubscribe_form(State(s): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    if let Err(r) = subscriber_for(&s, &q.token, Purpose::Manage).await {
        return r;
    }
    let token = escape(&q.token);
    page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<p>Stop all notifications from this status page?</p>\
             <form method=\"post\" action=\"/subscriptions/unsubscribe?token={token}\">\
             <button type=\"submit\">Unsubscribe</button></form>"
        ),
    )
}

/// Ends the subscription: the page's button, or a mail client's RFC 8058 one-click POST.
async fn unsubscribe(State(s): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let sub = match subscriber_for(&s, &q.token, Purpose::Manage).await {
        Ok(sub) => sub,
        Err(r) => return r,
    };
    if sub.state != SubscriberState::Unsubscribed {
        if let Err(e) = s.service.unsubscribe(&sub.id).await {
            return AppError::from(e).into_response();
        }
    }
    page(
        StatusCode::OK,
        "Unsubscribed",
        "<p>You will get no more notifications from this page.</p>",
    )
}
