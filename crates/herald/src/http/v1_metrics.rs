//! Statuspage v1 system metrics: listing metrics and posting their data points, in
//! Statuspage's shapes (`{"data": {"timestamp", "value"}}`, Unix seconds).

use crate::http::auth::Caller;
use crate::http::body::Body;
use crate::http::error::AppError;
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use herald_core::monitor::Metric;
use herald_core::Id;
use serde_json::{json, Value};

type Reply = Result<(StatusCode, Json<Value>), AppError>;

/// Routes, merged into the v1 router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages/{page_id}/metrics", get(list))
        .route("/pages/{page_id}/metrics/{metric_id}/data", post(add_data))
}

async fn check_page(s: &AppState, page_id: &str) -> Result<(), AppError> {
    match s.store.load().await? {
        Some(doc) if doc.page.id.as_str() == page_id => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

/// A metric as Statuspage describes it.
fn metric_json(m: &Metric, page_id: &str) -> Value {
    json!({
        "id": m.id,
        "metrics_provider_id": null,
        "metric_identifier": m.id,
        "name": m.name,
        "display": m.display,
        "tooltip_description": m.description,
        "backfilled": false,
        "y_axis_min": m.y_axis_min,
        "y_axis_max": m.y_axis_max,
        "y_axis_hidden": false,
        "suffix": m.suffix,
        "decimal_places": m.decimal_places,
        "most_recent_data_at": null,
        "created_at": null,
        "updated_at": null,
        "last_fetched_at": null,
        "backfill_percentage": 100,
        "reference_name": m.name,
        "page_id": page_id,
    })
}

async fn list(State(s): State<AppState>, _c: Caller, Path(page_id): Path<String>) -> Reply {
    check_page(&s, &page_id).await?;
    let all = s.store.list_metrics().await?;
    let list: Vec<Value> = all.iter().map(|m| metric_json(m, &page_id)).collect();
    Ok((StatusCode::OK, Json(Value::Array(list))))
}

async fn add_data(
    State(s): State<AppState>,
    c: Caller,
    Path((page_id, metric_id)): Path<(String, String)>,
    Body(body): Body<Value>,
) -> Reply {
    c.require_write()?;
    check_page(&s, &page_id).await?;
    let metric = Id::parse(&metric_id).map_err(|_| AppError::NotFound)?;
    let points = crate::http::api_monitoring::points(&body)?;
    s.service.record_metric_points(&c, &metric, &points).await?;
    let echo: Vec<Value> = points
        .iter()
        .map(|p| json!({"timestamp": p.at.timestamp(), "value": p.value}))
        .collect();
    let data = match echo.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(echo),
    };
    Ok((StatusCode::CREATED, Json(json!({"data": data}))))
}
