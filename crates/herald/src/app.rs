//! Wiring: opens the store, builds the service, the runtimes and the HTTP state from the
//! configuration, and runs them all with a given listener and shutdown signal (the seam every
//! end-to-end test uses). The one module that sees every layer.

use crate::config::Config;
use crate::render::Branding;
use crate::runtime::Supervisor;
use crate::service::{Actor, Service};
use anyhow::Context;
use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_core::PageSettings;
use herald_store::{ImportOptions, Store};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The example page shown by `herald serve --demo`.
pub const DEMO_FILE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

pub use crate::http::state::AppState;
pub use crate::service::{system_clock, Clock, PERIODIC_REFRESH, REFUSAL_HOLDS, WRITE_CHECK_EVERY};

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
            .and_then(crate::runtime::mirror::read_dir)
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
        set_up_page(&store, config, options, clock.clone()).await?;
    }
    let branding = Branding {
        logo_url: config.page.logo_url.clone(),
        accent_color: config.page.accent_color.clone(),
    };
    let mut state = AppState::new(store, branding, clock);
    if let Some(dir) = &config.mirror.dir {
        state
            .mirrors
            .push(crate::runtime::mirror::Target::Dir(dir.clone()));
    }
    if let Some(s3) = &config.mirror.s3 {
        state.mirrors.push(crate::runtime::mirror::Target::S3(
            crate::runtime::mirror::Bucket::from_config(s3)?,
        ));
    }
    let mailer = crate::runtime::notify::mail::Mailer::from_config(&config.smtp)
        .context("the [smtp] settings")?
        .map(Arc::new);
    // One guard for subscriber webhooks and team channels: same allow-list, same cache.
    let guard = crate::runtime::notify::netguard::Guard::new(
        crate::runtime::notify::netguard::TargetPolicy::new(config.notify.allow_targets.clone()),
    );
    state.alerter =
        crate::runtime::alerting::Alerter::new(mailer, Duration::from_secs(10), guard.clone())
            .context("building the HTTP client for team alerts")?;
    let subscriber_mailer = crate::runtime::notify::mail::Mailer::with_connections(
        &config.smtp,
        u32::from(config.notify.smtp_connections.unwrap_or(16)),
    )
    .context("the [smtp] settings")?
    .map(Arc::new);
    state.set_notifier(
        crate::runtime::notify::Notifier::with_guard(
            crate::runtime::notify::NotifyOptions::from_config(&config.notify),
            subscriber_mailer,
            guard,
        )
        .context("building the HTTP client for webhooks")?,
    );
    state.probing = config.monitoring.enabled.unwrap_or(true);
    state.monitoring = crate::runtime::monitoring::Monitoring::new(
        crate::runtime::monitoring::MonitoringOptions {
            concurrency: usize::from(config.monitoring.concurrency.unwrap_or(512).max(1)),
            ..Default::default()
        },
    );
    match from_mirror {
        None => state
            .site
            .rebuild()
            .await
            .context("building the first snapshot")?,
        Some(snapshot) => {
            state.site.serve_stale(snapshot);
            tokio::spawn(migrate_when_back(state.store.clone()));
        }
    }
    Ok(state)
}

/// Started from the mirror: brings the schema up to date once the database answers; the
/// watchdog then rebuilds the snapshot.
async fn migrate_when_back(store: Arc<dyn Store>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        match store.migrate().await {
            Ok(()) => {
                tracing::info!("the database answers; leaving the mirror");
                return;
            }
            Err(e) => tracing::debug!(error = %e, "the database is still down"),
        }
    }
}

/// The demo page, page settings from configuration and the first owner, written through a
/// service of their own (the serving one does not exist yet).
async fn set_up_page(
    store: &Arc<dyn Store>,
    config: &Config,
    options: &ServeOptions,
    clock: Clock,
) -> anyhow::Result<()> {
    let service = Service::new(store.clone(), Branding::default(), clock);
    let setup = Actor::System("config");
    if options.demo && store.load().await?.is_none() {
        let mut file = DataFile::parse(DEMO_FILE, Format::Toml).context("the demo file")?;
        file.page.url = format!("http://{}", config.listen);
        service
            .import(&Actor::System("demo"), file, &ImportOptions::default())
            .await
            .context("importing the demo page")?;
        tracing::info!("imported the demo page");
    }
    apply_page_config(&service, &setup, config).await?;
    if let (Some(email), Some(password)) = (&config.admin.email, &config.admin.password) {
        if store.count_users().await? == 0 {
            service
                .create_user(&setup, email, &password.0, Role::Owner)
                .await?;
            tracing::info!(%email, "created the first owner from configuration");
        }
    }
    Ok(())
}

/// Creates a user after checking the email and password (for the CLI, which has a store but
/// no running service).
pub async fn create_user(
    store: &Arc<dyn Store>,
    email: &str,
    password: &str,
    role: Role,
    actor: &'static str,
) -> anyhow::Result<herald_core::Id> {
    let service = Service::new(
        store.clone(),
        Branding::default(),
        crate::service::system_clock(),
    );
    Ok(service
        .create_user(&Actor::System(actor), email, password, role)
        .await?)
}

/// Writes page settings given in configuration over the stored ones.
async fn apply_page_config(
    service: &Service,
    actor: &Actor,
    config: &Config,
) -> anyhow::Result<()> {
    let p = &config.page;
    if p.name.is_none() && p.url.is_none() && p.time_zone.is_none() {
        return Ok(());
    }
    let current = service
        .store
        .load()
        .await?
        .map(|d| d.page)
        .unwrap_or_else(crate::service::site::placeholder_page);
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
        service.save_page_settings(actor, &wanted).await?;
    }
    Ok(())
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
    run_supervised(
        state,
        listener,
        connections,
        Supervisor::default(),
        shutdown,
    )
    .await
}

/// Starts every runtime of `state` under `supervisor` (which may already hold tasks of the
/// caller's) and serves HTTP until `shutdown` completes or a background task ends on its own.
///
/// Either way the tasks are told to stop at once (so no new work is claimed while HTTP
/// requests finish) and given the supervisor's drain bound ([`crate::runtime::DRAIN_TIMEOUT`]
/// unless set) to finish the step in hand: the recorder writes the results it holds, the
/// deliverers finish the sends they started and record them. The HTTP listener closes at the
/// same moment and requests in flight get their own grace. A task that ended on its own is the
/// error returned, so the process exits non-zero.
pub async fn run_supervised(
    state: AppState,
    listener: tokio::net::TcpListener,
    connections: crate::http::server::Options,
    mut supervisor: Supervisor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    start_runtimes(&state, &mut supervisor)?;
    let service = state.service.clone();
    let app = crate::http::router(state);
    tracing::info!(address = %listener.local_addr()?, "serving");
    let token = supervisor.token();
    let stopping = token.clone();
    let stop_http = async move {
        tokio::select! {
            _ = shutdown => {}
            _ = stopping.cancelled() => {}
        }
        // The runtimes start draining now, alongside the requests in flight.
        stopping.cancel();
    };
    let serving = async {
        let served = crate::http::server::serve(listener, app, connections, stop_http).await;
        // However the server ended, the runtimes stop too.
        token.cancel();
        served
    };
    let supervising = async move {
        let failed = supervisor.watch().await;
        supervisor.shutdown().await;
        failed
    };
    let (served, failed) = tokio::join!(serving, supervising);
    if service.store.shared() {
        if let Err(e) = service.store.leave(&service.instance).await {
            tracing::debug!(error = %e, "cannot hand back leases");
        }
    }
    // A failed task is the cause; an HTTP error after it is a consequence.
    failed?;
    served.context("HTTP server")?;
    Ok(())
}

/// The background work of a serving instance.
fn start_runtimes(state: &AppState, supervisor: &mut Supervisor) -> anyhow::Result<()> {
    let token = supervisor.token();
    supervisor.spawn(
        "snapshot refresher",
        crate::runtime::refresher::run(state.service.clone(), token.clone()),
    );
    supervisor.spawn(
        "maintenance schedule",
        crate::runtime::maintenance::run(
            state.service.clone(),
            state.maintenance_tick,
            token.clone(),
        ),
    );
    crate::runtime::cluster::start(state.service.clone(), state.monitoring.clone(), supervisor);
    for target in state.mirrors.clone() {
        supervisor.spawn(
            "mirror",
            crate::runtime::mirror::keep(state.site.clone(), target, token.clone()),
        );
    }
    let prober = crate::runtime::monitoring::probe::Prober::new()
        .context("starting the monitoring runtime")?;
    state
        .monitoring
        .start(state.monitoring_deps(), Arc::new(prober), supervisor);
    state.notifier.start(state.service.clone(), supervisor);
    Ok(())
}
