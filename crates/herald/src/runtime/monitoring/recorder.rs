//! Turns probe results into monitor states, stored results and component statuses.
//!
//! Results are written in batches (one transaction per batch). While the database is away the
//! batch is kept in memory, up to a bound, and written when it answers again. A change of a
//! monitor's public status recomputes its component at once: the component rule combines the
//! component's monitors, the worst firing alert joins in, and when the outcome differs from what
//! was last called for the component is written through the normal write flow, followed by the
//! automatic-incident step.

use super::Deps;
use super::{Monitoring, Observation};
use crate::service::Actor;
use herald_core::commands::{Command, ComponentInput};
use herald_core::monitor::{component_status, observe, MonitorStatus, ProbeOutcome};
use herald_core::{ComponentStatus, Id};
use herald_store::monitoring::RecordedResult;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// How long the recorder waits at shutdown for the scheduler's probes in flight.
const SCHEDULER_DRAIN: std::time::Duration = std::time::Duration::from_secs(6);

/// Results held while the database cannot take them; older ones are dropped past this.
const MAX_HELD: usize = 200_000;

/// How often automatic incidents are re-planned without a change (quiet periods end).
const AUTOMATION_TICK: Duration = Duration::from_secs(5);

/// How often old results are dropped (raw after 48 hours, aggregates after a year).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The recorder's state; [`Recorder::run`] is its loop, the other methods its steps.
pub(super) struct Recorder {
    monitoring: Monitoring,
    deps: Deps,
    observations: mpsc::UnboundedReceiver<Observation>,
    /// Components whose status should be recomputed (alerts arrived).
    recompute: mpsc::UnboundedReceiver<Id>,
    /// Results taken and not yet written.
    batch: Vec<RecordedResult>,
}

impl Recorder {
    pub(super) fn new(
        monitoring: Monitoring,
        deps: Deps,
        observations: mpsc::UnboundedReceiver<Observation>,
        recompute: mpsc::UnboundedReceiver<Id>,
    ) -> Recorder {
        Recorder {
            monitoring,
            deps,
            observations,
            recompute,
            batch: Vec::new(),
        }
    }

    /// Runs until `stop`, then writes every result taken before it.
    pub(super) async fn run(
        mut self,
        stop: crate::runtime::CancellationToken,
        scheduler_done: crate::runtime::CancellationToken,
    ) -> anyhow::Result<()> {
        let options = self.monitoring.shared.options.clone();
        let mut flush = tokio::time::interval(options.flush_every);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut automation = tokio::time::interval(AUTOMATION_TICK);
        automation.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                Some(obs) = self.observations.recv() => self.take_one(obs).await,
                Some(component) = self.recompute.recv() => {
                    settle(&self.monitoring, &self.deps, &component).await;
                }
                _ = flush.tick() => self.flush().await,
                _ = automation.tick() => self.automation().await,
                _ = prune.tick() => self.prune().await,
                _ = stop.cancelled() => {
                    // Every result taken before the stop is written, not just the current batch:
                    // first the scheduler's probes in flight finish, then the queue is drained.
                    let _ = tokio::time::timeout(SCHEDULER_DRAIN, scheduler_done.cancelled()).await;
                    while let Ok(obs) = self.observations.try_recv() {
                        if let Some((recorded, _)) = take(&self.monitoring, &self.deps, obs) {
                            self.batch.push(recorded);
                        }
                    }
                    self.flush().await;
                    return Ok(());
                }
            }
        }
    }

    /// Takes one result: its monitor's state, its component when the public status changed, and
    /// a write when the batch is full.
    async fn take_one(&mut self, obs: Observation) {
        if let Some((recorded, changed)) = take(&self.monitoring, &self.deps, obs) {
            self.batch.push(recorded);
            if let Some(component) = changed {
                settle(&self.monitoring, &self.deps, &component).await;
            }
        }
        if self.batch.len() >= self.monitoring.shared.options.batch_size {
            self.flush().await;
        }
    }

    /// Takes every result and recompute request queued so far, then writes the batch; returns
    /// how many results it took.
    pub(super) async fn record_queued(&mut self) -> usize {
        let mut taken = 0;
        while let Ok(obs) = self.observations.try_recv() {
            self.take_one(obs).await;
            taken += 1;
        }
        while let Ok(component) = self.recompute.try_recv() {
            settle(&self.monitoring, &self.deps, &component).await;
        }
        self.flush().await;
        taken
    }

    /// Writes the batch; on failure keeps it (bounded) for the next try.
    pub(super) async fn flush(&mut self) {
        let step = tracing::info_span!("record_step", results = self.batch.len());
        write(&self.deps, &mut self.batch).instrument(step).await;
    }

    /// Re-plans automatic incidents waiting on a quiet period.
    pub(super) async fn automation(&mut self) {
        super::automation::tick(&self.monitoring, &self.deps).await;
    }

    async fn prune(&mut self) {
        match self.deps.store.prune_results(self.deps.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "dropped probe results past their retention"),
            Err(e) => tracing::warn!(error = %e, "cannot drop old probe results"),
        }
    }
}

/// Feeds one result through its monitor's state machine. Returns the result to store and, when
/// the monitor's public status changed, the component to recompute.
fn take(
    monitoring: &Monitoring,
    state: &Deps,
    obs: Observation,
) -> Option<(RecordedResult, Option<Id>)> {
    let shared = &monitoring.shared;
    let spec = shared
        .loaded
        .read()
        .ok()?
        .monitors
        .get(&obs.monitor)
        .cloned()?;
    let mut states = shared.states.lock().ok()?;
    let before = states.get(&obs.monitor).cloned().unwrap_or_default();
    let (after, transition) = observe(before, &obs.outcome, &spec, obs.at);
    states.insert(obs.monitor.clone(), after.clone());
    drop(states);
    // An answer that disagrees with the debounced status is confirmed sooner than the next
    // interval: failures towards down, successes towards up.
    let said = match obs.outcome {
        ProbeOutcome::Up { .. } => MonitorStatus::Up,
        ProbeOutcome::Degraded { .. } => MonitorStatus::Degraded,
        ProbeOutcome::Down { .. } => MonitorStatus::Down,
    };
    let unconfirmed = said != after.status && after.status != MonitorStatus::Unknown;
    if unconfirmed || (said == MonitorStatus::Down && after.status == MonitorStatus::Unknown) {
        let delay = chrono::Duration::seconds(i64::from(spec.retry_interval_seconds()));
        let _ = shared.retries.send((obs.monitor.clone(), obs.at + delay));
    }
    if let Some(t) = &transition {
        tracing::info!(monitor = %obs.monitor, from = ?t.from, to = ?t.to, "monitor changed");
        super::automation::monitor_changed(state, &spec, t, &obs.outcome);
    }
    let changed = transition.and(spec.component_id.clone());
    let recorded = RecordedResult {
        result: herald_core::monitor::ProbeResult {
            monitor_id: obs.monitor,
            at: obs.at,
            outcome: obs.outcome,
        },
        state: after,
    };
    Some((recorded, changed))
}

/// Writes the batch; on failure keeps it (bounded) for the next try.
async fn write(state: &Deps, batch: &mut Vec<RecordedResult>) {
    if batch.is_empty() {
        return;
    }
    match state.store.record_results(batch).await {
        Ok(()) => batch.clear(),
        Err(e) => {
            tracing::warn!(error = %e, held = batch.len(), "cannot write probe results; holding them");
            if batch.len() > MAX_HELD {
                let extra = batch.len() - MAX_HELD;
                batch.drain(..extra);
            }
        }
    }
}

/// What the monitors and alerts of a component call for, if anything.
pub(super) fn wanted(monitoring: &Monitoring, component: &Id) -> Option<ComponentStatus> {
    let shared = &monitoring.shared;
    let loaded = shared.loaded.read().ok()?;
    let rule = loaded.automation(component).rule;
    let states = shared.states.lock().ok()?;
    let statuses = loaded
        .monitors
        .values()
        .filter(|m| m.enabled && m.component_id.as_ref() == Some(component))
        .map(|m| {
            states
                .get(&m.id)
                .map(|s| s.public_status)
                .unwrap_or_default()
        });
    let from_monitors = component_status(rule, statuses);
    drop(states);
    drop(loaded);
    let firing: Vec<ComponentStatus> = shared
        .alerts
        .lock()
        .map(|a| {
            a.values()
                .filter(|(c, _)| c == component)
                .map(|(_, s)| *s)
                .collect()
        })
        .unwrap_or_default();
    if from_monitors.is_none() && firing.is_empty() {
        return None;
    }
    Some(ComponentStatus::worst(
        from_monitors.into_iter().chain(firing),
    ))
}

/// Brings a component in line with what its monitors and alerts call for, then lets automation
/// act on it.
pub(super) async fn settle(monitoring: &Monitoring, state: &Deps, component: &Id) {
    let mut wanted = wanted(monitoring, component);
    if wanted.is_none() {
        // The last alert resolved (or the last monitor went): trouble they reported is over.
        let had_trouble = monitoring
            .shared
            .wanted
            .lock()
            .ok()
            .and_then(|w| w.get(component).copied())
            .is_some_and(|s| s != ComponentStatus::Operational);
        if had_trouble {
            wanted = Some(ComponentStatus::Operational);
        }
    }
    let previous = match monitoring.shared.wanted.lock() {
        Ok(mut w) => match wanted {
            Some(s) => w.insert(component.clone(), s),
            None => w.remove(component),
        },
        Err(_) => return,
    };
    if previous == wanted {
        return;
    }
    let Some(wanted) = wanted else {
        return;
    };
    // The first opinion after start-up that all is well changes nothing: a status a person set
    // is not overturned by a restart.
    if previous.is_none() && wanted == ComponentStatus::Operational {
        return;
    }
    let current = state.store.load().await.ok().flatten().and_then(|doc| {
        doc.components
            .iter()
            .find(|c| &c.id == component)
            .map(|c| c.status)
    });
    match current {
        None => return,
        Some(ComponentStatus::UnderMaintenance) => {}
        Some(s) if s == wanted => {}
        Some(_) => {
            let command = Command::UpdateComponent {
                id: component.clone(),
                input: ComponentInput {
                    status: Some(wanted),
                    ..ComponentInput::default()
                },
                cause: "monitor".into(),
            };
            if let Err(e) = state.apply(&Actor::System("monitor"), command).await {
                tracing::warn!(component = %component, error = %e, "cannot set component status");
            }
        }
    }
    super::automation::component_changed(monitoring, state, component, wanted).await;
}
