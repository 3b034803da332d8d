//! Automatic incidents and team alerts, around the pure planner in
//! `herald_core::monitor::automation`.
//!
//! Each component's [`AutoState`] lives here and in the store (so a restart continues an open
//! automatic incident). Planned commands go through `Service::apply(Actor::System("automation"), …)`, so
//! they are audited, recorded as incident events and shown at once like any write.

use super::Deps;
use super::Monitoring;
use crate::runtime::alerting::{AlertLevel, TeamAlert};
use crate::service::{Actor, Service};
use herald_core::monitor::automation::{self, AutoPhase, AutoState, Step};
use herald_core::monitor::{
    AutoIncidentMode, MonitorSpec, MonitorStatus, ProbeOutcome, Transition,
};
use herald_core::{ComponentStatus, Id};
use std::collections::HashMap;

/// The automation memory of every component, loaded from the store on first use.
#[derive(Default)]
pub(crate) struct Memory {
    loaded: bool,
    states: HashMap<Id, AutoState>,
}

async fn memory<'a>(
    monitoring: &'a Monitoring,
    state: &Service,
) -> Option<tokio::sync::MutexGuard<'a, Memory>> {
    let mut memory = monitoring.shared.automation.lock().await;
    if !memory.loaded {
        match state.store.automation_states().await {
            Ok(rows) => {
                for (component, value) in rows {
                    if let Ok(s) = serde_json::from_value::<AutoState>(value) {
                        memory.states.insert(component, s);
                    }
                }
                memory.loaded = true;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read automation state");
                return None;
            }
        }
    }
    Some(memory)
}

/// Incidents drafted by automation and waiting for a person, by component.
pub async fn drafts(monitoring: &Monitoring, state: &Service) -> Vec<(Id, automation::Draft)> {
    let Some(memory) = memory(monitoring, state).await else {
        return Vec::new();
    };
    let mut out: Vec<(Id, automation::Draft)> = memory
        .states
        .iter()
        .filter_map(|(c, s)| s.draft.clone().map(|d| (c.clone(), d)))
        .collect();
    out.sort_by_key(|(_, d)| d.created_at);
    out
}

/// Hands a drafted incident over to a person who publishes it: the draft is removed and
/// automation stands back until the component is well again (the person owns the incident).
pub async fn take_draft(
    monitoring: &Monitoring,
    state: &Service,
    component: &Id,
) -> Option<automation::Draft> {
    let mut memory = memory(monitoring, state).await?;
    let draft = memory.states.get(component)?.draft.clone()?;
    let next = AutoState {
        held_off: true,
        ..AutoState::default()
    };
    match serde_json::to_value(&next) {
        Ok(value) => {
            if let Err(e) = state.store.save_automation_state(component, &value).await {
                tracing::warn!(error = %e, "cannot store automation state");
                return None;
            }
        }
        Err(_) => return None,
    }
    memory.states.insert(component.clone(), next);
    Some(draft)
}

/// Re-plans components whose automatic incident waits for a quiet period to end.
pub(super) async fn tick(monitoring: &Monitoring, state: &Deps) {
    let waiting: Vec<Id> = match memory(monitoring, state).await {
        Some(m) => m
            .states
            .iter()
            .filter(|(_, s)| s.phase != AutoPhase::Idle)
            .map(|(c, _)| c.clone())
            .collect(),
        None => return,
    };
    for component in waiting {
        let wanted = monitoring.wanted_now(&component);
        run(monitoring, state, &component, wanted).await;
    }
}

/// A monitor's public status changed: tell the team.
pub(super) fn monitor_changed(
    state: &Deps,
    spec: &MonitorSpec,
    t: &Transition,
    outcome: &ProbeOutcome,
) {
    if t.from == MonitorStatus::Unknown && t.to == MonitorStatus::Up {
        return;
    }
    let word = |s: MonitorStatus| match s {
        MonitorStatus::Unknown => "unknown",
        MonitorStatus::Up => "up",
        MonitorStatus::Degraded => "degraded",
        MonitorStatus::Down => "down",
    };
    let level = match t.to {
        MonitorStatus::Down => AlertLevel::Down,
        MonitorStatus::Degraded => AlertLevel::Degraded,
        MonitorStatus::Up => AlertLevel::Up,
        MonitorStatus::Unknown => return,
    };
    let reason = match outcome {
        ProbeOutcome::Down { reason } | ProbeOutcome::Degraded { reason, .. } => {
            format!(": {reason}")
        }
        ProbeOutcome::Up { latency_ms } => format!(": answered in {latency_ms} ms"),
    };
    state.alert_team(TeamAlert {
        title: format!("Monitor {} is {}", spec.name, word(t.to)),
        text: format!(
            "{} went from {} to {}{reason}.",
            spec.name,
            word(t.from),
            word(t.to)
        ),
        level,
        link: Some(format!(
            "{}/admin/monitors/{}",
            state.site.page_url(),
            spec.id
        )),
        at: t.at,
    });
}

/// The component's status changed because of monitors or alerts: plan automatic incidents.
pub(super) async fn component_changed(
    monitoring: &Monitoring,
    state: &Deps,
    component: &Id,
    wanted: ComponentStatus,
) {
    run(monitoring, state, component, Some(wanted)).await;
}

async fn run(
    monitoring: &Monitoring,
    state: &Deps,
    component: &Id,
    wanted: Option<ComponentStatus>,
) {
    let cfg = match monitoring.shared.loaded.read() {
        Ok(l) => l.automation(component),
        Err(_) => return,
    };
    let Some(mut memory) = memory(monitoring, state).await else {
        return;
    };
    let current = memory.states.get(component).cloned().unwrap_or_default();
    if cfg.incidents == AutoIncidentMode::Off && current == AutoState::default() {
        return;
    }
    let doc = match state.store.load().await {
        Ok(Some(doc)) => doc,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "automation cannot read the page");
            return;
        }
    };
    let Some(comp) = doc.components.iter().find(|c| &c.id == component).cloned() else {
        return;
    };
    let now = (state.clock)();
    let (mut next, step) = automation::plan(&cfg, &comp, &current, wanted, &doc, now);
    match step {
        Some(Step::Write(command)) => match state.apply(&Actor::System("automation"), command).await {
            Ok(applied) => {
                next = automation::committed(next, &applied.doc, applied.subject.as_ref());
                if current.phase == AutoPhase::Idle && next.phase == AutoPhase::Open {
                    let incident = next.incident_id.clone();
                    state.alert_team(TeamAlert {
                        title: format!("Incident opened automatically for {}", comp.name),
                        text: format!(
                            "Herald published an incident because {} shows {}.",
                            comp.name,
                            wanted.map(|w| w.label()).unwrap_or("trouble")
                        ),
                        level: AlertLevel::Down,
                        link: incident.map(|i| format!("{}/incidents/{i}", state.site.page_url())),
                        at: now,
                    });
                }
            }
            Err(e) => {
                tracing::warn!(component = %component, error = %e, "automatic incident step failed");
                return;
            }
        },
        Some(Step::Draft(draft)) => state.alert_team(TeamAlert {
            title: format!("Drafted incident: {}", draft.title),
            text: format!(
                "{}\n\nNothing is public yet. Publish it from the admin dashboard if customers should know.",
                draft.body
            ),
            level: AlertLevel::Draft,
            link: Some(format!("{}/admin#drafts-title", state.site.page_url())),
            at: now,
        }),
        Some(Step::DropDraft(draft)) => state.alert_team(TeamAlert {
            title: format!("Draft withdrawn: {}", draft.title),
            text: format!("{} is operational again; the drafted incident is no longer needed.", comp.name),
            level: AlertLevel::Up,
            link: None,
            at: now,
        }),
        None => {}
    }
    if next != current {
        match serde_json::to_value(&next) {
            Ok(value) => {
                if let Err(e) = state.store.save_automation_state(component, &value).await {
                    tracing::warn!(error = %e, "cannot store automation state");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot encode automation state"),
        }
        memory.states.insert(component.clone(), next);
    }
}
