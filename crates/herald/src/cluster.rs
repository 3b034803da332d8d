//! Keeping an instance in step with the others and with the database.
//!
//! - The **listener** takes change notices from every instance sharing the database (PostgreSQL
//!   `LISTEN`/`NOTIFY`): a page change rebuilds the snapshot and wakes the notifier, a monitoring
//!   change makes the scheduler re-read its configuration, a heartbeat push received elsewhere
//!   reaches the instance that judges that heartbeat. Notices are hints: the periodic re-read
//!   ([`crate::app::PERIODIC_REFRESH`]) catches anything lost.
//! - The **watchdog** pings the database every second. When it stops answering, the public site
//!   is marked stale (and redrawn with a notice); when it answers again, the snapshot is rebuilt
//!   and the monitoring runtime re-reads its configuration. Nobody has to step in.

use crate::app::AppState;
use herald_store::cluster::RESYNC;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Topic: the page changed (incidents, components, settings, metrics).
pub const PAGE: &str = "page";
/// Topic: monitors, automation, integrations or channels changed.
pub const MONITORS: &str = "monitors";
/// Topic prefix: a heartbeat push for a monitor, `push:<monitor id>`.
pub const PUSH: &str = "push:";

/// How often the watchdog pings the database, and how long it waits for an answer.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the listener (where the database has notices) and the watchdog.
pub fn start(state: AppState, stop: Arc<Notify>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(watchdog(state.clone(), stop.clone()))];
    if state.store.shared() {
        tasks.push(tokio::spawn(listener(state, stop)));
    }
    tasks
}

async fn watchdog(state: AppState, stop: Arc<Notify>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {}
            _ = stop.notified() => return,
        }
        let answered = matches!(
            tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await,
            Ok(Ok(()))
        );
        let stale = state.stale.load(std::sync::atomic::Ordering::Relaxed);
        if !answered && !stale {
            state.mark_stale().await;
        } else if answered && stale {
            match state.rebuild_snapshot().await {
                Ok(()) => state.monitoring_changes.notify_one(),
                Err(e) => {
                    tracing::debug!(error = %e, "the database answers but cannot be read yet")
                }
            }
        }
    }
}

async fn listener(state: AppState, stop: Arc<Notify>) {
    loop {
        let notices = tokio::select! {
            r = state.store.listen() => r,
            _ = stop.notified() => return,
        };
        let mut notices = match notices {
            Ok(Some(rx)) => rx,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for change notices yet");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = stop.notified() => return,
                }
            }
        };
        // Anything may have changed while nobody listened.
        take(&state, RESYNC);
        loop {
            let notice = tokio::select! {
                n = notices.recv() => n,
                _ = stop.notified() => return,
            };
            let Some(notice) = notice else { break };
            if notice.from == *state.instance {
                continue;
            }
            take(&state, &notice.topic);
        }
    }
}

/// Acts on one notice from another instance.
fn take(state: &AppState, topic: &str) {
    match topic {
        PAGE => {
            state.refresh.notify_one();
            state.notifier.poke();
        }
        MONITORS => state.monitoring_changes.notify_one(),
        RESYNC => {
            state.refresh.notify_one();
            state.notifier.poke();
            state.monitoring_changes.notify_one();
        }
        other => {
            if let Some(id) = other.strip_prefix(PUSH) {
                if let Ok(id) = herald_core::Id::parse(id) {
                    state.monitoring.heard_push(&id, (state.clock)());
                }
            }
        }
    }
}
