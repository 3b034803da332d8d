//! Subscribers and their deliveries in the native API: list and add subscribers (webhook
//! secrets shown on the subscriber's own page), change their state or components, read the
//! delivery log, and retry dead letters by hand.

use crate::http::api::id;
use crate::http::api_monitoring::{invalid, reveals, Reply};
use crate::http::auth::Caller;
use crate::http::body::Body;
use crate::http::body::Query;
use crate::http::error::AppError;
use crate::http::openapi::{ErrorBody, Failures, QueryFailures, ReadFailures};
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use herald_core::audience::{NewSubscriber, Subscriber, SubscriberMode, SubscriberState};
use herald_core::secret::{scrub, Redact};
use herald_core::Id;
use herald_store::delivery::{DeliveryId, DeliveryState};
use serde::Deserialize;
use serde_json::{json, Value};

fn subscriber_value(s: &Subscriber) -> Value {
    json!({
        "id": s.id, "type": s.mode.as_str(), "email": s.email, "endpoint": s.endpoint,
        "component_ids": s.component_ids, "incident_id": s.incident_id, "state": s.state.as_str(),
        "created_at": s.created_at, "updated_at": s.updated_at,
    })
}

/// A subscriber as the caller may see it: viewers get its webhook or chat URL redacted.
pub(crate) fn shown_to(caller: &Caller, sub: &Subscriber) -> Subscriber {
    if reveals(caller) {
        sub.clone()
    } else {
        sub.redacted()
    }
}

#[derive(Deserialize)]
pub struct SubscriberQuery {
    state: Option<String>,
    #[serde(rename = "type")]
    mode: Option<String>,
}

#[utoipa::path(get, path = "/subscribers", summary = "Lists subscribers, optionally by state and type",
    params(("state" = Option<String>, Query, description = "unconfirmed, active, quarantined or unsubscribed"),
           ("type" = Option<String>, Query, description = "email, webhook, slack, discord or teams")),
    responses((status = 200, description = "Subscribers", body = [Object]), QueryFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_subscribers(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<SubscriberQuery>,
) -> Reply {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            SubscriberState::parse(v)
                .ok_or_else(|| invalid("state", format!("`{v}` is not a subscriber state")))?,
        ),
    };
    let mode = match q.mode.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            SubscriberMode::parse(v)
                .ok_or_else(|| invalid("type", format!("`{v}` is not a subscriber type")))?,
        ),
    };
    let all = s.store.list_subscribers(state, mode).await?;
    let list: Vec<Value> = all
        .iter()
        .map(|sub| subscriber_value(&shown_to(&caller, sub)))
        .collect();
    Ok((StatusCode::OK, Json(Value::Array(list))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriberBody {
    #[serde(rename = "type")]
    mode: Option<String>,
    email: Option<String>,
    endpoint: Option<String>,
    #[serde(default)]
    component_ids: Vec<Id>,
    incident_id: Option<Id>,
    /// Email subscribers start active, without a confirmation mail.
    #[serde(default)]
    skip_confirmation: bool,
}

#[utoipa::path(post, path = "/subscribers", summary = "Adds a subscriber (email ones get a confirmation mail unless skip_confirmation)",
    request_body(content = Object, description = "type (email|webhook|slack|discord|teams), email, endpoint, component_ids, incident_id, skip_confirmation"),
    responses((status = 201, description = "The subscriber, with its webhook signing secret", body = Object),
        (status = 409, description = "This address or endpoint is subscribed already", body = ErrorBody), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn create_subscriber(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<NewSubscriberBody>,
) -> Reply {
    caller.require_write()?;
    let mode = match b.mode.as_deref() {
        None => None,
        Some(m) => Some(SubscriberMode::parse(m).ok_or_else(|| {
            invalid(
                "type",
                format!("`{m}` is not one of email, webhook, slack, discord, teams"),
            )
        })?),
    };
    let request = NewSubscriber {
        mode,
        email: b.email,
        endpoint: b.endpoint,
        component_ids: b.component_ids,
        incident_id: b.incident_id,
        skip_confirmation: b.skip_confirmation,
    };
    let sub = s.prepare_subscriber(request).await?;
    if let Some(url) = &sub.endpoint {
        s.notifier
            .guard
            .check(url)
            .await
            .map_err(|e| invalid("endpoint", e.to_string()))?;
    }
    s.service.create_subscriber(&caller, &sub).await?;
    let mut v = subscriber_value(&sub);
    v["secret"] = json!(s.store.subscriber_secret(&sub.id).await?);
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/subscribers/{id}", summary = "A subscriber with its signing secret and its latest deliveries",
    params(("id" = String, Path, description = "The subscriber's id")),
    responses((status = 200, description = "The subscriber", body = Object), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_subscriber(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    let sub = s.store.subscriber(&key).await?.ok_or(AppError::NotFound)?;
    let mut v = subscriber_value(&sub);
    v["secret"] = json!(s.store.subscriber_secret(&key).await?);
    v["deliveries"] = json!(s.store.list_deliveries(None, Some(&key), 100).await?);
    Ok((StatusCode::OK, Json(v)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberChange {
    state: Option<String>,
    component_ids: Option<Vec<Id>>,
}

#[utoipa::path(patch, path = "/subscribers/{id}", summary = "Confirms, reactivates, quarantines or unsubscribes a subscriber, or changes its components",
    params(("id" = String, Path, description = "The subscriber's id")),
    request_body(content = Object, description = "state (active|quarantined|unsubscribed), component_ids"),
    responses((status = 200, description = "The subscriber", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn update_subscriber(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(b): Body<SubscriberChange>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    let mut sub = s.store.subscriber(&key).await?.ok_or(AppError::NotFound)?;
    if let Some(ids) = &b.component_ids {
        sub = s.set_subscriber_components(&caller, &key, ids).await?;
    }
    if let Some(state) = &b.state {
        let state = match SubscriberState::parse(state) {
            Some(SubscriberState::Unconfirmed) | None => {
                return Err(invalid(
                    "state",
                    format!("`{state}` is not one of active, quarantined, unsubscribed"),
                ))
            }
            Some(st) => st,
        };
        sub = s.set_subscriber_state(&caller, &key, state).await?;
    }
    Ok((StatusCode::OK, Json(subscriber_value(&sub))))
}

#[derive(Deserialize)]
pub struct DeliveryQuery {
    state: Option<String>,
    subscriber: Option<String>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/deliveries", summary = "The delivery log, newest first (state=dead lists dead letters)",
    params(("state" = Option<String>, Query, description = "pending, sent, dead or dropped"),
           ("subscriber" = Option<String>, Query, description = "Only this subscriber's deliveries"),
           ("limit" = Option<i64>, Query, description = "At most this many (default 100, at most 1000)")),
    responses((status = 200, description = "Deliveries and counts by state", body = Object), QueryFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DeliveryQuery>,
) -> Reply {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(st) => Some(DeliveryState::parse(st).ok_or_else(|| {
            invalid(
                "state",
                format!("`{st}` is not one of pending, sent, dead, dropped"),
            )
        })?),
    };
    let subscriber = q
        .subscriber
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(id)
        .transpose()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let mut list = s
        .store
        .list_deliveries(state, subscriber.as_ref(), limit)
        .await?;
    if !reveals(&caller) {
        // Errors name the host only, but quote the receiver's answer as it came.
        let hooks: Vec<Subscriber> = s
            .store
            .list_subscribers(None, None)
            .await?
            .into_iter()
            .filter(|sub| sub.endpoint.is_some())
            .collect();
        for d in &mut list {
            let sub = hooks.iter().find(|h| h.id == d.subscriber_id);
            if let (Some(sub), Some(error)) = (sub, &mut d.last_error) {
                *error = scrub(error, &sub.secrets());
            }
        }
    }
    let counts = s.store.delivery_counts().await?;
    Ok((
        StatusCode::OK,
        Json(json!({"counts": counts, "deliveries": list})),
    ))
}

#[utoipa::path(post, path = "/deliveries/{id}/retry", summary = "Queues a dead delivery again, due now",
    params(("id" = String, Path, description = "The delivery's id (notification.subscriber)")),
    responses((status = 200, description = "Queued", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn retry_delivery(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let delivery = DeliveryId::parse(&raw).map_err(|_| AppError::NotFound)?;
    s.service.retry_delivery(&caller, &delivery).await?;
    Ok((
        StatusCode::OK,
        Json(json!({"id": delivery, "state": DeliveryState::Pending})),
    ))
}
