//! Starts each probe when it is due.
//!
//! Every enabled monitor has one due instant in a min-heap. Heap entries carry a sequence number;
//! a monitor rescheduled (configuration change, early retry) gets a new number and its older
//! entries are skipped when they surface, so nothing is ever searched or removed from the heap.
//! A monitor's next run is planned from its due instant, not from when its probe finished, so
//! the cadence holds however slow the target is; a probe still running when its next turn comes
//! makes that turn skip.

use super::Deps;
use super::{heartbeat_token, unit_of, Loaded, Monitoring, Observation};
use crate::runtime::monitoring::probe::Prober;
use herald_core::monitor::{judge_heartbeat, MonitorSpec, ProbeSpec};
use herald_core::Id;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

/// How soon a failed configuration read is tried again.
const RELOAD_RETRY: Duration = Duration::from_secs(5);

/// On a database several instances share: how often leases are renewed, how long one lasts
/// unrenewed (a killed instance's monitors move after at most this plus one round), and how long
/// a round may take before the scheduler goes on without it.
const LEASE_EVERY: Duration = Duration::from_secs(2);
const LEASE_TTL: Duration = Duration::from_secs(10);
const LEASE_TIMEOUT: Duration = Duration::from_secs(2);

struct Plan {
    heap: BinaryHeap<Reverse<(Instant, u64, Id)>>,
    /// The live entry of each monitor: (due, sequence).
    due: HashMap<Id, (Instant, u64)>,
    seq: u64,
}

impl Plan {
    fn set(&mut self, id: Id, at: Instant) {
        self.seq += 1;
        self.due.insert(id.clone(), (at, self.seq));
        self.heap.push(Reverse((at, self.seq, id)));
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

pub(super) async fn run(
    monitoring: Monitoring,
    state: Deps,
    prober: Arc<Prober>,
    mut retries: mpsc::UnboundedReceiver<(Id, Duration)>,
    shutdown: crate::runtime::CancellationToken,
) -> anyhow::Result<()> {
    let shared = monitoring.shared.clone();
    let limit = Arc::new(Semaphore::new(shared.options.concurrency.max(1)));
    let running: Arc<Mutex<HashSet<Id>>> = Arc::default();
    let mut plan = Plan {
        heap: BinaryHeap::new(),
        due: HashMap::new(),
        seq: 0,
    };
    let mut loaded_once = false;
    let mut reload_at = Some(Instant::now());
    let mut lease_at = None;
    if state.store.shared() {
        if let Ok(mut owned) = shared.owned.write() {
            *owned = Some(HashSet::new());
        }
        // An instance that does not probe takes no leases and passes heartbeat pushes on.
        if state.probing {
            lease_at = Some(Instant::now());
        }
    }
    loop {
        let next = plan.heap.peek().map(|Reverse((at, _, _))| *at);
        let wake = [next, reload_at, lease_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = state.signals.monitoring.notified() => reload_at = Some(Instant::now()),
            Some((id, delay)) = retries.recv() => {
                let at = Instant::now() + delay;
                if plan.due.get(&id).is_some_and(|(due, _)| at < *due) {
                    plan.set(id, at);
                }
            }
            _ = shutdown.cancelled() => return Ok(()),
        }
        let now = Instant::now();
        if reload_at.is_some_and(|at| at <= now) {
            match reload(&monitoring, &state, &mut plan, !loaded_once).await {
                Ok(()) => {
                    loaded_once = true;
                    reload_at = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read monitors; trying again shortly");
                    reload_at = Some(now + RELOAD_RETRY);
                }
            }
        }
        if lease_at.is_some_and(|at| at <= now) {
            if loaded_once {
                lease_at = Some(now + LEASE_EVERY);
                lease_round(&monitoring, &state, &mut plan).await;
            } else {
                lease_at = Some(now + Duration::from_millis(200));
            }
        }
        let now = Instant::now();
        while let Some(Reverse((at, seq, id))) = plan.heap.peek().cloned() {
            if at > now {
                break;
            }
            plan.heap.pop();
            if plan.due.get(&id) != Some(&(at, seq)) {
                continue;
            }
            let spec = shared
                .loaded
                .read()
                .ok()
                .and_then(|l| l.monitors.get(&id).cloned());
            let Some(spec) = spec else {
                plan.due.remove(&id);
                continue;
            };
            let mut next = at + interval(&spec);
            if next <= now {
                // Fell far behind (a suspended machine): start again from now.
                next = now + interval(&spec);
            }
            plan.set(id.clone(), next);
            if !monitoring.owns(&spec) {
                continue;
            }
            if let ProbeSpec::Heartbeat { grace_seconds, .. } = &spec.probe {
                let clock_now = (state.clock)();
                let last = shared
                    .last_push
                    .lock()
                    .ok()
                    .and_then(|p| p.get(&id).copied());
                let outcome =
                    judge_heartbeat(last, clock_now, spec.interval_seconds, *grace_seconds);
                let _ = shared.observations.send(Observation {
                    monitor: id,
                    at: clock_now,
                    outcome,
                });
                continue;
            }
            if !state.probing {
                continue;
            }
            let fresh = running
                .lock()
                .map(|mut r| r.insert(id.clone()))
                .unwrap_or(false);
            if !fresh {
                continue;
            }
            let (shared, prober, limit, running, clock) = (
                shared.clone(),
                prober.clone(),
                limit.clone(),
                running.clone(),
                state.clock.clone(),
            );
            tokio::spawn(async move {
                let Ok(_permit) = limit.acquire_owned().await else {
                    return;
                };
                shared
                    .drift
                    .record(Instant::now().saturating_duration_since(at));
                let timeout = Duration::from_millis(u64::from(spec.timeout_ms));
                let outcome = prober
                    .probe(&spec.probe, timeout, spec.degraded_after_ms)
                    .await;
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
    }
}

/// Re-reads monitors and automation settings and brings the plan in line: new monitors start
/// within one interval (jittered), changed ones start again soon, removed or disabled ones stop.
async fn reload(
    monitoring: &Monitoring,
    state: &Deps,
    plan: &mut Plan,
    first: bool,
) -> Result<(), herald_store::StoreError> {
    let shared = &monitoring.shared;
    let stored = state.store.list_monitors().await?;
    let automations = state.store.list_automations().await?;
    let mut next = Loaded::default();
    for a in automations {
        next.automations.insert(a.component_id.clone(), a);
    }
    let now = Instant::now();
    let clock_now = (state.clock)();
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
            plan.due.remove(&id);
            continue;
        }
        if let Some(token) = heartbeat_token(&m.spec) {
            next.heartbeat_tokens.insert(token.to_string(), id.clone());
            // A heartbeat gets a whole period from when Herald starts watching it.
            pushes.entry(id.clone()).or_insert(clock_now);
        }
        let unchanged = previous.get(&id).is_some_and(|p| **p == m.spec);
        if !unchanged || !plan.due.contains_key(&id) {
            // At start-up monitors spread over their interval; one added or changed later is
            // probed within a second.
            let start = if first {
                now + jitter(interval(&m.spec))
            } else {
                now + jitter(Duration::from_secs(1))
            };
            plan.set(id.clone(), start);
        }
        next.monitors.insert(id, Arc::new(m.spec));
    }
    let charted_before = monitoring.charted_components();
    plan.due.retain(|id, _| next.monitors.contains_key(id));
    states.retain(|id, _| next.monitors.contains_key(id));
    drop(states);
    drop(pushes);
    if let Ok(mut loaded) = shared.loaded.write() {
        *loaded = next;
    }
    if monitoring.charted_components() != charted_before {
        state.changed_soon();
    }
    Ok(())
}

/// One lease round: renews this instance's units, hands back any above its fair share with
/// their next planned run, and plans the units it took over — at the time their previous holder
/// had planned, or spread over the interval when that holder vanished. Monitors taken over start
/// from the state their last holder stored.
async fn lease_round(monitoring: &Monitoring, state: &Deps, plan: &mut Plan) {
    let shared = &monitoring.shared;
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
    let (now, clock_now) = (Instant::now(), (state.clock)());
    let mut plans: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    for spec in &specs {
        let unit = unit_of(spec);
        if !before.contains(&unit) {
            continue;
        }
        if let Some((due, _)) = plan.due.get(&spec.id) {
            let ahead =
                chrono::Duration::from_std(due.saturating_duration_since(now)).unwrap_or_default();
            let at = clock_now + ahead;
            let entry = plans.entry(unit).or_insert(at);
            *entry = (*entry).min(at);
        }
    }
    let round = tokio::time::timeout(
        LEASE_TIMEOUT,
        state
            .store
            .lease(&state.instance, &units, &plans, clock_now, LEASE_TTL),
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
    let taken: HashMap<String, Option<chrono::DateTime<chrono::Utc>>> = leases
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
        match tokio::time::timeout(LEASE_TIMEOUT, state.store.list_monitors()).await {
            Ok(Ok(list)) => list.into_iter().map(|m| (m.spec.id, m.state)).collect(),
            _ => HashMap::new(),
        };
    let now = Instant::now();
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
                pushes.insert(spec.id.clone(), clock_now);
            }
        }
        let at = match hint {
            Some(t) => now + (*t - clock_now).to_std().unwrap_or_default(),
            None => now + jitter(interval(spec)),
        };
        plan.set(spec.id.clone(), at);
    }
}

fn poisoned() -> herald_store::StoreError {
    herald_store::StoreError::Other("monitoring state lock poisoned".into())
}
