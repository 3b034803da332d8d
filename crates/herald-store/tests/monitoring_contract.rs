//! The monitoring part of the store contract, on both engines (`sqlite::<case>` and
//! `postgres::<case>`): monitors and their state, result batches and their aggregates,
//! retention, automation, integrations, alert channels and metrics.

use chrono::{DateTime, TimeDelta, Utc};
use herald_core::datafile::{DataFile, Format};
use herald_core::monitor::*;
use herald_core::Id;
use herald_store::monitoring::{RecordedResult, Resolution};
use herald_store::{ImportOptions, Store, StoreError, WriteMeta};
use std::sync::Arc;

const EXAMPLE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn meta() -> WriteMeta {
    WriteMeta {
        actor: "test".into(),
        now: t("2026-03-01T12:00:00Z"),
    }
}

async fn with_page(store: &Arc<dyn Store>) {
    let file = DataFile::parse(EXAMPLE, Format::Toml).expect("example");
    store
        .import(file, t("2026-03-01T00:00:00Z"), &ImportOptions::default())
        .await
        .expect("import");
}

fn spec(id: &str, probe: ProbeSpec) -> MonitorSpec {
    MonitorSpec {
        id: Id::parse(id).expect("id"),
        name: format!("monitor {id}"),
        component_id: Some(Id::parse("drchronocom1").expect("id")),
        probe,
        interval_seconds: 60,
        timeout_ms: 5_000,
        degraded_after_ms: None,
        failures_to_down: 3,
        successes_to_up: 2,
        flap_window_seconds: 300,
        retry_interval_seconds: None,
        enabled: true,
    }
}

fn tcp() -> ProbeSpec {
    ProbeSpec::Tcp {
        host: "127.0.0.1".into(),
        port: 5432,
    }
}

fn heartbeat(token: &str) -> ProbeSpec {
    ProbeSpec::Heartbeat {
        token: token.into(),
        grace_seconds: 0,
    }
}

fn result(monitor: &str, at: &str, outcome: ProbeOutcome, status: MonitorStatus) -> RecordedResult {
    RecordedResult {
        result: ProbeResult {
            monitor_id: Id::parse(monitor).expect("id"),
            at: t(at),
            outcome,
        },
        state: MonitorState {
            status,
            public_status: status,
            ..MonitorState::default()
        },
    }
}

fn up(ms: u64) -> ProbeOutcome {
    ProbeOutcome::Up { latency_ms: ms }
}

fn down() -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: "connection refused".into(),
    }
}

pub async fn monitors_are_saved_replaced_and_deleted(store: Arc<dyn Store>) {
    with_page(&store).await;
    let a = spec("monitoraaaaa", tcp());
    store.save_monitor(&a, &meta()).await.expect("save");
    store
        .record_results(&[result(
            "monitoraaaaa",
            "2026-03-01T12:00:00Z",
            down(),
            MonitorStatus::Down,
        )])
        .await
        .expect("record");
    // Replacing the configuration keeps the state.
    let mut renamed = a.clone();
    renamed.name = "renamed".into();
    store
        .save_monitor(&renamed, &meta())
        .await
        .expect("replace");
    let stored = store.monitor(&a.id).await.expect("get").expect("stored");
    assert_eq!(stored.spec.name, "renamed");
    assert_eq!(stored.state.status, MonitorStatus::Down);
    assert!(stored.last_result.is_some());
    // Heartbeat tokens are unique.
    store
        .save_monitor(&spec("monitorbbbbb", heartbeat("token-one-1234")), &meta())
        .await
        .expect("heartbeat");
    let clash = store
        .save_monitor(&spec("monitorccccc", heartbeat("token-one-1234")), &meta())
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict { .. })),
        "{clash:?}"
    );
    assert_eq!(store.list_monitors().await.expect("list").len(), 2);
    // Deleting removes the results too; deleting again is NotFound.
    store.delete_monitor(&a.id, &meta()).await.expect("delete");
    let left = store
        .recent_results(&a.id, t("2026-01-01T00:00:00Z"), 10)
        .await
        .expect("results");
    assert!(left.is_empty());
    let again = store.delete_monitor(&a.id, &meta()).await;
    assert!(
        matches!(again, Err(StoreError::NotFound { .. })),
        "{again:?}"
    );
    // The audit log names the changes but never shows a heartbeat token.
    let audit = store.audit_log(50).await.expect("audit");
    assert!(audit.iter().any(|e| e.action == "monitor.delete"));
    assert!(!format!("{audit:?}").contains("token-one-1234"));
}

pub async fn results_fold_into_minutes_and_days(store: Arc<dyn Store>) {
    with_page(&store).await;
    store
        .save_monitor(&spec("monitoraaaaa", tcp()), &meta())
        .await
        .expect("save");
    let id = Id::parse("monitoraaaaa").expect("id");
    store
        .record_results(&[
            result(
                "monitoraaaaa",
                "2026-03-01T12:00:05Z",
                up(100),
                MonitorStatus::Up,
            ),
            result(
                "monitoraaaaa",
                "2026-03-01T12:00:35Z",
                up(300),
                MonitorStatus::Up,
            ),
            // Results of a monitor that does not exist are skipped.
            result(
                "monitorzzzzz",
                "2026-03-01T12:00:35Z",
                up(1),
                MonitorStatus::Up,
            ),
        ])
        .await
        .expect("first batch");
    store
        .record_results(&[
            result(
                "monitoraaaaa",
                "2026-03-01T12:00:50Z",
                down(),
                MonitorStatus::Up,
            ),
            result(
                "monitoraaaaa",
                "2026-03-01T12:01:10Z",
                ProbeOutcome::Degraded {
                    latency_ms: 900,
                    reason: "slow".into(),
                },
                MonitorStatus::Degraded,
            ),
        ])
        .await
        .expect("second batch");
    let since = t("2026-03-01T00:00:00Z");
    let raw = store.recent_results(&id, since, 10).await.expect("raw");
    assert_eq!(raw.len(), 4);
    assert_eq!(raw[0].at, t("2026-03-01T12:01:10Z"), "newest first");
    assert_eq!(
        store
            .recent_results(&id, since, 2)
            .await
            .expect("raw")
            .len(),
        2
    );
    let minutes = store
        .result_aggregates(&id, Resolution::Minute, since)
        .await
        .expect("minutes");
    assert_eq!(minutes.len(), 2);
    assert_eq!(minutes[0].start, t("2026-03-01T12:00:00Z"));
    assert_eq!((minutes[0].up, minutes[0].down), (2, 1));
    assert_eq!(
        minutes[0].latency_sum_ms, 400,
        "down results carry no latency"
    );
    assert_eq!(minutes[0].latency_max_ms, 300);
    assert_eq!(minutes[1].degraded, 1);
    let days = store
        .result_aggregates(&id, Resolution::Day, since)
        .await
        .expect("days");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].start, t("2026-03-01T00:00:00Z"));
    assert_eq!((days[0].up, days[0].degraded, days[0].down), (2, 1, 1));
    assert_eq!(days[0].latency_max_ms, 900);
    // The last state of the batch is the monitor's.
    let stored = store.monitor(&id).await.expect("get").expect("stored");
    assert_eq!(stored.state.status, MonitorStatus::Degraded);
    // Retention: raw results older than 48 hours go, aggregates within a year stay.
    store
        .prune_results(t("2026-03-01T12:00:00Z") + TimeDelta::hours(49))
        .await
        .expect("prune");
    assert!(store
        .recent_results(&id, since, 10)
        .await
        .expect("raw")
        .is_empty());
    assert_eq!(
        store
            .result_aggregates(&id, Resolution::Day, since)
            .await
            .expect("days")
            .len(),
        1
    );
    store
        .prune_results(t("2027-03-05T00:00:00Z"))
        .await
        .expect("prune a year on");
    assert!(store
        .result_aggregates(&id, Resolution::Minute, since)
        .await
        .expect("minutes")
        .is_empty());
}

pub async fn automation_and_its_state_round_trip(store: Arc<dyn Store>) {
    with_page(&store).await;
    let c = Id::parse("drchronocom1").expect("id");
    let mut a = ComponentAutomation::new(c.clone());
    a.incidents = AutoIncidentMode::Publish;
    a.rule = ComponentRule::All;
    store.save_automation(&a, &meta()).await.expect("save");
    a.quiet_period_seconds = 60;
    store.save_automation(&a, &meta()).await.expect("replace");
    assert_eq!(store.list_automations().await.expect("list"), vec![a]);
    let state = serde_json::json!({"phase": "open", "incident_id": "incident0001"});
    store
        .save_automation_state(&c, &state)
        .await
        .expect("state");
    store
        .save_automation_state(&c, &state)
        .await
        .expect("state again");
    assert_eq!(
        store.automation_states().await.expect("states"),
        vec![(c, state)]
    );
}

pub async fn integrations_keep_their_token_hash(store: Arc<dyn Store>) {
    with_page(&store).await;
    let mut i = Integration::new(
        Id::parse("integration1").expect("id"),
        IntegrationKind::Alertmanager,
        "prod".into(),
        t("2026-03-01T12:00:00Z"),
    );
    store
        .create_integration(&i, "hash-of-the-token", &meta())
        .await
        .expect("create");
    i.default_component = Some(Id::parse("drchronocom1").expect("id"));
    store.update_integration(&i, &meta()).await.expect("update");
    let found = store
        .integration_by_token_hash("hash-of-the-token")
        .await
        .expect("by hash")
        .expect("found");
    assert_eq!(found, i);
    assert!(store
        .integration_by_token_hash("other")
        .await
        .expect("by hash")
        .is_none());
    assert_eq!(store.list_integrations().await.expect("list").len(), 1);
    assert!(
        !format!("{:?}", store.audit_log(50).await.expect("audit")).contains("hash-of-the-token")
    );
    store
        .delete_integration(&i.id, &meta())
        .await
        .expect("delete");
    assert!(store.list_integrations().await.expect("list").is_empty());
    let missing = store.update_integration(&i, &meta()).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

pub async fn channels_and_metrics(store: Arc<dyn Store>) {
    with_page(&store).await;
    let ch = AlertChannel {
        id: Id::parse("channel00001").expect("id"),
        name: "ops".into(),
        kind: ChannelKind::Slack,
        target: "https://127.0.0.1/hooks/secret".into(),
        enabled: true,
    };
    store.save_alert_channel(&ch, &meta()).await.expect("save");
    assert_eq!(
        store.list_alert_channels().await.expect("list"),
        vec![ch.clone()]
    );
    assert!(!format!("{:?}", store.audit_log(50).await.expect("audit")).contains("hooks/secret"));
    store
        .delete_alert_channel(&ch.id, &meta())
        .await
        .expect("delete");
    assert!(store.list_alert_channels().await.expect("list").is_empty());

    let metric = |id: &str, name: &str| Metric {
        id: Id::parse(id).expect("id"),
        name: name.into(),
        suffix: " ms".into(),
        y_axis_min: Some(0.0),
        y_axis_max: None,
        decimal_places: 1,
        description: None,
        monitor_id: None,
        display: true,
    };
    store
        .save_metric(&metric("metricbbbbbb", "Second"), &meta())
        .await
        .expect("b");
    store
        .save_metric(&metric("metricaaaaaa", "First"), &meta())
        .await
        .expect("a");
    let names: Vec<String> = store
        .list_metrics()
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Second", "First"], "in the order they were added");
    let id = Id::parse("metricaaaaaa").expect("id");
    let p = |at: &str, value: f64| MetricPoint { at: t(at), value };
    store
        .add_metric_points(
            &id,
            &[
                p("2026-03-01T10:00:00Z", 1.5),
                p("2026-03-01T11:00:00Z", 2.5),
            ],
        )
        .await
        .expect("points");
    store
        .add_metric_points(&id, &[p("2026-03-01T11:00:00Z", 3.5)])
        .await
        .expect("replace a point");
    let points = store
        .metric_points(&id, t("2026-03-01T10:30:00Z"))
        .await
        .expect("points");
    assert_eq!(points, vec![p("2026-03-01T11:00:00Z", 3.5)]);
    let unknown = store
        .add_metric_points(
            &Id::parse("metriczzzzzz").expect("id"),
            &[p("2026-03-01T10:00:00Z", 1.0)],
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound { .. })));
    store.delete_metric(&id, &meta()).await.expect("delete");
    assert!(store
        .metric_points(&id, t("2026-01-01T00:00:00Z"))
        .await
        .expect("points")
        .is_empty());
}

pub async fn monitoring_sections_import_and_stay_unchanged(store: Arc<dyn Store>) {
    let mut file = DataFile::parse(EXAMPLE, Format::Toml).expect("example");
    file.monitors = vec![spec("monitoraaaaa", tcp())];
    let mut a = ComponentAutomation::new(Id::parse("drchronocom1").expect("id"));
    a.incidents = AutoIncidentMode::Draft;
    file.automation = vec![a];
    let first = store
        .import(
            file.clone(),
            t("2026-03-01T00:00:00Z"),
            &ImportOptions::default(),
        )
        .await
        .expect("import");
    assert!(first.written > 0);
    let again = store
        .import(
            file.clone(),
            t("2026-03-02T00:00:00Z"),
            &ImportOptions::default(),
        )
        .await
        .expect("import again");
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(store.list_monitors().await.expect("list").len(), 1);
    assert_eq!(store.list_automations().await.expect("list").len(), 1);
    // A monitor pointing at a component nobody has writes nothing at all.
    let mut bad = file;
    bad.monitors[0].component_id = Some(Id::parse("nosuchthing0").expect("id"));
    bad.monitors[0].name = "changed".into();
    assert!(store
        .import(bad, t("2026-03-03T00:00:00Z"), &ImportOptions::default())
        .await
        .is_err());
    let kept = store.list_monitors().await.expect("list");
    assert_eq!(kept[0].spec.name, "monitor monitoraaaaa");
}

use herald_store::testing::contract;

contract!(
    monitors_are_saved_replaced_and_deleted,
    results_fold_into_minutes_and_days,
    automation_and_its_state_round_trip,
    integrations_keep_their_token_hash,
    channels_and_metrics,
    monitoring_sections_import_and_stay_unchanged,
);
