//! The HTTP surface: the public site served from the snapshot, health checks, and (later) the
//! admin UI and APIs. One error type, [`error::AppError`], mapped to responses in one place.

use crate::app::AppState;
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

pub mod api;
pub mod body;
pub mod error;
pub mod form;
pub mod limit;
pub mod public;
pub mod session;

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .nest("/api/herald/v1", api::routes())
        .fallback(public::snapshot)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}
