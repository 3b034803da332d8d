//! The monitoring scheduler, stepped on a scripted prober and a test clock: first runs spread
//! over the interval, the cadence planned from the due instant, a turn skipped while the probe
//! still runs, early retries after a failure, and the concurrency bound.

use crate::common::scripted::{self, Stepped};
use herald::monitoring::{Monitoring, MonitoringOptions};
use herald_core::monitor::MonitorStatus;
use herald_store::WriteMeta;

fn meta(s: &crate::common::App) -> WriteMeta {
    WriteMeta {
        actor: "test".into(),
        now: (s.state.clock)(),
    }
}

#[tokio::test]
async fn first_runs_spread_over_the_interval_and_keep_their_cadence() {
    let app = crate::common::app().await;
    let specs: Vec<_> = (0..20)
        .map(|i| scripted::monitor(&format!("m{i}"), None))
        .collect();
    for spec in &specs {
        app.store
            .save_monitor(spec, &meta(&app))
            .await
            .expect("save monitor");
    }
    // Monitors that exist at start-up: the first read spreads them over their interval.
    let mut s = Stepped::on(app).await;
    let start = s.now();
    for spec in &specs {
        let due = s.steps.due(&spec.id).expect("planned");
        assert!(
            due >= start && due < start + chrono::Duration::seconds(10),
            "first run at {due}, not within the interval from {start}"
        );
    }
    s.steps.step().await;
    s.tick(40).await;
    for spec in &specs {
        let calls = s.prober.calls_of(&spec.id);
        let first = calls.first().expect("probed").0;
        assert!(first - start <= chrono::Duration::seconds(10), "{calls:?}");
        for pair in calls.windows(2) {
            assert_eq!((pair[1].0 - pair[0].0).num_seconds(), 10, "{calls:?}");
        }
        // Every 10 s over the 40 s stepped, one more when the first run fell on the start.
        let expected = if first == start { 5 } else { 4 };
        assert_eq!(calls.len(), expected, "{calls:?}");
    }
    let (_, _, _, _, probes) = s.app.state.monitoring.drift();
    assert_eq!(
        probes as usize,
        s.prober.total_calls(),
        "every probe counted in the drift figures"
    );

    // A disabled monitor stops; the others go on.
    let mut off = specs[0].clone();
    off.enabled = false;
    s.add(&off).await;
    let (off_before, on_before) = (s.prober.calls(&off.id), s.prober.calls(&specs[1].id));
    s.tick(10).await;
    assert_eq!(s.prober.calls(&off.id), off_before);
    assert_eq!(s.prober.calls(&specs[1].id), on_before + 1);
}

#[tokio::test]
async fn a_probe_still_running_skips_its_turn_and_the_cadence_holds() {
    let mut s = Stepped::new().await;
    let spec = scripted::monitor("slow", None);
    s.add(&spec).await;
    s.prober.hold(&spec.id);
    // Added after start-up: read at the next step, probed within a second.
    assert_eq!(s.steps.run_due(s.now()).await, 0);
    s.app.clock.advance(1);
    assert_eq!(s.steps.run_due(s.now()).await, 1);
    let first = s.steps.due(&spec.id).expect("planned") - chrono::Duration::seconds(10);
    s.prober.wait_for_calls(1).await;
    for _ in 0..2 {
        s.app.clock.advance(10);
        assert_eq!(
            s.steps.run_due(s.now()).await,
            0,
            "a turn while the probe still runs is skipped"
        );
    }
    s.prober.release(&spec.id);
    s.steps.probes_finished().await;
    assert_eq!(s.steps.record().await, 1);
    assert_eq!(s.monitor_status(&spec.id), Some(MonitorStatus::Up));
    // Planned from the due instant, not from when the slow probe ended.
    assert_eq!(
        s.steps.due(&spec.id),
        Some(first + chrono::Duration::seconds(30))
    );
    s.app.clock.advance(10);
    assert_eq!(s.steps.run_due(s.now()).await, 1);
    s.steps.probes_finished().await;
    assert_eq!(s.prober.calls(&spec.id), 2);
}

#[tokio::test]
async fn a_failure_is_retried_before_the_next_turn() {
    let mut s = Stepped::new().await;
    let mut spec = scripted::monitor("retried", None);
    spec.interval_seconds = 60;
    spec.retry_interval_seconds = Some(5);
    s.add(&spec).await;
    s.until_monitor(&spec.id, MonitorStatus::Up, 2).await;
    let due = s.steps.due(&spec.id).expect("planned");

    s.prober.set(&spec.id, scripted::down("refused"));
    *s.app.clock.0.lock().expect("clock") = due;
    s.steps.step().await;
    assert_eq!(
        s.monitor_status(&spec.id),
        Some(MonitorStatus::Up),
        "one failure"
    );
    assert_eq!(
        s.steps.due(&spec.id),
        Some(due + chrono::Duration::seconds(60))
    );
    // The next step takes the retry the recorder asked for.
    s.steps.run_due(s.now()).await;
    assert_eq!(
        s.steps.due(&spec.id),
        Some(due + chrono::Duration::seconds(5)),
        "the failure is re-probed after the retry interval"
    );
    s.tick(5).await;
    assert_eq!(s.monitor_status(&spec.id), Some(MonitorStatus::Down));
    assert_eq!(s.prober.calls(&spec.id), 3);
    // Confirmed: back to the normal cadence, planned from the retry.
    assert_eq!(
        s.steps.due(&spec.id),
        Some(due + chrono::Duration::seconds(65))
    );
}

#[tokio::test]
async fn probes_run_within_the_concurrency_bound() {
    let mut app = crate::common::app().await;
    app.state.monitoring = Monitoring::new(MonitoringOptions {
        concurrency: 2,
        ..MonitoringOptions::default()
    });
    let mut s = Stepped::on(app).await;
    let specs: Vec<_> = (0..5)
        .map(|i| scripted::monitor(&format!("held {i}"), None))
        .collect();
    for spec in &specs {
        s.add(spec).await;
        s.prober.hold(&spec.id);
    }
    assert_eq!(s.steps.run_due(s.now()).await, 0);
    s.app.clock.advance(1);
    assert_eq!(s.steps.run_due(s.now()).await, 5);
    s.prober.wait_for_calls(2).await;
    assert_eq!(s.prober.total_calls(), 2, "the others wait for a slot");
    for spec in &specs {
        s.prober.release(&spec.id);
    }
    s.steps.probes_finished().await;
    assert_eq!(s.prober.total_calls(), 5);
    assert_eq!(s.prober.most_at_once(), 2);
    assert_eq!(s.steps.record().await, 5);
}
