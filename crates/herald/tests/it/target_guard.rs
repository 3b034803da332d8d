//! The target guard end to end: a webhook host that passes the check and then resolves to a
//! refused address is never reached (the delivery dies with the guard's reason), and every
//! route that creates a target refuses internal ones at once with a 422 naming the field:
//! native API and Statuspage v1 subscribers, native API alert channels. Names resolve through
//! a lookup the test controls, never the system's; the sinks listen on 127.0.0.2 and 127.0.0.3.

use crate::common;

use common::App;
use herald::netguard::{Guard, OverrideLookup, TargetPolicy};
use herald::notify::{Notifier, NotifyOptions};
use herald_core::access::Role;
use herald_core::commands::{Command, IncidentInput};
use herald_core::{ComponentStatus, Id, IncidentStatus};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn ip(s: &str) -> IpAddr {
    s.parse().expect(s)
}

/// An HTTP receiver on `addr` that counts the requests it gets; returns its port. It closes
/// each connection, so every delivery connects (and so resolves) anew: a kept-alive connection
/// would still lead to the address checked when it was opened.
async fn sink(addr: SocketAddr) -> std::io::Result<(u16, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let port = listener.local_addr()?.port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            ([("connection", "close")], "ok")
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((port, hits))
}

/// Receivers on 127.0.0.2 (allowed) and 127.0.0.3 (refused) on one port.
async fn two_sinks() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    for _ in 0..20 {
        let (port, allowed) = sink(SocketAddr::new(ip("127.0.0.2"), 0))
            .await
            .expect("bind");
        if let Ok((_, refused)) = sink(SocketAddr::new(ip("127.0.0.3"), port)).await {
            return (port, allowed, refused);
        }
    }
    panic!("no port free on both 127.0.0.2 and 127.0.0.3");
}

async fn incident(app: &App, input: IncidentInput, update: Option<&Id>) -> Id {
    let command = match update {
        None => Command::CreateIncident(input),
        Some(id) => Command::UpdateIncident {
            id: id.clone(),
            input,
        },
    };
    let applied = app
        .state
        .apply(&herald::service::Actor::User("test".into()), command)
        .await
        .expect("write");
    applied.subject.expect("incident id")
}

fn options() -> NotifyOptions {
    NotifyOptions {
        allow_targets: vec!["127.0.0.2".into()],
        max_attempts: 3,
        retry_base: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        remind_before: None,
        ..NotifyOptions::default()
    }
}

async fn rebinding_case(mut app: App) {
    let (port, allowed, refused) = two_sinks().await;
    // 127.0.0.2 when created and for the first delivery; then the name moves to 127.0.0.3.
    let lookup = OverrideLookup::new()
        .then("hooks.rebind.test", [ip("127.0.0.2")])
        .then("hooks.rebind.test", [ip("127.0.0.2")])
        .then("hooks.rebind.test", [ip("127.0.0.3")]);
    let guard = Guard::with_lookup(
        TargetPolicy::new(["127.0.0.2"]),
        Arc::new(lookup),
        Duration::ZERO,
    );
    app.state.notifier = Notifier::with_guard(options(), None, guard).expect("notifier");
    let auth = format!("Bearer {}", app.key(Role::Editor).await);
    let (status, body) = app
        .call(
            "POST",
            "/api/herald/v1/subscribers",
            Some(&auth),
            Some(json!({"type": "webhook", "endpoint": format!("http://hooks.rebind.test:{port}/hook")})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let sub = Id::parse(body["id"].as_str().expect("id")).expect("id");

    let doc = app.store.load().await.expect("load").expect("page");
    let opened = incident(
        &app,
        IncidentInput {
            name: Some("Database failover".into()),
            status: Some(IncidentStatus::Investigating),
            body: Some("Looking into it.".into()),
            components: vec![(doc.components[0].id.clone(), ComponentStatus::MajorOutage)],
            ..IncidentInput::default()
        },
        None,
    )
    .await;
    app.drain().await;
    assert_eq!(
        allowed.load(Ordering::SeqCst),
        1,
        "the checked address got it"
    );

    incident(
        &app,
        IncidentInput {
            status: Some(IncidentStatus::Resolved),
            body: Some("Fixed.".into()),
            ..IncidentInput::default()
        },
        Some(&opened),
    )
    .await;
    app.drain().await;
    assert_eq!(refused.load(Ordering::SeqCst), 0, "never reached");
    assert_eq!(allowed.load(Ordering::SeqCst), 1);
    let deliveries = app
        .store
        .list_deliveries(None, Some(&sub), 10)
        .await
        .expect("deliveries");
    // Opening the incident told of the incident and of the component: one of the two was
    // sent while the name still answered 127.0.0.2; everything after it died.
    use herald_store::delivery::DeliveryState;
    let sent = deliveries
        .iter()
        .filter(|d| d.state == DeliveryState::Sent)
        .count();
    let dead: Vec<_> = deliveries
        .iter()
        .filter(|d| d.state == DeliveryState::Dead)
        .collect();
    assert_eq!(sent, 1, "{deliveries:?}");
    assert_eq!(dead.len(), deliveries.len() - 1, "{deliveries:?}");
    assert!(
        dead.iter()
            .any(|d| d.kind == herald_core::notify::NoticeKind::IncidentResolved),
        "{deliveries:?}"
    );
    for d in dead {
        assert_eq!(d.attempts, 1, "a refused target is not retried");
        let error = d.last_error.as_deref().unwrap_or("");
        assert!(error.contains("127.0.0.3"), "{error}");
        assert!(error.contains("loopback"), "{error}");
    }
}

#[tokio::test]
async fn a_webhook_host_that_rebinds_is_not_reached_on_sqlite() {
    rebinding_case(common::app().await).await;
}

#[tokio::test]
async fn a_webhook_host_that_rebinds_is_not_reached_on_postgres() {
    rebinding_case(common::TestApp::new().on_postgres().build().await).await;
}

#[tokio::test]
async fn internal_targets_are_refused_when_created() {
    let mut app = common::app().await;
    let lookup = OverrideLookup::new().then("metadata.rebind.test", [ip("169.254.169.254")]);
    let guard = Guard::with_lookup(TargetPolicy::default(), Arc::new(lookup), Duration::ZERO);
    app.state.notifier =
        Notifier::with_guard(NotifyOptions::default(), None, guard.clone()).expect("notifier");
    app.state.alerter =
        herald::alerting::Alerter::new(None, Duration::from_secs(2), guard).expect("alerter");
    let auth = format!("Bearer {}", app.key(Role::Editor).await);
    let v1 = format!("OAuth {}", app.key(Role::Editor).await);
    let targets = [
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.rebind.test/latest/meta-data",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fe80::1]/",
        "http://[fec0::1]/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
    ];
    for target in targets {
        let (status, body) = app
            .call(
                "POST",
                "/api/herald/v1/subscribers",
                Some(&auth),
                Some(json!({"type": "webhook", "endpoint": target})),
            )
            .await;
        assert_eq!(status, 422, "{target}: {body}");
        assert_eq!(body["field"], "endpoint", "{body}");

        let (status, body) = app
            .call(
                "POST",
                "/v1/pages/drchronopage/subscribers",
                Some(&v1),
                Some(json!({"subscriber": {"endpoint": target, "email": "ops@acme.test"}})),
            )
            .await;
        assert_eq!(status, 422, "{target}: {body}");
        assert_eq!(body["field"], "subscriber.endpoint", "{body}");

        let (status, body) = app
            .call(
                "POST",
                "/api/herald/v1/alert-channels",
                Some(&auth),
                Some(json!({"name": "ops", "kind": "webhook", "target": target})),
            )
            .await;
        assert_eq!(status, 422, "{target}: {body}");
        assert_eq!(body["field"], "target", "{body}");
    }
    let (status, body) = app
        .call(
            "POST",
            "/api/herald/v1/subscribers",
            Some(&auth),
            Some(json!({"type": "webhook", "endpoint": "http://169.254.169.254/x"})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body.to_string().contains("link-local"),
        "the guard's reason is given: {body}"
    );
    let subscribers = app.store.list_subscribers(None, None).await.expect("list");
    assert!(subscribers.is_empty(), "nothing was stored");
    let channels = app.store.list_alert_channels().await.expect("list");
    assert!(channels.is_empty(), "nothing was stored");
}
