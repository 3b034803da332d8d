//! Automatic incidents for one component: what Herald posts by itself when its monitors and
//! alerts change the component's status.
//!
//! The runtime calls [`plan`] whenever the status the monitors call for (`wanted`) may have
//! changed, and on a timer so quiet periods can end. `plan` returns the next [`AutoState`] and
//! at most one [`Step`]. A [`Step::Write`] command is applied through the normal write flow with
//! the actor `automation`; afterwards the runtime passes the state and the page after the write
//! to [`committed`], which remembers the incident and the update Herald just posted. A
//! [`Step::Draft`] or [`Step::DropDraft`] only alerts the team.
//!
//! In `publish` mode the cycle is: operational → trouble opens an incident (investigating);
//! a different kind of trouble posts an update; checks passing again post `monitoring`; a
//! quiet period without trouble resolves it; trouble during the quiet period goes back to
//! investigating. A person who posts on the incident, resolves or deletes it takes it over:
//! automation leaves it alone, and opens another one only after the component was well again.

use super::{AutoIncidentMode, ComponentAutomation};
use crate::commands::{Command, IncidentInput};
use crate::model::{Component, Incident, PageDocument};
use crate::status::{ComponentStatus, Impact, IncidentStatus};
use crate::Id;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Where automation stands for one component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoPhase {
    /// Nothing open.
    #[default]
    Idle,
    /// A drafted incident waits for the team (draft mode).
    Draft,
    /// An automatic incident is open and the component is in trouble.
    Open,
    /// The automatic incident is in `monitoring`: checks pass again.
    Monitoring,
}

/// A drafted incident, shown to the team only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub title: String,
    pub body: String,
    pub status: ComponentStatus,
    pub created_at: DateTime<Utc>,
}

/// What automation remembers for one component (stored as JSON between restarts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoState {
    pub phase: AutoPhase,
    /// The automatic incident, once created.
    pub incident_id: Option<Id>,
    /// The trouble the incident or draft reports.
    pub status: Option<ComponentStatus>,
    /// Since when checks pass (in `monitoring`).
    pub healthy_since: Option<DateTime<Utc>>,
    /// Updates Herald posted on the incident; any other one means a person took over.
    pub own_updates: Vec<Id>,
    pub draft: Option<Draft>,
    /// A person took over; nothing is opened again until the component is well.
    pub held_off: bool,
}

/// What to do now.
#[derive(Clone, Debug)]
pub enum Step {
    /// Apply this command as `automation`, then call [`committed`].
    Write(Command),
    /// Tell the team about a drafted incident.
    Draft(Draft),
    /// Tell the team the drafted incident is no longer needed.
    DropDraft(Draft),
}

fn trouble(s: Option<ComponentStatus>) -> Option<ComponentStatus> {
    s.filter(|s| {
        !matches!(
            s,
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance
        )
    })
}

/// The impact an automatic incident gets for the trouble it reports.
pub fn impact_for(status: ComponentStatus) -> Impact {
    match status {
        ComponentStatus::MajorOutage => Impact::Critical,
        ComponentStatus::PartialOutage => Impact::Major,
        ComponentStatus::DegradedPerformance => Impact::Minor,
        ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Impact::None,
    }
}

/// "Major outage" from "Major Outage": labels read as words in sentences.
fn words(status: ComponentStatus) -> String {
    let label = status.label();
    let mut out = String::with_capacity(label.len());
    for (i, ch) in label.chars().enumerate() {
        if i == 0 {
            out.push(ch);
        } else {
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// Fills `{component}` and `{status}` in a title or body; `{status}` starts with a capital only
/// at the start of the text.
pub fn fill(template: &str, component: &str, status: ComponentStatus) -> String {
    let phrase = words(status);
    let lower = phrase.to_lowercase();
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("{component}") {
            out.push_str(component);
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("{status}") {
            out.push_str(if out.trim().is_empty() {
                &phrase
            } else {
                &lower
            });
            rest = tail;
        } else {
            out.push('{');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

fn update(
    incident: Id,
    status: IncidentStatus,
    body: String,
    components: Vec<(Id, ComponentStatus)>,
) -> Command {
    Command::UpdateIncident {
        id: incident,
        input: IncidentInput {
            status: Some(status),
            body: Some(body),
            components,
            ..IncidentInput::default()
        },
    }
}

/// Whether a person took the automatic incident over: it is gone, resolved by someone else, or
/// carries an update Herald did not post.
pub fn taken_over(state: &AutoState, incident: Option<&Incident>) -> bool {
    if !matches!(state.phase, AutoPhase::Open | AutoPhase::Monitoring) {
        return false;
    }
    let Some(id) = &state.incident_id else {
        return false;
    };
    match incident.filter(|i| &i.id == id) {
        None => true,
        Some(i) => {
            !i.status.is_unresolved()
                || i.updates.iter().any(|u| !state.own_updates.contains(&u.id))
        }
    }
}

/// The next state and step for `component`, given what its monitors and alerts call for.
pub fn plan(
    cfg: &ComponentAutomation,
    component: &Component,
    state: &AutoState,
    wanted: Option<ComponentStatus>,
    doc: &PageDocument,
    now: DateTime<Utc>,
) -> (AutoState, Option<Step>) {
    let mut next = state.clone();
    let bad = trouble(wanted);
    let well = wanted == Some(ComponentStatus::Operational);
    if well {
        next.held_off = false;
    }
    let incident = next
        .incident_id
        .as_ref()
        .and_then(|id| doc.incidents.iter().find(|i| &i.id == id));
    if taken_over(&next, incident) {
        return (
            AutoState {
                held_off: bad.is_some(),
                ..AutoState::default()
            },
            None,
        );
    }

    match (cfg.incidents, next.phase) {
        // Switched off, or a draft while the mode changed: let go.
        (AutoIncidentMode::Off, AutoPhase::Draft)
        | (AutoIncidentMode::Publish, AutoPhase::Draft) => {
            let dropped = next.draft.take();
            next = AutoState {
                held_off: next.held_off,
                ..AutoState::default()
            };
            (next, dropped.map(Step::DropDraft))
        }
        (AutoIncidentMode::Off, _)
        | (AutoIncidentMode::Draft, AutoPhase::Open | AutoPhase::Monitoring) => (
            AutoState {
                held_off: next.held_off,
                ..AutoState::default()
            },
            None,
        ),
        (AutoIncidentMode::Draft, AutoPhase::Idle) => match bad {
            Some(status) if !next.held_off => {
                let draft = Draft {
                    title: fill(&cfg.title, &component.name, status),
                    body: fill(&cfg.body, &component.name, status),
                    status,
                    created_at: now,
                };
                next.phase = AutoPhase::Draft;
                next.status = Some(status);
                next.draft = Some(draft.clone());
                (next, Some(Step::Draft(draft)))
            }
            _ => (next, None),
        },
        (AutoIncidentMode::Draft, AutoPhase::Draft) => {
            if well {
                let dropped = next.draft.take();
                (AutoState::default(), dropped.map(Step::DropDraft))
            } else {
                (next, None)
            }
        }
        (AutoIncidentMode::Publish, AutoPhase::Idle) => match bad {
            Some(status) if !next.held_off => {
                let command = Command::CreateIncident(IncidentInput {
                    name: Some(fill(&cfg.title, &component.name, status)),
                    status: Some(IncidentStatus::Investigating),
                    impact: Some(impact_for(status)),
                    body: Some(fill(&cfg.body, &component.name, status)),
                    components: vec![(component.id.clone(), status)],
                    ..IncidentInput::default()
                });
                next.phase = AutoPhase::Open;
                next.status = Some(status);
                next.incident_id = None;
                next.own_updates.clear();
                next.healthy_since = None;
                (next, Some(Step::Write(command)))
            }
            _ => (next, None),
        },
        (AutoIncidentMode::Publish, AutoPhase::Open) => {
            let Some(incident_id) = next.incident_id.clone() else {
                return (next, None);
            };
            if let Some(status) = bad {
                if Some(status) == next.status {
                    return (next, None);
                }
                next.status = Some(status);
                let body = format!(
                    "Our checks now see {} of {}.",
                    words(status).to_lowercase(),
                    component.name
                );
                let command = update(
                    incident_id,
                    IncidentStatus::Investigating,
                    body,
                    vec![(component.id.clone(), status)],
                );
                (next, Some(Step::Write(command)))
            } else if well {
                next.phase = AutoPhase::Monitoring;
                next.healthy_since = Some(now);
                let body = format!(
                    "Checks of {} pass again. We are monitoring the recovery.",
                    component.name
                );
                let command = update(
                    incident_id,
                    IncidentStatus::Monitoring,
                    body,
                    vec![(component.id.clone(), ComponentStatus::Operational)],
                );
                (next, Some(Step::Write(command)))
            } else {
                (next, None)
            }
        }
        (AutoIncidentMode::Publish, AutoPhase::Monitoring) => {
            let Some(incident_id) = next.incident_id.clone() else {
                return (next, None);
            };
            if let Some(status) = bad {
                next.phase = AutoPhase::Open;
                next.status = Some(status);
                next.healthy_since = None;
                let body = format!(
                    "The trouble is back: our checks see {} of {} again.",
                    words(status).to_lowercase(),
                    component.name
                );
                let command = update(
                    incident_id,
                    IncidentStatus::Investigating,
                    body,
                    vec![(component.id.clone(), status)],
                );
                return (next, Some(Step::Write(command)));
            }
            let quiet = TimeDelta::seconds(i64::from(cfg.quiet_period_seconds));
            match next.healthy_since {
                Some(since) if well && now - since >= quiet => {
                    let minutes = (now - since).num_seconds() as f64 / 60.0;
                    let body = format!(
                        "This incident has been resolved: checks of {} have passed for {}.",
                        component.name,
                        if minutes >= 2.0 {
                            format!("{} minutes", minutes.round())
                        } else {
                            format!("{} seconds", (now - since).num_seconds())
                        }
                    );
                    let command = update(
                        incident_id,
                        IncidentStatus::Resolved,
                        body,
                        vec![(component.id.clone(), ComponentStatus::Operational)],
                    );
                    (AutoState::default(), Some(Step::Write(command)))
                }
                _ => (next, None),
            }
        }
    }
}

/// Records what a [`Step::Write`] created: the incident (`subject` of a create) and the newest
/// update of the incident, which Herald just posted.
pub fn committed(mut state: AutoState, doc: &PageDocument, subject: Option<&Id>) -> AutoState {
    if !matches!(state.phase, AutoPhase::Open | AutoPhase::Monitoring) {
        return state;
    }
    if state.incident_id.is_none() {
        state.incident_id = subject.cloned();
    }
    let newest = state
        .incident_id
        .as_ref()
        .and_then(|id| doc.incidents.iter().find(|i| &i.id == id))
        .and_then(|i| i.updates.iter().max_by_key(|u| u.created_at))
        .map(|u| u.id.clone());
    if let Some(u) = newest {
        if !state.own_updates.contains(&u) {
            state.own_updates.push(u);
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{apply, Context};
    use crate::datafile::{DataFile, Format};
    use chrono::TimeZone;
    use ComponentStatus::*;

    const PAGE: &str = r#"
version = 1
[page]
id = "autopage0001"
name = "Auto"
url = "http://127.0.0.1"
time_zone = "Etc/UTC"
[[components]]
id = "autowebsite1"
name = "Website"
status = "operational"
created_at = "2026-01-01T00:00:00Z"
updated_at = "2026-01-01T00:00:00Z"
"#;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + secs, 0)
            .single()
            .expect("time")
    }

    struct World {
        doc: PageDocument,
        state: AutoState,
        cfg: ComponentAutomation,
        counter: u64,
    }

    impl World {
        fn new(mode: AutoIncidentMode) -> World {
            let doc = DataFile::parse(PAGE, Format::Toml)
                .expect("parse")
                .into_document(None, at(0))
                .expect("doc");
            let mut cfg = ComponentAutomation::new(Id::parse("autowebsite1").expect("id"));
            cfg.incidents = mode;
            cfg.quiet_period_seconds = 300;
            World {
                doc,
                state: AutoState::default(),
                cfg,
                counter: 0,
            }
        }

        fn component(&self) -> Component {
            self.doc.components[0].clone()
        }

        /// Plans and, for writes, applies the command like the runtime does.
        fn step(&mut self, wanted: Option<ComponentStatus>, secs: i64) -> Option<Step> {
            let (next, step) = plan(
                &self.cfg,
                &self.component(),
                &self.state,
                wanted,
                &self.doc,
                at(secs),
            );
            self.state = next;
            if let Some(Step::Write(command)) = &step {
                let subject = self.apply(command.clone(), secs);
                self.state = committed(self.state.clone(), &self.doc, subject.as_ref());
            }
            step
        }

        /// Applies a command, as automation or as a person.
        fn apply(&mut self, command: Command, secs: i64) -> Option<Id> {
            let counter = &mut self.counter;
            let mut new_id = || {
                *counter += 1;
                Id::from_bits(*counter * 7919)
            };
            let mut ctx = Context {
                now: at(secs),
                new_id: &mut new_id,
            };
            let out = crate::commands::apply(&self.doc, command, &mut ctx).expect("apply");
            self.doc = out.doc;
            out.subject
        }

        fn incident(&self) -> &Incident {
            &self.doc.incidents[0]
        }
    }

    #[test]
    fn publish_runs_the_whole_cycle() {
        let mut w = World::new(AutoIncidentMode::Publish);
        assert!(w.step(Some(Operational), 0).is_none());
        assert!(matches!(
            w.step(Some(MajorOutage), 10),
            Some(Step::Write(_))
        ));
        let i = w.incident();
        assert_eq!(i.name, "Major outage of Website");
        assert_eq!(i.status, IncidentStatus::Investigating);
        assert_eq!(i.impact, Impact::Critical);
        assert!(i.updates[0]
            .body
            .contains("We are investigating major outage of Website"));
        assert_eq!(w.state.phase, AutoPhase::Open);
        // The same trouble again posts nothing; a different one posts an update.
        assert!(w.step(Some(MajorOutage), 20).is_none());
        assert!(w.step(Some(PartialOutage), 30).is_some());
        assert_eq!(w.incident().updates.len(), 2);
        // Checks pass: monitoring; the quiet period is not over at 200 s.
        w.step(Some(Operational), 100);
        assert_eq!(w.incident().status, IncidentStatus::Monitoring);
        assert!(w.step(Some(Operational), 300).is_none());
        w.step(Some(Operational), 400);
        assert_eq!(w.incident().status, IncidentStatus::Resolved);
        assert_eq!(w.state, AutoState::default());
        assert_eq!(w.doc.components[0].status, Operational);
    }

    #[test]
    fn trouble_during_the_quiet_period_reopens() {
        let mut w = World::new(AutoIncidentMode::Publish);
        w.step(Some(DegradedPerformance), 0);
        assert_eq!(w.incident().impact, Impact::Minor);
        w.step(Some(Operational), 60);
        w.step(Some(DegradedPerformance), 120);
        assert_eq!(w.incident().status, IncidentStatus::Investigating);
        assert_eq!(w.state.phase, AutoPhase::Open);
        w.step(Some(Operational), 180);
        w.step(Some(Operational), 479);
        assert_eq!(w.incident().status, IncidentStatus::Monitoring);
        w.step(Some(Operational), 480);
        assert_eq!(w.incident().status, IncidentStatus::Resolved);
        assert_eq!(w.doc.incidents.len(), 1);
    }

    #[test]
    fn a_human_update_takes_over() {
        let mut w = World::new(AutoIncidentMode::Publish);
        w.step(Some(MajorOutage), 0);
        let id = w.incident().id.clone();
        w.apply(
            Command::UpdateIncident {
                id,
                input: IncidentInput {
                    status: Some(IncidentStatus::Identified),
                    body: Some("The primary database restarted; we are failing over.".into()),
                    ..IncidentInput::default()
                },
            },
            30,
        );
        // Automation stands back, even when checks pass.
        assert!(w.step(Some(Operational), 60).is_none());
        assert_eq!(w.state.phase, AutoPhase::Idle);
        assert_eq!(w.incident().status, IncidentStatus::Identified);
        assert!(w.step(Some(Operational), 1_000).is_none());
        // A later outage is a new automatic incident.
        assert!(w.step(Some(MajorOutage), 2_000).is_some());
        assert_eq!(w.doc.incidents.len(), 2);
    }

    #[test]
    fn takeover_during_trouble_holds_off_until_well() {
        let mut w = World::new(AutoIncidentMode::Publish);
        w.step(Some(MajorOutage), 0);
        let id = w.incident().id.clone();
        w.apply(Command::DeleteIncident { id }, 10);
        assert!(w.step(Some(MajorOutage), 20).is_none());
        assert!(w.state.held_off);
        assert!(w.step(Some(MajorOutage), 30).is_none());
        assert!(w.step(Some(Operational), 40).is_none());
        assert!(w.step(Some(MajorOutage), 50).is_some());
    }

    #[test]
    fn draft_mode_alerts_without_publishing() {
        let mut w = World::new(AutoIncidentMode::Draft);
        match w.step(Some(PartialOutage), 0) {
            Some(Step::Draft(d)) => {
                assert_eq!(d.title, "Partial outage of Website");
                assert_eq!(d.status, PartialOutage);
            }
            other => panic!("expected a draft, got {other:?}"),
        }
        assert!(w.doc.incidents.is_empty());
        assert!(w.step(Some(MajorOutage), 10).is_none());
        assert!(matches!(
            w.step(Some(Operational), 20),
            Some(Step::DropDraft(_))
        ));
        assert_eq!(w.state, AutoState::default());
    }

    #[test]
    fn off_mode_does_nothing_and_unknown_changes_nothing() {
        let mut w = World::new(AutoIncidentMode::Off);
        assert!(w.step(Some(MajorOutage), 0).is_none());
        assert!(w.doc.incidents.is_empty());
        let mut w = World::new(AutoIncidentMode::Publish);
        assert!(w.step(None, 0).is_none());
        w.step(Some(MajorOutage), 10);
        assert!(w.step(None, 20).is_none());
        assert_eq!(w.state.phase, AutoPhase::Open);
        // Maintenance is not trouble.
        let mut w = World::new(AutoIncidentMode::Publish);
        assert!(w.step(Some(UnderMaintenance), 0).is_none());
    }

    #[test]
    fn placeholders_fill_in() {
        assert_eq!(
            fill("{status} of {component}", "API", MajorOutage),
            "Major outage of API"
        );
        assert_eq!(
            fill(
                "We see {status} on {component} {x}",
                "API",
                DegradedPerformance
            ),
            "We see degraded performance on API {x}"
        );
        assert_eq!(impact_for(PartialOutage), Impact::Major);
        let _ = apply;
    }
}
