//! What Herald keeps to tell subscribers: the outbox of notifications and the deliveries they
//! expand into. Notifications caused by a page change are written by [`crate::Store::apply`] in
//! the change's own transaction; the rest (confirmations, reminders) through [`DeliveryStore`].
//! Workers claim due deliveries under a lease, so a worker that dies mid-delivery only delays
//! its deliveries until the lease runs out.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::audience::Subscriber;
use herald_core::notify::{Notice, NoticeKind};
use herald_core::Id;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
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

/// A delivery's id: one notification for one subscriber. Its text form,
/// `<notification id>.<subscriber id>`, is the key the database keeps, the idempotency id
/// receivers see and what the API shows; it serialises as that text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId {
    pub notification: Id,
    pub subscriber: Id,
}

/// Why a string is not a [`DeliveryId`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a delivery id: it is <notification id>.<subscriber id>")]
pub struct BadDeliveryId(pub String);

impl DeliveryId {
    pub fn new(notification: Id, subscriber: Id) -> Self {
        DeliveryId {
            notification,
            subscriber,
        }
    }

    /// Reads the text form back.
    pub fn parse(s: &str) -> Result<Self, BadDeliveryId> {
        let bad = || BadDeliveryId(s.to_string());
        let (n, sub) = s.split_once('.').ok_or_else(bad)?;
        Ok(DeliveryId {
            notification: Id::parse(n).map_err(|_| bad())?,
            subscriber: Id::parse(sub).map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.notification, self.subscriber)
    }
}

impl FromStr for DeliveryId {
    type Err = BadDeliveryId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryId::parse(s)
    }
}

impl Serialize for DeliveryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeliveryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        DeliveryId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a delivery stands; stored and shown by [`DeliveryState::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its turn or for a retry.
    Pending,
    Sent,
    /// Failed for the last time; an operator may retry it.
    Dead,
    /// Not sent because the subscriber no longer wants it.
    Dropped,
}

impl DeliveryState {
    /// Every state, in declaration order.
    pub const ALL: &'static [DeliveryState] = &[
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Dead,
        DeliveryState::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
            DeliveryState::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery a worker claimed, with what it needs to deliver.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: DeliveryId,
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
    pub id: DeliveryId,
    pub notification_id: Id,
    pub subscriber_id: Id,
    pub state: DeliveryState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// The notification's kind.
    pub kind: NoticeKind,
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
        results: &[(DeliveryId, Outcome)],
        now: DateTime<Utc>,
        failures_to_quarantine: i32,
    ) -> StoreResult<Vec<Id>>;

    /// Deliveries, newest first, optionally of one state and one subscriber.
    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        subscriber: Option<&Id>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;

    async fn delivery_counts(&self) -> StoreResult<DeliveryCounts>;

    /// Puts a dead delivery back in the queue, due now; `NotFound` when it is not dead.
    async fn retry_delivery(&self, id: &DeliveryId, now: DateTime<Utc>) -> StoreResult<()>;

    /// The secret named `name`, made (randomly, once for all instances) on first use.
    async fn signing_key(&self, name: &str) -> StoreResult<String>;

    /// Adds many subscribers at once (an import), skipping ids already present; unlike
    /// `create_subscriber` it neither checks for duplicate addresses nor sends confirmations.
    async fn import_subscribers(&self, subscribers: &[Subscriber]) -> StoreResult<usize>;

    /// A webhook subscriber's signing secret.
    async fn subscriber_secret(&self, id: &Id) -> StoreResult<Option<String>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_read_back_their_text_form() {
        let id = DeliveryId::new(Id::derive("notice"), Id::derive("subscriber"));
        let text = id.to_string();
        assert_eq!(
            text,
            format!("{}.{}", Id::derive("notice"), Id::derive("subscriber"))
        );
        assert_eq!(DeliveryId::parse(&text), Ok(id.clone()));
        assert_eq!(
            serde_json::to_value(&id).expect("json"),
            serde_json::json!(text)
        );
        let back: DeliveryId = serde_json::from_value(serde_json::json!(text)).expect("back");
        assert_eq!(back, id);
        for bad in [
            "",
            "abc",
            "abc.def",
            &format!("{text}.x"),
            &text.replace('.', ""),
        ] {
            assert!(DeliveryId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delivery_states_keep_their_stored_names() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(DeliveryState::parse("lost"), None);
    }
}
