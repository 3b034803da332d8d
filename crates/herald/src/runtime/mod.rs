//! Herald's background work, each part on the narrow handle it needs (never the HTTP state):
//!
//! - [`monitoring`]: probes on schedule, results recorded, statuses moved;
//! - [`notify`]: the outbox expanded into deliveries and delivered (mail, webhooks, chat);
//! - [`cluster`]: change notices between instances and the database watchdog;
//! - [`mirror`]: the static copy of the public site;
//! - [`maintenance`]: maintenance windows opened and closed on time;
//! - [`refresher`]: the snapshot rebuilt after coalesced changes and periodically.
//!
//! Each exposes a one-step function driven by the service's clock, which tests call directly,
//! and a loop around it that runs under the [`Supervisor`].

pub mod alerting;
pub mod cluster;
pub mod maintenance;
pub mod mirror;
pub mod monitoring;
pub mod notify;
pub mod refresher;

use std::future::Future;
use std::time::Duration;
use tokio::task::JoinSet;
pub use tokio_util::sync::CancellationToken;

/// How long shutdown waits for tasks to finish their last step (a flush of probe results, the
/// deliveries in flight) before it stops waiting.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the background tasks. The first one to end before it was asked to (an error, a
/// panic, or a plain return) is logged and cancels the rest, so the process stops instead of
/// running on without it; shutdown cancels them all and waits, within a bound, for them to end.
pub struct Supervisor {
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    token: CancellationToken,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new(CancellationToken::new())
    }
}

impl Supervisor {
    pub fn new(token: CancellationToken) -> Self {
        Supervisor {
            tasks: JoinSet::new(),
            token,
        }
    }

    /// The token every task watches; cancelled at shutdown or when a task fails.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Starts a task under `name`. It must return only once the token is cancelled.
    pub fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let span = tracing::info_span!("task", name);
        self.tasks.spawn(tracing::Instrument::instrument(
            async move { (name, task.await) },
            span,
        ));
    }

    /// How many tasks are running.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits until a task ends on its own (returned as an error naming it) or the token is
    /// cancelled from outside (`Ok`).
    pub async fn watch(&mut self) -> anyhow::Result<()> {
        loop {
            let joined = tokio::select! {
                _ = self.token.cancelled() => return Ok(()),
                j = self.tasks.join_next() => j,
            };
            let Some(joined) = joined else {
                // Nothing to watch: wait for shutdown.
                self.token.cancelled().await;
                return Ok(());
            };
            if self.token.is_cancelled() {
                return Ok(());
            }
            let failure = match joined {
                Ok((name, Ok(()))) => anyhow::anyhow!("background task `{name}` stopped"),
                Ok((name, Err(e))) => e.context(format!("background task `{name}` failed")),
                Err(e) if e.is_panic() => anyhow::anyhow!("a background task panicked: {e}"),
                Err(e) => anyhow::anyhow!("a background task was cancelled: {e}"),
            };
            tracing::error!(
                error = format!("{failure:#}"),
                "stopping: a background task ended"
            );
            self.token.cancel();
            return Err(failure);
        }
    }

    /// Cancels every task and waits up to `bound` for them to end; the rest are aborted.
    pub async fn shutdown(mut self, bound: Duration) {
        self.token.cancel();
        let drained = tokio::time::timeout(bound, async {
            while let Some(joined) = self.tasks.join_next().await {
                match joined {
                    Ok((_, Ok(()))) => {}
                    Ok((name, Err(e))) => {
                        tracing::warn!(
                            task = name,
                            error = format!("{e:#}"),
                            "task ended with an error"
                        )
                    }
                    Err(e) if e.is_panic() => tracing::error!(error = %e, "task panicked"),
                    Err(_) => {}
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = self.tasks.len(),
                "background tasks did not finish in time; stopping them"
            );
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

/// Sleeps for `d` unless `token` is cancelled first; false when cancelled.
pub async fn pause(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = token.cancelled() => false,
    }
}
