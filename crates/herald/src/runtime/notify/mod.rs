//! Telling subscribers. Page changes leave notices in the store's outbox (same transaction);
//! this runtime turns them into deliveries and delivers them:
//!
//! - the **expander** renders each waiting notification once ([`render`]), picks the subscribers
//!   who want it (`herald_core::notify::wants`) and stores one pending delivery per subscriber;
//! - **deliverers** claim due deliveries under a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`,
//!   so several instances share the work), send them with bounded concurrency overall and per
//!   destination host, and record the outcome: sent, retry later (exponential backoff with
//!   jitter), dead after the last try, or dropped when the subscriber no longer wants it.
//!
//! A delivery's id (`<notification>.<subscriber>`) travels with it as its idempotency id, so a
//! delivery repeated after a crash is recognisable as the same one.

pub mod links;
pub mod mail;
pub mod netguard;
pub mod render;
mod send;

use crate::config::NotifyConfig;
use crate::runtime::notify::netguard::{Guard, TargetPolicy};
use crate::runtime::{CancellationToken, Supervisor};
use crate::service::Service;
use herald_core::notify::{maintenance_notice_of, wants, NoticeKind};
use herald_core::{Id, MaintenanceStatus};
use herald_store::delivery::{Claimed, DeliveryId, Notification, Outcome};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;

/// Knobs of the delivery runtime (see `[notify]` in the configuration).
#[derive(Clone, Debug)]
pub struct NotifyOptions {
    pub enabled: bool,
    pub concurrency: usize,
    pub per_host: usize,
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub lease: Duration,
    pub timeout: Duration,
    pub disable_after: i32,
    pub remind_before: Option<chrono::Duration>,
    pub allow_targets: Vec<String>,
    /// Deliveries claimed at once by one deliverer.
    pub batch: i64,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions::from_config(&NotifyConfig::default())
    }
}

impl NotifyOptions {
    pub fn from_config(c: &NotifyConfig) -> Self {
        let n = |v: Option<u16>, d: u16| u64::from(v.unwrap_or(d));
        NotifyOptions {
            enabled: c.enabled.unwrap_or(true),
            concurrency: n(c.concurrency, 256).max(1) as usize,
            per_host: n(c.per_host, 64).max(1) as usize,
            max_attempts: n(c.max_attempts, 8).max(1) as i32,
            retry_base: Duration::from_secs(n(c.retry_seconds, 10).max(1)),
            lease: Duration::from_secs(n(c.lease_seconds, 60).max(1)),
            timeout: Duration::from_secs(n(c.timeout_seconds, 10).max(1)),
            disable_after: n(c.disable_after, 5).max(1) as i32,
            remind_before: match n(c.remind_minutes, 60) {
                0 => None,
                m => Some(chrono::Duration::minutes(m as i64)),
            },
            allow_targets: c.allow_targets.clone(),
            batch: 1000,
        }
    }

    /// When to try again after the `attempts`-th try failed: the base doubled per try, at most
    /// an hour, with ±20 % jitter so failed deliveries do not return in lockstep.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(0);
        let base = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(Duration::from_secs(3600));
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        base.mul_f64(jitter)
    }
}

/// The delivery runtime's handle, shared by every handler.
#[derive(Clone)]
pub struct Notifier {
    pub options: Arc<NotifyOptions>,
    pub(crate) mailer: Option<Arc<crate::runtime::notify::mail::Mailer>>,
    /// Posts webhooks and chat messages; connects only where `guard` allows. `None` only in
    /// the placeholder a state starts with when not even that client could be built.
    pub(crate) client: Option<reqwest::Client>,
    /// The target guard, also applied when subscribers are created.
    pub(crate) guard: Guard,
    /// Told after a write that may have left notices in the outbox.
    wake: Arc<Notify>,
    /// Told when new deliveries are due.
    due: Arc<Notify>,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// The link-signing key, read from the store once.
    pub(crate) link_key: Arc<tokio::sync::OnceCell<String>>,
}

impl Notifier {
    /// The runtime with a guard on the system's resolver and `options.allow_targets`. Fails
    /// when the HTTP client cannot be built: sending without the guard is not an option.
    pub fn new(
        options: NotifyOptions,
        mailer: Option<Arc<crate::runtime::notify::mail::Mailer>>,
    ) -> Result<Self, reqwest::Error> {
        let guard = Guard::new(TargetPolicy::new(options.allow_targets.clone()));
        Notifier::with_guard(options, mailer, guard)
    }

    /// The runtime with the given guard (a test's resolver, or one shared with team alerts).
    pub fn with_guard(
        options: NotifyOptions,
        mailer: Option<Arc<crate::runtime::notify::mail::Mailer>>,
        guard: Guard,
    ) -> Result<Self, reqwest::Error> {
        let client = guard.client(Notifier::client_settings(&options))?;
        Ok(Notifier::assemble(options, mailer, Some(client), guard))
    }

    /// What a state holds until `app::prepare` puts the configured runtime in: default
    /// options, no allow-list. If even its client cannot be built it sends nothing.
    pub fn unconfigured() -> Self {
        let options = NotifyOptions::default();
        let guard = Guard::new(TargetPolicy::default());
        let client = guard
            .client(Notifier::client_settings(&options))
            .map_err(|e| tracing::error!(error = %e, "cannot build the webhook HTTP client"))
            .ok();
        Notifier::assemble(options, None, client, guard)
    }

    fn client_settings(options: &NotifyOptions) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
            .pool_max_idle_per_host(options.per_host)
    }

    fn assemble(
        options: NotifyOptions,
        mailer: Option<Arc<crate::runtime::notify::mail::Mailer>>,
        client: Option<reqwest::Client>,
        guard: Guard,
    ) -> Self {
        Notifier {
            options: Arc::new(options),
            mailer,
            client,
            guard,
            wake: Arc::new(Notify::new()),
            due: Arc::new(Notify::new()),
            hosts: Arc::default(),
            link_key: Arc::default(),
        }
    }

    /// The target guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Asks the expander to look at the outbox now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    fn host_slot(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.per_host)))
            .clone()
    }

    /// Wakes on `wake` (the service's delivery signal) instead of a signal of its own, so a
    /// write anywhere makes the expander look at the outbox.
    pub fn waking_on(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// Starts the expander and two deliverers under `supervisor`. When its token is cancelled
    /// each finishes the batch in hand (sends and records it) before it stops.
    pub fn start(&self, service: Service, supervisor: &mut Supervisor) {
        if !self.options.enabled {
            return;
        }
        let deps = Deps {
            service,
            notifier: self.clone(),
        };
        let stop = supervisor.token();
        supervisor.spawn(
            "notification expander",
            expander(deps.clone(), stop.clone()),
        );
        for _ in 0..2 {
            supervisor.spawn(
                "notification deliverer",
                deliverer(deps.clone(), stop.clone()),
            );
        }
    }
}

/// What the delivery runtime works with: the service (store, clock, site) and the notifier.
#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub notifier: Notifier,
}

impl std::ops::Deref for Deps {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

/// Expands waiting notifications into deliveries, and queues maintenance reminders. Once
/// `stop` fires it finishes the notification in hand (one transaction) and takes no other.
async fn expander(state: Deps, stop: CancellationToken) -> anyhow::Result<()> {
    let n = state.notifier.clone();
    let mut last_reminder_check = tokio::time::Instant::now() - Duration::from_secs(3600);
    while !stop.is_cancelled() {
        if last_reminder_check.elapsed() >= Duration::from_secs(30) {
            last_reminder_check = tokio::time::Instant::now();
            if let Err(e) = queue_reminders(&state).await {
                tracing::warn!(error = %e, "maintenance reminder check failed");
            }
        }
        let step = tracing::info_span!("expand_step");
        match expand_waiting_until(&state, &stop).instrument(step).await {
            Ok(0) => {}
            Ok(_) => {
                n.due.notify_waiters();
                continue;
            }
            Err(e) => tracing::warn!(error = %e, "expanding notifications failed"),
        }
        tokio::select! {
            _ = n.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => {}
        }
    }
    Ok(())
}

/// Expands up to a handful of waiting notifications; returns how many.
pub async fn expand_waiting(state: &Deps) -> Result<usize, herald_store::StoreError> {
    expand_waiting_until(state, &CancellationToken::new()).await
}

/// [`expand_waiting`], taking no further notification once `stop` fires.
async fn expand_waiting_until(
    state: &Deps,
    stop: &CancellationToken,
) -> Result<usize, herald_store::StoreError> {
    let waiting = state.store.waiting_notifications(16).await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let Some(doc) = state.store.load().await? else {
        return Ok(0);
    };
    let subscribers = state.store.list_subscribers(None, None).await?;
    let mut count = 0;
    for notification in waiting {
        if stop.is_cancelled() {
            break;
        }
        expand_one(state, &doc, &subscribers, &notification).await?;
        count += 1;
    }
    Ok(count)
}

async fn expand_one(
    state: &Deps,
    doc: &herald_core::PageDocument,
    subscribers: &[herald_core::audience::Subscriber],
    notification: &Notification,
) -> Result<(), herald_store::StoreError> {
    let now = (state.clock)();
    let notice = &notification.notice;
    let messages = {
        let (doc, branding, notice) = (doc.clone(), (*state.site.branding).clone(), notice.clone());
        tokio::task::spawn_blocking(move || render::render(&doc, &branding, &notice, now))
            .await
            .map_err(|e| herald_store::StoreError::Other(format!("rendering failed: {e}")))?
    };
    let email_ok = state.notifier.mailer.is_some();
    let to: Vec<Id> = subscribers
        .iter()
        .filter(|s| wants(s, notice))
        .filter(|s| email_ok || s.mode != herald_core::audience::SubscriberMode::Email)
        .map(|s| s.id.clone())
        .collect();
    let rendered = serde_json::to_value(&messages)
        .map_err(|e| herald_store::StoreError::Other(e.to_string()))?;
    let added = state
        .store
        .expand_notification(&notification.id, &rendered, &to, now)
        .await?;
    tracing::info!(
        notification = %notification.id,
        kind = notice.kind.as_str(),
        deliveries = added,
        "notification expanded"
    );
    Ok(())
}

/// Puts a reminder in the outbox for each maintenance starting within the reminder window
/// (once per maintenance and start time, however many instances look).
pub async fn queue_reminders(state: &Deps) -> Result<(), herald_store::StoreError> {
    let Some(before) = state.notifier.options.remind_before else {
        return Ok(());
    };
    let Some(doc) = state.store.load().await? else {
        return Ok(());
    };
    let now = (state.clock)();
    for m in &doc.maintenances {
        let soon = m.scheduled_for > now && m.scheduled_for - now <= before;
        if m.status == MaintenanceStatus::Scheduled && soon {
            let id = Id::derive(&format!("remind:{}:{}", m.id, m.scheduled_for.timestamp()));
            let notice = maintenance_notice_of(NoticeKind::MaintenanceReminder, m);
            if state.store.enqueue_notice(&id, &notice, now).await? {
                state.notifier.poke();
            }
        }
    }
    Ok(())
}

/// Claims and delivers due deliveries until `stop` fires; then finishes the batch in hand
/// (see [`deliver_due_until`]) and claims nothing more.
async fn deliverer(state: Deps, stop: CancellationToken) -> anyhow::Result<()> {
    let n = state.notifier.clone();
    while !stop.is_cancelled() {
        let step = tracing::info_span!("delivery_step");
        let claimed = match deliver_due_until(&state, &stop).instrument(step).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "delivering notifications failed");
                0
            }
        };
        if claimed as i64 >= n.options.batch {
            continue;
        }
        tokio::select! {
            _ = n.due.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.cancelled() => {}
        }
    }
    Ok(())
}

/// Claims one batch of due deliveries, sends them and records how each went; returns how many
/// were claimed.
pub async fn deliver_due(state: &Deps) -> Result<usize, herald_store::StoreError> {
    deliver_due_until(state, &CancellationToken::new()).await
}

/// [`deliver_due`] that winds down when `stop` fires: sends already under way complete and are
/// recorded; the rest of the batch is not sent and goes back to the queue, due at once, so the
/// next instance (or this one restarted) takes it without waiting for the lease.
pub async fn deliver_due_until(
    state: &Deps,
    stop: &CancellationToken,
) -> Result<usize, herald_store::StoreError> {
    use futures_util::stream::{self, StreamExt};
    let n = &state.notifier;
    let now = (state.clock)();
    let claimed = state
        .store
        .claim_deliveries(now, n.options.lease, n.options.batch)
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    let mut prepared: HashMap<Id, Option<Arc<Prepared>>> = HashMap::new();
    for c in &claimed {
        if !prepared.contains_key(&c.id.notification) {
            let p = state
                .store
                .notification(&c.id.notification)
                .await?
                .and_then(|n| {
                    let messages = serde_json::from_value::<render::Messages>(n.rendered?).ok()?;
                    Some(Arc::new(Prepared {
                        messages,
                        kind: n.notice.kind,
                        thread: n.notice.subject_id,
                    }))
                });
            prepared.insert(c.id.notification.clone(), p);
        }
    }
    let keys = links::Keys::load(&state.notifier, state.store.as_ref()).await?;
    let mut unsent: Vec<DeliveryId> = Vec::new();
    // Outcomes are recorded as they come in, a few hundred at a time, so a crash repeats
    // only the deliveries sent since the last record.
    let mut outcomes = stream::iter(claimed)
        .map(|c: Claimed| {
            let p = prepared.get(&c.id.notification).cloned().flatten();
            let keys = keys.clone();
            async move {
                // Not started before the stop: not started at all.
                if stop.is_cancelled() {
                    return (c.id, None);
                }
                let outcome = match p {
                    Some(p) => send::deliver(state, &keys, &c, &p, stop).await,
                    None => Some(Outcome::Dead {
                        error: "the notification's messages are missing".into(),
                    }),
                };
                (c.id, outcome)
            }
        })
        .buffer_unordered(n.options.concurrency)
        .ready_chunks(256);
    let mut failed = 0;
    while let Some(chunk) = outcomes.next().await {
        let mut results = Vec::with_capacity(chunk.len());
        for (id, outcome) in chunk {
            match outcome {
                Some(o) => results.push((id, o)),
                None => unsent.push(id),
            }
        }
        if results.is_empty() {
            continue;
        }
        let not_sent = results
            .iter()
            .filter(|(_, o)| !matches!(o, Outcome::Sent))
            .count();
        failed += not_sent;
        metrics::counter!("herald_deliveries_total", "outcome" => "sent")
            .increment((results.len() - not_sent) as u64);
        metrics::counter!("herald_deliveries_total", "outcome" => "not_sent")
            .increment(not_sent as u64);
        let quarantined = state
            .store
            .finish_deliveries(&results, (state.clock)(), n.options.disable_after)
            .await?;
        for id in quarantined {
            send::tell_disabled(state, &id).await;
        }
    }
    if !unsent.is_empty() {
        let at = (state.clock)();
        let back: Vec<(DeliveryId, Outcome)> = unsent
            .into_iter()
            .map(|id| {
                let outcome = Outcome::Retry {
                    at,
                    error: "not sent: the server was stopping".into(),
                };
                (id, outcome)
            })
            .collect();
        tracing::info!(
            sent_or_failed = count - back.len(),
            returned = back.len(),
            "stopping: the rest of the delivery batch goes back to the queue"
        );
        state
            .store
            .finish_deliveries(&back, at, n.options.disable_after)
            .await?;
    }
    if failed > 0 {
        tracing::info!(claimed = count, failed, "delivery batch finished");
    }
    Ok(count)
}

/// A notification ready to send: its messages, kind and thread (incident or maintenance id).
pub(crate) struct Prepared {
    pub messages: render::Messages,
    pub kind: NoticeKind,
    pub thread: Id,
}
