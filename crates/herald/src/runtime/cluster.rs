//! Keeping an instance in step with the others and with the database.
//!
//! - The **listener** takes change notices from every instance sharing the database (PostgreSQL
//!   `LISTEN`/`NOTIFY`): a page change rebuilds the snapshot and wakes the notifier, a monitoring
//!   change makes the scheduler re-read its configuration, a heartbeat push received elsewhere
//!   reaches the instance that judges that heartbeat. Notices are hints: the periodic re-read
//!   ([`crate::service::PERIODIC_REFRESH`]) catches anything lost.
//! - The **watchdog** pings the database every second. When it stops answering, the public site
//!   is marked stale (and redrawn with a notice); when it answers again, the snapshot is rebuilt
//!   and the monitoring runtime re-reads its configuration. Nobody has to step in.

use crate::runtime::monitoring::Monitoring;
use crate::runtime::{CancellationToken, Supervisor};
use crate::service::Service;
use herald_store::cluster::RESYNC;
use std::time::Duration;

pub use crate::service::{MONITORS, PAGE, PUSH};

/// How often the watchdog pings the database, and how long it waits for an answer.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the watchdog, and the listener where the database carries notices.
pub fn start(service: Service, monitoring: Monitoring, supervisor: &mut Supervisor) {
    let stop = supervisor.token();
    supervisor.spawn("database watchdog", watchdog(service.clone(), stop.clone()));
    if service.store.shared() {
        supervisor.spawn("change listener", listener(service, monitoring, stop));
    }
}

/// One watchdog step: pings the database; marks the site stale when it stopped answering and
/// rebuilds it (and has monitoring re-read its configuration) when it answers again.
#[tracing::instrument(name = "watchdog_check", skip_all)]
pub async fn check(service: &Service) {
    let answered = matches!(
        tokio::time::timeout(PING_TIMEOUT, service.store.ping()).await,
        Ok(Ok(()))
    );
    let stale = service.site.is_stale();
    if !answered && !stale {
        service.site.mark_stale().await;
    } else if answered && stale {
        match service.site.rebuild().await {
            Ok(()) => service.signals.monitoring.notify_one(),
            Err(e) => {
                tracing::debug!(error = %e, "the database answers but cannot be read yet")
            }
        }
    }
}

async fn watchdog(service: Service, stop: CancellationToken) -> anyhow::Result<()> {
    while crate::runtime::pause(&stop, WATCH_EVERY).await {
        check(&service).await;
    }
    Ok(())
}

async fn listener(
    state: Service,
    monitoring: Monitoring,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let notices = tokio::select! {
            r = state.store.listen() => r,
            _ = stop.cancelled() => return Ok(()),
        };
        let mut notices = match notices {
            Ok(Some(rx)) => rx,
            Ok(None) => {
                // Nothing carries notices: wait for the stop like any task.
                stop.cancelled().await;
                return Ok(());
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for change notices yet");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = stop.cancelled() => return Ok(()),
                }
            }
        };
        // Anything may have changed while nobody listened.
        take(&state, &monitoring, RESYNC);
        loop {
            let notice = tokio::select! {
                n = notices.recv() => n,
                _ = stop.cancelled() => return Ok(()),
            };
            let Some(notice) = notice else { break };
            if notice.from == *state.instance {
                continue;
            }
            take(&state, &monitoring, &notice.topic);
        }
    }
}

/// Acts on one notice from another instance.
#[tracing::instrument(name = "notice", skip_all, fields(topic = %topic))]
fn take(state: &Service, monitoring: &Monitoring, topic: &str) {
    match topic {
        PAGE => {
            state.signals.refresh.notify_one();
            state.signals.deliveries.notify_one();
        }
        MONITORS => state.signals.monitoring.notify_one(),
        RESYNC => {
            state.signals.refresh.notify_one();
            state.signals.deliveries.notify_one();
            state.signals.monitoring.notify_one();
        }
        other => {
            if let Some(id) = other.strip_prefix(PUSH) {
                if let Ok(id) = herald_core::Id::parse(id) {
                    monitoring.heard_push(&id, state.now());
                }
            }
        }
    }
}
