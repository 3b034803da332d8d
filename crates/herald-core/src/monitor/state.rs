//! The per-monitor state machine: probe outcomes in, a debounced status and a flap-guarded public
//! status out.
//!
//! The rules, in order:
//! - A down outcome counts a failure; `failures_to_down` consecutive failures make the monitor
//!   down. Fewer leave the status as it was.
//! - A degraded outcome applies at once (slowness is already a symptom, not a blip), except when
//!   the monitor is down: leaving down takes `successes_to_up` consecutive answers, up or degraded,
//!   and lands on the latest answer's status.
//! - An up outcome applies at once from unknown or up; from down or degraded it takes
//!   `successes_to_up` consecutive up outcomes.
//! - Flapping guard: the public status changes at most once per `flap_window_seconds`. A change
//!   wanted inside the window is held in `pending` and applied at the first observation after the
//!   window if it is still wanted; a held change whose status reverts to the public one is
//!   dropped. The first public change (from unknown) is never held and does not open the
//!   window: it is the monitor's first opinion, not a change anyone saw.

use super::{MonitorSpec, ProbeOutcome};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A monitor's status, as far as Herald can tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorStatus {
    /// Not enough results to say.
    #[default]
    Unknown,
    /// Answering well.
    Up,
    /// Answering, but slowly or with a warning.
    Degraded,
    /// Not answering, or answering wrongly.
    Down,
}

/// What Herald remembers about one monitor between probes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    /// The debounced status: what the thresholds say now.
    pub status: MonitorStatus,
    /// Down outcomes in a row.
    pub consecutive_failures: u32,
    /// Outcomes in a row counting towards recovery: up outcomes, or while down any answer.
    pub consecutive_successes: u32,
    /// The status shown to the outside (components, notifications), flap-guarded.
    pub public_status: MonitorStatus,
    /// When `public_status` last changed.
    pub last_public_change: Option<DateTime<Utc>>,
    /// A public change held back by the flapping guard.
    pub pending: Option<MonitorStatus>,
}

/// A change of a monitor's public status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The public status before.
    pub from: MonitorStatus,
    /// The public status after.
    pub to: MonitorStatus,
    /// When the observation that made the change was taken.
    pub at: DateTime<Utc>,
}

/// Feeds one probe outcome observed at `now` into `state`; returns the next state and the public
/// status change it causes, if any.
pub fn observe(
    state: MonitorState,
    outcome: &ProbeOutcome,
    spec: &MonitorSpec,
    now: DateTime<Utc>,
) -> (MonitorState, Option<Transition>) {
    let mut next = state;
    let recover_after = spec.successes_to_up.max(1);
    match outcome {
        ProbeOutcome::Down { .. } => {
            next.consecutive_successes = 0;
            next.consecutive_failures = next.consecutive_failures.saturating_add(1);
            if next.consecutive_failures >= spec.failures_to_down.max(1) {
                next.status = MonitorStatus::Down;
            }
        }
        ProbeOutcome::Degraded { .. } => {
            next.consecutive_failures = 0;
            if next.status == MonitorStatus::Down {
                next.consecutive_successes = next.consecutive_successes.saturating_add(1);
                if next.consecutive_successes >= recover_after {
                    next.status = MonitorStatus::Degraded;
                    next.consecutive_successes = 0;
                }
            } else {
                next.consecutive_successes = 0;
                next.status = MonitorStatus::Degraded;
            }
        }
        ProbeOutcome::Up { .. } => {
            next.consecutive_failures = 0;
            next.consecutive_successes = next.consecutive_successes.saturating_add(1);
            let recovering = matches!(next.status, MonitorStatus::Down | MonitorStatus::Degraded);
            if !recovering || next.consecutive_successes >= recover_after {
                next.status = MonitorStatus::Up;
            }
        }
    }

    if next.status == next.public_status {
        next.pending = None;
        return (next, None);
    }
    let window = TimeDelta::seconds(i64::from(spec.flap_window_seconds));
    let guarded = next
        .last_public_change
        .is_some_and(|last| now - last < window);
    if guarded {
        next.pending = Some(next.status);
        return (next, None);
    }
    let transition = Transition {
        from: next.public_status,
        to: next.status,
        at: now,
    };
    // Leaving `unknown` is a monitor's first opinion, not a change the public saw: it does not
    // open the flapping window, so a monitor that just came up can still go down at once.
    if next.public_status != MonitorStatus::Unknown {
        next.last_public_change = Some(now);
    }
    next.public_status = next.status;
    next.pending = None;
    (next, Some(transition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ProbeSpec;
    use crate::Id;
    use chrono::TimeZone;
    use MonitorStatus::*;

    fn spec(failures_to_down: u32, successes_to_up: u32, flap_window_seconds: u32) -> MonitorSpec {
        MonitorSpec {
            id: Id::derive("monitor:state"),
            name: "API".into(),
            component_id: None,
            probe: ProbeSpec::Tcp {
                host: "db".into(),
                port: 5432,
            },
            interval_seconds: 60,
            timeout_ms: 5_000,
            degraded_after_ms: None,
            failures_to_down,
            successes_to_up,
            flap_window_seconds,
            retry_interval_seconds: None,
            enabled: true,
        }
    }

    fn up() -> ProbeOutcome {
        ProbeOutcome::Up { latency_ms: 10 }
    }
    fn slow() -> ProbeOutcome {
        ProbeOutcome::Degraded {
            latency_ms: 900,
            reason: "slow".into(),
        }
    }
    fn down() -> ProbeOutcome {
        ProbeOutcome::Down {
            reason: "refused".into(),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .expect("valid time")
    }

    /// Feeds outcomes one per minute from `start`; returns the final state and every transition.
    fn run(
        spec: &MonitorSpec,
        state: MonitorState,
        start: i64,
        outcomes: &[ProbeOutcome],
    ) -> (MonitorState, Vec<Transition>) {
        let mut state = state;
        let mut transitions = Vec::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            let (next, t) = observe(state, outcome, spec, at(start + 60 * i as i64));
            state = next;
            transitions.extend(t);
        }
        (state, transitions)
    }

    /// A monitor that has been publicly up since long ago.
    fn settled_up() -> MonitorState {
        MonitorState {
            status: Up,
            public_status: Up,
            last_public_change: Some(at(-100_000)),
            ..MonitorState::default()
        }
    }

    #[test]
    fn first_answer_leaves_unknown_at_once() {
        let s = spec(3, 2, 300);
        let (state, t) = observe(MonitorState::default(), &up(), &s, at(0));
        assert_eq!(state.public_status, Up);
        assert_eq!(
            t,
            Some(Transition {
                from: Unknown,
                to: Up,
                at: at(0)
            })
        );
        // Failures below the threshold keep an unknown monitor unknown.
        let (state, t) = run(&s, MonitorState::default(), 0, &[down(), down()]);
        assert_eq!((state.status, state.public_status), (Unknown, Unknown));
        assert!(t.is_empty());
    }

    #[test]
    fn leaving_unknown_does_not_open_the_flapping_window() {
        // Up at once, then down within the 300 s window: shown, not held.
        let s = spec(1, 1, 300);
        let (state, _) = observe(MonitorState::default(), &up(), &s, at(0));
        assert_eq!(state.last_public_change, None);
        let (state, t) = observe(state, &down(), &s, at(10));
        assert_eq!(t.map(|t| (t.from, t.to)), Some((Up, Down)));
        // That change does open it: a quick recovery is held.
        let (state, t) = observe(state, &up(), &s, at(20));
        assert_eq!(t, None);
        assert_eq!(state.pending, Some(Up));
    }

    #[test]
    fn down_needs_exactly_n_consecutive_failures() {
        let s = spec(3, 2, 0);
        let (state, t) = run(&s, settled_up(), 0, &[down(), down()]);
        assert_eq!(state.status, Up);
        assert_eq!(state.consecutive_failures, 2);
        assert!(t.is_empty());
        let (state, t) = observe(state, &down(), &s, at(120));
        assert_eq!((state.status, state.public_status), (Down, Down));
        assert_eq!(
            t,
            Some(Transition {
                from: Up,
                to: Down,
                at: at(120)
            })
        );
        // A success in between starts the count again.
        let (state, _) = run(&s, settled_up(), 0, &[down(), down(), up(), down(), down()]);
        assert_eq!(state.status, Up);
        // With N = 1 one failure is enough.
        let (state, _) = run(&spec(1, 1, 0), settled_up(), 0, &[down()]);
        assert_eq!(state.status, Down);
    }

    #[test]
    fn recovery_needs_m_consecutive_successes() {
        let s = spec(1, 3, 0);
        let (state, _) = run(&s, settled_up(), 0, &[down(), up(), up()]);
        assert_eq!(state.status, Down);
        let (state, t) = observe(state, &up(), &s, at(1_000));
        assert_eq!(state.status, Up);
        assert_eq!(t.map(|t| (t.from, t.to)), Some((Down, Up)));
        // A failure resets the count.
        let (state, _) = run(
            &s,
            settled_up(),
            0,
            &[down(), up(), up(), down(), up(), up()],
        );
        assert_eq!(state.status, Down);
    }

    #[test]
    fn degraded_applies_at_once_and_recovery_needs_m() {
        let s = spec(3, 2, 0);
        let (state, t) = run(&s, settled_up(), 0, &[slow()]);
        assert_eq!(state.public_status, Degraded);
        assert_eq!(t.len(), 1);
        let (state, _) = run(&s, state, 60, &[up()]);
        assert_eq!(state.status, Degraded);
        let (state, _) = run(&s, state, 120, &[up()]);
        assert_eq!(state.status, Up);
        // From down, degraded answers also need M in a row.
        let (state, _) = run(&s, settled_up(), 0, &[down(), down(), down(), slow()]);
        assert_eq!(state.status, Down);
        let (state, _) = run(&s, state, 1_000, &[slow()]);
        assert_eq!(state.status, Degraded);
        // …and the count starts again for the way up.
        let (state, _) = run(&s, state, 2_000, &[up()]);
        assert_eq!(state.status, Degraded);
        // A mix of answers counts towards leaving down and lands on the latest.
        let (state, _) = run(&s, settled_up(), 0, &[down(), down(), down(), slow(), up()]);
        assert_eq!(state.status, Up);
    }

    #[test]
    fn flapping_guard_holds_then_applies() {
        let s = spec(1, 1, 300);
        let (state, t) = run(&s, settled_up(), 0, &[down()]);
        assert_eq!(t.len(), 1);
        // Up again after 60 s: wanted, but held.
        let (state, t) = observe(state, &up(), &s, at(60));
        assert!(t.is_none());
        assert_eq!((state.status, state.public_status), (Up, Down));
        assert_eq!(state.pending, Some(Up));
        // Still inside the window at 299 s.
        let (state, t) = observe(state, &up(), &s, at(299));
        assert!(t.is_none());
        assert_eq!(state.public_status, Down);
        // First observation at or after the window applies it.
        let (state, t) = observe(state, &up(), &s, at(300));
        assert_eq!(
            t,
            Some(Transition {
                from: Down,
                to: Up,
                at: at(300)
            })
        );
        assert_eq!(state.public_status, Up);
        assert_eq!(state.pending, None);
        assert_eq!(state.last_public_change, Some(at(300)));
    }

    #[test]
    fn held_change_that_reverts_is_dropped() {
        let s = spec(1, 1, 300);
        let (state, _) = run(&s, settled_up(), 0, &[down()]);
        let (state, _) = observe(state, &up(), &s, at(60));
        assert_eq!(state.pending, Some(Up));
        let (state, t) = observe(state, &down(), &s, at(120));
        assert!(t.is_none());
        assert_eq!(state.pending, None);
        // After the window nothing is left to apply while it stays down.
        let (state, t) = observe(state, &down(), &s, at(1_000));
        assert!(t.is_none());
        assert_eq!(state.public_status, Down);
    }

    #[test]
    fn only_public_changes_are_reported() {
        let s = spec(1, 1, 300);
        let outcomes = [down(), up(), down(), up(), slow(), down()];
        let (state, t) = run(&s, settled_up(), 0, &outcomes);
        // One change at 0 s; everything after is inside the window.
        assert_eq!(t.len(), 1);
        assert_eq!(state.public_status, Down);
        assert_eq!(state.pending, None);
        let (_, t) = run(&s, settled_up(), 0, &[down(), up(), slow()]);
        assert_eq!(t.len(), 1);
    }
}
