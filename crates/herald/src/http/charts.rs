//! Public charts: a component's response times and the page's system metrics, as SVG drawn on
//! the server (`/components/{id}/response-time.svg`, `/metrics/{id}.svg`, each with
//! `?range=day|week|month`).
//!
//! Charts change with every probe, so they are not part of the snapshot: each is drawn from the
//! store at most once a minute and kept. When the database is away the last drawing is served;
//! one never drawn comes out as an empty frame.

use crate::http::state::AppState;
use crate::render::charts::{bucket, line_chart, ChartOptions};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::Id;
use herald_store::monitoring::Resolution;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a drawn chart is served before it is drawn again.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// Drawn charts by path and range.
#[derive(Default)]
pub struct ChartCache(Mutex<HashMap<String, (Instant, Bytes)>>);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/components/{id}/response-time.svg", get(response_time))
        .route("/metrics/{file}", get(metric))
}

#[derive(Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum Range {
    #[default]
    Day,
    Week,
    Month,
}

impl Range {
    fn span(self) -> TimeDelta {
        match self {
            Range::Day => TimeDelta::days(1),
            Range::Week => TimeDelta::days(7),
            Range::Month => TimeDelta::days(30),
        }
    }
    fn buckets(self) -> usize {
        match self {
            Range::Day => 96,
            Range::Week => 168,
            Range::Month => 120,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Range::Day => "day",
            Range::Week => "week",
            Range::Month => "month",
        }
    }
    fn words(self) -> &'static str {
        match self {
            Range::Day => "past 24 hours",
            Range::Week => "past 7 days",
            Range::Month => "past 30 days",
        }
    }
}

#[derive(Deserialize)]
struct RangeQuery {
    #[serde(default)]
    range: Option<String>,
}

fn range(q: &RangeQuery) -> Range {
    match q.range.as_deref() {
        Some("week") => Range::Week,
        Some("month") => Range::Month,
        _ => Range::Day,
    }
}

fn svg(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    (axum::http::StatusCode::NOT_FOUND, "no such chart").into_response()
}

/// Serves the cached drawing for `key`, or draws it with `draw`.
async fn cached<F, Fut>(state: &AppState, key: String, draw: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, herald_store::StoreError>>,
{
    let cache = state.charts.clone();
    let held = cache.0.lock().ok().and_then(|c| c.get(&key).cloned());
    if let Some((at, body)) = &held {
        if at.elapsed() < FRESH_FOR {
            return svg(body.clone());
        }
    }
    match draw().await {
        Ok(Some(drawn)) => {
            let body = Bytes::from(drawn);
            if let Ok(mut c) = cache.0.lock() {
                if c.len() > 10_000 {
                    c.clear();
                }
                c.insert(key, (Instant::now(), body.clone()));
            }
            svg(body)
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot draw a chart; serving the last one");
            match held {
                Some((_, body)) => svg(body),
                None => (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "chart unavailable while the database is away",
                )
                    .into_response(),
            }
        }
    }
}

fn options(
    title: String,
    suffix: &str,
    decimals: u8,
    now: DateTime<Utc>,
    r: Range,
) -> ChartOptions {
    ChartOptions {
        title,
        suffix: suffix.to_string(),
        decimal_places: decimals,
        y_min: Some(0.0),
        y_max: None,
        from: now - r.span(),
        to: now,
        width: 720,
        height: 200,
    }
}

async fn response_time(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Response {
    let Ok(component) = Id::parse(&id) else {
        return not_found();
    };
    let r = range(&q);
    let Some(monitor) = state.monitoring.charted_monitor(&component) else {
        return not_found();
    };
    let now = (state.clock)();
    let key = format!("rt:{component}:{}", r.name());
    let store = state.store.clone();
    cached(&state, key, || async move {
        let resolution = match r {
            Range::Month => Resolution::Day,
            _ => Resolution::Minute,
        };
        let rows = store
            .result_aggregates(&monitor, resolution, now - r.span())
            .await?;
        let points: Vec<(DateTime<Utc>, f64)> = rows
            .iter()
            .filter_map(|a| a.mean_latency_ms().map(|ms| (a.start, ms)))
            .collect();
        let points = match r {
            Range::Month => points,
            _ => bucket(&points, now - r.span(), now, r.buckets()),
        };
        let title = format!("Response time, {}", r.words());
        Ok(Some(line_chart(&points, &options(title, " ms", 0, now, r))))
    })
    .await
}

async fn metric(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Response {
    let Some(id) = file.strip_suffix(".svg").and_then(|s| Id::parse(s).ok()) else {
        return not_found();
    };
    let r = range(&q);
    let now = (state.clock)();
    let key = format!("metric:{id}:{}", r.name());
    let store = state.store.clone();
    cached(&state, key, || async move {
        let Some(metric) = store
            .list_metrics()
            .await?
            .into_iter()
            .find(|m| m.id == id && m.display)
        else {
            return Ok(None);
        };
        let points: Vec<(DateTime<Utc>, f64)> = match &metric.monitor_id {
            Some(monitor) => {
                let resolution = match r {
                    Range::Month => Resolution::Day,
                    _ => Resolution::Minute,
                };
                store
                    .result_aggregates(monitor, resolution, now - r.span())
                    .await?
                    .iter()
                    .filter_map(|a| a.mean_latency_ms().map(|ms| (a.start, ms)))
                    .collect()
            }
            None => store
                .metric_points(&id, now - r.span())
                .await?
                .iter()
                .map(|p| (p.at, p.value))
                .collect(),
        };
        let points = bucket(&points, now - r.span(), now, r.buckets());
        let mut opts = options(
            format!("{}, {}", metric.name, r.words()),
            &metric.suffix,
            metric.decimal_places,
            now,
            r,
        );
        opts.y_min = metric.y_axis_min.or(Some(0.0));
        opts.y_max = metric.y_axis_max;
        Ok(Some(line_chart(&points, &opts)))
    })
    .await
}
