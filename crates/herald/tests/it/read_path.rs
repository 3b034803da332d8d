//! The public read path never needs the database: with PostgreSQL stopped, pages, the v2 API
//! and feeds still answer from the in-memory snapshot (marked stale once a refresh fails), while
//! writes get a 503 JSON error and readiness reports the outage.

use crate::common;

use axum::http::StatusCode;
use common::*;
use herald_core::access::Role;
use herald_store::testing::PgCluster;
use herald_store::{PostgresStore, Store};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn public_reads_survive_a_database_outage() {
    let cluster = PgCluster::start();
    let url = cluster.create_database();
    let store = PostgresStore::open(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let app = app_on(Arc::new(store), None).await;
    let key = format!("OAuth {}", app.key(Role::Editor).await);
    let (status, body) = app
        .call(
            "PATCH",
            "/api/herald/v1/components/drchronoipad",
            Some(&key),
            Some(json!({"description": "iPad app"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let paths = [
        "/",
        "/api/v2/summary.json",
        "/history.atom",
        "/incidents/slowness2211",
        "/badge.svg",
    ];
    let mut healthy = vec![];
    for p in paths {
        let (status, body) = app.text(p).await;
        assert_eq!(status, StatusCode::OK, "{p}");
        healthy.push(body);
    }

    cluster.stop();
    // A refresh attempt fails and marks the snapshot stale; it keeps serving.
    assert!(app.state.site.rebuild().await.is_err());
    for (p, before) in paths.iter().zip(&healthy) {
        let (status, body) = app.text(p).await;
        assert_eq!(status, StatusCode::OK, "{p} during the outage");
        if body.starts_with("<!DOCTYPE html>") {
            // Pages are redrawn from the same data with a notice saying they are frozen.
            assert!(
                body.contains("Live updates are paused"),
                "{p} says it is stale"
            );
            let notice = body.find("<p class=\"stale-notice\"").and_then(|start| {
                body[start..]
                    .find("</p>\n")
                    .map(|end| (start, start + end + 5))
            });
            let (start, end) = notice.expect("the notice paragraph");
            let without = format!("{}{}", &body[..start], &body[end..]);
            assert_eq!(&without, before, "{p} changed beyond the notice");
        } else {
            assert_eq!(&body, before, "{p} changed during the outage");
        }
    }
    let res = app.get("/api/v2/summary.json", &[]).await;
    assert_eq!(res.header("x-herald-stale"), "true");
    assert_eq!(app.text("/healthz").await.0, StatusCode::OK);
    assert_eq!(app.text("/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    let (status, error) = app
        .call(
            "POST",
            "/api/herald/v1/incidents",
            Some(&key),
            Some(json!({"name": "x"})),
        )
        .await;
    // The key cannot be checked without the database either: the answer is 503, in JSON.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert!(error["error"]
        .as_str()
        .expect("message")
        .contains("database"));

    cluster.start_server();
    let (status, inc) = app
        .call(
            "POST",
            "/api/herald/v1/incidents",
            Some(&key),
            Some(json!({"name": "Back again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let (_, summary) = app.call("GET", "/api/v2/summary.json", None, None).await;
    assert_eq!(summary["incidents"][0]["name"], "Back again");
    let res = app.get("/", &[]).await;
    assert!(res.headers.get("x-herald-stale").is_none());
}
