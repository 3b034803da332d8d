//! Shared by the HTTP tests: a Herald app on a fresh store, driven through its router.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use herald::app::{AppState, Clock};
use herald::render::Branding;
use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, Store, WriteMeta};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub mod chaos;
pub mod fanout;
pub mod process;
pub mod sinks;

pub const EXAMPLE: &str = include_str!("../../../../../examples/drchrono-2022-11.toml");

/// A test clock that only moves when told.
#[derive(Clone)]
pub struct TestClock(pub Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn at(s: &str) -> Self {
        TestClock(Arc::new(Mutex::new(s.parse().expect("time"))))
    }
    pub fn clock(&self) -> Clock {
        let inner = self.0.clone();
        Arc::new(move || *inner.lock().expect("clock"))
    }
    pub fn advance(&self, seconds: i64) {
        let mut t = self.0.lock().expect("clock");
        *t += chrono::Duration::seconds(seconds);
    }
}

pub struct App {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub clock: TestClock,
    _dir: Option<tempfile::TempDir>,
}

/// An app on a fresh SQLite store holding the DrChrono example.
pub async fn app() -> App {
    let (store, dir) = herald_store::testing::sqlite_store().await;
    app_on(store, Some(dir)).await
}

/// An app on the given (migrated, empty) store, with the example imported.
pub async fn app_on(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> App {
    let clock = TestClock::at("2026-03-01T12:00:00Z");
    let file = DataFile::parse(EXAMPLE, Format::Toml).expect("example");
    store
        .import(file, clock.clock()(), &ImportOptions::default())
        .await
        .expect("import");
    let state = AppState::new(store.clone(), Branding::default(), clock.clock());
    state.site.rebuild().await.expect("snapshot");
    App {
        state,
        store,
        clock,
        _dir: dir,
    }
}

impl App {
    /// Creates an API key with the given role and returns its secret.
    pub async fn key(&self, role: Role) -> String {
        let secret = herald::auth::new_secret(20);
        let meta = WriteMeta {
            actor: "test".into(),
            now: (self.state.clock)(),
        };
        self.store
            .create_api_key(
                &format!("{role:?} key"),
                &herald::auth::secret_hash(&secret),
                role,
                &meta,
            )
            .await
            .expect("key");
        secret
    }

    /// Sends a request and returns status and JSON body (Null when the body is not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let res = herald::http::router(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// GET a public path and return the body as text.
    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let res = herald::http::router(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The stored page as a data file: what "stored data" means when a test checks it is unchanged.
    pub async fn stored(&self) -> String {
        let doc = self.store.load().await.expect("load").expect("page");
        DataFile::from_document(&doc).render(Format::Json)
    }
}
