//! The HTTP surface: the public site served from the snapshot, health checks, and (later) the
//! admin UI and APIs. One error type, [`error::AppError`], mapped to responses in one place.

use crate::http::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::get;
use axum::Router;
use std::time::Duration;
use tower::Layer;
use tower_http::timeout::TimeoutLayer;

pub mod admin;
pub mod api;
pub mod api_monitoring;
pub mod api_notify;
pub mod auth;
pub mod body;
pub mod charts;
pub mod error;
pub mod form;
pub mod ingest;
pub mod limit;
pub mod openapi;
pub mod prometheus;
pub mod public;
pub mod security;
pub mod server;
pub mod session;
pub mod state;
pub mod subscriptions;
pub mod trace;
pub mod v1;
pub mod v1_metrics;

/// The largest request body taken (a whole data file imported through the API fits).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The whole router. Every request gets its id first (see [`trace`]); Statuspage's `.json`
/// path suffixes are removed before routing.
pub fn router(state: AppState) -> Router {
    let routes = routes(state);
    let service = tower::ServiceBuilder::new()
        .layer(trace::RequestIdLayer)
        .map_request(strip_json_suffix)
        .service(routes);
    Router::new().fallback_service(service)
}

fn strip_json_suffix(mut req: axum::extract::Request) -> axum::extract::Request {
    if let Some(path) = v1::normalise_path(req.uri().path()) {
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = rebuilt.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .nest("/api/herald/v1", api::routes())
        .nest("/v1", v1::routes())
        .nest("/admin", admin::routes())
        .merge(ingest::routes())
        .merge(charts::routes())
        .merge(subscriptions::routes())
        // A write the database refused keeps /readyz not ready until one succeeds.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            public::track_writes,
        ))
        // No encoded NUL in a path, no query string that is not strict UTF-8 within bounds.
        .layer(axum::middleware::from_fn(body::guard_uri))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Refused by its announced length before a byte is read, or once it grows past it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(DefaultBodyLimit::disable())
        // Outside the body limit: a caller whose role cannot write is refused before its body
        // is looked at, whatever its size.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::auth::require_role,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.site.https.clone(),
            security::headers,
        ))
        // Outermost, so the span covers every layer and its status is the one sent.
        .layer(trace::SpanLayer::routes())
        // Added after the layers: the public read path (a GET answered from memory) sets its
        // security headers itself and needs neither a body limit nor a time-out. Its span is
        // at `debug`, nothing unless asked for; bound to the state here, as a plain service,
        // so the wrapper adds no per-request work of its own.
        .fallback_service(
            trace::SpanLayer::public().layer(public::snapshot.with_state(state.clone())),
        )
        .with_state(state)
}
