//! Crash test: `herald serve` is killed with SIGKILL in the middle of telling 10,000 webhook
//! subscribers about an incident, then started again. Every subscriber must end up with the
//! notification; a delivery repeated because the kill came between sending and recording it
//! carries the same idempotency id as the first. The test prints both counts.

use crate::common;

use common::fanout::{self, Channel};
use common::sinks::{self, Behaviour};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanout_killed_midway_completes_after_restart_without_new_ids() {
    // A receiver that takes a few milliseconds per request, so the fan-out lasts long enough
    // to be interrupted.
    let (base, sink) = sinks::http_sink(Behaviour {
        delay: Duration::from_millis(4),
        ..Behaviour::default()
    })
    .await;
    let mut herald = fanout::prepare(
        std::path::Path::new(env!("CARGO_BIN_EXE_herald")),
        SUBSCRIBERS,
        &Channel::Webhook(format!("{base}/hook")),
        &[
            ("HERALD_NOTIFY_ALLOW_TARGETS", "127.0.0.1"),
            ("HERALD_NOTIFY_LEASE_SECONDS", "3"),
            ("HERALD_NOTIFY_PER_HOST", "8"),
        ],
    )
    .await;
    herald.start();
    herald.wait_ready().await;
    herald.open_incident("Primary database restarted").await;

    let started = Instant::now();
    while sink.distinct() < SUBSCRIBERS / 5 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the fan-out did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    herald.kill();
    let at_kill = sink.distinct();
    println!("killed with SIGKILL after {at_kill} of {SUBSCRIBERS} deliveries");
    assert!(
        at_kill < SUBSCRIBERS,
        "the kill came after the fan-out finished"
    );

    herald.start();
    herald.wait_ready().await;
    let restarted = Instant::now();
    while sink.distinct() < SUBSCRIBERS {
        assert!(
            restarted.elapsed() < Duration::from_secs(120),
            "only {} of {SUBSCRIBERS} subscribers were told after the restart",
            sink.distinct()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Count once the outbox has recorded every delivery: nothing is left to send again.
    let url = format!("sqlite://{}", herald.dir.path().join("herald.db").display());
    let store = herald_store::open(&url).await.expect("open the database");
    common::wait_until("every delivery recorded", Duration::from_secs(60), || {
        let store = store.clone();
        async move {
            let counts = store.delivery_counts().await.ok()?;
            (counts.pending == 0).then_some(())
        }
    })
    .await;

    let accepted = sink.accepted.lock().expect("lock").clone();
    let mut ids_per_subscriber: HashMap<&str, HashSet<&str>> = HashMap::new();
    for id in accepted.keys() {
        let (_, subscriber) = id.split_once('.').expect("id is notification.subscriber");
        ids_per_subscriber.entry(subscriber).or_default().insert(id);
    }
    let duplicates = sink.duplicates();
    let summary = format!(
        "crash test: killed after {at_kill} of {SUBSCRIBERS}; subscribers told: {} of {SUBSCRIBERS}; \
         duplicate deliveries: {duplicates} (each with the id of the first)",
        ids_per_subscriber.len()
    );
    println!("{summary}");
    // Kept for scripts/test.sh, which prints it (test output is captured when tests pass).
    let _ = std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fanout-crash.txt"),
        format!("{summary}\n"),
    );
    assert_eq!(ids_per_subscriber.len(), SUBSCRIBERS);
    assert!(
        ids_per_subscriber.values().all(|ids| ids.len() == 1),
        "a subscriber got the notification under two different ids"
    );
    assert!(!accepted.contains_key(""), "a delivery came without its id");
    herald.kill();
}
