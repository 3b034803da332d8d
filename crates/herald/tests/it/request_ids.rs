//! Request ids and request spans: every answer names its request in `x-request-id` (the
//! caller's own id when it is well-formed, a fresh one otherwise), JSON error bodies carry the
//! same id, and an internal error's cause is logged inside the request's span but never sent.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use common::*;
use herald_core::access::Role;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A response's status, its `x-request-id` and its body.
async fn answer(app: &App, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let res = herald::http::router(app.state.clone())
        .oneshot(req)
        .await
        .expect("response");
    let status = res.status();
    let ids: Vec<_> = res.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "one x-request-id on {status}: {ids:?}");
    let id = ids[0].to_str().expect("ascii id").to_string();
    let body = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .expect("body");
    (status, id, body.to_vec())
}

fn request(method: &str, path: &str, id: Option<&[u8]>, auth: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(id) = id {
        req = req.header("x-request-id", HeaderValue::from_bytes(id).expect("header"));
    }
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.body(Body::empty()).expect("request")
}

fn generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test]
async fn every_answer_carries_a_fresh_request_id() {
    let app = app().await;
    let key = format!("OAuth {}", app.key(Role::Owner).await);
    let cases: &[(&str, &str, Option<&str>, u16)] = &[
        // The public read path, answered from the snapshot.
        ("GET", "/", None, 200),
        ("GET", "/api/v2/summary.json", None, 200),
        ("HEAD", "/history.atom", None, 200),
        ("GET", "/no/such/page", None, 404),
        ("DELETE", "/", None, 405),
        // Routed requests.
        ("GET", "/healthz", None, 200),
        ("GET", "/api/herald/v1/page", None, 200),
        ("GET", "/api/herald/v1/monitors", None, 401),
        ("GET", "/api/herald/v1/monitors", Some(&key), 200),
        ("GET", "/admin", None, 303),
        ("GET", "/v1/pages/drchrono", None, 401),
    ];
    let mut seen = BTreeSet::new();
    for (method, path, auth, want) in cases {
        let (status, id, _) = answer(&app, request(method, path, None, *auth)).await;
        assert_eq!(status.as_u16(), *want, "{method} {path}");
        assert!(generated(&id), "{method} {path}: {id:?}");
        assert!(seen.insert(id), "{method} {path}: an id was reused");
    }
}

#[tokio::test]
async fn a_plain_id_is_echoed_and_anything_else_replaced() {
    let app = app().await;
    for given in [
        "req-42",
        "0f2c11ee-be56-0242-ac12-000000000002",
        "edge.lb:7_x",
        &"a".repeat(64),
    ] {
        for path in [
            "/",
            "/api/v2/summary.json",
            "/healthz",
            "/api/herald/v1/page",
        ] {
            let (status, id, _) =
                answer(&app, request("GET", path, Some(given.as_bytes()), None)).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(id, given, "{path} echoes a well-formed id");
        }
    }
    let weird: &[&[u8]] = &[
        b"",
        b"has space",
        b"<script>alert(1)</script>",
        b"quote\"d",
        b"a/b",
        b"line\tbreak",
        "caf\u{e9}".as_bytes(),
        &[b'a'; 65],
        &[b'7'; 4096],
    ];
    for given in weird {
        for path in ["/", "/healthz", "/api/herald/v1/monitors"] {
            let (_, id, _) = answer(&app, request("GET", path, Some(given), None)).await;
            assert!(
                generated(&id),
                "{path}: {:?} replaced, got {id:?}",
                String::from_utf8_lossy(given)
            );
        }
    }
}

#[tokio::test]
async fn json_errors_carry_the_request_id() {
    let app = app().await;
    let key = format!("OAuth {}", app.key(Role::Owner).await);
    let viewer = format!("OAuth {}", app.key(Role::Viewer).await);
    let json = |b: &[u8]| -> Value { serde_json::from_slice(b).expect("JSON error body") };
    let bad_body = Request::builder()
        .method("POST")
        .uri("/api/herald/v1/components")
        .header("authorization", &key)
        .header("content-type", "application/json")
        .header("x-request-id", "given-422")
        .body(Body::from(r#"{"name": 5}"#))
        .expect("request");
    let (status, id, body) = answer(&app, bad_body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(id, "given-422");
    assert_eq!(json(&body)["request_id"], "given-422");

    let cases: &[(&str, &str, Option<&str>, u16)] = &[
        ("GET", "/api/herald/v1/monitors", None, 401),
        ("POST", "/api/herald/v1/components", Some(&viewer), 403),
        (
            "GET",
            "/api/herald/v1/monitors/nosuchmonitor",
            Some(&key),
            404,
        ),
        (
            "DELETE",
            "/api/herald/v1/components/nosuchcomponent",
            Some(&key),
            404,
        ),
    ];
    for (method, path, auth, want) in cases {
        for given in [Some(&b"caller-chosen.1"[..]), None, Some(&b"not ok!"[..])] {
            let (status, id, body) = answer(&app, request(method, path, given, *auth)).await;
            assert_eq!(status.as_u16(), *want, "{method} {path}");
            let body = json(&body);
            assert_eq!(body["request_id"], id, "{method} {path}: {body}");
            if given == Some(b"caller-chosen.1") {
                assert_eq!(id, "caller-chosen.1");
            } else {
                assert!(generated(&id));
            }
        }
    }
}

/// Everything logged while it is the thread's subscriber, as plain text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

#[tokio::test]
async fn an_internal_error_is_logged_in_its_span_and_not_sent() {
    let (store, dir) = herald_store::testing::sqlite_store().await;
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let app = app_on(store, Some(dir)).await;
    let key = format!("OAuth {}", app.key(Role::Owner).await);
    // A table gone from under Herald: the store's error names it, the client must not see it.
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    sqlx::query("DROP TABLE incident_templates")
        .execute(&pool)
        .await
        .expect("drop");
    pool.close().await;

    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // With a single dispatcher registered, tracing asks the registering thread's own one
    // whether a callsite is wanted, so a test on another thread (no subscriber) could mark
    // this test's callsites unwanted for good. A second, silent one makes it ask them all.
    let _silent = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);
    // Reach every callsite once, then have tracing ask every subscriber again, in case
    // another thread registered one as this subscriber arrived.
    answer(
        &app,
        request("GET", "/api/herald/v1/templates", None, Some(&key)),
    )
    .await;
    answer(&app, request("GET", "/", None, None)).await;
    tracing::callsite::rebuild_interest_cache();
    logs.0.lock().expect("logs").clear();

    let req = request(
        "GET",
        "/api/herald/v1/templates",
        Some(b"trace-me-500"),
        Some(&key),
    );
    let (status, id, body) = answer(&app, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(id, "trace-me-500");
    let text = String::from_utf8_lossy(&body).into_owned();
    let body: Value = serde_json::from_str(&text).expect("JSON error body");
    assert_eq!(body["error"], "internal error");
    assert_eq!(body["request_id"], "trace-me-500");
    for secret in ["incident_templates", "no such table", "database"] {
        assert!(!text.contains(secret), "the body tells {secret:?}: {text}");
    }

    let logged = logs.text();
    let line = logged
        .lines()
        .find(|l| l.contains("internal error") && l.contains("no such table: incident_templates"))
        .unwrap_or_else(|| panic!("the cause is logged with its chain:\n{logged}"));
    for field in [
        "request{",
        "method=GET",
        "route=/api/herald/v1/templates",
        "request_id=trace-me-500",
    ] {
        assert!(
            line.contains(field),
            "logged inside the request span ({field}): {line}"
        );
    }
    let ended = logged
        .lines()
        .find(|l| l.contains("request failed"))
        .unwrap_or_else(|| panic!("the span's end is logged:\n{logged}"));
    assert!(ended.contains("status=500"), "{ended}");
    assert!(ended.contains("latency_ms="), "{ended}");

    // The public read path has its span too, at `debug`.
    let (status, _, _) = answer(&app, request("GET", "/", Some(b"public-1"), None)).await;
    assert_eq!(status, StatusCode::OK);
    let logged = logs.text();
    let answered = logged
        .lines()
        .find(|l| l.contains("request_id=public-1") && l.contains("request answered"))
        .unwrap_or_else(|| panic!("the public read's span is logged at debug:\n{logged}"));
    assert!(answered.contains("route=/ "), "{answered}");
    assert!(answered.contains("status=200"), "{answered}");
}

#[tokio::test]
async fn a_served_instance_names_every_request() {
    let app = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(herald::http::server::serve(
        listener,
        herald::http::router(app.state.clone()),
        herald::http::server::Options::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let mut seen = BTreeSet::new();
    // One kept-alive connection, several requests: each its own id.
    for path in ["/", "/healthz", "/api/herald/v1/monitors", "/nowhere", "/"] {
        let res = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("answer");
        let id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no x-request-id"))
            .to_string();
        assert!(generated(&id), "{path}: {id}");
        assert!(seen.insert(id), "{path}: an id was reused");
    }
    let res = client
        .get(format!("http://{addr}/api/herald/v1/monitors"))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"from-the-proxy-1"[..])
    );
    let body: Value = res.json().await.expect("JSON");
    assert_eq!(body["request_id"], "from-the-proxy-1");
    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}
