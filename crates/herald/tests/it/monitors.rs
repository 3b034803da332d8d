//! The monitoring runtime. The logic (component rules, heartbeats, the flapping guard, automatic
//! incidents, alerts from integrations) is stepped on a scripted prober and a test clock; a few
//! tests run a real Herald server on 127.0.0.1 against real targets the test turns off and on
//! (HTTP, a PostgreSQL cluster), hanging targets that must not stall other monitors, and a real
//! Prometheus Alertmanager.

use crate::common::scripted::{self, Stepped};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use herald::app::{system_clock, AppState};
use herald::render::Branding;
use herald_core::datafile::{DataFile, Format};
use herald_core::monitor::{
    AutoIncidentMode, ComponentAutomation, Integration, IntegrationKind, MonitorSpec,
    MonitorStatus, ProbeOutcome, ProbeSpec,
};
use herald_core::{ComponentStatus, Id};
use herald_store::testing::{free_port, PgCluster};
use herald_store::{ImportOptions, WriteMeta};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const EXAMPLE: &str = include_str!("../../../../examples/drchrono-2022-11.toml");
const WEB: &str = "drchronocom1";
const IPAD: &str = "drchronoipad";

struct Herald {
    state: AppState,
    base: String,
    stop: Arc<Notify>,
    _dir: tempfile::TempDir,
}

impl Drop for Herald {
    fn drop(&mut self) {
        self.stop.notify_waiters();
    }
}

/// A Herald server on a fresh SQLite store holding the example page, on the system clock.
async fn herald() -> Herald {
    let (store, dir) = herald_store::testing::sqlite_store().await;
    let file = DataFile::parse(EXAMPLE, Format::Toml).expect("example");
    store
        .import(file, chrono::Utc::now(), &ImportOptions::default())
        .await
        .expect("import");
    let state = AppState::new(store, Branding::default(), system_clock());
    state.site.rebuild().await.expect("snapshot");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = Arc::new(Notify::new());
    let signal = stop.clone();
    let serving = state.clone();
    tokio::spawn(async move {
        let _ = herald::app::run(serving, listener, async move { signal.notified().await }).await;
    });
    Herald {
        state,
        base,
        stop,
        _dir: dir,
    }
}

fn meta() -> WriteMeta {
    WriteMeta {
        actor: "test".into(),
        now: chrono::Utc::now(),
    }
}

fn monitor(name: &str, component: &str, probe: ProbeSpec) -> MonitorSpec {
    MonitorSpec {
        id: herald_store::random_id(),
        name: name.into(),
        component_id: Some(Id::parse(component).expect("id")),
        probe,
        // Short, so the real targets are judged within seconds.
        interval_seconds: 2,
        timeout_ms: 1_000,
        degraded_after_ms: None,
        failures_to_down: 2,
        successes_to_up: 2,
        flap_window_seconds: 0,
        retry_interval_seconds: Some(1),
        enabled: true,
    }
}

impl Herald {
    async fn add(&self, spec: &MonitorSpec) {
        self.state
            .store
            .save_monitor(spec, &meta())
            .await
            .expect("save monitor");
        self.state.after(herald::service::Effect::Monitoring).await;
    }

    async fn status(&self, component: &str) -> ComponentStatus {
        let doc = self.state.store.load().await.expect("load").expect("page");
        doc.components
            .iter()
            .find(|c| c.id.as_str() == component)
            .map(|c| c.status)
            .expect("component")
    }

    /// Waits until the component has `want`; returns how long it took.
    async fn until(&self, component: &str, want: ComponentStatus, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let now = self.status(component).await;
            if now == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{component} stayed {now:?}, expected {want:?} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An HTTP target that answers 200 while healthy and 500 otherwise, and can be stopped and
/// started again on the same port.
struct HttpTarget {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl HttpTarget {
    async fn start() -> HttpTarget {
        let mut t = HttpTarget {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            healthy: Arc::new(AtomicBool::new(true)),
            stop: None,
        };
        t.up().await;
        t
    }

    fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    async fn up(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("bind target");
        let healthy = self.healthy.clone();
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(move || {
                let healthy = healthy.clone();
                async move {
                    if healthy.load(Ordering::SeqCst) {
                        (axum::http::StatusCode::OK, "ok")
                    } else {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "broken")
                    }
                }
            }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
    }

    fn down(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_target_off_and_on_moves_the_component() {
    let h = herald().await;
    let mut target = HttpTarget::start().await;
    let spec = monitor(
        "web",
        WEB,
        ProbeSpec::Http {
            url: target.url(),
            method: "GET".into(),
            headers: vec![],
            body: None,
            expected_status: vec![],
            body_contains: Some("ok".into()),
            body_regex: None,
            json_pointer: None,
            verify_tls: true,
            follow_redirects: true,
        },
    );
    h.add(&spec).await;
    // The example leaves the component operational; wait for the monitor to settle up.
    wait_for_state(&h, &spec.id, herald_core::monitor::MonitorStatus::Up).await;
    assert_eq!(h.status(WEB).await, ComponentStatus::Operational);

    target.healthy.store(false, Ordering::SeqCst);
    let took = h
        .until(WEB, ComponentStatus::MajorOutage, Duration::from_secs(15))
        .await;
    println!("http: 500s to major outage in {took:?}");

    // Off entirely (connection refused), then back on and healthy.
    target.down();
    tokio::time::sleep(Duration::from_millis(300)).await;
    target.healthy.store(true, Ordering::SeqCst);
    target.up().await;
    let took = h
        .until(WEB, ComponentStatus::Operational, Duration::from_secs(15))
        .await;
    println!("http: back to operational in {took:?}");

    // The results were stored, and status history names the monitor as the cause.
    let stored = h
        .state
        .store
        .monitor(&spec.id)
        .await
        .expect("monitor")
        .expect("stored");
    assert!(stored.last_result.is_some());
    let history = h
        .state
        .store
        .status_history(&Id::parse(WEB).expect("id"))
        .await
        .expect("history");
    assert!(history
        .iter()
        .any(|c| c.new_status == ComponentStatus::MajorOutage && c.cause.contains("monitor")));
}

async fn wait_for_state(h: &Herald, id: &Id, want: herald_core::monitor::MonitorStatus) {
    let started = Instant::now();
    while h.state.monitoring.state(id).map(|s| s.public_status) != Some(want) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "monitor never became {want:?}: {:?}",
            h.state.monitoring.state(id)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP listener that accepts and closes; stopped by aborting its task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_is_an_outage_until_it_restarts() {
    let cluster = tokio::task::spawn_blocking(PgCluster::start)
        .await
        .expect("cluster");
    let h = herald().await;
    let spec = monitor(
        "database",
        WEB,
        ProbeSpec::Postgres {
            url: cluster.url("postgres"),
            query: "SELECT 1".into(),
            max_replica_lag_seconds: None,
        },
    );
    h.add(&spec).await;
    wait_for_state(&h, &spec.id, herald_core::monitor::MonitorStatus::Up).await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .expect("stop");
    let took = h
        .until(WEB, ComponentStatus::MajorOutage, Duration::from_secs(15))
        .await;
    println!("postgres: stopped server noticed in {took:?}");
    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start_server();
        cluster
    })
    .await
    .expect("start");
    let took = h
        .until(WEB, ComponentStatus::Operational, Duration::from_secs(20))
        .await;
    println!("postgres: restart noticed in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_resetting_and_garbage_targets_do_not_stall_others() {
    let h = herald().await;
    // A target that accepts and never answers, one that resets, one that sends garbage.
    let hang = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hang_addr = hang.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept().await {
            held.push(s);
        }
    });
    let reset = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let reset_addr = reset.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = reset.accept().await {
            // Closing with a zero linger sends a reset instead of a clean close.
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
        }
    });
    let garbage = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let garbage_addr = garbage.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = garbage.accept().await {
            let _ = s.write_all(b"\x00\xffnot http at all\r\n\r\n").await;
        }
    });
    let http = |url: String| ProbeSpec::Http {
        url,
        method: "GET".into(),
        headers: vec![],
        body: None,
        expected_status: vec![],
        body_contains: None,
        body_regex: None,
        json_pointer: None,
        verify_tls: true,
        follow_redirects: true,
    };
    for i in 0..30 {
        let mut bad = monitor(
            &format!("hang {i}"),
            IPAD,
            http(format!("http://{hang_addr}/")),
        );
        bad.component_id = None;
        bad.timeout_ms = 5_000;
        h.add(&bad).await;
    }
    for (name, addr) in [("reset", reset_addr), ("garbage", garbage_addr)] {
        let mut bad = monitor(name, IPAD, http(format!("http://{addr}/")));
        bad.component_id = None;
        h.add(&bad).await;
    }
    let good_target = HttpTarget::start().await;
    let good = monitor("good", WEB, http(good_target.url()));
    h.add(&good).await;
    wait_for_state(&h, &good.id, herald_core::monitor::MonitorStatus::Up).await;
    good_target.healthy.store(false, Ordering::SeqCst);
    let took = h
        .until(WEB, ComponentStatus::MajorOutage, Duration::from_secs(15))
        .await;
    println!("with 30 hanging targets, the good monitor's failure showed in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_alertmanager_alerts_move_the_component() {
    let Some(binary) = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        panic!("prometheus-alertmanager is not installed (scripts/test.sh installs it)");
    };
    let h = herald().await;
    let token = "alertmanager-integration-token-1234";
    let integration = Integration::new(
        herald_store::random_id(),
        IntegrationKind::Alertmanager,
        "prometheus".into(),
        chrono::Utc::now(),
    );
    h.state
        .store
        .create_integration(&integration, &herald::auth::secret_hash(token), &meta())
        .await
        .expect("integration");

    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let config = format!(
        "route:\n  receiver: herald\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: herald\n    webhook_configs:\n      - url: '{}/api/integrations/alertmanager'\n        send_resolved: true\n        http_config:\n          authorization:\n            credentials: '{token}'\n",
        h.base
    );
    std::fs::write(dir.path().join("alertmanager.yml"), config).expect("config");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _alertmanager = Kill(
        std::process::Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start alertmanager"),
    );

    let client = reqwest::Client::new();
    let am = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{am}/-/ready")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "alertmanager did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alert = |ends: Option<String>| {
        let mut a = serde_json::json!({
            "labels": {"alertname": "WebDown", "component": WEB, "severity": "critical"},
            "annotations": {"summary": "drchrono.com is not answering"},
        });
        if let Some(ends) = ends {
            a["endsAt"] = serde_json::Value::String(ends);
        }
        serde_json::json!([a])
    };
    let r = client
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(None))
        .send()
        .await
        .expect("post alert");
    assert!(r.status().is_success(), "alertmanager refused the alert");
    let took = h
        .until(WEB, ComponentStatus::MajorOutage, Duration::from_secs(20))
        .await;
    println!("alertmanager: firing alert applied in {took:?}");

    let ended = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    client
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(Some(ended)))
        .send()
        .await
        .expect("resolve alert");
    let took = h
        .until(WEB, ComponentStatus::Operational, Duration::from_secs(30))
        .await;
    println!("alertmanager: resolved alert applied in {took:?}");
}

// The monitoring logic, stepped: a scripted prober and a test clock instead of targets and the
// wall clock. Every time below is test-clock time, so the bounds are exact.

#[tokio::test]
async fn two_paths_under_the_all_rule_one_down_is_a_partial_outage() {
    let mut s = Stepped::new().await;
    // Two redundant paths to the iPad API: one down is a partial outage under the `all` rule.
    let mut automation = ComponentAutomation::new(Id::parse(IPAD).expect("id"));
    automation.rule = herald_core::monitor::ComponentRule::All;
    s.automate(&automation).await;
    let (a, b) = (
        scripted::monitor("ipad a", Some(IPAD)),
        scripted::monitor("ipad b", Some(IPAD)),
    );
    s.add(&a).await;
    s.add(&b).await;
    s.until_monitor(&a.id, MonitorStatus::Up, 12).await;
    s.until_monitor(&b.id, MonitorStatus::Up, 12).await;
    assert_eq!(s.status(IPAD).await, ComponentStatus::Operational);

    s.prober.set(&a.id, scripted::down("connection refused"));
    // The next turn fails and the early retry a second later confirms it.
    let took = s.until(IPAD, ComponentStatus::PartialOutage, 11).await;
    assert_eq!(s.monitor_status(&b.id), Some(MonitorStatus::Up));
    let fails = s
        .prober
        .calls_of(&a.id)
        .into_iter()
        .filter(|(_, o)| matches!(o, ProbeOutcome::Down { .. }))
        .count();
    assert_eq!(fails, 2, "two failures to go down (after {took} s)");

    s.prober.set(&a.id, scripted::up());
    s.until(IPAD, ComponentStatus::Operational, 11).await;
    let history = s
        .app
        .store
        .status_history(&Id::parse(IPAD).expect("id"))
        .await
        .expect("history");
    assert!(history
        .iter()
        .any(|c| c.new_status == ComponentStatus::PartialOutage && c.cause.contains("monitor")));
    let stored = s
        .app
        .store
        .monitor(&a.id)
        .await
        .expect("monitor")
        .expect("stored");
    assert!(stored.last_result.is_some(), "results are written");
}

#[tokio::test]
async fn missing_heartbeats_are_an_outage_until_they_resume() {
    let mut s = Stepped::new().await;
    let token = "nightly-backup-job-token";
    let mut spec = scripted::monitor("backup job", Some(IPAD));
    spec.probe = ProbeSpec::Heartbeat {
        token: token.into(),
        grace_seconds: 0,
    };
    spec.failures_to_down = 1;
    spec.successes_to_up = 1;
    s.add(&spec).await;
    s.tick(1).await;
    let push = format!("/api/push/{token}");
    // Unknown tokens are refused.
    let (status, _) = s.app.call("GET", "/api/push/not-a-token", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.app.call("POST", &push, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let pushed = s.now();
    s.steps.record().await;
    assert_eq!(s.monitor_status(&spec.id), Some(MonitorStatus::Up));

    // Silence: after the 10 s period (plus up to one more check) the job counts as down.
    let took = s.until(IPAD, ComponentStatus::MajorOutage, 21).await;
    let silent = (s.now() - pushed).num_seconds();
    assert!(silent > 10, "judged down after only {silent} s of silence");
    assert_eq!(s.prober.total_calls(), 0, "heartbeats are never probed");
    println!("heartbeat: silence noticed after {took} s");

    // A push is up at once, without waiting for the next check.
    let (status, _) = s.app.call("POST", &push, None, None).await;
    assert_eq!(status, StatusCode::OK);
    s.steps.record().await;
    assert_eq!(s.status(IPAD).await, ComponentStatus::Operational);
}

#[tokio::test]
async fn the_flapping_guard_holds_a_quick_recovery() {
    let mut s = Stepped::new().await;
    let mut spec = scripted::monitor("guarded", Some(WEB));
    // Probed every 2 s, so answers land inside the 8 s window.
    spec.interval_seconds = 2;
    spec.failures_to_down = 1;
    spec.successes_to_up = 1;
    spec.flap_window_seconds = 8;
    s.add(&spec).await;
    s.until_monitor(&spec.id, MonitorStatus::Up, 2).await;
    s.prober
        .set(&spec.id, scripted::down("unexpected status 500"));
    s.until(WEB, ComponentStatus::MajorOutage, 3).await;
    let down_at = s.now();
    // Healthy again at once, but the public status may change only once per 8 s.
    s.prober.set(&spec.id, scripted::up());
    s.until(WEB, ComponentStatus::Operational, 20).await;
    let held = (s.now() - down_at).num_seconds();
    assert_eq!(held, 8, "the recovery is shown when the 8 s window ends");
    let now = s.now();
    let ignored = s
        .prober
        .calls_of(&spec.id)
        .into_iter()
        .filter(|(at, o)| *at > down_at && *at < now && matches!(o, ProbeOutcome::Up { .. }))
        .count();
    assert_eq!(ignored, 3, "healthy answers held inside the window");
}

#[tokio::test]
async fn auto_publish_tells_the_public_within_one_interval_and_resolves() {
    let mut s = Stepped::new().await;
    let mut automation = ComponentAutomation::new(Id::parse(WEB).expect("id"));
    automation.incidents = AutoIncidentMode::Publish;
    automation.quiet_period_seconds = 3;
    s.automate(&automation).await;
    let spec = scripted::monitor("homepage", Some(WEB));
    s.add(&spec).await;
    s.until_monitor(&spec.id, MonitorStatus::Up, 2).await;
    let (_, before) = s.app.text("/").await;
    assert!(!before.contains("Major outage of"), "no incident yet");

    s.prober
        .set(&spec.id, scripted::down("unexpected status 500"));
    let mut shown = None;
    for _ in 0..15 {
        s.tick(1).await;
        let (status, page) = s.app.text("/").await;
        assert_eq!(status, StatusCode::OK);
        if page.contains("Major outage of") {
            shown = Some(s.now());
            break;
        }
    }
    let shown = shown.expect("no public incident appeared");
    let first = s
        .prober
        .calls_of(&spec.id)
        .into_iter()
        .find(|(_, o)| matches!(o, ProbeOutcome::Down { .. }))
        .map(|(at, _)| at)
        .expect("a failing probe");
    let took = (shown - first).num_seconds();
    // Two failures a retry apart, then the incident in the same step.
    assert!(took <= 1, "public {took} s after the first failing probe");

    // The v2 summary shows the incident, opened by automation.
    let (_, summary) = s.app.call("GET", "/api/v2/summary.json", None, None).await;
    let incident = summary["incidents"]
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .expect("an unresolved incident");
    assert_eq!(incident["status"], "investigating");
    let incident_id = Id::parse(incident["id"].as_str().expect("id")).expect("id");

    // Healthy again: monitoring, then resolved after the 3 s quiet period.
    s.prober.set(&spec.id, scripted::up());
    s.until(WEB, ComponentStatus::Operational, 11).await;
    let recovered = s.now();
    let mut resolved = None;
    for _ in 0..10 {
        let doc = s.app.store.load().await.expect("load").expect("page");
        let inc = doc
            .incidents
            .iter()
            .find(|i| i.id == incident_id)
            .expect("incident");
        if inc.status == herald_core::IncidentStatus::Resolved {
            let statuses: Vec<_> = inc.updates.iter().map(|u| u.status).collect();
            assert!(statuses.contains(&herald_core::IncidentStatus::Monitoring));
            resolved = Some(s.now());
            break;
        }
        s.tick(1).await;
    }
    let resolved = resolved.expect("never resolved");
    let quiet = (resolved - recovered).num_seconds();
    assert!(
        (3..=4).contains(&quiet),
        "resolved {quiet} s after recovery"
    );
    let events = s
        .app
        .store
        .incident_events(&incident_id)
        .await
        .expect("events");
    assert!(events.len() >= 3, "events: {events:?}");
}

#[tokio::test]
async fn malformed_integration_payloads_get_clear_errors() {
    let mut s = Stepped::new().await;
    let token = "generic-integration-token-5678";
    let integration = Integration::new(
        herald_store::random_id(),
        IntegrationKind::Generic,
        "scripts".into(),
        s.now(),
    );
    s.app
        .store
        .create_integration(&integration, &herald::auth::secret_hash(token), &meta())
        .await
        .expect("integration");
    let bearer = format!("Bearer {token}");
    let post = |kind: &str, auth: Option<&str>, body: &str| {
        let mut r = Request::builder()
            .method("POST")
            .uri(format!("/api/integrations/{kind}"))
            .header("content-type", "application/json");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.body(Body::from(body.to_string())).expect("request")
    };
    let (status, _) = s.app.send(post("generic", None, "{}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .app
        .send(post("generic", Some("Bearer wrong"), "{}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The token belongs to a generic integration, not an Alertmanager one.
    let (status, _) = s.app.send(post("alertmanager", Some(&bearer), "{}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.app.send(post("nonsense", Some(&bearer), "{}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for body in [
        "{not json",
        r#"{"component": "drchronocom1", "status": "on fire"}"#,
        r#"{"component": "no such thing", "status": "major_outage"}"#,
    ] {
        let (status, json) = s.app.send(post("generic", Some(&bearer), body)).await;
        assert!(status.is_client_error(), "{body} → {status}");
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{json}"
        );
    }
    s.steps.record().await;
    // Nothing changed.
    assert_eq!(s.status(WEB).await, ComponentStatus::Operational);
    // A good one works, through the query-string token too.
    let (status, _) = s
        .app
        .call(
            "POST",
            &format!("/api/integrations/generic?token={token}"),
            None,
            Some(serde_json::json!({"key": "db", "component": "drchrono.com", "status": "partial_outage"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.steps.record().await;
    assert_eq!(s.status(WEB).await, ComponentStatus::PartialOutage);
    let (status, _) = s
        .app
        .call(
            "POST",
            &format!("/api/integrations/generic?token={token}"),
            None,
            Some(serde_json::json!({"key": "db", "component": "drchrono.com", "status": "partial_outage", "resolved": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.steps.record().await;
    assert_eq!(s.status(WEB).await, ComponentStatus::Operational);
}
