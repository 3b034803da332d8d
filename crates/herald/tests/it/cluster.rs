//! Several `herald serve` processes on one PostgreSQL database, and a database that goes away:
//! a write on one instance shows on the other within a second (LISTEN/NOTIFY); 100 monitors are
//! each probed once per interval across the instances, counted at the target; with PostgreSQL
//! stopped the public site answers from memory, marked stale, admin writes get a 503, and
//! everything recovers without a hand when the database returns.

use axum::extract::{Path, State};
use herald_core::monitor::{MonitorSpec, ProbeSpec};
use herald_store::testing::{free_port, shared_cluster, PgCluster};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;

use common::process::{meta, prepare, serve, wait_for, Process};

/// One `herald serve` process on the database at `database_url`.
struct Instance {
    port: u16,
    _process: Process,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn start(database_url: &str) -> Instance {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let process = serve(
            std::path::Path::new(env!("CARGO_BIN_EXE_herald")),
            dir.path(),
            port,
            &[("HERALD_DATABASE_URL", database_url)],
        );
        Instance {
            port,
            _process: process,
            _dir: dir,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        wait_for(&format!("{}/readyz", self.base())).await;
    }
}

async fn create_incident(base: &str, key: &str, name: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/herald/v1/incidents"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "name": name,
            "status": "investigating",
            "body": "Checking.",
        }))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("create incident")
}

/// How long until `name` shows in `base`'s v2 incidents, polling every 10 ms for up to 5 s.
async fn visible_after(base: &str, name: &str, since: Instant) -> Duration {
    let url = format!("{base}/api/v2/incidents.json");
    while since.elapsed() < Duration::from_secs(5) {
        let body = reqwest::get(&url)
            .await
            .expect("v2")
            .text()
            .await
            .unwrap_or_default();
        if body.contains(name) {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("`{name}` never showed on {base}");
}

/// Probe hits per path, with when they arrived.
type Hits = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn counting_target() -> (String, Hits) {
    async fn hit(State(hits): State<Hits>, Path(name): Path<String>) -> &'static str {
        if let Ok(mut h) = hits.lock() {
            h.entry(name).or_default().push(Instant::now());
        }
        "ok"
    }
    let hits: Hits = Arc::default();
    let app = axum::Router::new()
        .route("/probe/{name}", axum::routing::get(hit))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, hits)
}

fn http_monitor(i: usize, target: &str) -> MonitorSpec {
    MonitorSpec {
        id: herald_store::random_id(),
        name: format!("probe {i:03}"),
        component_id: None,
        probe: ProbeSpec::Http {
            url: format!("{target}/probe/m{i:03}"),
            method: "GET".into(),
            headers: vec![],
            body: None,
            expected_status: vec![],
            body_contains: None,
            body_regex: None,
            json_pointer: None,
            verify_tls: true,
            follow_redirects: true,
        },
        interval_seconds: 10,
        timeout_ms: 2_000,
        degraded_after_ms: None,
        failures_to_down: 2,
        successes_to_up: 2,
        flap_window_seconds: 0,
        retry_interval_seconds: None,
        enabled: true,
    }
}

/// Leases held per instance, as the database has them.
async fn lease_counts(url: &str) -> Vec<i64> {
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT holder, COUNT(*) FROM leases GROUP BY holder ORDER BY holder")
            .fetch_all(&pool)
            .await
            .expect("leases");
    pool.close().await;
    rows.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_writes_and_probe_each_monitor_once_per_interval() {
    let url = shared_cluster().create_database();
    let (store, key) = prepare(&url, None).await;
    let (target, hits) = counting_target().await;
    for i in 0..100 {
        store
            .save_monitor(&http_monitor(i, &target), &meta())
            .await
            .expect("monitor");
    }
    let a = Instance::start(&url);
    let b = Instance::start(&url);
    a.wait_ready().await;
    b.wait_ready().await;

    // A write on either instance shows on the other within a second.
    let mut slowest = Duration::ZERO;
    for round in 0..6 {
        let (from, to) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let name = format!("Cluster write {round}");
        let sent = Instant::now();
        let r = create_incident(&from.base(), &key, &name).await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
        let seen = visible_after(&to.base(), &name, sent).await;
        assert!(
            seen < Duration::from_secs(1),
            "round {round}: the other instance showed the write after {seen:?}"
        );
        slowest = slowest.max(seen);
    }
    println!("cluster: slowest write seen on the other instance after {slowest:?}");

    // The monitors split between the two instances…
    let started = Instant::now();
    loop {
        let counts = lease_counts(&url).await;
        if counts == [50, 50] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "leases never settled: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // …and once settled, each monitor is probed once per 10 s interval, by one of them: from
    // a probe of every monitor after the split, three more each, never two close together.
    let settled = Instant::now();
    let probed_since = |since: Instant, n: usize| {
        let hits = hits.clone();
        move || {
            let counted = hits.lock().expect("hits").clone();
            let all = counted.len() == 100
                && counted
                    .values()
                    .all(|t| t.iter().filter(|t| **t >= since).count() >= n);
            std::future::ready(all.then_some(counted))
        }
    };
    common::wait_until(
        "a probe of every monitor after the split",
        Duration::from_secs(15),
        probed_since(settled, 1),
    )
    .await;
    let from = Instant::now();
    let counted = common::wait_until(
        "three probes of every monitor",
        Duration::from_secs(45),
        probed_since(from, 3),
    )
    .await;
    let to = Instant::now();
    for (name, times) in &counted {
        let window: Vec<Instant> = times.iter().copied().filter(|t| *t >= from).collect();
        for pair in window.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= Duration::from_millis(9_000) && gap <= Duration::from_millis(11_000),
                "{name}: probes {gap:?} apart"
            );
        }
    }
    println!(
        "cluster: 100 monitors, {} probes counted at the target in {:?}, each 10 s apart",
        counted
            .values()
            .map(|t| t.iter().filter(|t| **t >= from).count())
            .sum::<usize>(),
        to - from
    );

    // Kill one instance: its leases expire and the other takes every monitor over.
    drop(b);
    let killed = Instant::now();
    loop {
        if lease_counts(&url).await == [100] {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the survivor never took the monitors over"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "cluster: the survivor holds all 100 monitors {:?} after the kill",
        killed.elapsed()
    );
    common::wait_until(
        "every monitor probed again after the takeover",
        Duration::from_secs(15),
        probed_since(Instant::now(), 1),
    )
    .await;
    drop(a);
}

async fn get(url: &str) -> (u16, Option<String>, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    let stale = r
        .headers()
        .get("x-herald-stale")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, stale, r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_serves_the_last_snapshot_and_recovers() {
    let cluster = tokio::task::spawn_blocking(PgCluster::start)
        .await
        .expect("cluster");
    let url = cluster.create_database();
    let (store, key) = prepare(&url, None).await;
    let (target, hits) = counting_target().await;
    let monitor = http_monitor(0, &target);
    store
        .save_monitor(&monitor, &meta())
        .await
        .expect("monitor");
    drop(store);
    let h = Instance::start(&url);
    h.wait_ready().await;
    let base = h.base();
    let r = create_incident(&base, &key, "Before the outage").await;
    assert_eq!(r.status(), 201);

    tokio::task::block_in_place(|| cluster.stop());
    let outage = chrono::Utc::now();
    // The watchdog notices within a couple of seconds.
    let started = Instant::now();
    loop {
        let (status, stale, _) = get(&format!("{base}/api/v2/summary.json")).await;
        assert_eq!(status, 200);
        if stale.as_deref() == Some("true") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never marked stale"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in ["/", "/api/v2/summary.json", "/history.atom", "/badge.svg"] {
        let (status, stale, body) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{path} during the outage");
        assert_eq!(
            stale.as_deref(),
            Some("true"),
            "{path} carries the stale header"
        );
        if path == "/history.atom" || path == "/api/v2/summary.json" {
            assert!(
                body.contains("Before the outage"),
                "{path} still shows the incident"
            );
        }
    }
    let (_, _, page) = get(&format!("{base}/")).await;
    assert!(
        page.contains("Live updates are paused") && page.contains("Before the outage"),
        "the page says it is frozen"
    );
    let (status, _, _) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 200, "/healthz stays up");
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "/readyz reports the outage: {body}");

    let r = create_incident(&base, &key, "During the outage").await;
    assert_eq!(r.status(), 503);
    let err: serde_json::Value = r.json().await.expect("json error");
    assert!(
        err["error"].as_str().unwrap_or("").contains("database"),
        "{err}"
    );

    // Monitors go on probing while the database is away (one interval is 10 s).
    let probed_during = Instant::now();
    loop {
        let probed = hits
            .lock()
            .expect("hits")
            .values()
            .flatten()
            .any(|t| *t >= probed_during);
        if probed {
            break;
        }
        assert!(
            probed_during.elapsed() < Duration::from_secs(15),
            "no probe while the database was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = chrono::Utc::now();
    tokio::task::block_in_place(|| cluster.start_server());
    let started = Instant::now();
    loop {
        let (_, stale, _) = get(&format!("{base}/api/v2/summary.json")).await;
        if stale.is_none() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never recovered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, _) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 200);
    let r = create_incident(&base, &key, "After the outage").await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let (_, stale, body) = get(&format!("{base}/api/v2/incidents.json")).await;
    assert!(stale.is_none());
    assert!(body.contains("After the outage") && body.contains("Before the outage"));
    let (_, _, page) = get(&format!("{base}/")).await;
    assert!(!page.contains("Live updates are paused"));

    // The results taken during the outage were kept and written once it ended.
    let store = herald_store::open(&url).await.expect("open");
    let started = Instant::now();
    loop {
        let results = store
            .recent_results(&monitor.id, outage, 100)
            .await
            .expect("results");
        if results.iter().any(|r| r.at >= outage && r.at <= back) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "results from the outage were not written: {results:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
