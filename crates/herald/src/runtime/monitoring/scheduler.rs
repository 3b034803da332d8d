//! Starts each probe when it is due.
//!
//! Every enabled monitor has one due instant in a min-heap, in the service clock's time, so a
//! test that moves its clock and steps sees exactly what the running loop would. Heap entries
//! carry a sequence number; a monitor rescheduled (configuration change, early retry) gets a new
//! number and its older entries are skipped when they surface, so nothing is ever searched or
//! removed from the heap. A monitor's next run is planned from its due instant, not from when its
//! probe finished, so the cadence holds however slow the target is; a probe still running when
//! its next turn comes makes that turn skip.

use super::probe::Probe;
use super::Deps;
use super::{heartbeat_token, unit_of, Loaded, Monitoring, Observation, Retry};
use chrono::{DateTime, Utc};
use herald_core::monitor::{judge_heartbeat, MonitorSpec, ProbeSpec};
use herald_core::Id;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How long shutdown waits for probes in flight (inside the supervisor's own drain bound).
const PROBES_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// How soon a failed configuration read is tried again.
const RELOAD_RETRY: Duration = Duration::from_secs(5);

/// On a database several instances share: how often leases are renewed, how long one lasts
/// unrenewed (a killed instance's monitors move after at most this plus one round), and how long
/// a round may take before the scheduler goes on without it.
const LEASE_EVERY: Duration = Duration::from_secs(2);
const LEASE_TTL: Duration = Duration::from_secs(10);
const LEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the loop sleeps when nothing at all is planned.
const IDLE: Duration = Duration::from_secs(3600);

/// A point `d` after `t` (saturating: durations here are seconds to hours).
fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[derive(Default)]
struct Plan {
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64, Id)>>,
    /// The live entry of each monitor: (due, sequence).
    due: HashMap<Id, (DateTime<Utc>, u64)>,
    seq: u64,
}

impl Plan {
    fn set(&mut self, id: Id, at: DateTime<Utc>) {
        self.seq += 1;
        self.due.insert(id.clone(), (at, self.seq));
        self.heap.push(Reverse((at, self.seq, id)));
    }

    /// Brings a monitor forward to `at`; a later time changes nothing.
    fn sooner(&mut self, id: Id, at: DateTime<Utc>) {
        if self.due.get(&id).is_some_and(|(due, _)| at < *due) {
            self.set(id, at);
        }
    }
}

fn jitter(interval: Duration) -> Duration {
    let ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    Duration::from_millis(rand::random::<u64>() % ms)
}

fn interval(spec: &MonitorSpec) -> Duration {
    Duration::from_secs(u64::from(spec.interval_seconds))
}

/// The scheduler's state; [`Scheduler::run`] is its loop, the other methods its steps.
pub(super) struct Scheduler {
    monitoring: Monitoring,
    deps: Deps,
    prober: Arc<dyn Probe>,
    /// Early re-probes after a failure.
    retries: mpsc::UnboundedReceiver<Retry>,
    limit: Arc<Semaphore>,
    /// Monitors whose probe is running.
    running: Arc<Mutex<HashSet<Id>>>,
    probes: JoinSet<()>,
    plan: Plan,
    loaded_once: bool,
    reload_at: Option<DateTime<Utc>>,
    lease_at: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub(super) fn new(
        monitoring: Monitoring,
        deps: Deps,
        prober: Arc<dyn Probe>,
        retries: mpsc::UnboundedReceiver<Retry>,
    ) -> Scheduler {
        let now = deps.now();
        let limit = Arc::new(Semaphore::new(monitoring.shared.options.concurrency.max(1)));
        let mut lease_at = None;
        if deps.store.shared() {
            if let Ok(mut owned) = monitoring.shared.owned.write() {
                *owned = Some(HashSet::new());
            }
            // An instance that does not probe takes no leases and passes heartbeat pushes on.
            if deps.probing {
                lease_at = Some(now);
            }
        }
        Scheduler {
            monitoring,
            deps,
            prober,
            retries,
            limit,
            running: Arc::default(),
            probes: JoinSet::new(),
            plan: Plan::default(),
            loaded_once: false,
            reload_at: Some(now),
            lease_at,
        }
    }

    /// Runs until `stop`: sleeps until the next due instant, a configuration change, an early
    /// retry or the stop, then does what is due.
    pub(super) async fn run(
        mut self,
        stop: crate::runtime::CancellationToken,
        done: crate::runtime::CancellationToken,
    ) -> anyhow::Result<()> {
        // However this ends, the recorder hears that no more results will come from here.
        let _done = done.drop_guard();
        let changed = self.deps.service.signals.monitoring.clone();
        loop {
            let now = self.deps.now();
            let wake = self.next_wake().unwrap_or_else(|| after(now, IDLE));
            let sleep = (wake - now).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = changed.notified() => self.reload_soon(),
                Some((id, at)) = self.retries.recv() => self.plan.sooner(id, at),
                _ = stop.cancelled() => {
                    // Probes already started finish and send their results (each is bounded by
                    // its monitor's timeout; the whole wait by PROBES_DRAIN); none start.
                    if tokio::time::timeout(PROBES_DRAIN, self.probes_finished()).await.is_err() {
                        tracing::warn!("probes still running at shutdown were left unfinished");
                    }
                    return Ok(());
                }
            }
            // Finished probes leave the set here; they have sent their results already.
            while self.probes.try_join_next().is_some() {}
            let step = tracing::info_span!("schedule_step");
            self.housekeeping().instrument(step.clone()).await;
            let now = self.deps.now();
            step.in_scope(|| self.run_due(now));
        }
    }

    pub(super) fn deps(&self) -> &Deps {
        &self.deps
    }

    /// The earliest thing the scheduler has to do: a probe, a configuration read, a lease round.
    pub(super) fn next_wake(&self) -> Option<DateTime<Utc>> {
        let next = self.plan.heap.peek().map(|Reverse((at, _, _))| *at);
        [next, self.reload_at, self.lease_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// When `monitor` is next due, if it is planned.
    pub(super) fn due(&self, monitor: &Id) -> Option<DateTime<Utc>> {
        self.plan.due.get(monitor).map(|(at, _)| *at)
    }

    /// Asks for the configuration to be read again at the next step.
    pub(super) fn reload_soon(&mut self) {
        self.reload_at = Some(self.deps.now());
    }

    /// Takes early retries asked for since the last step.
    pub(super) fn take_retries(&mut self) {
        while let Ok((id, at)) = self.retries.try_recv() {
            self.plan.sooner(id, at);
        }
    }

    /// Reads the configuration and renews leases when either is due.
    pub(super) async fn housekeeping(&mut self) {
        let now = self.deps.now();
        if self.reload_at.is_some_and(|at| at <= now) {
            match self.reload().await {
                Ok(()) => self.reload_at = None,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read monitors; trying again shortly");
                    self.reload_at = Some(after(now, RELOAD_RETRY));
                }
            }
        }
        if self.lease_at.is_some_and(|at| at <= now) {
            if self.loaded_once {
                self.lease_at = Some(after(now, LEASE_EVERY));
                self.lease_round().await;
            } else {
                self.lease_at = Some(after(now, Duration::from_millis(200)));
            }
        }
    }

    /// Starts every probe due at `now` (each in its own task, within the concurrency bound)
    /// and judges every heartbeat due; returns how many probes it started.
    pub(super) fn run_due(&mut self, now: DateTime<Utc>) -> usize {
        let shared = self.monitoring.shared.clone();
        let mut started = 0;
        while let Some(Reverse((at, seq, id))) = self.plan.heap.peek().cloned() {
            if at > now {
                break;
            }
            self.plan.heap.pop();
            if self.plan.due.get(&id) != Some(&(at, seq)) {
                continue;
            }
            let spec = shared
                .loaded
                .read()
                .ok()
                .and_then(|l| l.monitors.get(&id).cloned());
            let Some(spec) = spec else {
                self.plan.due.remove(&id);
                continue;
            };
            let mut next = after(at, interval(&spec));
            if next <= now {
                // Fell far behind (a suspended machine): start again from now.
                next = after(now, interval(&spec));
            }
            self.plan.set(id.clone(), next);
            if !self.monitoring.owns(&spec) {
                continue;
            }
            if let ProbeSpec::Heartbeat { grace_seconds, .. } = &spec.probe {
                let last = shared
                    .last_push
                    .lock()
                    .ok()
                    .and_then(|p| p.get(&id).copied());
                let outcome = judge_heartbeat(last, now, spec.interval_seconds, *grace_seconds);
                let _ = shared.observations.send(Observation {
                    monitor: id,
                    at: now,
                    outcome,
                });
                continue;
            }
            if !self.deps.probing {
                continue;
            }
            let fresh = self
                .running
                .lock()
                .map(|mut r| r.insert(id.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            started += 1;
            let (shared, prober, limit, running, clock) = (
                shared.clone(),
                self.prober.clone(),
                self.limit.clone(),
                self.running.clone(),
                self.deps.clock.clone(),
            );
            self.probes.spawn(async move {
                let Ok(_permit) = limit.acquire_owned().await else {
                    return;
                };
                shared
                    .drift
                    .record((clock() - at).to_std().unwrap_or_default());
                let outcome = prober.check(&spec).await;
                if let Ok(mut r) = running.lock() {
                    r.remove(&id);
                }
                let _ = shared.observations.send(Observation {
                    monitor: id,
                    at: clock(),
                    outcome,
                });
            });
        }
        started
    }

    /// Waits for every probe started so far to finish (and send its result).
    pub(super) async fn probes_finished(&mut self) {
        while self.probes.join_next().await.is_some() {}
    }

    /// Re-reads monitors and automation settings and brings the plan in line: new monitors start
    /// within one interval (jittered), changed ones start again soon, removed or disabled ones
    /// stop.
    pub(super) async fn reload(&mut self) -> Result<(), herald_store::StoreError> {
        let first = !self.loaded_once;
        let shared = self.monitoring.shared.clone();
        let stored = self.deps.store.list_monitors().await?;
        let automations = self.deps.store.list_automations().await?;
        let mut next = Loaded::default();
        for a in automations {
            next.automations.insert(a.component_id.clone(), a);
        }
        let now = self.deps.now();
        let previous: HashMap<Id, Arc<MonitorSpec>> = shared
            .loaded
            .read()
            .map(|l| l.monitors.clone())
            .unwrap_or_default();
        let mut states = shared.states.lock().map_err(|_| poisoned())?;
        let mut pushes = shared.last_push.lock().map_err(|_| poisoned())?;
        for m in stored {
            let id = m.spec.id.clone();
            if first {
                states.insert(id.clone(), m.state.clone());
            } else {
                states.entry(id.clone()).or_insert_with(|| m.state.clone());
            }
            if !m.spec.enabled {
                self.plan.due.remove(&id);
                continue;
            }
            if let Some(token) = heartbeat_token(&m.spec) {
                next.heartbeat_tokens.insert(token.to_string(), id.clone());
                // A heartbeat gets a whole period from when Herald starts watching it.
                pushes.entry(id.clone()).or_insert(now);
            }
            let unchanged = previous.get(&id).is_some_and(|p| **p == m.spec);
            if !unchanged || !self.plan.due.contains_key(&id) {
                // At start-up monitors spread over their interval; one added or changed later is
                // probed within a second.
                let start = if first {
                    after(now, jitter(interval(&m.spec)))
                } else {
                    after(now, jitter(Duration::from_secs(1)))
                };
                self.plan.set(id.clone(), start);
            }
            next.monitors.insert(id, Arc::new(m.spec));
        }
        self.plan.due.retain(|id, _| next.monitors.contains_key(id));
        states.retain(|id, _| next.monitors.contains_key(id));
        drop(states);
        drop(pushes);
        if let Ok(mut loaded) = shared.loaded.write() {
            *loaded = next;
        }
        self.loaded_once = true;
        // The page links response-time charts of the components this names.
        if self
            .deps
            .site
            .set_charted(self.monitoring.charted_components())
        {
            self.deps.changed_soon();
        }
        Ok(())
    }

    /// One lease round: renews this instance's units, hands back any above its fair share with
    /// their next planned run, and plans the units it took over — at the time their previous
    /// holder had planned, or spread over the interval when that holder vanished. Monitors taken
    /// over start from the state their last holder stored.
    async fn lease_round(&mut self) {
        let shared = self.monitoring.shared.clone();
        let specs: Vec<Arc<MonitorSpec>> = match shared.loaded.read() {
            Ok(l) => l.monitors.values().filter(|m| m.enabled).cloned().collect(),
            Err(_) => return,
        };
        let before: HashSet<String> = shared
            .owned
            .read()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or_default();
        let mut units: Vec<String> = specs.iter().map(|s| unit_of(s)).collect();
        units.sort();
        units.dedup();
        let now = self.deps.now();
        let mut plans: HashMap<String, DateTime<Utc>> = HashMap::new();
        for spec in &specs {
            let unit = unit_of(spec);
            if !before.contains(&unit) {
                continue;
            }
            if let Some((due, _)) = self.plan.due.get(&spec.id) {
                let at = (*due).max(now);
                let entry = plans.entry(unit).or_insert(at);
                *entry = (*entry).min(at);
            }
        }
        let round = tokio::time::timeout(
            LEASE_TIMEOUT,
            self.deps
                .store
                .lease(&self.deps.instance, &units, &plans, now, LEASE_TTL),
        )
        .await;
        let leases = match round {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "cannot renew monitor leases; probing what this instance held");
                return;
            }
            Err(_) => {
                tracing::debug!("monitor lease round timed out; probing what this instance held");
                return;
            }
        };
        let held: HashSet<String> = leases.held.iter().map(|(k, _)| k.clone()).collect();
        let taken: HashMap<String, Option<DateTime<Utc>>> = leases
            .held
            .into_iter()
            .filter(|(k, _)| !before.contains(k))
            .collect();
        if held != before {
            tracing::info!(
                units = held.len(),
                instances = leases.instances,
                "monitor leases changed"
            );
        }
        if let Ok(mut owned) = shared.owned.write() {
            *owned = Some(held);
        }
        if taken.is_empty() {
            return;
        }
        let stored: HashMap<Id, herald_core::monitor::MonitorState> =
            match tokio::time::timeout(LEASE_TIMEOUT, self.deps.store.list_monitors()).await {
                Ok(Ok(list)) => list.into_iter().map(|m| (m.spec.id, m.state)).collect(),
                _ => HashMap::new(),
            };
        for spec in &specs {
            let Some(hint) = taken.get(&unit_of(spec)) else {
                continue;
            };
            if let Some(st) = stored.get(&spec.id) {
                if let Ok(mut states) = shared.states.lock() {
                    states.insert(spec.id.clone(), st.clone());
                }
            }
            if heartbeat_token(spec).is_some() {
                if let Ok(mut pushes) = shared.last_push.lock() {
                    pushes.insert(spec.id.clone(), now);
                }
            }
            let at = match hint {
                Some(t) => (*t).max(now),
                None => after(now, jitter(interval(spec))),
            };
            self.plan.set(spec.id.clone(), at);
        }
    }
}

fn poisoned() -> herald_store::StoreError {
    herald_store::StoreError::Other("monitoring state lock poisoned".into())
}
