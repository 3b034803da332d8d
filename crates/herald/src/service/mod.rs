//! The application service: every write Herald makes goes through here, and so does what must
//! follow a write once it is committed.
//!
//! - [`Service::apply`] runs a domain command for an [`Actor`];
//! - the other writes (monitors, integrations, metrics, subscribers, keys, users, sessions) are
//!   methods on [`Service`] in the modules below;
//! - each ends in [`Service::after`], the one after-commit step: the snapshot is rebuilt before
//!   the write returns (so a caller reads its own write), other instances are told, the
//!   monitoring runtime re-reads its configuration, the delivery runtime looks at the outbox.
//!
//! Nothing here knows about HTTP: callers get a [`ServiceError`], which the HTTP layer maps to
//! responses in one place. The runtimes hear about writes through [`Signals`] only.

pub mod access;
pub mod error;
pub mod imports;
pub mod monitoring;
pub mod site;
pub mod subscribers;
#[cfg(test)]
mod testing;
pub mod users;

pub use access::{Actor, Caller, Credential};
pub use error::{ServiceError, ServiceResult};
pub use site::Site;

use crate::render::Branding;
use chrono::{DateTime, Utc};
use herald_core::commands::Command;
use herald_store::{Applied, Store, WriteMeta};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where "now" comes from; tests put in their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Topic: the page changed (incidents, components, settings, metrics).
pub const PAGE: &str = "page";
/// Topic: monitors, automation, integrations or channels changed.
pub const MONITORS: &str = "monitors";
/// Topic prefix: a heartbeat push for a monitor, `push:<monitor id>`.
pub const PUSH: &str = "push:";

/// What a committed write may call for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The public page changed: rebuild the snapshot now, look at the outbox, tell the others.
    Page,
    /// Monitors, automation, integrations, channels or metrics changed: the monitoring runtime
    /// re-reads its configuration, here and on the other instances.
    Monitoring,
    /// Something may be waiting in the outbox (a subscriber to confirm, a retried delivery).
    Deliveries,
    /// Nothing anyone else needs to hear about (sessions, keys, users, audit entries).
    Nothing,
}

/// How the service wakes the runtimes; each runtime waits on the one it serves.
#[derive(Clone, Default)]
pub struct Signals {
    /// Rebuild the snapshot soon (coalesced).
    pub refresh: Arc<Notify>,
    /// Re-read the monitoring configuration.
    pub monitoring: Arc<Notify>,
    /// Look at the outbox.
    pub deliveries: Arc<Notify>,
}

/// The one handle on the application: cheap to clone, no HTTP in it.
#[derive(Clone)]
pub struct Service {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    /// The public site and its snapshot.
    pub site: Site,
    pub signals: Signals,
    /// This process's name among instances sharing the database.
    pub instance: Arc<str>,
    /// The last verdict on whether the database takes writes, and when it was reached.
    write_check: Arc<tokio::sync::Mutex<Option<WriteVerdict>>>,
    /// When and why the database last refused a write, until a write succeeds again.
    write_refused: Arc<std::sync::Mutex<Option<(Instant, String)>>>,
}

/// When the write probe last ran, and what it found.
type WriteVerdict = (Instant, Result<(), String>);

/// How long a write the database refused keeps readiness down, unless a write succeeds first.
pub const REFUSAL_HOLDS: Duration = Duration::from_secs(60);

/// How often the snapshot is rebuilt even without a change (day boundaries, missed notices).
pub const PERIODIC_REFRESH: Duration = Duration::from_secs(30);

/// How long a verdict of the write probe is reused by readiness checks.
pub const WRITE_CHECK_EVERY: Duration = Duration::from_secs(5);

impl Service {
    pub fn new(store: Arc<dyn Store>, branding: Branding, clock: Clock) -> Self {
        Service {
            site: Site::new(store.clone(), branding, clock.clone()),
            store,
            clock,
            signals: Signals::default(),
            instance: Arc::from(herald_store::random_id().as_str()),
            write_check: Arc::default(),
            write_refused: Arc::default(),
        }
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The audit metadata of a write by `actor`, now.
    pub fn meta(&self, actor: &Actor) -> WriteMeta {
        WriteMeta {
            actor: actor.to_string(),
            now: self.now(),
        }
    }

    /// Applies a command for `caller` (who must be allowed to change the page).
    pub async fn write(&self, caller: &Caller, command: Command) -> ServiceResult<Applied> {
        caller.require_write()?;
        self.apply(&caller.as_actor(), command).await
    }

    /// Applies a domain command and refreshes the snapshot before returning, so the caller's
    /// next public read shows the change.
    pub async fn apply(&self, actor: &Actor, command: Command) -> ServiceResult<Applied> {
        let applied = self.store.apply(command, &self.meta(actor)).await?;
        self.after(Effect::Page).await;
        Ok(applied)
    }

    /// The after-commit step every write ends in.
    pub async fn after(&self, effect: Effect) {
        match effect {
            Effect::Page => {
                self.signals.deliveries.notify_one();
                self.announce(PAGE).await;
                if let Err(e) = self.site.rebuild().await {
                    tracing::warn!(error = %e, "snapshot refresh after a write failed");
                }
            }
            Effect::Monitoring => {
                self.signals.monitoring.notify_one();
                self.announce(MONITORS).await;
            }
            Effect::Deliveries => self.signals.deliveries.notify_one(),
            Effect::Nothing => {}
        }
    }

    /// Asks for a rebuild soon without waiting for it (bursts coalesce); other instances are
    /// told too. For changes the writer does not read back at once (probe results, points).
    pub fn changed_soon(&self) {
        self.signals.refresh.notify_one();
        self.announce_later(PAGE);
    }

    /// Tells the other instances sharing the database that `topic` changed. A failure only
    /// delays them until their periodic re-read.
    pub async fn announce(&self, topic: &str) {
        if !self.store.shared() {
            return;
        }
        if let Err(e) = self.store.announce(&self.instance, topic).await {
            tracing::debug!(error = %e, topic, "cannot announce a change");
        }
    }

    /// [`Self::announce`] without waiting for it.
    pub fn announce_later(&self, topic: &'static str) {
        if !self.store.shared() {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move { service.announce(topic).await });
    }

    /// Moves maintenance windows that opened or closed; true when something moved.
    pub async fn advance_maintenance(&self) -> ServiceResult<bool> {
        let Some(doc) = self.store.load().await? else {
            return Ok(false);
        };
        if herald_core::commands::due_maintenances(&doc, self.now()).is_empty() {
            return Ok(false);
        }
        self.apply(&Actor::System("schedule"), Command::AdvanceMaintenances)
            .await?;
        Ok(true)
    }

    /// Remembers how the last write request ended: refused by the database (`Some(reason)`),
    /// or done (`None`).
    pub fn note_write(&self, refused: Option<String>) {
        if let Ok(mut last) = self.write_refused.lock() {
            *last = refused.map(|why| (Instant::now(), why));
        }
    }

    /// Whether the database takes writes, by a small real write at most every
    /// [`WRITE_CHECK_EVERY`]; concurrent callers wait for one probe and share its verdict.
    /// A full disk or a read-only database is invisible to a read, so readiness asks this.
    pub async fn writable(&self) -> Result<(), String> {
        // A refused write counts for a while even if the probe fits where it did not; after
        // that the probe decides, so an instance nobody writes to becomes ready by itself.
        let refused = self.write_refused.lock().ok().and_then(|r| r.clone());
        if let Some((at, why)) = refused {
            if at.elapsed() < REFUSAL_HOLDS {
                return Err(why);
            }
        }
        let mut last = self.write_check.lock().await;
        if let Some((at, verdict)) = last.as_ref() {
            if at.elapsed() < WRITE_CHECK_EVERY {
                return verdict.clone();
            }
        }
        let verdict = self
            .store
            .probe_writes(&self.instance, self.now())
            .await
            .map_err(|e| e.to_string());
        if let Err(why) = &verdict {
            tracing::warn!(reason = %why, "the database does not take writes");
        }
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }
}
