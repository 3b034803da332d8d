//! What outside systems send in: heartbeat pushes (`/api/push/{token}`) and alerts from
//! Alertmanager, Grafana, Sentry or anything speaking Herald's generic format
//! (`/api/integrations/{kind}`, authenticated by the integration's own token).

use super::error::AppError;
use crate::http::state::AppState;
use crate::runtime::monitoring::Pushed;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{any, post};
use axum::{Json, Router};
use herald_core::monitor::IntegrationKind;
use serde::Deserialize;
use serde_json::{json, Value};

/// Mounted at the top level: `/api/push/{token}` and `/api/integrations/{kind}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/push/{token}", any(push))
        .route("/api/integrations/{kind}", post(alerts))
}

/// A heartbeat: any method, any body.
async fn push(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, AppError> {
    match state.monitoring.push(&token, (state.clock)()) {
        Some(Pushed::Here) => Ok(Json(json!({"ok": true}))),
        Some(Pushed::Elsewhere(id)) => {
            // Another instance watches this heartbeat: pass the push on.
            let topic = format!("{}{id}", crate::runtime::cluster::PUSH);
            state.announce(&topic).await;
            Ok(Json(json!({"ok": true})))
        }
        None => Err(AppError::NotFound),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The integration token: `?token=`, `Authorization: Bearer …`, or Grafana's/Sentry's habit of
/// a bare `Authorization` value.
fn token(headers: &HeaderMap, query: &TokenQuery) -> Option<String> {
    if let Some(t) = &query.token {
        return Some(t.clone());
    }
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let value = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value);
    (!value.is_empty()).then(|| value.to_string())
}

/// Alerts in: each is mapped to a component and a status; firing ones hold the status until
/// they resolve.
async fn alerts(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let kind = IntegrationKind::parse(&kind).ok_or(AppError::NotFound)?;
    let token = token(&headers, &query).ok_or(AppError::Unauthorized)?;
    let integration = state
        .store
        .integration_by_token_hash(&crate::http::auth::secret_hash(&token))
        .await?
        .filter(|i| i.kind == kind)
        .ok_or(AppError::Unauthorized)?;
    // Bounded and free of NUL before the payload parser sees it.
    crate::http::body::json(&body)?;
    let parsed = herald_core::monitor::alerts::parse_payload(kind, &body).map_err(|e| {
        AppError::Invalid {
            field: Some(e.field),
            message: e.message,
        }
    })?;
    let components = state
        .store
        .load()
        .await?
        .map(|doc| doc.components)
        .unwrap_or_default();
    let mut mapped = Vec::with_capacity(parsed.len());
    for alert in &parsed {
        let (component, status) =
            herald_core::monitor::alerts::map_alert(&integration, alert, &components).map_err(
                |e| AppError::Invalid {
                    field: Some(e.field),
                    message: e.message,
                },
            )?;
        mapped.push((alert.key.clone(), alert.firing, component, status));
    }
    let firing = mapped.iter().filter(|a| a.1).count();
    let count = mapped.len();
    state.monitoring.ingest_alerts(&integration.id, mapped);
    Ok(Json(json!({
        "accepted": count,
        "firing": firing,
        "resolved": count - firing,
    })))
}
