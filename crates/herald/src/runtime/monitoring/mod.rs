//! The monitoring runtime: probes on schedule, results recorded, statuses moved.
//!
//! Two tasks share one [`Monitoring`] handle:
//! - the **scheduler** ([`scheduler`]) keeps every monitor in a timer heap (in the service clock's
//!   time), starts each probe when it is due (bounded concurrency, one probe per monitor at a
//!   time, first run jittered across the interval) through a [`probe::Probe`], and judges
//!   heartbeats from the pushes they received;
//! - the **recorder** ([`recorder`]) feeds each result through the monitor's state machine,
//!   writes results in batches, asks for an early retry after a failure, and when a monitor's
//!   public status changes recomputes its component;
//! - component changes go through the normal write flow (`Service::apply`), so the snapshot,
//!   status history, incident events and audit log see them like any other write. Automatic
//!   incidents are planned by `herald_core::monitor::automation`.
//!
//! Alerts from integrations and heartbeat pushes enter through [`Monitoring::ingest_alerts`] and
//! [`Monitoring::push`].
//!
//! [`Monitoring::start`] runs both loops under the supervisor; [`Monitoring::steps`] hands the
//! same work out one step at a time, for a test that moves its clock by hand.

use crate::runtime::alerting::{Alerter, TeamAlert};
use crate::runtime::Supervisor;
use crate::service::Service;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use herald_core::monitor::{
    ComponentAutomation, MonitorSpec, MonitorState, ProbeOutcome, ProbeSpec,
};
use herald_core::{ComponentStatus, Id};
use probe::Probe;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

pub mod automation;
pub mod probe;
mod recorder;
mod scheduler;

/// Knobs of the runtime.
#[derive(Clone, Debug)]
pub struct MonitoringOptions {
    /// Probes running at once, across all monitors.
    pub concurrency: usize,
    /// How often results are written (a full batch is written at once).
    pub flush_every: Duration,
    /// Results per write.
    pub batch_size: usize,
}

impl Default for MonitoringOptions {
    fn default() -> Self {
        MonitoringOptions {
            concurrency: 512,
            flush_every: Duration::from_secs(1),
            batch_size: 2_000,
        }
    }
}

/// One probe result on its way to the recorder.
#[derive(Clone, Debug)]
pub(crate) struct Observation {
    pub monitor: Id,
    pub at: DateTime<Utc>,
    pub outcome: ProbeOutcome,
}

/// An early re-probe the recorder asks for after a failure: (monitor, when).
pub(crate) type Retry = (Id, DateTime<Utc>);

/// The configuration the runtime works from, re-read after every change.
#[derive(Default)]
pub(crate) struct Loaded {
    pub monitors: HashMap<Id, Arc<MonitorSpec>>,
    pub automations: HashMap<Id, ComponentAutomation>,
    pub heartbeat_tokens: HashMap<String, Id>,
}

impl Loaded {
    pub fn automation(&self, component: &Id) -> ComponentAutomation {
        self.automations
            .get(component)
            .cloned()
            .unwrap_or_else(|| ComponentAutomation::new(component.clone()))
    }
}

/// Schedule drift (how late probes start), for the benchmark and the admin overview.
#[derive(Default)]
pub struct Drift {
    samples: Mutex<Vec<u32>>,
    pub probes: AtomicU64,
}

impl Drift {
    fn record(&self, late: Duration) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("herald_probes_total").increment(1);
        let ms = u32::try_from(late.as_millis()).unwrap_or(u32::MAX);
        if let Ok(mut s) = self.samples.lock() {
            // Keep memory bounded: a reservoir of the newest samples.
            if s.len() >= 200_000 {
                s.drain(..100_000);
            }
            s.push(ms);
        }
    }

    /// (p50, p99, max) in milliseconds over the samples kept, and how many.
    pub fn percentiles(&self) -> (u32, u32, u32, usize) {
        let Ok(s) = self.samples.lock() else {
            return (0, 0, 0, 0);
        };
        let mut v = s.clone();
        drop(s);
        if v.is_empty() {
            return (0, 0, 0, 0);
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        (at(0.5), at(0.99), v[v.len() - 1], v.len())
    }

    /// Forgets the samples (the benchmark measures after warm-up).
    pub fn reset(&self) {
        if let Ok(mut s) = self.samples.lock() {
            s.clear();
        }
    }
}

/// The shared handle; cheap to clone.
#[derive(Clone)]
pub struct Monitoring {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub options: MonitoringOptions,
    pub loaded: RwLock<Loaded>,
    pub states: Mutex<HashMap<Id, MonitorState>>,
    pub last_push: Mutex<HashMap<Id, DateTime<Utc>>>,
    /// Firing alerts: (integration, alert key) → (component, status).
    pub alerts: Mutex<HashMap<(Id, String), (Id, ComponentStatus)>>,
    /// What monitors and alerts last called for, per component.
    pub wanted: Mutex<HashMap<Id, ComponentStatus>>,
    pub observations: mpsc::UnboundedSender<Observation>,
    pub observations_rx: Mutex<Option<mpsc::UnboundedReceiver<Observation>>>,
    /// Early re-probes after a failure.
    pub retries: mpsc::UnboundedSender<Retry>,
    pub retries_rx: Mutex<Option<mpsc::UnboundedReceiver<Retry>>>,
    /// Components whose status should be recomputed (alerts arrived).
    pub recompute: mpsc::UnboundedSender<Id>,
    pub recompute_rx: Mutex<Option<mpsc::UnboundedReceiver<Id>>>,
    pub drift: Drift,
    /// Automatic-incident memory per component.
    pub automation: tokio::sync::Mutex<automation::Memory>,
    /// The units (see [`unit_of`]) this instance holds leases on; `None` when it runs every
    /// monitor (a database no other process shares).
    pub owned: RwLock<Option<HashSet<String>>>,
}

/// The unit monitors are leased in: all monitors of one component go to one instance, so its
/// status rule and automatic incidents see every result; a monitor without a component is a
/// unit of its own.
pub(crate) fn unit_of(spec: &MonitorSpec) -> String {
    match &spec.component_id {
        Some(c) => format!("monitors:{c}"),
        None => format!("monitor:{}", spec.id),
    }
}

/// Where a heartbeat push went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// This instance watches the heartbeat.
    Here,
    /// Another instance does; the push must be passed on.
    Elsewhere(Id),
}

impl Monitoring {
    pub fn new(options: MonitoringOptions) -> Self {
        let (obs_tx, obs_rx) = mpsc::unbounded_channel();
        let (retry_tx, retry_rx) = mpsc::unbounded_channel();
        let (re_tx, re_rx) = mpsc::unbounded_channel();
        Monitoring {
            shared: Arc::new(Shared {
                options,
                loaded: RwLock::new(Loaded::default()),
                states: Mutex::new(HashMap::new()),
                last_push: Mutex::new(HashMap::new()),
                alerts: Mutex::new(HashMap::new()),
                wanted: Mutex::new(HashMap::new()),
                observations: obs_tx,
                observations_rx: Mutex::new(Some(obs_rx)),
                retries: retry_tx,
                retries_rx: Mutex::new(Some(retry_rx)),
                recompute: re_tx,
                recompute_rx: Mutex::new(Some(re_rx)),
                drift: Drift::default(),
                automation: tokio::sync::Mutex::default(),
                owned: RwLock::new(None),
            }),
        }
    }

    /// Starts the scheduler and the recorder under `supervisor`, probing with `prober`; they
    /// stop when its token is cancelled, the recorder after writing the results it holds.
    /// Calling it twice (or after [`Monitoring::steps`]) starts nothing the second time.
    pub fn start(&self, deps: Deps, prober: Arc<dyn Probe>, supervisor: &mut Supervisor) {
        let Some(Steps {
            scheduler,
            recorder,
        }) = self.steps(deps, prober)
        else {
            return;
        };
        let stop = supervisor.token();
        // The recorder drains only once the scheduler has stopped and its probes in flight have
        // sent their results, so a result taken before the stop cannot slip past the drain.
        let scheduled = crate::runtime::CancellationToken::new();
        supervisor.spawn(
            "monitoring scheduler",
            scheduler.run(stop.clone(), scheduled.clone()),
        );
        supervisor.spawn("monitoring recorder", recorder.run(stop, scheduled));
    }

    /// The runtime's work, to be done one step at a time by the caller instead of by
    /// [`Monitoring::start`]; `None` when it was handed out (or started) already.
    pub fn steps(&self, deps: Deps, prober: Arc<dyn Probe>) -> Option<Steps> {
        fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
            slot.lock().ok().and_then(|mut r| r.take())
        }
        let (Some(observations), Some(retries), Some(recompute)) = (
            take(&self.shared.observations_rx),
            take(&self.shared.retries_rx),
            take(&self.shared.recompute_rx),
        ) else {
            return None;
        };
        Some(Steps {
            scheduler: scheduler::Scheduler::new(self.clone(), deps.clone(), prober, retries),
            recorder: recorder::Recorder::new(self.clone(), deps, observations, recompute),
        })
    }

    /// Records a heartbeat push; `None` when no enabled heartbeat monitor has this token.
    pub fn push(&self, token: &str, now: DateTime<Utc>) -> Option<Pushed> {
        let (id, here) = {
            let loaded = self.shared.loaded.read().ok()?;
            let id = loaded.heartbeat_tokens.get(token)?;
            let spec = loaded.monitors.get(id).filter(|m| m.enabled)?;
            (id.clone(), self.owns(spec))
        };
        if !here {
            return Some(Pushed::Elsewhere(id));
        }
        self.heard_push(&id, now);
        Some(Pushed::Here)
    }

    /// Whether this instance runs `spec` (holds the lease on its unit).
    pub(crate) fn owns(&self, spec: &MonitorSpec) -> bool {
        match self.shared.owned.read() {
            Ok(owned) => owned.as_ref().is_none_or(|o| o.contains(&unit_of(spec))),
            Err(_) => true,
        }
    }

    /// Takes a heartbeat push for a monitor this instance may watch (one received here, or
    /// passed on by another instance).
    pub fn heard_push(&self, id: &Id, now: DateTime<Utc>) {
        let watched = self
            .shared
            .loaded
            .read()
            .ok()
            .and_then(|l| l.monitors.get(id).cloned())
            .is_some_and(|m| m.enabled && self.owns(&m));
        if !watched {
            return;
        }
        if let Ok(mut pushes) = self.shared.last_push.lock() {
            pushes.insert(id.clone(), now);
        }
        let _ = self.shared.observations.send(Observation {
            monitor: id.clone(),
            at: now,
            outcome: ProbeOutcome::Up { latency_ms: 0 },
        });
    }

    /// Takes alerts from an integration: firing ones set their component's status, resolved ones
    /// clear it. Each alert is (key, firing, component, status while firing).
    pub fn ingest_alerts(
        &self,
        integration: &Id,
        alerts: Vec<(String, bool, Id, ComponentStatus)>,
    ) {
        let mut touched = Vec::new();
        if let Ok(mut firing) = self.shared.alerts.lock() {
            for (key, is_firing, component, status) in alerts {
                let k = (integration.clone(), key);
                if is_firing {
                    if let Some((old, _)) = firing.insert(k, (component.clone(), status)) {
                        touched.push(old);
                    }
                } else if let Some((old, _)) = firing.remove(&k) {
                    touched.push(old);
                }
                touched.push(component);
            }
        }
        touched.sort();
        touched.dedup();
        for c in touched {
            let _ = self.shared.recompute.send(c);
        }
    }

    /// Incidents drafted by automation, waiting for a person.
    pub async fn drafts(
        &self,
        state: &Service,
    ) -> Vec<(Id, herald_core::monitor::automation::Draft)> {
        automation::drafts(self, state).await
    }

    /// Takes a drafted incident for a person to publish; automation then stands back.
    pub async fn take_draft(
        &self,
        state: &Service,
        component: &Id,
    ) -> Option<herald_core::monitor::automation::Draft> {
        automation::take_draft(self, state, component).await
    }

    /// What a component's monitors and alerts call for now.
    pub fn wanted_now(&self, component: &Id) -> Option<ComponentStatus> {
        recorder::wanted(self, component)
    }

    /// The latest state of a monitor, as the runtime holds it.
    pub fn state(&self, monitor: &Id) -> Option<MonitorState> {
        self.shared.states.lock().ok()?.get(monitor).cloned()
    }

    /// The monitor whose response times chart a component: its first enabled monitor that
    /// measures latency, by name.
    pub fn charted_monitor(&self, component: &Id) -> Option<Id> {
        let loaded = self.shared.loaded.read().ok()?;
        loaded
            .monitors
            .values()
            .filter(|m| m.enabled && m.component_id.as_ref() == Some(component))
            .filter(|m| !matches!(m.probe, ProbeSpec::Heartbeat { .. }))
            .min_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)))
            .map(|m| m.id.clone())
    }

    /// How many monitors are loaded (enabled or not).
    pub fn monitor_count(&self) -> usize {
        self.shared
            .loaded
            .read()
            .map(|l| l.monitors.len())
            .unwrap_or(0)
    }

    /// Components with a response-time chart.
    pub fn charted_components(&self) -> Vec<Id> {
        let Ok(loaded) = self.shared.loaded.read() else {
            return Vec::new();
        };
        let mut v: Vec<Id> = loaded
            .monitors
            .values()
            .filter(|m| m.enabled && !matches!(m.probe, ProbeSpec::Heartbeat { .. }))
            .filter_map(|m| m.component_id.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Schedule drift figures: (p50 ms, p99 ms, max ms, samples, probes run).
    pub fn drift(&self) -> (u32, u32, u32, usize, u64) {
        let (p50, p99, max, n) = self.shared.drift.percentiles();
        (
            p50,
            p99,
            max,
            n,
            self.shared.drift.probes.load(Ordering::Relaxed),
        )
    }

    /// Forgets drift samples gathered so far.
    pub fn reset_drift(&self) {
        self.shared.drift.reset();
    }
}

/// The monitoring runtime driven by hand, on the service's clock: what the running loops do,
/// one step at a time. A test moves its clock and calls [`Steps::step`].
pub struct Steps {
    scheduler: scheduler::Scheduler,
    recorder: recorder::Recorder,
}

impl Steps {
    /// Reads the monitors and automation settings now (the first read spreads first runs over
    /// each monitor's interval; later ones plan new or changed monitors within a second).
    pub async fn reload(&mut self) -> anyhow::Result<()> {
        self.scheduler.reload().await?;
        Ok(())
    }

    /// Starts every probe due at `now` and judges every heartbeat due; returns how many probes
    /// it started. A configuration change signalled since the last step is read first, early
    /// retries asked for are planned, and a lease round runs when one is due.
    pub async fn run_due(&mut self, now: DateTime<Utc>) -> usize {
        if self.scheduler_signal().notified().now_or_never().is_some() {
            self.scheduler.reload_soon();
        }
        self.scheduler.take_retries();
        self.scheduler.housekeeping().await;
        self.scheduler.run_due(now)
    }

    /// Waits until every probe started has finished and sent its result.
    pub async fn probes_finished(&mut self) {
        self.scheduler.probes_finished().await;
    }

    /// Feeds every result and alert change queued so far through the recorder (monitor states,
    /// component statuses, automatic incidents, the batch write), then re-plans automatic
    /// incidents waiting on a quiet period; returns how many results it took.
    pub async fn record(&mut self) -> usize {
        let taken = self.recorder.record_queued().await;
        self.recorder.automation().await;
        taken
    }

    /// One whole step at the service clock's time: runs what is due, waits for those probes and
    /// records everything queued. Returns how many probes it started.
    pub async fn step(&mut self) -> usize {
        let now = self.scheduler_now();
        let started = self.run_due(now).await;
        self.probes_finished().await;
        self.record().await;
        started
    }

    /// When the scheduler next has something to do, if anything is planned.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.scheduler.next_wake()
    }

    /// When `monitor` is next due, if it is planned.
    pub fn due(&self, monitor: &Id) -> Option<DateTime<Utc>> {
        self.scheduler.due(monitor)
    }

    fn scheduler_signal(&self) -> Arc<tokio::sync::Notify> {
        self.scheduler.deps().service.signals.monitoring.clone()
    }

    fn scheduler_now(&self) -> DateTime<Utc> {
        self.scheduler.deps().now()
    }
}

/// The heartbeat token of a monitor, if it is a heartbeat.
pub(crate) fn heartbeat_token(spec: &MonitorSpec) -> Option<&str> {
    match &spec.probe {
        ProbeSpec::Heartbeat { token, .. } => Some(token.as_str()),
        _ => None,
    }
}

/// What the monitoring runtime needs from the rest of Herald: the service (store, clock,
/// writes), the team alerter, and whether this instance probes.
#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub alerter: Alerter,
    /// Configuration `monitoring.enabled`; an instance that does not probe still judges
    /// heartbeats and records pushes.
    pub probing: bool,
}

impl std::ops::Deref for Deps {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

impl Deps {
    /// Sends a team alert to every enabled channel, in the background.
    pub fn alert_team(&self, alert: TeamAlert) {
        self.alerter.alert_team(self.service.store.clone(), alert);
    }
}
