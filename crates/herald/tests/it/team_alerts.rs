//! Team alerts end to end: a monitor going down reaches a generic webhook, Slack-, Discord- and
//! Teams-shaped endpoints (real HTTP servers on 127.0.0.1) and an email address through a real
//! SMTP conversation with a sink the test runs; a failing endpoint is retried; draft mode alerts
//! the team without publishing anything; the component page links its response-time chart.

use crate::common;

use common::{sinks, Session, TestApp, TestClock};
use herald::alerting::{AlertLevel, Alerter, TeamAlert};
use herald::config::{SmtpConfig, SmtpSecurity};
use herald::netguard::{Guard, TargetPolicy};
use herald_core::monitor::{
    AlertChannel, AutoIncidentMode, ChannelKind, ComponentAutomation, MonitorSpec, ProbeSpec,
};
use herald_core::Id;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// Requests received by the sink: (path, JSON body).
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// An HTTP sink on 127.0.0.1 that records every POST; `/flaky` fails its first two calls.
async fn http_sink() -> (String, Received) {
    let received: Received = Arc::default();
    let flaky = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let r = received.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(
            move |axum::extract::Path(path): axum::extract::Path<String>, body: String| {
                let (r, flaky) = (r.clone(), flaky.clone());
                async move {
                    if path == "flaky" && flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
                    r.lock().expect("lock").push((path, json));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, received)
}

fn alert() -> TeamAlert {
    TeamAlert {
        title: "Monitor API is down".into(),
        text: "API went from up to down: connection refused.".into(),
        level: AlertLevel::Down,
        link: Some("http://127.0.0.1/admin/monitors/abc".into()),
        at: chrono::Utc::now(),
    }
}

/// The sinks are on loopback, which the target guard refuses unless allowed.
fn loopback_allowed() -> Guard {
    Guard::new(TargetPolicy::new(["127.0.0.1"]))
}

fn channel(kind: ChannelKind, target: String) -> AlertChannel {
    AlertChannel {
        id: herald_store::random_id(),
        name: format!("{} channel", kind.as_str()),
        kind,
        target,
        enabled: true,
    }
}

/// Waits up to 20 s for `check` to give a value.
async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    common::wait_until(
        what,
        Duration::from_secs(20),
        || std::future::ready(check()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_kind_gets_its_own_message() {
    let (base, received) = http_sink().await;
    let (smtp_port, mail) = sinks::smtp_sink(true).await;
    let smtp = SmtpConfig {
        host: Some("127.0.0.1".into()),
        port: Some(smtp_port),
        security: Some(SmtpSecurity::None),
        from: Some("Herald <status@example.test>".into()),
        ..SmtpConfig::default()
    };
    let mailer = herald::mail::Mailer::from_config(&smtp)
        .expect("smtp settings")
        .map(Arc::new);
    let alerter =
        Alerter::new(mailer, Duration::from_secs(2), loopback_allowed()).expect("alerter");
    let channels = vec![
        channel(ChannelKind::Webhook, format!("{base}/generic")),
        channel(ChannelKind::Slack, format!("{base}/slack")),
        channel(ChannelKind::Discord, format!("{base}/discord")),
        channel(ChannelKind::Teams, format!("{base}/teams")),
        channel(ChannelKind::Webhook, format!("{base}/flaky")),
        channel(ChannelKind::Email, "oncall@example.test".into()),
    ];
    alerter.spawn_send(channels, alert());
    let got = wait_for("five webhook deliveries", || {
        let r = received.lock().expect("lock");
        (r.len() == 5).then(|| r.clone())
    })
    .await;
    let by = |p: &str| {
        got.iter()
            .find(|(path, _)| path == p)
            .map(|(_, v)| v.clone())
            .expect(p)
    };
    assert_eq!(by("generic")["level"], "down");
    assert!(by("slack")["text"]
        .as_str()
        .is_some_and(|t| t.contains("connection refused")));
    assert_eq!(by("discord")["embeds"][0]["title"], "Monitor API is down");
    assert_eq!(by("teams")["@type"], "MessageCard");
    assert_eq!(
        by("flaky")["title"],
        "Monitor API is down",
        "delivered on the third try"
    );
    let sinks::Mail { rcpt: to, text } =
        wait_for("one email", || mail.mail().first().cloned()).await;
    assert_eq!(to, vec!["oncall@example.test".to_string()]);
    assert!(
        text.contains("Subject: [Herald] Monitor API is down"),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_going_down_in_draft_mode_alerts_the_team_only() {
    let (base, received) = http_sink().await;
    // The real runtimes run on the wall clock.
    let app = TestApp::new()
        .with_clock(TestClock::wall())
        .configure(|state| {
            state.alerter =
                Alerter::new(None, Duration::from_secs(10), loopback_allowed()).expect("alerter");
        })
        .served()
        .await;
    let (state, store) = (&app.state, &app.store);
    let meta = app.meta();

    store
        .save_alert_channel(&channel(ChannelKind::Slack, format!("{base}/ops")), &meta)
        .await
        .expect("channel");
    let web = Id::parse("drchronocom1").expect("id");
    let mut automation = ComponentAutomation::new(web.clone());
    automation.incidents = AutoIncidentMode::Draft;
    store
        .save_automation(&automation, &meta)
        .await
        .expect("automation");

    // A target that answers until told to fail.
    let healthy = Arc::new(AtomicBool::new(true));
    let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let target_url = format!("http://{}/", target.local_addr().expect("addr"));
    let h = healthy.clone();
    let target_app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let h = h.clone();
            async move {
                if h.load(Ordering::SeqCst) {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(target, target_app).await;
    });
    let spec = MonitorSpec {
        id: herald_store::random_id(),
        name: "Homepage".into(),
        component_id: Some(web.clone()),
        probe: ProbeSpec::Http {
            url: target_url,
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
        timeout_ms: 1_000,
        degraded_after_ms: None,
        failures_to_down: 2,
        successes_to_up: 1,
        flap_window_seconds: 0,
        retry_interval_seconds: Some(1),
        enabled: true,
    };
    store.save_monitor(&spec, &meta).await.expect("monitor");
    state.after(herald::service::Effect::Monitoring).await;
    wait_for("the monitor to come up", || {
        state
            .monitoring
            .state(&spec.id)
            .filter(|s| s.public_status == herald_core::monitor::MonitorStatus::Up)
    })
    .await;
    // The component page links its response-time chart, and the chart draws.
    state.site.rebuild().await.expect("snapshot");
    let page = reqwest::get(app.url("/components/drchronocom1"))
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("response-time.svg"),
        "no chart on the component page"
    );
    let chart = reqwest::get(app.url("/components/drchronocom1/response-time.svg"))
        .await
        .expect("chart");
    assert_eq!(chart.status(), 200);
    assert!(chart.text().await.expect("svg").starts_with("<svg"));

    healthy.store(false, Ordering::SeqCst);
    let alerts = wait_for("a monitor alert and a draft", || {
        let r = received.lock().expect("lock");
        let texts: Vec<String> = r
            .iter()
            .map(|(_, v)| v["text"].as_str().unwrap_or("").to_string())
            .collect();
        let down = texts.iter().any(|t| t.contains("Monitor Homepage is down"));
        let draft = texts.iter().any(|t| t.contains("Drafted incident"));
        (down && draft).then_some(texts)
    })
    .await;
    println!("team alerts: {alerts:?}");
    // Nothing public: the component is down, but no incident was opened.
    let doc = store.load().await.expect("load").expect("page");
    assert_eq!(doc.incidents.len(), 2, "only the example's incidents");
    assert_eq!(
        doc.component(&web).map(|c| c.status),
        Some(herald_core::ComponentStatus::MajorOutage)
    );

    // The draft waits on the admin dashboard; an editor publishes it and owns the incident.
    let drafts = state.monitoring.drafts(state).await;
    assert_eq!(drafts.len(), 1);
    app.user("editor@example.test", herald_core::access::Role::Editor)
        .await;
    let Session { cookie, csrf } = app.sign_in("editor@example.test").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let dashboard = client
        .get(app.url("/admin"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("text");
    assert!(dashboard.contains("Drafted by monitors"), "{dashboard}");
    let published = client
        .post(app.url("/admin/drafts/drchronocom1/publish"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("publish");
    assert_eq!(published.status(), 303);
    let doc = store.load().await.expect("load").expect("page");
    assert_eq!(doc.incidents.len(), 3, "the draft is now a public incident");
    assert!(state.monitoring.drafts(state).await.is_empty());
    let events = store
        .incident_events(
            &doc.incidents
                .iter()
                .max_by_key(|i| i.created_at)
                .expect("new")
                .id,
        )
        .await
        .expect("events");
    assert!(!events.is_empty());
}
