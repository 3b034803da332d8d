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

use std::collections::HashMap;
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
    tasks: JoinSet<anyhow::Result<()>>,
    /// Each task's name by its id, so a panic (which leaves only the id) is reported by name.
    names: HashMap<tokio::task::Id, &'static str>,
    token: CancellationToken,
    drain: Duration,
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
            names: HashMap::new(),
            token,
            drain: DRAIN_TIMEOUT,
        }
    }

    /// Waits up to `bound` instead of [`DRAIN_TIMEOUT`] for the tasks to drain at shutdown.
    pub fn drain_within(mut self, bound: Duration) -> Self {
        self.drain = bound;
        self
    }

    /// The token every task watches; cancelled at shutdown or when a task fails.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Starts a task under `name`. It must return only once the token is cancelled, and then
    /// soon, after finishing the step in hand.
    pub fn spawn<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let span = tracing::info_span!("task", name);
        let handle = self
            .tasks
            .spawn(tracing::Instrument::instrument(task, span));
        self.names.insert(handle.id(), name);
    }

    /// How many tasks are running.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits until a task ends on its own (then logs it, cancels the token and returns it as
    /// an error naming the task) or the token is cancelled (`Ok`).
    pub async fn watch(&mut self) -> anyhow::Result<()> {
        let joined = tokio::select! {
            _ = self.token.cancelled() => return Ok(()),
            j = self.tasks.join_next_with_id() => j,
        };
        let Some(joined) = joined else {
            // Nothing to watch: wait for shutdown.
            self.token.cancelled().await;
            return Ok(());
        };
        let (name, ended) = self.ended(joined);
        if self.token.is_cancelled() {
            // It ended because it was asked to.
            if let Err(e) = ended {
                tracing::warn!(
                    task = name,
                    error = format!("{e:#}"),
                    "task ended with an error"
                );
            }
            return Ok(());
        }
        let failure = match ended {
            Ok(()) => anyhow::anyhow!("background task `{name}` stopped on its own"),
            Err(e) => e.context(format!("background task `{name}` failed")),
        };
        tracing::error!(
            task = name,
            error = format!("{failure:#}"),
            "stopping: a background task ended"
        );
        self.token.cancel();
        Err(failure)
    }

    /// Cancels every task and waits up to the drain bound for them to end; the rest are
    /// aborted. False when some had to be aborted.
    pub async fn shutdown(mut self) -> bool {
        self.token.cancel();
        let bound = self.drain;
        let drained = tokio::time::timeout(bound, async {
            while let Some(joined) = self.tasks.join_next_with_id().await {
                let (name, ended) = self.ended(joined);
                if let Err(e) = ended {
                    tracing::warn!(
                        task = name,
                        error = format!("{e:#}"),
                        "task ended with an error"
                    );
                }
            }
        })
        .await;
        if drained.is_ok() {
            return true;
        }
        let left: Vec<&str> = self.names.values().copied().collect();
        tracing::warn!(
            ?left,
            bound = ?bound,
            "background tasks did not finish in time; stopping them"
        );
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        false
    }

    /// A joined task's name and how it ended, a panic counting as an error.
    fn ended(
        &mut self,
        joined: Result<(tokio::task::Id, anyhow::Result<()>), tokio::task::JoinError>,
    ) -> (&'static str, anyhow::Result<()>) {
        let (id, ended) = match joined {
            Ok((id, ended)) => (id, ended),
            Err(e) => {
                let id = e.id();
                let why = if e.is_panic() {
                    anyhow::anyhow!("panicked: {}", panic_text(e.into_panic()))
                } else {
                    anyhow::anyhow!("was aborted")
                };
                (id, Err(why))
            }
        };
        (self.names.remove(&id).unwrap_or("unnamed"), ended)
    }
}

/// What a panic said, when it said it with a string.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Sleeps for `d` unless `token` is cancelled first; false when cancelled.
pub async fn pause(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = token.cancelled() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A task that waits for the stop like a well-behaved runtime.
    async fn until_stopped(token: CancellationToken) -> anyhow::Result<()> {
        token.cancelled().await;
        Ok(())
    }

    async fn crash() -> anyhow::Result<()> {
        panic!("index out of range")
    }

    async fn watched(spawn: impl FnOnce(&mut Supervisor)) -> (anyhow::Result<()>, Supervisor) {
        let mut supervisor = Supervisor::default();
        supervisor.spawn("steady", until_stopped(supervisor.token()));
        spawn(&mut supervisor);
        let watched = tokio::time::timeout(Duration::from_secs(5), supervisor.watch())
            .await
            .expect("watch returns once a task ends");
        (watched, supervisor)
    }

    #[tokio::test]
    async fn a_task_that_fails_is_named_and_stops_the_rest() {
        let (ended, supervisor) = watched(|s| {
            s.spawn("flaky", async {
                Err(anyhow::anyhow!("the socket went away"))
            })
        })
        .await;
        let error = format!("{:#}", ended.expect_err("a failure"));
        assert!(error.contains("background task `flaky` failed"), "{error}");
        assert!(error.contains("the socket went away"), "{error}");
        assert!(
            supervisor.token().is_cancelled(),
            "the others are told to stop"
        );
        assert!(
            supervisor.shutdown().await,
            "the steady task stops when told"
        );
    }

    #[tokio::test]
    async fn a_task_that_panics_or_returns_early_is_named_too() {
        let (ended, _) = watched(|s| s.spawn("crashing", crash())).await;
        let error = format!("{:#}", ended.expect_err("a panic"));
        assert!(
            error.contains("background task `crashing` failed"),
            "{error}"
        );
        assert!(error.contains("panicked: index out of range"), "{error}");

        let (ended, _) = watched(|s| s.spawn("quitter", async { Ok(()) })).await;
        let error = format!("{:#}", ended.expect_err("an early return"));
        assert!(
            error.contains("background task `quitter` stopped on its own"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_stop_from_outside_is_not_a_failure() {
        let mut supervisor = Supervisor::default();
        supervisor.spawn("steady", until_stopped(supervisor.token()));
        supervisor.token().cancel();
        supervisor.watch().await.expect("asked to stop");
        assert!(supervisor.shutdown().await);
    }

    #[tokio::test]
    async fn shutdown_waits_for_the_last_step_within_its_bound_then_aborts() {
        let mut supervisor = Supervisor::default().drain_within(Duration::from_millis(300));
        let finished = Arc::new(AtomicBool::new(false));
        let token = supervisor.token();
        let f = finished.clone();
        supervisor.spawn("flushing", async move {
            token.cancelled().await;
            // The last flush, shorter than the bound.
            tokio::time::sleep(Duration::from_millis(50)).await;
            f.store(true, Ordering::SeqCst);
            Ok(())
        });
        struct Dropped(Arc<AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let aborted = Arc::new(AtomicBool::new(false));
        let guard = Dropped(aborted.clone());
        supervisor.spawn("stubborn", async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        });
        let started = tokio::time::Instant::now();
        let drained = tokio::time::timeout(Duration::from_secs(5), supervisor.shutdown())
            .await
            .expect("shutdown is bounded");
        assert!(!drained, "the stubborn task had to be stopped");
        assert!(finished.load(Ordering::SeqCst), "the flush was waited for");
        assert!(
            aborted.load(Ordering::SeqCst),
            "the stubborn task was aborted"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
