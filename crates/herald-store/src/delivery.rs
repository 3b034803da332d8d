//! What Herald keeps to tell subscribers: the outbox of notifications and the deliveries they
//! expand into. Notifications caused by a page change are written by [`crate::Store::apply`] in
//! the change's own transaction; the rest (confirmations, reminders) through [`DeliveryStore`].
//! Workers claim due deliveries under a lease, so a worker that dies mid-delivery only delays
//! its deliveries until the lease runs out.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::audience::Subscriber;
use herald_core::notify::Notice;
use herald_core::Id;
use std::time::Duration;

/// One notification in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: Id,
    pub notice: Notice,
    /// The messages rendered for it (set when it was expanded).
    pub rendered: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub expanded_at: Option<DateTime<Utc>>,
}

/// A delivery a worker claimed, with what it needs to deliver.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// `<notification id>.<subscriber id>`: the idempotency id receivers see.
    pub id: String,
    pub notification_id: Id,
    pub subscriber: Subscriber,
    /// The subscriber's webhook signing secret.
    pub secret: Option<String>,
    /// Tries so far, this one included.
    pub attempts: i32,
}

/// How one delivery went.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// Failed; try again at the given time.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Failed for the last time.
    Dead {
        error: String,
    },
    /// Not sent because the subscriber no longer wants it (unsubscribed, quarantined).
    Dropped {
        reason: String,
    },
}

/// Where a delivery stands.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub notification_id: String,
    pub subscriber_id: String,
    /// `pending`, `sent`, `dead` or `dropped`.
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// The notification's kind, e.g. `incident_created`.
    pub kind: String,
}

/// Counts of deliveries by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
    pub dropped: i64,
}

/// Storage for notification delivery.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Puts a notice in the outbox under `id`; false when that id is already there.
    async fn enqueue_notice(
        &self,
        id: &Id,
        notice: &Notice,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Notifications not yet expanded into deliveries, oldest first.
    async fn waiting_notifications(&self, limit: i64) -> StoreResult<Vec<Notification>>;

    async fn notification(&self, id: &Id) -> StoreResult<Option<Notification>>;

    /// Stores the rendered messages and one pending delivery per subscriber, and marks the
    /// notification expanded, in one transaction. Expanding twice adds nothing.
    async fn expand_notification(
        &self,
        id: &Id,
        rendered: &serde_json::Value,
        subscribers: &[Id],
        now: DateTime<Utc>,
    ) -> StoreResult<usize>;

    /// Claims up to `limit` due deliveries for `lease` (skipping ones another worker holds).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> StoreResult<Vec<Claimed>>;

    /// Records how claimed deliveries went. Returns subscribers quarantined because their
    /// deliveries kept failing (`failures_to_quarantine` dead deliveries in a row).
    async fn finish_deliveries(
        &self,
        results: &[(String, Outcome)],
        now: DateTime<Utc>,
        failures_to_quarantine: i32,
    ) -> StoreResult<Vec<Id>>;

    /// Deliveries, newest first, optionally of one state and one subscriber.
    async fn list_deliveries(
        &self,
        state: Option<&str>,
        subscriber: Option<&Id>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;

    async fn delivery_counts(&self) -> StoreResult<DeliveryCounts>;

    /// Puts a dead delivery back in the queue, due now; `NotFound` when it is not dead.
    async fn retry_delivery(&self, id: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// The secret named `name`, made (randomly, once for all instances) on first use.
    async fn signing_key(&self, name: &str) -> StoreResult<String>;

    /// Adds many subscribers at once (an import), skipping ids already present; unlike
    /// `create_subscriber` it neither checks for duplicate addresses nor sends confirmations.
    async fn import_subscribers(&self, subscribers: &[Subscriber]) -> StoreResult<usize>;

    /// A webhook subscriber's signing secret.
    async fn subscriber_secret(&self, id: &Id) -> StoreResult<Option<String>>;
}
