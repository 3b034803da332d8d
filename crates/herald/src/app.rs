//! Wiring: the shared state handed to handlers, the snapshot refresher, and the server's run
//! loop with a given listener and shutdown signal (the seam every end-to-end test uses).

use crate::auth::Caller;
use crate::config::Config;
use crate::http::error::AppError;
use crate::render::{self, Branding, Snapshot, SnapshotInput};
use anyhow::Context;
use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use herald_core::access::Role;
use herald_core::commands::Command;
use herald_core::datafile::{DataFile, Format};
use herald_core::{Id, PageDocument, PageSettings};
use herald_store::{Applied, ImportOptions, Store, StoreResult, WriteMeta};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The example page shown by `herald serve --demo`.
pub const DEMO_FILE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

/// Where "now" comes from; tests put in their own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The public site; swapped whole after each change.
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Set while the snapshot could not be refreshed from the database.
    pub stale: Arc<AtomicBool>,
    pub refresh: Arc<Notify>,
    pub branding: Arc<Branding>,
    pub clock: Clock,
    /// One rebuild at a time, so a later read never loses to an earlier one.
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// How often maintenance windows are checked for automatic moves.
    pub maintenance_tick: Duration,
    /// Failed sign-ins per client address and per address and account.
    pub login_limit: Arc<crate::http::session::Guard>,
    /// Told when monitors, automation, integrations, channels or metrics were changed, so the
    /// monitoring runtime re-reads its configuration.
    pub monitoring_changes: Arc<Notify>,
    /// The monitoring runtime (probes, results, automatic statuses).
    pub monitoring: crate::monitoring::Monitoring,
    /// Response-time and metric charts drawn lately.
    pub charts: Arc<crate::http::charts::ChartCache>,
    /// Sends team alerts.
    pub alerter: crate::alerting::Alerter,
    /// The page's public address, as of the last snapshot (for links in alerts).
    page_url: Arc<std::sync::RwLock<String>>,
    /// Whether this instance probes (configuration `monitoring.enabled`).
    pub probing: bool,
    /// Delivers notifications to subscribers.
    pub notifier: crate::notify::Notifier,
    /// Subscribe attempts per client address and per email.
    pub subscribe_limit: Arc<crate::http::limit::RateLimiter>,
    /// Confirmation mails sent again to one unconfirmed subscriber: one per window.
    pub resend_limit: Arc<crate::http::subscriptions::Resends>,
    /// This process's name among instances sharing the database.
    pub instance: Arc<str>,
    /// The last input the snapshot was built from, kept to redraw it as stale when the database
    /// goes away.
    last_input: Arc<std::sync::Mutex<Option<SnapshotInput>>>,
    /// Whether the page's public address is `https://` (security headers read it per request).
    pub https: Arc<AtomicBool>,
    /// Where the static mirror is kept (a folder, a bucket, both or nowhere).
    pub mirrors: Vec<crate::mirror::Target>,
    /// Counts new snapshots (the mirrors follow it).
    pub swapped: Arc<tokio::sync::watch::Sender<u64>>,
    /// The last verdict on whether the database takes writes, and when it was reached.
    write_check: Arc<tokio::sync::Mutex<Option<WriteVerdict>>>,
    /// When and why the database last refused a write, until a write succeeds again.
    write_refused: Arc<std::sync::Mutex<Option<(std::time::Instant, String)>>>,
}

/// When the write probe last ran, and what it found.
type WriteVerdict = (std::time::Instant, Result<(), String>);

/// How long a write the database refused keeps readiness down, unless a write succeeds first.
pub const REFUSAL_HOLDS: Duration = Duration::from_secs(60);

/// How long a verdict of the write probe is reused by readiness checks.
pub const WRITE_CHECK_EVERY: Duration = Duration::from_secs(5);

impl AppState {
    pub fn new(store: Arc<dyn Store>, branding: Branding, clock: Clock) -> Self {
        AppState {
            store,
            snapshot: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
            stale: Arc::new(AtomicBool::new(false)),
            refresh: Arc::new(Notify::new()),
            branding: Arc::new(branding),
            clock,
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            maintenance_tick: Duration::from_secs(5),
            login_limit: Arc::default(),
            monitoring_changes: Arc::new(Notify::new()),
            monitoring: crate::monitoring::Monitoring::new(Default::default()),
            charts: Arc::default(),
            alerter: crate::alerting::Alerter::unconfigured(),
            page_url: Arc::new(std::sync::RwLock::new(String::new())),
            probing: true,
            notifier: crate::notify::Notifier::unconfigured(),
            subscribe_limit: Arc::new(crate::http::limit::RateLimiter::new(
                10,
                Duration::from_secs(600),
            )),
            resend_limit: Arc::default(),
            instance: Arc::from(herald_store::random_id().as_str()),
            last_input: Arc::default(),
            mirrors: Vec::new(),
            https: Arc::new(AtomicBool::new(false)),
            swapped: Arc::new(tokio::sync::watch::Sender::new(0)),
            write_check: Arc::default(),
            write_refused: Arc::default(),
        }
    }

    /// Remembers how the last write request ended: refused by the database (`Some(reason)`),
    /// or done (`None`).
    pub fn note_write(&self, refused: Option<String>) {
        if let Ok(mut last) = self.write_refused.lock() {
            *last = refused.map(|why| (std::time::Instant::now(), why));
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
            .probe_writes(&self.instance, (self.clock)())
            .await
            .map_err(|e| e.to_string());
        if let Err(why) = &verdict {
            tracing::warn!(reason = %why, "the database does not take writes");
        }
        *last = Some((std::time::Instant::now(), verdict.clone()));
        verdict
    }

    /// Applies a command for `caller` and refreshes the snapshot before returning, so the
    /// caller's next public read shows the change.
    pub async fn write(&self, caller: &Caller, command: Command) -> Result<Applied, AppError> {
        caller.require_write()?;
        self.write_as(&caller.actor(), command).await
    }

    /// Applies a command on behalf of Herald itself (schedules, monitors).
    pub async fn write_as(&self, actor: &str, command: Command) -> Result<Applied, AppError> {
        let meta = WriteMeta {
            actor: actor.to_string(),
            now: (self.clock)(),
        };
        let applied = self.store.apply(command, &meta).await?;
        self.notifier.poke();
        self.announce(crate::cluster::PAGE).await;
        if let Err(e) = self.rebuild_snapshot().await {
            tracing::warn!(error = %e, "snapshot refresh after a write failed");
        }
        Ok(applied)
    }

    /// Moves maintenance windows that opened or closed; true when something moved.
    pub async fn advance_maintenance_once(&self) -> Result<bool, AppError> {
        let Some(doc) = self.store.load().await? else {
            return Ok(false);
        };
        if herald_core::commands::due_maintenances(&doc, (self.clock)()).is_empty() {
            return Ok(false);
        }
        self.write_as("schedule", Command::AdvanceMaintenances)
            .await?;
        Ok(true)
    }

    /// Rebuilds the snapshot from one read of the store and swaps it in. On a database error the
    /// previous snapshot stays and is marked stale.
    pub async fn rebuild_snapshot(&self) -> StoreResult<()> {
        let _turn = self.rebuilding.lock().await;
        let loaded = async {
            let doc = self.store.load().await?;
            let history = self.store.all_status_changes().await?;
            let metrics = self.store.list_metrics().await?;
            Ok::<_, herald_store::StoreError>((doc, history, metrics))
        }
        .await;
        let (doc, history, metrics) = match loaded {
            Ok(x) => x,
            Err(e) => {
                drop(_turn);
                self.mark_stale().await;
                return Err(e);
            }
        };
        let doc = doc.unwrap_or_else(|| PageDocument::empty(placeholder_page()));
        if let Ok(mut url) = self.page_url.write() {
            url.clone_from(&doc.page.url);
        }
        self.https
            .store(doc.page.url.starts_with("https://"), Ordering::Relaxed);
        let input = SnapshotInput {
            doc,
            history,
            now: (self.clock)(),
            branding: (*self.branding).clone(),
            extras: render::PublicExtras {
                charted_components: self.monitoring.charted_components(),
                metrics,
                stale_since: None,
            },
        };
        let previous = self.snapshot.load_full();
        let keep = self.last_input.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            let snapshot = render::build(&input, Some(&previous));
            if let Ok(mut kept) = keep.lock() {
                *kept = Some(input);
            }
            snapshot
        })
        .await
        .map_err(|e| herald_store::StoreError::Other(format!("snapshot build failed: {e}")))?;
        self.snapshot.store(Arc::new(snapshot));
        self.swapped.send_modify(|n| *n = n.wrapping_add(1));
        metrics::counter!("herald_snapshot_rebuilds_total").increment(1);
        metrics::gauge!("herald_snapshot_stale").set(0.0);
        if self.stale.swap(false, Ordering::Relaxed) {
            tracing::info!("the database answers again; the public site is live");
        }
        Ok(())
    }

    /// Marks the public site stale (the database cannot be read) and, the first time, redraws
    /// it from the last good input with a notice saying since when it has not been updated.
    pub async fn mark_stale(&self) {
        let _turn = self.rebuilding.lock().await;
        if self.stale.load(Ordering::Relaxed) {
            return;
        }
        tracing::warn!("the database cannot be read; serving the last good snapshot");
        metrics::gauge!("herald_snapshot_stale").set(1.0);
        let since = (self.clock)();
        let kept = self.last_input.lock().ok().and_then(|k| k.clone());
        if let Some(mut input) = kept {
            input.extras.stale_since = Some(since);
            let previous = self.snapshot.load_full();
            match tokio::task::spawn_blocking(move || render::build(&input, Some(&previous))).await
            {
                Ok(snapshot) => self.snapshot.store(Arc::new(snapshot)),
                Err(e) => tracing::warn!(error = %e, "cannot redraw the stale snapshot"),
            }
        }
        // Marked only once the redrawn pages are in place, so a stale answer always says so.
        self.stale.store(true, Ordering::Relaxed);
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
        let state = self.clone();
        tokio::spawn(async move { state.announce(topic).await });
    }

    /// The page's public address without a trailing slash.
    pub fn page_url(&self) -> String {
        self.page_url
            .read()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// Sends a team alert to every enabled channel, in the background.
    pub fn alert_team(&self, alert: crate::alerting::TeamAlert) {
        let (store, alerter) = (self.store.clone(), self.alerter.clone());
        tokio::spawn(async move {
            match store.list_alert_channels().await {
                Ok(channels) => alerter.spawn_send(channels, alert),
                Err(e) => tracing::warn!(error = %e, "cannot read alert channels"),
            }
        });
    }

    /// Tells the monitoring runtime its configuration changed.
    pub fn monitoring_changed(&self) {
        self.monitoring_changes.notify_one();
        self.announce_later(crate::cluster::MONITORS);
    }

    /// Asks for a rebuild soon; bursts of asks coalesce into one or two rebuilds. Other
    /// instances are told too.
    pub fn changed(&self) {
        self.refresh.notify_one();
        self.announce_later(crate::cluster::PAGE);
    }
}

/// Settings for a page that has not been set up yet.
fn placeholder_page() -> PageSettings {
    PageSettings {
        id: Id::derive("page"),
        name: "Status".into(),
        url: "http://127.0.0.1:8080".into(),
        time_zone: "Etc/UTC".into(),
    }
}

/// Opens and migrates the configured store.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    let store = herald_store::open(&url)
        .await
        .with_context(|| format!("cannot open database {}", herald_store::redact_url(&url)))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// How `serve` starts.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Import the example page when the database holds none.
    pub demo: bool,
}

/// Opens the store, seeds the demo page if asked, applies page settings from configuration,
/// and renders the first snapshot.
pub async fn prepare(
    config: &Config,
    options: &ServeOptions,
    clock: Clock,
) -> anyhow::Result<AppState> {
    let (store, from_mirror) = match open_store(config).await {
        Ok(store) => (store, None),
        Err(e) => match config
            .mirror
            .dir
            .as_deref()
            .and_then(crate::mirror::read_dir)
        {
            Some(snapshot) => {
                tracing::warn!(error = %e, "the database is down; serving the last mirror until it answers");
                let url = config.database_url();
                let store = herald_store::open_lazy(&url)
                    .with_context(|| format!("cannot use {}", herald_store::redact_url(&url)))?;
                (store, Some(snapshot))
            }
            None => return Err(e),
        },
    };
    if from_mirror.is_none() {
        set_up_page(store.as_ref(), config, options, clock()).await?;
    }
    let branding = Branding {
        logo_url: config.page.logo_url.clone(),
        accent_color: config.page.accent_color.clone(),
    };
    let mut state = AppState::new(store, branding, clock);
    if let Some(dir) = &config.mirror.dir {
        state.mirrors.push(crate::mirror::Target::Dir(dir.clone()));
    }
    if let Some(s3) = &config.mirror.s3 {
        state.mirrors.push(crate::mirror::Target::S3(
            crate::mirror::Bucket::from_config(s3)?,
        ));
    }
    let mailer = crate::mail::Mailer::from_config(&config.smtp)
        .context("the [smtp] settings")?
        .map(Arc::new);
    // One guard for subscriber webhooks and team channels: same allow-list, same cache.
    let guard = crate::netguard::Guard::new(crate::netguard::TargetPolicy::new(
        config.notify.allow_targets.clone(),
    ));
    state.alerter = crate::alerting::Alerter::new(mailer, Duration::from_secs(10), guard.clone())
        .context("building the HTTP client for team alerts")?;
    let subscriber_mailer = crate::mail::Mailer::with_connections(
        &config.smtp,
        u32::from(config.notify.smtp_connections.unwrap_or(16)),
    )
    .context("the [smtp] settings")?
    .map(Arc::new);
    state.notifier = crate::notify::Notifier::with_guard(
        crate::notify::NotifyOptions::from_config(&config.notify),
        subscriber_mailer,
        guard,
    )
    .context("building the HTTP client for webhooks")?;
    state.probing = config.monitoring.enabled.unwrap_or(true);
    state.monitoring = crate::monitoring::Monitoring::new(crate::monitoring::MonitoringOptions {
        concurrency: usize::from(config.monitoring.concurrency.unwrap_or(512).max(1)),
        ..Default::default()
    });
    match from_mirror {
        None => state
            .rebuild_snapshot()
            .await
            .context("building the first snapshot")?,
        Some(snapshot) => {
            state.snapshot.store(Arc::new(snapshot));
            state.stale.store(true, Ordering::Relaxed);
            tokio::spawn(migrate_when_back(state.clone()));
        }
    }
    Ok(state)
}

/// Started from the mirror: brings the schema up to date once the database answers; the
/// watchdog then rebuilds the snapshot.
async fn migrate_when_back(state: AppState) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        match state.store.migrate().await {
            Ok(()) => {
                tracing::info!("the database answers; leaving the mirror");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "the database is still down"),
        }
    }
}

/// The demo page, page settings from configuration and the first owner.
async fn set_up_page(
    store: &dyn Store,
    config: &Config,
    options: &ServeOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if options.demo && store.load().await?.is_none() {
        let mut file = DataFile::parse(DEMO_FILE, Format::Toml).context("the demo file")?;
        file.page.url = format!("http://{}", config.listen);
        store
            .import(file, now, &ImportOptions::default())
            .await
            .context("importing the demo page")?;
        tracing::info!("imported the demo page");
    }
    apply_page_config(store, config, now).await?;
    if let (Some(email), Some(password)) = (&config.admin.email, &config.admin.password) {
        if store.count_users().await? == 0 {
            create_user(store, email, &password.0, Role::Owner, "config").await?;
            tracing::info!(%email, "created the first owner from configuration");
        }
    }
    Ok(())
}

/// Creates a user after checking the email and password.
pub async fn create_user(
    store: &dyn Store,
    email: &str,
    password: &str,
    role: Role,
    actor: &str,
) -> anyhow::Result<Id> {
    let email = email.trim().to_ascii_lowercase();
    if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
        anyhow::bail!("`{email}` is not an email address");
    }
    if password.chars().count() < crate::auth::MIN_PASSWORD {
        anyhow::bail!(
            "the password must be at least {} characters",
            crate::auth::MIN_PASSWORD
        );
    }
    let hash = crate::auth::hash_password(password)?;
    let meta = herald_store::WriteMeta {
        actor: actor.into(),
        now: Utc::now(),
    };
    Ok(store.create_user(&email, &hash, role, &meta).await?)
}

/// Writes page settings given in configuration over the stored ones.
async fn apply_page_config(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let p = &config.page;
    if p.name.is_none() && p.url.is_none() && p.time_zone.is_none() {
        return Ok(());
    }
    let current = store
        .load()
        .await?
        .map(|d| d.page)
        .unwrap_or_else(placeholder_page);
    let wanted = PageSettings {
        id: current.id.clone(),
        name: p.name.clone().unwrap_or_else(|| current.name.clone()),
        url: p.url.clone().unwrap_or_else(|| current.url.clone()),
        time_zone: p
            .time_zone
            .as_ref()
            .map(|z| z.0.clone())
            .unwrap_or_else(|| current.time_zone.clone()),
    };
    if wanted != current {
        store.save_page_settings(&wanted, now).await?;
    }
    Ok(())
}

/// How often the snapshot is rebuilt even without a change (day boundaries, missed notices).
pub const PERIODIC_REFRESH: Duration = Duration::from_secs(30);

/// Keeps the snapshot fresh until `shutdown` fires.
async fn refresher(state: AppState, shutdown: Arc<Notify>) {
    loop {
        tokio::select! {
            _ = state.refresh.notified() => {}
            _ = tokio::time::sleep(PERIODIC_REFRESH) => {}
            _ = shutdown.notified() => return,
        }
        if let Err(e) = state.rebuild_snapshot().await {
            tracing::warn!(error = %e, "snapshot refresh failed; serving the last good one");
        }
    }
}

/// Moves maintenance windows on time until `shutdown` fires.
async fn maintenance_schedule(state: AppState, shutdown: Arc<Notify>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(state.maintenance_tick) => {}
            _ = shutdown.notified() => return,
        }
        if let Err(e) = state.advance_maintenance_once().await {
            tracing::warn!(error = %e, "maintenance schedule check failed");
        }
    }
}

/// Serves `state` on `listener` until `shutdown` completes, with the default connection
/// settings.
pub async fn run(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    run_with(
        state,
        listener,
        crate::http::server::Options::default(),
        shutdown,
    )
    .await
}

/// [`run`] with connection settings (time limits, caps, trusted proxies) of one's own.
pub async fn run_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    connections: crate::http::server::Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stop = Arc::new(Notify::new());
    let mut background = vec![
        tokio::spawn(refresher(state.clone(), stop.clone())),
        tokio::spawn(maintenance_schedule(state.clone(), stop.clone())),
    ];
    background.extend(crate::cluster::start(state.clone(), stop.clone()));
    for target in state.mirrors.clone() {
        background.push(tokio::spawn(crate::mirror::keep(
            state.clone(),
            target,
            stop.clone(),
        )));
    }
    background.extend(state.monitoring.start(state.clone(), stop.clone()));
    background.extend(state.notifier.start(state.clone(), stop.clone()));
    let shared = state.clone();
    let app = crate::http::router(state);
    tracing::info!(address = %listener.local_addr()?, "serving");
    crate::http::server::serve(listener, app, connections, shutdown)
        .await
        .context("HTTP server")?;
    stop.notify_waiters();
    for task in background {
        task.abort();
        let _ = task.await;
    }
    if shared.store.shared() {
        if let Err(e) = shared.store.leave(&shared.instance).await {
            tracing::debug!(error = %e, "cannot hand back leases");
        }
    }
    Ok(())
}
