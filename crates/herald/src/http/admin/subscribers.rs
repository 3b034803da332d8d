//! Subscribers in the admin UI: counts and the list, dead letters with a retry button, and a
//! page per subscriber with its signing secret, its delivery log and state changes.

use super::{load, page, parse_id, shown, zone, Admin, AdminError, Fields, Reply};
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use herald_core::audience::SubscriberState;
use herald_core::secret::{scrub, Redact};
use herald_store::delivery::{DeliveryId, DeliveryRecord, DeliveryState};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscribers", get(list))
        .route("/subscribers/{id}", get(one))
        .route("/subscribers/{id}/state", post(set_state))
        .route("/deliveries/{id}/retry", post(retry))
}

#[derive(Serialize)]
struct Row {
    id: String,
    kind: &'static str,
    target: String,
    components: usize,
    state: &'static str,
    created: String,
}

#[derive(Serialize)]
struct DeliveryRow {
    id: String,
    subscriber_id: String,
    kind: String,
    state: String,
    attempts: i32,
    error: String,
    created: String,
}

/// The rows of a delivery log; `secrets` gives, for viewers, what to scrub from a subscriber's
/// errors (they name the host only, but a receiver's answer is quoted as it came).
fn delivery_rows(
    list: &[DeliveryRecord],
    tz: chrono_tz::Tz,
    secrets: impl Fn(&str) -> Vec<String>,
) -> Vec<DeliveryRow> {
    list.iter()
        .map(|d| DeliveryRow {
            id: d.id.to_string(),
            subscriber_id: d.subscriber_id.to_string(),
            kind: d.kind.as_str().replace('_', " "),
            state: d.state.as_str().to_string(),
            attempts: d.attempts,
            error: scrub(
                d.last_error.as_deref().unwrap_or_default(),
                &secrets(d.subscriber_id.as_str()),
            ),
            created: shown(d.created_at, tz),
        })
        .collect()
}

async fn list(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let subscribers = state.store.list_subscribers(None, None).await?;
    let total = subscribers.len();
    let rows: Vec<Row> = subscribers
        .iter()
        .rev()
        .take(500)
        .map(|s| Row {
            id: s.id.to_string(),
            kind: s.mode.as_str(),
            target: s
                .email
                .clone()
                .or_else(|| {
                    s.endpoint
                        .as_deref()
                        .map(crate::runtime::alerting::loggable)
                })
                .unwrap_or_default(),
            components: s.component_ids.len(),
            state: s.state.as_str(),
            created: shown(s.created_at, tz),
        })
        .collect();
    let counts = state.store.delivery_counts().await?;
    let dead = state
        .store
        .list_deliveries(Some(DeliveryState::Dead), None, 200)
        .await?;
    // Viewers: what each webhook or chat subscriber's errors must not show.
    let hidden: std::collections::HashMap<&str, Vec<String>> = if admin.frame("").can_write {
        Default::default()
    } else {
        subscribers
            .iter()
            .filter(|s| s.endpoint.is_some())
            .map(|s| (s.id.as_str(), s.secrets()))
            .collect()
    };
    let secrets = |id: &str| hidden.get(id).cloned().unwrap_or_default();
    #[derive(Serialize)]
    struct View {
        total: usize,
        rows: Vec<Row>,
        counts: herald_store::delivery::DeliveryCounts,
        dead: Vec<DeliveryRow>,
    }
    page(
        &admin,
        "subscribers",
        "Subscribers",
        "subscribers.html",
        View {
            total,
            rows,
            counts,
            dead: delivery_rows(&dead, tz, secrets),
        },
    )
}

async fn one(State(state): State<AppState>, admin: Admin, Path(raw): Path<String>) -> Reply {
    let key = parse_id(&raw)?;
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let sub = state
        .store
        .subscriber(&key)
        .await?
        .ok_or(AdminError::NotFound)?;
    let reveal = admin.frame("").can_write;
    let secret = if reveal {
        state.store.subscriber_secret(&key).await?
    } else {
        None
    };
    // Viewers see the webhook or chat URL redacted: its path is its secret.
    let hidden = if reveal { Vec::new() } else { sub.secrets() };
    let endpoint = if reveal {
        sub.endpoint.clone()
    } else {
        sub.redacted().endpoint
    };
    let log = state.store.list_deliveries(None, Some(&key), 200).await?;
    let components: Vec<String> = sub
        .component_ids
        .iter()
        .filter_map(|c| doc.component(c).map(|c| c.name.clone()))
        .collect();
    #[derive(Serialize)]
    struct View {
        id: String,
        kind: &'static str,
        email: Option<String>,
        endpoint: Option<String>,
        state: &'static str,
        components: Vec<String>,
        secret: Option<String>,
        created: String,
        log: Vec<DeliveryRow>,
    }
    page(
        &admin,
        "subscribers",
        "Subscriber",
        "subscriber.html",
        View {
            id: sub.id.to_string(),
            kind: sub.mode.as_str(),
            email: sub.email.clone(),
            endpoint,
            state: sub.state.as_str(),
            components,
            secret: secret.filter(|_| sub.mode != herald_core::audience::SubscriberMode::Email),
            created: shown(sub.created_at, tz),
            log: delivery_rows(&log, tz, |_| hidden.clone()),
        },
    )
}

/// The state form: where to put a subscriber.
#[derive(Deserialize)]
struct StateForm {
    #[serde(default)]
    state: String,
}

async fn set_state(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let key = parse_id(&raw)?;
    let f: StateForm = super::typed::typed(&form)?;
    let wanted = match f.state.as_str() {
        "active" => SubscriberState::Active,
        "quarantined" => SubscriberState::Quarantined,
        "unsubscribed" => SubscriberState::Unsubscribed,
        other => {
            return Err(AdminError::App(crate::http::error::AppError::Invalid {
                field: Some("state".into()),
                message: format!("`{other}` is not a state a subscriber can be put in"),
            }))
        }
    };
    state
        .set_subscriber_state(&admin.caller(), &key, wanted)
        .await?;
    Ok(Redirect::to(&format!("/admin/subscribers/{key}")).into_response())
}

/// The retry button's form: the page to go back to.
#[derive(Deserialize)]
struct RetryForm {
    #[serde(default)]
    back: String,
}

async fn retry(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let f: RetryForm = super::typed::typed(&form)?;
    let id = DeliveryId::parse(&raw).map_err(|_| AdminError::NotFound)?;
    state.retry_delivery(&admin.caller(), &id).await?;
    let back = if f.back.starts_with("/admin/") {
        f.back
    } else {
        "/admin/subscribers".to_string()
    };
    Ok(Redirect::to(&back).into_response())
}
