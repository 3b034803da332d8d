//! The chaos run behind `bench/chaos.sh` (through `examples/chaos.rs`) and `tests/chaos.rs`:
//! several `herald serve` processes on one throw-away PostgreSQL, a steady stream of incident
//! writes through their APIs, webhook subscribers told of every incident, instances killed with
//! SIGKILL at random moments and restarted, and PostgreSQL stopped and restarted mid-run. Public
//! reads go on throughout.
//!
//! At the end every acknowledged write must be in the database, every subscriber must have been
//! told of every acknowledged incident (counted at the receiving end by delivery id), and all
//! instances must serve the same summary. The last line printed is
//! `RESULT writes_acked=.. writes_lost=.. notifications_lost=.. stale_served=..`.

#![allow(dead_code)]

use herald_core::audience::{Subscriber, SubscriberMode, SubscriberState};
use herald_store::testing::{free_port, PgCluster};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Instance {
    port: u16,
    child: Option<super::process::Process>,
    dir: tempfile::TempDir,
}

struct Cluster {
    binary: PathBuf,
    url: String,
    instances: Vec<Mutex<Instance>>,
}

impl Cluster {
    fn start(&self, i: usize) {
        let mut inst = self.instances[i].lock().expect("lock");
        let log = std::env::var("CHAOS_LOG").unwrap_or_else(|_| "error".into());
        let running = super::process::Serve::new()
            .binary(&self.binary)
            .port(inst.port)
            .data_dir(inst.dir.path())
            .env("HERALD_DATABASE_URL", &self.url)
            .env("HERALD_LOG", &log)
            .env("HERALD_NOTIFY_ALLOW_TARGETS", "127.0.0.1")
            .env("HERALD_NOTIFY_LEASE_SECONDS", "5")
            .env("HERALD_NOTIFY_RETRY_SECONDS", "1")
            .env("HERALD_NOTIFY_MAX_ATTEMPTS", "50")
            .spawn();
        inst.child = Some(running.process);
    }

    fn kill(&self, i: usize) {
        let mut inst = self.instances[i].lock().expect("lock");
        // Dropping the process kills it with SIGKILL and reaps it.
        inst.child = None;
    }

    fn base(&self, i: usize) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.instances[i].lock().expect("lock").port
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.instances.len() {
            self.kill(i);
        }
    }
}

async fn wait_ready(base: &str) -> bool {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// What a chaos run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub writes_acked: usize,
    pub writes_lost: usize,
    pub notifications_lost: usize,
    pub stale_served: u64,
    pub snapshots_agree: bool,
}

/// Runs `count` instances of `binary` on a fresh PostgreSQL for `seconds` of chaos with
/// `subscribers` webhook subscribers, printing what happens, and returns what it found.
pub async fn run(binary: PathBuf, seconds: u64, count: usize, subscribers: usize) -> Outcome {
    let pg = tokio::task::spawn_blocking(PgCluster::start)
        .await
        .expect("postgres");
    let url = pg.create_database();
    let (sink, record) = super::sinks::http_sink(super::sinks::Behaviour::default()).await;

    // The page, an API key and the subscribers, written before any server starts.
    let (store, key) = super::process::prepare(&url, None).await;
    let now = chrono::Utc::now();
    let subs: Vec<Subscriber> = (0..subscribers)
        .map(|i| Subscriber {
            id: herald_store::random_id(),
            mode: SubscriberMode::Webhook,
            email: Some(format!("hook{i}@chaos.test")),
            endpoint: Some(format!("{sink}/hook/{i}")),
            component_ids: Vec::new(),
            incident_id: None,
            state: SubscriberState::Active,
            created_at: now,
            updated_at: now,
        })
        .collect();
    store.import_subscribers(&subs).await.expect("subscribers");

    let cluster = Arc::new(Cluster {
        binary,
        url: url.clone(),
        instances: (0..count)
            .map(|_| {
                Mutex::new(Instance {
                    port: free_port(),
                    child: None,
                    dir: tempfile::tempdir().expect("dir"),
                })
            })
            .collect(),
    });
    for i in 0..count {
        cluster.start(i);
    }
    for i in 0..count {
        assert!(
            wait_ready(&cluster.base(i)).await,
            "instance {i} did not start"
        );
    }
    println!("{count} instances on one PostgreSQL, {subscribers} webhook subscribers, {seconds} s of chaos");

    let running = Arc::new(AtomicBool::new(true));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let stale_served = Arc::new(AtomicU64::new(0));
    let read_ok = Arc::new(AtomicU64::new(0));
    let read_failed = Arc::new(AtomicU64::new(0));

    // Writers: one incident at a time per writer, on a random instance.
    let mut tasks = Vec::new();
    for w in 0..2 {
        let (cluster, running, acked, refused, key) = (
            cluster.clone(),
            running.clone(),
            acked.clone(),
            refused.clone(),
            key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                n += 1;
                let name = format!("Chaos write {w}-{n}");
                let i = (rand::random::<u64>() % cluster.instances.len() as u64) as usize;
                let r = client
                    .post(format!("{}/api/herald/v1/incidents", cluster.base(i)))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({"name": name, "status": "investigating", "body": "chaos"}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => acked.lock().expect("lock").push(name),
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }
    // Readers: the public summary, from every instance in turn.
    {
        let (cluster, running, stale_served, read_ok, read_failed) = (
            cluster.clone(),
            running.clone(),
            stale_served.clone(),
            read_ok.clone(),
            read_failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            let mut i = 0;
            while running.load(Ordering::Relaxed) {
                i = (i + 1) % cluster.instances.len();
                match client
                    .get(format!("{}/api/v2/summary.json", cluster.base(i)))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        read_ok.fetch_add(1, Ordering::Relaxed);
                        if r.headers().get("x-herald-stale").is_some() {
                            stale_served.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // A killed instance refuses connections until it is back: expected.
                    _ => {
                        read_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    // The chaos: kills at random moments, and one database outage in the middle.
    let started = Instant::now();
    let run_for = Duration::from_secs(seconds);
    let mut kills = 0;
    let mut outage_done = false;
    while started.elapsed() < run_for {
        let pause = 2_000 + rand::random::<u64>() % 4_000;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if !outage_done && started.elapsed() > run_for / 2 {
            outage_done = true;
            println!(
                "t={:>5.1}s  PostgreSQL stopped",
                started.elapsed().as_secs_f64()
            );
            tokio::task::block_in_place(|| pg.stop());
            tokio::time::sleep(Duration::from_secs(6)).await;
            tokio::task::block_in_place(|| pg.start_server());
            println!(
                "t={:>5.1}s  PostgreSQL started again",
                started.elapsed().as_secs_f64()
            );
            continue;
        }
        let victim = (rand::random::<u64>() % count as u64) as usize;
        cluster.kill(victim);
        kills += 1;
        println!(
            "t={:>5.1}s  instance {victim} killed",
            started.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_millis(500 + rand::random::<u64>() % 1_500)).await;
        cluster.start(victim);
    }
    running.store(false, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    for i in 0..count {
        let alive = cluster.instances[i].lock().expect("lock").child.is_some();
        if !alive {
            cluster.start(i);
        }
        assert!(
            wait_ready(&cluster.base(i)).await,
            "instance {i} did not come back"
        );
    }
    let acked = acked.lock().expect("lock").clone();
    println!(
        "chaos over after {:.0} s: {kills} kills, 1 database outage; {} writes acknowledged, {} refused",
        started.elapsed().as_secs_f64(),
        acked.len(),
        refused.load(Ordering::Relaxed)
    );

    // Every acknowledged write is stored.
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let stored: HashMap<String, String> = sqlx::query("SELECT id, name FROM incidents")
        .fetch_all(&pool)
        .await
        .expect("incidents")
        .into_iter()
        .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("id")))
        .collect();
    let writes_lost = acked.iter().filter(|n| !stored.contains_key(*n)).count();

    // Every subscriber is told of every acknowledged incident: the ids the deliveries must carry.
    let mut expected: HashSet<String> = HashSet::new();
    let notifications = sqlx::query("SELECT id, subject_id, kind FROM notifications")
        .fetch_all(&pool)
        .await
        .expect("notifications");
    let by_incident: HashMap<String, Vec<String>> =
        notifications.iter().fold(HashMap::new(), |mut m, r| {
            m.entry(r.get::<String, _>("subject_id"))
                .or_default()
                .push(r.get::<String, _>("id"));
            m
        });
    let mut untold = 0;
    for name in &acked {
        let Some(incident) = stored.get(name) else {
            continue;
        };
        match by_incident.get(incident) {
            Some(ids) => {
                for n in ids {
                    for s in &subs {
                        expected.insert(format!("{n}.{}", s.id));
                    }
                }
            }
            None => untold += subscribers,
        }
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let delivered = |record: &super::sinks::HttpRecord| {
        let accepted = record.accepted.lock().expect("lock");
        expected
            .iter()
            .filter(|id| accepted.contains_key(*id))
            .count()
    };
    while delivered(&record) < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let notifications_lost = expected.len() - delivered(&record) + untold;

    // All instances serve the same summary once the last change has reached them: a notice
    // lost in the outage is caught by the periodic re-read, so this waits past one of those.
    let converged = Instant::now();
    let deadline = converged + herald::app::PERIODIC_REFRESH + Duration::from_secs(10);
    let agree = loop {
        let mut bodies = HashSet::new();
        let mut updated = Vec::new();
        for i in 0..count {
            let body = reqwest::get(format!("{}/api/v2/summary.json", cluster.base(i)))
                .await
                .expect("summary")
                .text()
                .await
                .unwrap_or_default();
            updated.push(
                serde_json::from_str::<serde_json::Value>(&body)
                    .map(|v| v["page"]["updated_at"].to_string())
                    .unwrap_or_default(),
            );
            bodies.insert(body);
        }
        if bodies.len() == 1 {
            println!(
                "snapshots agree {:.1} s after the deliveries",
                converged.elapsed().as_secs_f64()
            );
            break true;
        }
        if Instant::now() > deadline {
            println!("snapshots still differ: last changes {updated:?}");
            break false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!(
        "deliveries expected {}, duplicates {}; public reads {} answered, {} failed (killed instances); snapshots agree: {agree}",
        expected.len(),
        record.duplicates(),
        read_ok.load(Ordering::Relaxed),
        read_failed.load(Ordering::Relaxed),
    );
    println!(
        "RESULT writes_acked={} writes_lost={writes_lost} notifications_lost={notifications_lost} stale_served={} snapshots_agree={agree}",
        acked.len(),
        stale_served.load(Ordering::Relaxed)
    );
    drop(cluster);
    drop(pg);
    Outcome {
        writes_acked: acked.len(),
        writes_lost,
        notifications_lost,
        stale_served: stale_served.load(Ordering::Relaxed),
        snapshots_agree: agree,
    }
}
