//! A scripted prober for stepping the monitoring runtime: per monitor, outcomes queued by the
//! test (the last one repeats), every call counted and timed on the test clock, and probes that
//! can be held open to stand for a slow target.

use futures_util::future::BoxFuture;
use herald::app::Clock;
use herald::monitoring::probe::Probe;
use herald_core::monitor::{MonitorSpec, ProbeOutcome};
use herald_core::Id;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// What an unscripted monitor answers.
pub fn up() -> ProbeOutcome {
    ProbeOutcome::Up { latency_ms: 5 }
}

pub fn down(reason: &str) -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: reason.into(),
    }
}

#[derive(Default)]
struct Script {
    /// Outcomes still to give, in order; the last one given repeats once they run out.
    queue: VecDeque<ProbeOutcome>,
    last: Option<ProbeOutcome>,
    /// When each call began, on the test clock, and what it answered.
    calls: Vec<(chrono::DateTime<chrono::Utc>, ProbeOutcome)>,
    /// While set, calls wait here before they answer.
    gate: Option<Arc<Semaphore>>,
}

pub struct Scripted {
    clock: Clock,
    scripts: Mutex<HashMap<Id, Script>>,
    /// Probes inside `check` now, and the most there ever were at once.
    inside: Mutex<(usize, usize)>,
    called: Notify,
}

impl Scripted {
    pub fn new(clock: Clock) -> Arc<Scripted> {
        Arc::new(Scripted {
            clock,
            scripts: Mutex::default(),
            inside: Mutex::default(),
            called: Notify::new(),
        })
    }

    /// From now on `monitor` answers `outcome` (whatever was queued is dropped).
    pub fn set(&self, monitor: &Id, outcome: ProbeOutcome) {
        let mut scripts = self.scripts.lock().expect("scripts");
        let s = scripts.entry(monitor.clone()).or_default();
        s.queue.clear();
        s.last = Some(outcome);
    }

    /// Queues outcomes for `monitor`'s next calls.
    pub fn then(&self, monitor: &Id, outcomes: impl IntoIterator<Item = ProbeOutcome>) {
        let mut scripts = self.scripts.lock().expect("scripts");
        scripts
            .entry(monitor.clone())
            .or_default()
            .queue
            .extend(outcomes);
    }

    /// How often `monitor` was probed.
    pub fn calls(&self, monitor: &Id) -> usize {
        self.calls_of(monitor).len()
    }

    /// When each probe of `monitor` began (test clock) and what it answered.
    pub fn calls_of(&self, monitor: &Id) -> Vec<(chrono::DateTime<chrono::Utc>, ProbeOutcome)> {
        self.scripts
            .lock()
            .expect("scripts")
            .get(monitor)
            .map(|s| s.calls.clone())
            .unwrap_or_default()
    }

    /// Probes of every monitor, counted.
    pub fn total_calls(&self) -> usize {
        let scripts = self.scripts.lock().expect("scripts");
        scripts.values().map(|s| s.calls.len()).sum()
    }

    /// The most probes that were ever inside the prober at once.
    pub fn most_at_once(&self) -> usize {
        self.inside.lock().expect("inside").1
    }

    /// Holds `monitor`'s probes open (a target that does not answer) until [`Scripted::release`].
    pub fn hold(&self, monitor: &Id) {
        let mut scripts = self.scripts.lock().expect("scripts");
        scripts.entry(monitor.clone()).or_default().gate = Some(Arc::new(Semaphore::new(0)));
    }

    /// Lets `monitor`'s held probes answer.
    pub fn release(&self, monitor: &Id) {
        let mut scripts = self.scripts.lock().expect("scripts");
        if let Some(gate) = scripts.get_mut(monitor).and_then(|s| s.gate.take()) {
            gate.close();
        }
    }

    /// Waits (at most 10 s) until at least `n` probes were made in all.
    pub async fn wait_for_calls(&self, n: usize) {
        let waiting = async {
            loop {
                let called = self.called.notified();
                if self.total_calls() >= n {
                    return;
                }
                called.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} probes were made", self.total_calls()));
    }
}

impl Probe for Scripted {
    fn check<'a>(&'a self, monitor: &'a MonitorSpec) -> BoxFuture<'a, ProbeOutcome> {
        Box::pin(async move {
            let (outcome, gate) = {
                let mut scripts = self.scripts.lock().expect("scripts");
                let s = scripts.entry(monitor.id.clone()).or_default();
                let outcome = match s.queue.pop_front() {
                    Some(o) => {
                        s.last = Some(o.clone());
                        o
                    }
                    None => s.last.clone().unwrap_or_else(up),
                };
                s.calls.push(((self.clock)(), outcome.clone()));
                (outcome, s.gate.clone())
            };
            {
                let mut inside = self.inside.lock().expect("inside");
                inside.0 += 1;
                inside.1 = inside.1.max(inside.0);
            }
            self.called.notify_waiters();
            if let Some(gate) = gate {
                // Closed on release: the wait ends with an error, which is the point.
                let _ = gate.acquire().await;
            }
            self.inside.lock().expect("inside").0 -= 1;
            outcome
        })
    }
}

/// An app on a test clock whose monitoring runtime is stepped by the test, probing with a
/// [`Scripted`] prober.
pub struct Stepped {
    pub app: super::App,
    pub steps: herald::monitoring::Steps,
    pub prober: Arc<Scripted>,
}

impl Stepped {
    /// The example page on a fresh SQLite store, monitoring read once (no monitors yet).
    pub async fn new() -> Stepped {
        Stepped::on(super::app().await).await
    }

    /// Steps the monitoring runtime of `app` (whose monitoring options may be set already).
    pub async fn on(app: super::App) -> Stepped {
        let prober = Scripted::new(app.clock.clock());
        let mut steps = app
            .state
            .monitoring
            .steps(app.state.monitoring_deps(), prober.clone())
            .expect("the runtime is not running");
        steps.reload().await.expect("read monitors");
        Stepped { app, steps, prober }
    }

    fn meta(&self) -> herald_store::WriteMeta {
        herald_store::WriteMeta {
            actor: "test".into(),
            now: (self.app.state.clock)(),
        }
    }

    /// Stores a monitor and signals the change, as the admin and API writes do.
    pub async fn add(&self, spec: &MonitorSpec) {
        self.app
            .store
            .save_monitor(spec, &self.meta())
            .await
            .expect("save monitor");
        self.app
            .state
            .after(herald::service::Effect::Monitoring)
            .await;
    }

    /// Stores a component's automation settings and signals the change.
    pub async fn automate(&self, automation: &herald_core::monitor::ComponentAutomation) {
        self.app
            .store
            .save_automation(automation, &self.meta())
            .await
            .expect("automation");
        self.app
            .state
            .after(herald::service::Effect::Monitoring)
            .await;
    }

    /// Moves the clock one second at a time, `seconds` times, stepping after each move.
    pub async fn tick(&mut self, seconds: u32) {
        for _ in 0..seconds {
            self.app.clock.advance(1);
            self.steps.step().await;
        }
    }

    /// Ticks until `component` has `want`, at most `limit` seconds; returns the seconds taken.
    pub async fn until(
        &mut self,
        component: &str,
        want: herald_core::ComponentStatus,
        limit: u32,
    ) -> u32 {
        for taken in 0..=limit {
            if self.status(component).await == want {
                return taken;
            }
            if taken < limit {
                self.tick(1).await;
            }
        }
        panic!(
            "{component} stayed {:?}, expected {want:?} within {limit} s of test clock",
            self.status(component).await
        );
    }

    /// Ticks until `monitor`'s public status is `want`, at most `limit` seconds.
    pub async fn until_monitor(
        &mut self,
        monitor: &Id,
        want: herald_core::monitor::MonitorStatus,
        limit: u32,
    ) -> u32 {
        for taken in 0..=limit {
            if self.monitor_status(monitor) == Some(want) {
                return taken;
            }
            if taken < limit {
                self.tick(1).await;
            }
        }
        panic!(
            "monitor stayed {:?}, expected {want:?} within {limit} s of test clock",
            self.monitor_status(monitor)
        );
    }

    pub fn monitor_status(&self, monitor: &Id) -> Option<herald_core::monitor::MonitorStatus> {
        self.app
            .state
            .monitoring
            .state(monitor)
            .map(|s| s.public_status)
    }

    /// The component's stored status.
    pub async fn status(&self, component: &str) -> herald_core::ComponentStatus {
        let doc = self.app.store.load().await.expect("load").expect("page");
        doc.components
            .iter()
            .find(|c| c.id.as_str() == component)
            .map(|c| c.status)
            .expect("component")
    }

    /// The service clock's time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.app.state.clock)()
    }
}

/// A monitor of `component` on a scripted target: 10 s interval, two answers to change, early
/// retries after 1 s.
pub fn monitor(name: &str, component: Option<&str>) -> MonitorSpec {
    MonitorSpec {
        id: herald_store::random_id(),
        name: name.into(),
        component_id: component.map(|c| Id::parse(c).expect("id")),
        probe: herald_core::monitor::ProbeSpec::Tcp {
            host: "127.0.0.1".into(),
            port: 9,
        },
        interval_seconds: 10,
        timeout_ms: 1_000,
        degraded_after_ms: None,
        failures_to_down: 2,
        successes_to_up: 2,
        flap_window_seconds: 0,
        retry_interval_seconds: Some(1),
        enabled: true,
    }
}
