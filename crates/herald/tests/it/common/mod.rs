//! The harness every in-process test shares: [`TestApp`] builds a Herald app on a fresh store
//! (SQLite or PostgreSQL), with a clock the test moves, driven through its router or served on
//! 127.0.0.1; [`App::drain`] steps the delivery runtime until the outbox is empty.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use chrono::{DateTime, Utc};
use herald::app::{AppState, Clock};
use herald::render::Branding;
use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, Store, WriteMeta};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

pub mod chaos;
pub mod fanout;
pub mod process;
pub mod scripted;
pub mod sinks;

pub const EXAMPLE: &str = include_str!("../../../../../examples/drchrono-2022-11.toml");

/// The password of every user the harness creates.
pub const PASSWORD: &str = "correct horse battery";

/// Where a [`TestClock`] made with [`TestClock::at`] starts unless told otherwise.
pub const START: &str = "2026-03-01T12:00:00Z";

/// A test clock that only moves when told; or, made with [`TestClock::wall`], one that also
/// runs with the wall clock from the moment it was made (for tests that run the real
/// runtimes), still moved ahead by [`TestClock::advance`]. The mutex holds the time shown when
/// the clock was made, plus every advance.
#[derive(Clone)]
pub struct TestClock(pub Arc<Mutex<DateTime<Utc>>>, Option<std::time::Instant>);

impl TestClock {
    pub fn at(s: &str) -> Self {
        TestClock(Arc::new(Mutex::new(s.parse().expect("time"))), None)
    }

    pub fn wall() -> Self {
        TestClock(
            Arc::new(Mutex::new(Utc::now())),
            Some(std::time::Instant::now()),
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        let set = *self.0.lock().expect("clock");
        match self.1 {
            None => set,
            Some(started) => {
                set + chrono::Duration::from_std(started.elapsed()).expect("elapsed time")
            }
        }
    }

    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }

    pub fn advance(&self, seconds: i64) {
        *self.0.lock().expect("clock") += chrono::Duration::seconds(seconds);
    }

    /// Sets a fixed clock to `time`.
    pub fn set(&self, time: DateTime<Utc>) {
        assert!(self.1.is_none(), "a wall clock cannot be set");
        *self.0.lock().expect("clock") = time;
    }
}

/// The store a [`TestApp`] runs on.
enum Engine {
    Sqlite,
    Postgres,
    Given(Arc<dyn Store>, Option<tempfile::TempDir>),
}

type Configure = Box<dyn FnOnce(&mut AppState) + Send>;

/// Builds an [`App`]: by default on a fresh SQLite store holding the DrChrono example, with a
/// fixed clock at [`START`].
///
/// `TestApp::new().on_postgres().with_clock(clock).served().await`
pub struct TestApp {
    engine: Engine,
    clock: TestClock,
    files: Vec<String>,
    branding: Branding,
    users: Vec<(String, Role)>,
    configure: Vec<Configure>,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    pub fn new() -> Self {
        TestApp {
            engine: Engine::Sqlite,
            clock: TestClock::at(START),
            files: vec![EXAMPLE.to_string()],
            branding: Branding::default(),
            users: Vec::new(),
            configure: Vec::new(),
        }
    }

    /// On a fresh database of the shared throw-away PostgreSQL cluster.
    pub fn on_postgres(mut self) -> Self {
        self.engine = Engine::Postgres;
        self
    }

    /// On this migrated store (keeping `dir` alive as long as the app).
    pub fn on_store(mut self, store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> Self {
        self.engine = Engine::Given(store, dir);
        self
    }

    pub fn with_clock(mut self, clock: TestClock) -> Self {
        self.clock = clock;
        self
    }

    /// A fixed clock at `time`.
    pub fn at(self, time: &str) -> Self {
        self.with_clock(TestClock::at(time))
    }

    /// No page at all: the store stays as migrated.
    pub fn empty(mut self) -> Self {
        self.files.clear();
        self
    }

    /// These TOML data files instead of the example, imported in order.
    pub fn with_files(mut self, files: &[&str]) -> Self {
        self.files = files.iter().map(|f| f.to_string()).collect();
        self
    }

    pub fn with_branding(mut self, branding: Branding) -> Self {
        self.branding = branding;
        self
    }

    /// A user with this address, [`PASSWORD`] and `role`.
    pub fn with_user(mut self, email: &str, role: Role) -> Self {
        self.users.push((email.to_string(), role));
        self
    }

    /// Changes the state before it is used (a notifier, an alerter, a shorter tick, …).
    pub fn configure(mut self, f: impl FnOnce(&mut AppState) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    pub async fn build(self) -> App {
        let (store, dir) = match self.engine {
            Engine::Sqlite => {
                let (store, dir) = herald_store::testing::sqlite_store().await;
                (store, Some(dir))
            }
            Engine::Postgres => (herald_store::testing::postgres_store().await, None),
            Engine::Given(store, dir) => (store, dir),
        };
        let now = self.clock.now();
        for text in &self.files {
            let file = DataFile::parse(text, Format::Toml).expect("data file parses");
            store
                .import(file, now, &ImportOptions::default())
                .await
                .expect("import");
        }
        for (email, role) in &self.users {
            herald::app::create_user(&store, email, PASSWORD, *role, "test")
                .await
                .expect("user");
        }
        let mut state = AppState::new(store.clone(), self.branding, self.clock.clock());
        for f in self.configure {
            f(&mut state);
        }
        if !self.files.is_empty() {
            state.site.rebuild().await.expect("snapshot");
        }
        App {
            state,
            store,
            clock: self.clock,
            server: None,
            _dir: dir,
        }
    }

    /// Builds the app and serves it, with every runtime, on a free port of 127.0.0.1 until
    /// the app is dropped.
    pub async fn served(self) -> App {
        let mut app = self.build().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = Arc::new(tokio::sync::Notify::new());
        let signal = stop.clone();
        let task = tokio::spawn(herald::app::run(app.state.clone(), listener, async move {
            signal.notified().await
        }));
        app.server = Some(Server { base, stop, task });
        app
    }
}

/// A served app's server task.
struct Server {
    base: String,
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub struct App {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub clock: TestClock,
    server: Option<Server>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.stop.notify_one();
        }
    }
}

/// An app on a fresh SQLite store holding the DrChrono example.
pub async fn app() -> App {
    TestApp::new().build().await
}

/// An app on the given (migrated, empty) store, with the example imported.
pub async fn app_on(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>) -> App {
    TestApp::new().on_store(store, dir).build().await
}

/// A signed-in admin session: the cookie to send back and the CSRF token its forms carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// A whole answer: status, headers and body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; Null when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn location(&self) -> &str {
        self.header(header::LOCATION.as_str())
    }

    /// The `name=value` part of the cookie `name` this answer sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The whole `Set-Cookie` value for the cookie `name` (with its attributes).
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }

    /// The value of the form field `name` on the page (a hidden token, say).
    pub fn hidden(&self, name: &str) -> String {
        hidden(&self.text(), name)
    }
}

/// The value of the form field `name` in an HTML page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} on the page: {page}"))
        + marker.len();
    let end = page[start..].find('"').expect("end of the value");
    page[start..start + end].to_string()
}

/// Form encoding of one value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` of these fields.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// How many rounds [`App::drain`] allows before it calls the outbox stuck.
const DRAIN_ROUNDS: usize = 50;

impl App {
    pub fn now(&self) -> DateTime<Utc> {
        (self.state.clock)()
    }

    pub fn meta(&self) -> WriteMeta {
        WriteMeta {
            actor: "test".into(),
            now: self.now(),
        }
    }

    /// The served instance's address (`http://127.0.0.1:port`) followed by `path`.
    pub fn url(&self, path: &str) -> String {
        let server = self
            .server
            .as_ref()
            .expect("the app is served (TestApp::served)");
        format!("{}{path}", server.base)
    }

    /// Stops the served instance and waits for it to finish, with the server's own result.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let server = self.server.take().expect("the app is served");
        server.stop.notify_one();
        tokio::time::timeout(Duration::from_secs(20), server.task)
            .await
            .expect("the server stops within 20 s")
            .expect("server task")
    }

    /// Creates an API key with the given role and returns its secret.
    pub async fn key(&self, role: Role) -> String {
        let secret = herald::auth::new_secret(20);
        self.store
            .create_api_key(
                &format!("{role:?} key"),
                &herald::auth::secret_hash(&secret),
                role,
                &self.meta(),
            )
            .await
            .expect("key");
        secret
    }

    /// Creates a user with [`PASSWORD`]; returns its id.
    pub async fn user(&self, email: &str, role: Role) -> herald_core::Id {
        herald::app::create_user(&self.store, email, PASSWORD, role, "test")
            .await
            .expect("user")
    }

    /// Sends the sign-in form as a browser does (the form first, then its cookie and hidden
    /// token back with the credentials); returns the answer.
    pub async fn post_login(&self, email: &str, password: &str) -> Reply {
        let form = self.get("/admin/login", &[]).await;
        assert_eq!(form.status, StatusCode::OK, "the sign-in form");
        let cookie = form.cookie("herald_login").expect("a sign-in form cookie");
        let token = form.hidden("login_token");
        self.post_form(
            "/admin/login",
            Some(&cookie),
            &[
                ("login_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs in through the admin form with [`PASSWORD`]: the session cookie and a CSRF token.
    pub async fn sign_in(&self, email: &str) -> Session {
        let res = self.post_login(email, PASSWORD).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
        assert_eq!(res.location(), "/admin");
        let set = res.set_cookie("herald_session").expect("a session cookie");
        assert!(set.contains("HttpOnly"), "{set}");
        let cookie = set.split(';').next().expect("cookie").to_string();
        let csrf = self
            .get("/admin", &[("cookie", &cookie)])
            .await
            .hidden("csrf_token");
        Session { cookie, csrf }
    }

    /// A new user `{role}@example.test`, signed in.
    pub async fn session(&self, role: Role) -> Session {
        let email = format!("{}@example.test", role.as_str());
        self.user(&email, role).await;
        self.sign_in(&email).await
    }

    /// Sends a request through the router and returns the whole answer.
    pub async fn request(&self, req: Request<Body>) -> Reply {
        let res = herald::http::router(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body")
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET `path` with these headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = Request::builder().uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.request(req.body(Body::empty()).expect("request"))
            .await
    }

    /// POSTs a form, with the cookie when given.
    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.request(req.body(Body::from(form_body(fields))).expect("request"))
            .await
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
        let reply = self.request(req).await;
        (reply.status, reply.json())
    }

    /// GET a public path and return the body as text.
    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let reply = self.get(path, &[]).await;
        (reply.status, reply.text())
    }

    /// The stored page as a data file: what "stored data" means when a test checks it is unchanged.
    pub async fn stored(&self) -> String {
        let doc = self.store.load().await.expect("load").expect("page");
        DataFile::from_document(&doc).render(Format::Json)
    }

    /// Steps the delivery runtime (expand waiting notifications, deliver what is due) until
    /// the outbox holds nothing waiting and nothing due by the app's clock. Retries scheduled
    /// later stay; move the clock and drain again to send them. Panics when the outbox does not
    /// empty within a bound, which means something keeps queueing.
    pub async fn drain(&self) {
        let deps = self.state.deliveries();
        for _ in 0..DRAIN_ROUNDS {
            let expanded = herald::notify::expand_waiting(&deps)
                .await
                .expect("expand notifications");
            let delivered = herald::notify::deliver_due(&deps)
                .await
                .expect("deliver notifications");
            if expanded == 0 && delivered == 0 {
                let waiting = self
                    .store
                    .waiting_notifications(1)
                    .await
                    .expect("waiting notifications");
                assert!(
                    waiting.is_empty(),
                    "{} notification(s) wait but expanding them does nothing",
                    waiting.len()
                );
                return;
            }
        }
        panic!(
            "the outbox did not empty in {DRAIN_ROUNDS} rounds of expanding and delivering \
             (a delivery that is due again at once, or notifications queued without end)"
        );
    }
}

/// Waits until `check` gives a value, for up to `within`; panics naming `what` when it never does.
pub async fn wait_until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {within:?} in vain for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
