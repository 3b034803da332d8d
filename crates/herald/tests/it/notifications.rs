//! Subscriber notifications end to end: the public subscribe form, double opt-in mail through a
//! real SMTP conversation, per-component filtering, threading headers, signed unsubscribe links
//! (page and RFC 8058 one-click), and webhooks to a real HTTP server: Statuspage payload,
//! HMAC signature, retries after 500s and time-outs, dead letters, and refused internal targets.

use crate::common;

use common::sinks::{self, Behaviour};
use common::App;
use herald::config::{SmtpConfig, SmtpSecurity};
use herald::notify::{Notifier, NotifyOptions};
use herald_core::audience::{Subscriber, SubscriberMode, SubscriberState};
use herald_core::commands::{Command, IncidentInput};
use herald_core::{ComponentStatus, Id, IncidentStatus};
use herald_store::WriteMeta;
use serde_json::{json, Value};
use std::time::Duration;

fn options(allow: &[&str]) -> NotifyOptions {
    NotifyOptions {
        allow_targets: allow.iter().map(|s| s.to_string()).collect(),
        max_attempts: 3,
        retry_base: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        remind_before: None,
        ..NotifyOptions::default()
    }
}

fn mailer(port: u16) -> std::sync::Arc<herald::mail::Mailer> {
    let smtp = SmtpConfig {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        security: Some(SmtpSecurity::None),
        from: Some("Status <status@herald.test>".into()),
        ..SmtpConfig::default()
    };
    std::sync::Arc::new(
        herald::mail::Mailer::with_connections(&smtp, 4)
            .expect("smtp settings")
            .expect("mailer"),
    )
}

async fn open_incident(app: &App, components: &[Id]) -> Id {
    let applied = app
        .state
        .apply(
            &herald::service::Actor::User("test".into()),
            Command::CreateIncident(IncidentInput {
                name: Some("Database failover".into()),
                status: Some(IncidentStatus::Investigating),
                body: Some("We are looking into **errors**.".into()),
                components: components
                    .iter()
                    .map(|c| (c.clone(), ComponentStatus::MajorOutage))
                    .collect(),
                ..IncidentInput::default()
            }),
        )
        .await
        .expect("create incident");
    applied.subject.expect("incident id")
}

async fn update_incident(app: &App, id: &Id, status: IncidentStatus, body: &str) {
    app.state
        .apply(
            &herald::service::Actor::User("test".into()),
            Command::UpdateIncident {
                id: id.clone(),
                input: IncidentInput {
                    status: Some(status),
                    body: Some(body.into()),
                    ..IncidentInput::default()
                },
            },
        )
        .await
        .expect("update incident");
}

/// The first link in a mail that starts with `prefix`, as a path on the page.
fn link(mail: &sinks::Mail, marker: &str) -> String {
    let text = mail.decoded();
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .unwrap_or(rest.len());
    let url = &rest[..end];
    let path_start = url.find("/subscriptions/").expect("path");
    url[path_start..].to_string()
}

async fn subscribe(app: &App, body: Value) -> (axum::http::StatusCode, Value) {
    app.call("POST", "/subscribe", None, Some(body)).await
}

#[tokio::test]
async fn email_subscribers_confirm_follow_components_thread_and_unsubscribe() {
    let mut app = common::app().await;
    let (port, smtp) = sinks::smtp_sink(true).await;
    app.state.notifier = Notifier::new(options(&[]), Some(mailer(port))).expect("notifier");
    let doc = app.store.load().await.expect("load").expect("page");
    let (a, b) = (doc.components[0].id.clone(), doc.components[1].id.clone());

    let (status, body) = subscribe(&app, json!({"email": "all@people.test"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], "unconfirmed");
    subscribe(
        &app,
        json!({"email": "a-only@people.test", "component_ids": [a]}),
    )
    .await;
    subscribe(
        &app,
        json!({"email": "b-only@people.test", "component_ids": [b]}),
    )
    .await;
    subscribe(&app, json!({"email": "never@people.test"})).await;
    let (status, body) = subscribe(&app, json!({"email": "not an address"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "email");
    let (status, body) = subscribe(
        &app,
        json!({"email": "x@people.test", "component_ids": ["nope"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    // An incident before anyone confirmed reaches nobody.
    app.drain().await;
    let early = open_incident(&app, std::slice::from_ref(&a)).await;
    update_incident(&app, &early, IncidentStatus::Resolved, "Fixed.").await;
    app.drain().await;
    let mail = smtp.mail();
    assert_eq!(mail.len(), 4, "only confirmations: {mail:?}");
    assert!(mail
        .iter()
        .all(|m| m.header("Subject").unwrap_or_default().contains("Confirm")));

    for who in [
        "all@people.test",
        "a-only@people.test",
        "b-only@people.test",
    ] {
        let confirm = &smtp.to(who)[0];
        let path = link(confirm, "/subscriptions/confirm?token=");
        let (status, page) = app.text(&path).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Subscription confirmed"), "{page}");
    }
    let (status, _) = app.text("/subscriptions/confirm?token=forged.c.0123").await;
    assert_eq!(status, 404);

    // An incident on component A: the whole-page and A subscribers hear, B and the
    // unconfirmed address do not.
    let incident = open_incident(&app, std::slice::from_ref(&a)).await;
    app.drain().await;
    let first_all = smtp.to("all@people.test");
    let first_a = smtp.to("a-only@people.test");
    assert_eq!(first_all.len(), 2, "confirmation + incident");
    assert_eq!(first_a.len(), 2);
    assert_eq!(
        smtp.to("b-only@people.test").len(),
        1,
        "B follows another component"
    );
    assert_eq!(
        smtp.to("never@people.test").len(),
        1,
        "unconfirmed: confirmation only"
    );
    let created = &first_a[1];
    let subject = created.header("Subject").expect("subject");
    assert!(
        subject.contains("[New incident] Database failover"),
        "{subject}"
    );
    assert!(created.text.contains("multipart/alternative"));
    assert!(created.decoded().contains("<strong>errors</strong>"));
    let root = created.header("Message-ID").expect("message id");
    assert!(created
        .header("List-Unsubscribe")
        .is_some_and(|v| v.contains("/subscriptions/unsubscribe?token=")));
    assert_eq!(
        created.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    // The update threads under the first message.
    update_incident(
        &app,
        &incident,
        IncidentStatus::Identified,
        "A replica was promoted.",
    )
    .await;
    app.drain().await;
    let update = smtp.to("a-only@people.test").pop().expect("update mail");
    assert!(update
        .header("Subject")
        .unwrap_or_default()
        .contains("[Incident update]"));
    assert_eq!(update.header("In-Reply-To").as_deref(), Some(root.as_str()));
    assert_eq!(update.header("References").as_deref(), Some(root.as_str()));
    assert_ne!(update.header("Message-ID"), Some(root.clone()));

    // One-click unsubscribe (what a mail client POSTs to the List-Unsubscribe address).
    let one_click = update.header("List-Unsubscribe").expect("header");
    let url = one_click.trim_matches(['<', '>']);
    let path = &url[url.find("/subscriptions/").expect("path")..];
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("List-Unsubscribe=One-Click"))
        .expect("request");
    let (status, _) = app.send(req).await;
    assert_eq!(status, 200);

    // The unsubscribe link in the body: a page with a button, then the POST it makes.
    let last_all = smtp.to("all@people.test").pop().expect("mail");
    let path = link(&last_all, "/subscriptions/unsubscribe?token=");
    let (status, page) = app.text(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains("<form method=\"post\""), "{page}");
    let manage = link(&last_all, "/subscriptions/manage?token=");
    let (status, page) = app.text(&manage).await;
    assert_eq!(status, 200);
    assert!(page.contains("Save preferences"));
    let (status, _) = app.call("POST", &path, None, None).await;
    assert_eq!(status, 200);

    let before = smtp.mail().len();
    update_incident(&app, &incident, IncidentStatus::Resolved, "All good.").await;
    app.drain().await;
    let after = smtp.mail();
    assert_eq!(
        after.len(),
        before,
        "both subscribers left; nothing more is sent"
    );
    for s in app.store.list_subscribers(None, None).await.expect("list") {
        let expected = match s.email.as_deref() {
            Some("all@people.test") | Some("a-only@people.test") => SubscriberState::Unsubscribed,
            Some("never@people.test") => SubscriberState::Unconfirmed,
            _ => SubscriberState::Active,
        };
        assert_eq!(s.state, expected, "{:?}", s.email);
    }
}

#[tokio::test]
async fn subscribing_is_rate_limited_per_client() {
    let app = common::app().await;
    let mut last = 0;
    for i in 0..12 {
        let (status, _) = subscribe(&app, json!({"email": format!("n{i}@people.test")})).await;
        last = status.as_u16();
    }
    assert_eq!(last, 429);
}

async fn webhook(app: &App, endpoint: &str) -> Id {
    let now = (app.state.clock)();
    let sub = Subscriber {
        id: herald_store::random_id(),
        mode: SubscriberMode::Webhook,
        email: Some("ops@receiver.test".into()),
        endpoint: Some(endpoint.into()),
        component_ids: Vec::new(),
        incident_id: None,
        state: SubscriberState::Active,
        created_at: now,
        updated_at: now,
    };
    let meta = WriteMeta {
        actor: "test".into(),
        now,
    };
    app.store
        .create_subscriber(&sub, &meta)
        .await
        .expect("subscriber");
    sub.id
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    herald::notify::links::signature(secret, body)
}

async fn webhooks_case(mut app: App) {
    let (base, sink) = sinks::http_sink(Behaviour {
        keep: true,
        fail_times: 0,
        hang_times: 0,
        broken_paths: vec!["/dead".into()],
        ..Behaviour::default()
    })
    .await;
    let (flaky_base, flaky) = sinks::http_sink(Behaviour {
        keep: true,
        fail_times: 2,
        ..Behaviour::default()
    })
    .await;
    let (slow_base, slow) = sinks::http_sink(Behaviour {
        keep: true,
        hang_times: 1,
        ..Behaviour::default()
    })
    .await;
    app.state.notifier = Notifier::new(options(&["127.0.0.1"]), None).expect("notifier");
    let ok = webhook(&app, &format!("{base}/ok")).await;
    let dead = webhook(&app, &format!("{base}/dead")).await;
    webhook(&app, &format!("{flaky_base}/flaky")).await;
    webhook(&app, &format!("{slow_base}/slow")).await;
    // Stored before a policy could refuse it: refused at delivery, never contacted.
    let private = webhook(&app, "http://169.254.169.254/latest/meta-data").await;

    let doc = app.store.load().await.expect("load").expect("page");
    let incident = open_incident(&app, &[doc.components[0].id.clone()]).await;
    app.drain().await;

    let got = sink.requests();
    let incident_posts: Vec<_> = got
        .iter()
        .filter(|r| {
            r.path == "/ok"
                && r.headers.get("x-herald-event").map(String::as_str) == Some("incident_created")
        })
        .collect();
    assert_eq!(incident_posts.len(), 1, "{got:?}");
    let post = incident_posts[0];
    let body: Value = serde_json::from_slice(&post.body).expect("json");
    for key in ["meta", "page", "incident"] {
        assert!(body.get(key).is_some(), "{key} missing: {body}");
    }
    assert_eq!(body["incident"]["id"], incident.as_str());
    assert_eq!(body["incident"]["name"], "Database failover");
    assert_eq!(body["incident"]["status"], "investigating");
    assert_eq!(body["page"]["id"], doc.page.id.as_str());
    assert!(body["meta"]["unsubscribe"]
        .as_str()
        .unwrap_or("")
        .contains("/subscriptions/unsubscribe?token="));
    assert!(body["incident"]["incident_updates"][0]["body"]
        .as_str()
        .unwrap_or("")
        .contains("errors"));
    let delivery = post.headers.get("x-herald-delivery").expect("delivery id");
    assert!(delivery.ends_with(&format!(".{ok}")), "{delivery}");
    assert_eq!(post.headers.get("idempotency-key"), Some(delivery));
    let secret = app
        .store
        .subscriber_secret(&ok)
        .await
        .expect("secret")
        .expect("some");
    assert_eq!(
        post.headers.get("x-herald-signature").map(String::as_str),
        Some(hmac_hex(&secret, &post.body).as_str())
    );
    // Webhooks also hear of the component change, as Statuspage's component_update.
    let component_posts: Vec<_> = got
        .iter()
        .filter(|r| {
            r.path == "/ok"
                && r.headers.get("x-herald-event").map(String::as_str) == Some("component_changed")
        })
        .collect();
    assert_eq!(component_posts.len(), 1);
    let body: Value = serde_json::from_slice(&component_posts[0].body).expect("json");
    assert_eq!(body["component_update"]["new_status"], "major_outage");
    assert_eq!(body["component"]["id"], doc.components[0].id.as_str());

    // Retries: the flaky receiver answered 500 once, the slow one hung past the time-out.
    assert_eq!(flaky.distinct(), 0);
    for _ in 0..4 {
        app.clock.advance(30);
        app.drain().await;
    }
    assert_eq!(
        flaky.distinct(),
        2,
        "both notifications arrive after two 500s"
    );
    assert_eq!(flaky.duplicates(), 0);
    assert_eq!(
        *flaky
            .tries
            .lock()
            .expect("lock")
            .values()
            .max()
            .expect("tries"),
        3
    );
    assert_eq!(slow.distinct(), 2, "arrives after the time-out");

    // The broken receiver is dead-lettered after three tries, with the error kept.
    let dead_letters = app
        .store
        .list_deliveries(Some(herald_store::delivery::DeliveryState::Dead), None, 50)
        .await
        .expect("dead");
    let broken: Vec<_> = dead_letters
        .iter()
        .filter(|d| d.subscriber_id == dead)
        .collect();
    assert_eq!(broken.len(), 2, "{dead_letters:?}");
    assert!(broken.iter().all(|d| d.attempts == 3));
    assert!(
        broken[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("500"),
        "{broken:?}"
    );
    let refused: Vec<_> = dead_letters
        .iter()
        .filter(|d| d.subscriber_id == private)
        .collect();
    assert_eq!(refused.len(), 2);
    assert!(
        refused[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("link-local"),
        "{refused:?}"
    );
    assert_eq!(refused[0].attempts, 1, "a refused target is not retried");

    // A dead letter can be retried by hand.
    let tries_before = sink.requests().iter().filter(|r| r.path == "/dead").count();
    app.store
        .retry_delivery(&broken[0].id, (app.state.clock)())
        .await
        .expect("retry");
    app.drain().await;
    let tries_after = sink.requests().iter().filter(|r| r.path == "/dead").count();
    assert_eq!(tries_after, tries_before + 1);

    // Without an allow-list the same local receiver is refused.
    app.state.notifier = Notifier::new(options(&[]), None).expect("notifier");
    let before = sink.requests().len();
    update_incident(&app, &incident, IncidentStatus::Resolved, "Fixed.").await;
    app.drain().await;
    assert_eq!(
        sink.requests().len(),
        before,
        "loopback is refused unless allowed"
    );

    // The public form refuses internal targets outright.
    let (status, body) = subscribe(
        &app,
        json!({"type": "webhook", "endpoint": "http://169.254.169.254/x"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "endpoint");
}

#[tokio::test]
async fn webhooks_on_sqlite() {
    webhooks_case(common::app().await).await;
}

#[tokio::test]
async fn webhooks_on_postgres() {
    webhooks_case(common::TestApp::new().on_postgres().build().await).await;
}

#[tokio::test]
async fn chat_subscribers_get_their_service_format_and_the_api_manages_subscribers() {
    let mut app = common::app().await;
    let (base, sink) = sinks::http_sink(Behaviour {
        keep: true,
        ..Behaviour::default()
    })
    .await;
    app.state.notifier = Notifier::new(options(&["127.0.0.1"]), None).expect("notifier");
    let key = app.key(herald_core::access::Role::Editor).await;
    let auth = format!("Bearer {key}");
    let mut ids = Vec::new();
    for kind in ["slack", "discord", "teams", "webhook"] {
        let (status, body) = app
            .call(
                "POST",
                "/api/herald/v1/subscribers",
                Some(&auth),
                Some(json!({"type": kind, "endpoint": format!("{base}/{kind}")})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["state"], "active");
        assert!(
            body["secret"].as_str().is_some_and(|s| s.len() >= 32),
            "{body}"
        );
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    for (bad, field) in [
        (
            json!({"type": "pager", "endpoint": format!("{base}/x")}),
            "type",
        ),
        (
            json!({"type": "webhook", "endpoint": "ftp://x"}),
            "endpoint",
        ),
        (
            json!({"type": "webhook", "endpoint": "http://10.1.2.3/x"}),
            "endpoint",
        ),
        (
            json!({"email": "ops@x.test", "component_ids": ["zzzzzzzzzzzz"]}),
            "component_ids",
        ),
    ] {
        let (status, body) = app
            .call(
                "POST",
                "/api/herald/v1/subscribers",
                Some(&auth),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["field"], field, "{body}");
    }

    let doc = app.store.load().await.expect("load").expect("page");
    let incident = open_incident(&app, &[doc.components[0].id.clone()]).await;
    app.drain().await;
    let got = sink.requests();
    let body_at = |path: &str| -> Value {
        let r = got
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("nothing posted to {path}: {got:?}"));
        serde_json::from_slice(&r.body).expect("json")
    };
    let link = format!("/incidents/{incident}");
    let slack = body_at("/slack");
    assert!(slack["text"]
        .as_str()
        .unwrap_or("")
        .contains("Database failover"));
    assert!(slack["blocks"].to_string().contains(&link), "{slack}");
    let discord = body_at("/discord");
    assert!(
        discord["embeds"][0]["url"]
            .as_str()
            .unwrap_or("")
            .ends_with(&link),
        "{discord}"
    );
    let teams = body_at("/teams");
    assert_eq!(teams["@type"], "MessageCard");
    assert!(teams["potentialAction"][0]["targets"][0]["uri"]
        .as_str()
        .unwrap_or("")
        .ends_with(&link));
    // Chat hears of incidents only; component changes go to webhooks.
    assert_eq!(got.iter().filter(|r| r.path == "/slack").count(), 1);
    assert_eq!(got.iter().filter(|r| r.path == "/webhook").count(), 2);

    let (status, one) = app
        .call(
            "GET",
            &format!("/api/herald/v1/subscribers/{}", ids[3]),
            Some(&auth),
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["deliveries"].as_array().map(Vec::len), Some(2), "{one}");
    assert!(one["deliveries"].to_string().contains("\"sent\""));
    let (status, log) = app
        .call(
            "GET",
            "/api/herald/v1/deliveries?state=sent",
            Some(&auth),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(log["counts"]["sent"], 5, "{log}");
    let (status, _) = app
        .call(
            "GET",
            "/api/herald/v1/deliveries?state=lost",
            Some(&auth),
            None,
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/herald/v1/subscribers/{}", ids[0]),
            Some(&auth),
            Some(json!({"state": "unsubscribed"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "unsubscribed");
    let (status, _) = app
        .call(
            "PATCH",
            &format!("/api/herald/v1/subscribers/{}", ids[0]),
            Some(&auth),
            Some(json!({"state": "sleepy"})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .call(
            "POST",
            "/api/herald/v1/deliveries/nope.nope/retry",
            Some(&auth),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn subscribers_are_reminded_once_before_a_maintenance_starts() {
    let mut app = common::app().await;
    let (base, sink) = sinks::http_sink(Behaviour {
        keep: true,
        ..Behaviour::default()
    })
    .await;
    app.state.notifier = Notifier::new(
        NotifyOptions {
            remind_before: Some(chrono::Duration::minutes(60)),
            ..options(&["127.0.0.1"])
        },
        None,
    )
    .expect("notifier");
    webhook(&app, &format!("{base}/hook")).await;
    let now = (app.state.clock)();
    app.state
        .apply(
            &herald::service::Actor::User("test".into()),
            Command::CreateMaintenance(herald_core::commands::MaintenanceInput {
                name: Some("Database upgrade".into()),
                body: Some("Upgrading the primary.".into()),
                scheduled_for: Some(now + chrono::Duration::minutes(90)),
                scheduled_until: Some(now + chrono::Duration::minutes(150)),
                ..Default::default()
            }),
        )
        .await
        .expect("maintenance");
    app.drain().await;
    let events = |kind: &str| {
        sink.requests()
            .iter()
            .filter(|r| r.headers.get("x-herald-event").map(String::as_str) == Some(kind))
            .count()
    };
    assert_eq!(events("maintenance_scheduled"), 1);
    herald::notify::queue_reminders(&app.state.deliveries())
        .await
        .expect("check");
    app.drain().await;
    assert_eq!(
        events("maintenance_reminder"),
        0,
        "90 minutes ahead: too early"
    );
    app.clock.advance(40 * 60);
    for _ in 0..3 {
        herald::notify::queue_reminders(&app.state.deliveries())
            .await
            .expect("check");
        app.drain().await;
    }
    assert_eq!(
        events("maintenance_reminder"),
        1,
        "reminded once, however often checked"
    );
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_paused_and_its_contact_told() {
    let mut app = common::app().await;
    let (base, sink) = sinks::http_sink(Behaviour {
        keep: true,
        broken_paths: vec!["/gone".into()],
        ..Behaviour::default()
    })
    .await;
    let (port, smtp) = sinks::smtp_sink(true).await;
    app.state.notifier = Notifier::new(
        NotifyOptions {
            max_attempts: 1,
            disable_after: 2,
            ..options(&["127.0.0.1"])
        },
        Some(mailer(port)),
    )
    .expect("notifier");
    let id = webhook(&app, &format!("{base}/gone")).await;
    // Two notifications (incident and component change) die: the second pauses the hook.
    let doc = app.store.load().await.expect("load").expect("page");
    let incident = open_incident(&app, &[doc.components[0].id.clone()]).await;
    app.drain().await;
    let stored = app.store.subscriber(&id).await.expect("read").expect("sub");
    assert_eq!(stored.state, SubscriberState::Quarantined);
    let told = smtp.to("ops@receiver.test");
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0]
        .header("Subject")
        .unwrap_or_default()
        .contains("Webhook disabled"));
    assert!(
        !told[0].text.contains("/gone"),
        "the full URL is not repeated"
    );

    let posts = sink.requests().len();
    update_incident(&app, &incident, IncidentStatus::Resolved, "Fixed.").await;
    app.drain().await;
    assert_eq!(
        sink.requests().len(),
        posts,
        "a paused hook is not posted to"
    );
    let log = app
        .store
        .list_deliveries(None, Some(&id), 10)
        .await
        .expect("log");
    assert_eq!(log.len(), 2, "no new deliveries for a paused hook: {log:?}");
    assert!(log
        .iter()
        .all(|d| d.state == herald_store::delivery::DeliveryState::Dead));
}

/// The harness's `drain` fails, naming the outbox, when it never empties: a receiver that
/// always answers 500, retried at once and never given up on.
#[tokio::test]
#[should_panic(expected = "the outbox did not empty")]
async fn drain_fails_when_the_outbox_never_empties() {
    let (base, _sink) = sinks::http_sink(Behaviour {
        broken_paths: vec!["/broken".into()],
        ..Behaviour::default()
    })
    .await;
    let mut app = common::app().await;
    let options = NotifyOptions {
        retry_base: Duration::ZERO,
        max_attempts: 10_000,
        disable_after: 10_000,
        ..options(&["127.0.0.1"])
    };
    app.state.notifier = Notifier::new(options, None).expect("notifier");
    webhook(&app, &format!("{base}/broken")).await;
    open_incident(&app, &[]).await;
    app.drain().await;
}
