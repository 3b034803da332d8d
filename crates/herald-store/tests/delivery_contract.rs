//! The delivery part of the store contract, on both engines: the outbox is written in the
//! same transaction as the change (and not at all when the change is refused), expansion is
//! idempotent, concurrent claims never share a delivery, an expired lease is claimed again, and
//! outcomes move deliveries and subscribers as documented.

use chrono::{DateTime, TimeDelta, Utc};
use herald_core::audience::{Subscriber, SubscriberMode, SubscriberState};
use herald_core::commands::{Command, IncidentInput};
use herald_core::datafile::{DataFile, Format};
use herald_core::notify::NoticeKind;
use herald_core::{Id, IncidentStatus};
use herald_store::delivery::{DeliveryId, DeliveryState, Outcome};
use herald_store::{ImportOptions, Store, WriteMeta};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

const EXAMPLE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn now() -> DateTime<Utc> {
    t("2026-03-01T12:00:00Z")
}

fn meta() -> WriteMeta {
    WriteMeta {
        actor: "test".into(),
        now: now(),
    }
}

async fn with_page(store: &Arc<dyn Store>) {
    let file = DataFile::parse(EXAMPLE, Format::Toml).expect("example");
    store
        .import(file, t("2026-03-01T00:00:00Z"), &ImportOptions::default())
        .await
        .expect("import");
}

fn webhook(i: usize) -> Subscriber {
    Subscriber {
        id: herald_store::random_id(),
        mode: SubscriberMode::Webhook,
        email: None,
        endpoint: Some(format!("https://hooks.example.test/{i}")),
        component_ids: Vec::new(),
        incident_id: None,
        state: SubscriberState::Active,
        created_at: now(),
        updated_at: now(),
    }
}

fn open() -> Command {
    Command::CreateIncident(IncidentInput {
        name: Some("Outage".into()),
        status: Some(IncidentStatus::Investigating),
        body: Some("Looking.".into()),
        ..IncidentInput::default()
    })
}

async fn the_outbox_shares_the_change_transaction(store: Arc<dyn Store>) {
    with_page(&store).await;
    store.apply(open(), &meta()).await.expect("apply");
    let waiting = store.waiting_notifications(10).await.expect("waiting");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].notice.kind, NoticeKind::IncidentCreated);
    // A refused command leaves nothing behind.
    let bad = Command::UpdateIncident {
        id: Id::derive("missing"),
        input: IncidentInput::default(),
    };
    assert!(store.apply(bad, &meta()).await.is_err());
    assert_eq!(
        store
            .waiting_notifications(10)
            .await
            .expect("waiting")
            .len(),
        1
    );
    // An email subscriber waiting for confirmation gets a confirmation notice with it.
    let mut sub = webhook(0);
    sub.mode = SubscriberMode::Email;
    sub.endpoint = None;
    sub.email = Some("new@example.test".into());
    sub.state = SubscriberState::Unconfirmed;
    store
        .create_subscriber(&sub, &meta())
        .await
        .expect("subscriber");
    let waiting = store.waiting_notifications(10).await.expect("waiting");
    assert_eq!(waiting.len(), 2);
    // Both were written at the same instant, so their order is not fixed.
    let confirm = waiting
        .iter()
        .find(|n| n.notice.kind == NoticeKind::Confirm)
        .expect("a confirmation notice");
    assert_eq!(confirm.notice.subscriber_id.as_ref(), Some(&sub.id));
}

async fn claims_are_disjoint_and_leases_expire(store: Arc<dyn Store>) {
    with_page(&store).await;
    let subs: Vec<Subscriber> = (0..300).map(webhook).collect();
    assert_eq!(store.import_subscribers(&subs).await.expect("import"), 300);
    store.apply(open(), &meta()).await.expect("apply");
    let n = store
        .waiting_notifications(1)
        .await
        .expect("waiting")
        .remove(0);
    let ids: Vec<Id> = subs.iter().map(|s| s.id.clone()).collect();
    let rendered = serde_json::json!({"webhook": "{}"});
    assert_eq!(
        store
            .expand_notification(&n.id, &rendered, &ids, now())
            .await
            .expect("expand"),
        300
    );
    assert_eq!(
        store
            .expand_notification(&n.id, &rendered, &ids, now())
            .await
            .expect("again"),
        0
    );
    assert!(store
        .waiting_notifications(10)
        .await
        .expect("waiting")
        .is_empty());

    let lease = Duration::from_secs(30);
    let (a, b, c) = tokio::join!(
        store.claim_deliveries(now(), lease, 120),
        store.claim_deliveries(now(), lease, 120),
        store.claim_deliveries(now(), lease, 120),
    );
    let (a, b, c) = (a.expect("a"), b.expect("b"), c.expect("c"));
    let mut seen = HashSet::new();
    for d in a.iter().chain(&b).chain(&c) {
        assert!(seen.insert(d.id.clone()), "{} claimed twice", d.id);
        assert_eq!(d.attempts, 1);
        assert!(d.secret.is_some());
    }
    assert_eq!(seen.len(), 300);
    assert!(store
        .claim_deliveries(now(), lease, 10)
        .await
        .expect("none")
        .is_empty());

    // Record half; the rest are held until the lease runs out, then claimed again.
    let results: Vec<(DeliveryId, Outcome)> =
        a.iter().map(|d| (d.id.clone(), Outcome::Sent)).collect();
    store
        .finish_deliveries(&results, now(), 5)
        .await
        .expect("finish");
    let later = now() + TimeDelta::seconds(31);
    let again = store
        .claim_deliveries(later, lease, 1000)
        .await
        .expect("again");
    assert_eq!(again.len(), 300 - a.len());
    assert!(again.iter().all(|d| d.attempts == 2));
    let counts = store.delivery_counts().await.expect("counts");
    assert_eq!(
        (counts.sent, counts.pending),
        (a.len() as i64, (300 - a.len()) as i64)
    );
}

async fn outcomes_move_deliveries_and_quarantine_failing_hooks(store: Arc<dyn Store>) {
    with_page(&store).await;
    let sub = webhook(1);
    store
        .import_subscribers(std::slice::from_ref(&sub))
        .await
        .expect("import");
    for _ in 0..2 {
        store.apply(open(), &meta()).await.expect("apply");
    }
    for n in store.waiting_notifications(10).await.expect("waiting") {
        store
            .expand_notification(
                &n.id,
                &serde_json::json!({}),
                std::slice::from_ref(&sub.id),
                now(),
            )
            .await
            .expect("expand");
    }
    let claimed = store
        .claim_deliveries(now(), Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let retry_at = now() + TimeDelta::seconds(10);
    let results = vec![
        (
            claimed[0].id.clone(),
            Outcome::Retry {
                at: retry_at,
                error: "answered 500".into(),
            },
        ),
        (
            claimed[1].id.clone(),
            Outcome::Dead {
                error: "answered 500".into(),
            },
        ),
    ];
    let quarantined = store
        .finish_deliveries(&results, now(), 1)
        .await
        .expect("finish");
    assert_eq!(quarantined, vec![sub.id.clone()]);
    let stored = store.subscriber(&sub.id).await.expect("read").expect("sub");
    assert_eq!(stored.state, SubscriberState::Quarantined);
    assert!(store
        .claim_deliveries(now(), Duration::from_secs(30), 10)
        .await
        .expect("early")
        .is_empty());
    let due = store
        .claim_deliveries(retry_at, Duration::from_secs(30), 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1);
    let dead = store
        .list_deliveries(Some(DeliveryState::Dead), None, 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("answered 500"));
    assert_eq!(dead[0].kind, NoticeKind::IncidentCreated);
    assert_eq!(dead[0].state, DeliveryState::Dead);
    assert_eq!(dead[0].id, claimed[1].id);
    assert_eq!(dead[0].subscriber_id, sub.id);
    assert_eq!(
        dead[0].id.to_string(),
        format!("{}.{}", dead[0].notification_id, sub.id)
    );
    store
        .retry_delivery(&dead[0].id, now())
        .await
        .expect("retry");
    assert!(
        store.retry_delivery(&dead[0].id, now()).await.is_err(),
        "only dead ones"
    );
    let key = store.signing_key("links").await.expect("key");
    assert_eq!(store.signing_key("links").await.expect("same"), key);
}

use herald_store::testing::contract;

contract!(
    the_outbox_shares_the_change_transaction,
    claims_are_disjoint_and_leases_expire,
    outcomes_move_deliveries_and_quarantine_failing_hooks,
);
