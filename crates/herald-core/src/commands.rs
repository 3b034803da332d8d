//! Domain commands: every change to a page — from the admin UI, either API, the CLI, a monitor
//! or an alert — is one of these, checked here and turned into the page's next state plus the
//! component status changes and incident events it causes. The store writes the result in one
//! transaction; nothing here does I/O.

use crate::model::*;
use crate::status::{ComponentStatus, Impact, IncidentStatus, MaintenanceStatus};
use crate::transitions::{incident_transition, maintenance_transition};
use crate::{history, Id};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Longest incident or update body accepted (Statuspage's limit).
pub const MAX_BODY: usize = 25_000;

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// Bad input; `field` names it the way the API caller wrote it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> CommandError {
    CommandError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn not_found(what: impl Into<String>) -> CommandError {
    CommandError::NotFound { what: what.into() }
}

/// What happened in an [`IncidentEvent`]; maintenances record `Created` and `StatusChanged` too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentEventKind {
    Created,
    /// An update was posted.
    Updated,
    StatusChanged,
    ComponentsChanged,
    Renamed,
    UpdateDeleted,
    PostmortemPublished,
    PostmortemReverted,
    Deleted,
}

impl IncidentEventKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [IncidentEventKind] = &[
        IncidentEventKind::Created,
        IncidentEventKind::Updated,
        IncidentEventKind::StatusChanged,
        IncidentEventKind::ComponentsChanged,
        IncidentEventKind::Renamed,
        IncidentEventKind::UpdateDeleted,
        IncidentEventKind::PostmortemPublished,
        IncidentEventKind::PostmortemReverted,
        IncidentEventKind::Deleted,
    ];

    /// The name stored and shown in the event log.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentEventKind::Created => "created",
            IncidentEventKind::Updated => "updated",
            IncidentEventKind::StatusChanged => "status_changed",
            IncidentEventKind::ComponentsChanged => "components_changed",
            IncidentEventKind::Renamed => "renamed",
            IncidentEventKind::UpdateDeleted => "update_deleted",
            IncidentEventKind::PostmortemPublished => "postmortem_published",
            IncidentEventKind::PostmortemReverted => "postmortem_reverted",
            IncidentEventKind::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for IncidentEventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to an incident, kept for timelines and time-to-tell figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub incident_id: Id,
    pub at: DateTime<Utc>,
    pub kind: IncidentEventKind,
    pub detail: serde_json::Value,
}

/// What a command produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub doc: PageDocument,
    pub changes: Vec<StatusChange>,
    pub events: Vec<IncidentEvent>,
    /// The object the command created or acted on.
    pub subject: Option<Id>,
}

/// Fields of a component; `None` leaves a field as it is (or takes the default on create).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ComponentInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<ComponentStatus>,
    pub group_id: Option<Option<Id>>,
    pub position: Option<i32>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    pub start_date: Option<Option<NaiveDate>>,
}

/// Fields of a component group.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GroupInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
    /// The components that make up the group (replacing the previous members).
    pub component_ids: Option<Vec<Id>>,
}

/// Fields of an incident, as Statuspage's manage API takes them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IncidentInput {
    pub name: Option<String>,
    pub status: Option<IncidentStatus>,
    pub impact: Option<Impact>,
    /// Text of the update this change posts.
    pub body: Option<String>,
    /// Components attached to the incident (replacing the previous list).
    pub component_ids: Option<Vec<Id>>,
    /// New statuses for components; they are attached too.
    pub components: Vec<(Id, ComponentStatus)>,
    pub deliver_notifications: Option<bool>,
    /// A historical incident: its times come from `backfill_date`; no component changes.
    pub backfilled: bool,
    pub backfill_date: Option<DateTime<Utc>>,
    /// When the trouble began, if earlier than now.
    pub started_at: Option<DateTime<Utc>>,
}

/// Fields of a scheduled maintenance.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MaintenanceInput {
    pub name: Option<String>,
    pub status: Option<MaintenanceStatus>,
    pub body: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub auto_start: Option<bool>,
    pub auto_complete: Option<bool>,
    pub component_ids: Option<Vec<Id>>,
    pub components: Vec<(Id, ComponentStatus)>,
    pub deliver_notifications: Option<bool>,
}

/// The editable part of a postmortem.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PostmortemInput {
    pub body: Option<String>,
    pub timeline_zone_label: Option<Option<String>>,
    pub timeline_note: Option<Option<String>>,
    pub timeline: Option<Vec<TimelineRow>>,
    pub contributing_factors: Option<String>,
    pub stabilization_steps: Option<String>,
    pub impact: Option<String>,
    pub corrective_actions: Option<String>,
}

/// Every change Herald knows how to make.
#[derive(Clone, Debug)]
pub enum Command {
    SetPage {
        name: Option<String>,
        url: Option<String>,
        time_zone: Option<String>,
    },
    CreateComponent(ComponentInput),
    UpdateComponent {
        id: Id,
        input: ComponentInput,
        cause: String,
    },
    DeleteComponent {
        id: Id,
    },
    CreateGroup(GroupInput),
    UpdateGroup {
        id: Id,
        input: GroupInput,
    },
    DeleteGroup {
        id: Id,
    },
    CreateIncident(IncidentInput),
    UpdateIncident {
        id: Id,
        input: IncidentInput,
    },
    DeleteIncident {
        id: Id,
    },
    EditUpdate {
        incident: Id,
        update: Id,
        body: Option<String>,
        display_at: Option<DateTime<Utc>>,
        deliver_notifications: Option<bool>,
    },
    /// Removes one update from an incident; the incident keeps at least one.
    DeleteUpdate {
        incident: Id,
        update: Id,
    },
    SavePostmortem {
        incident: Id,
        input: PostmortemInput,
    },
    PublishPostmortem {
        incident: Id,
    },
    RevertPostmortem {
        incident: Id,
    },
    DeletePostmortem {
        incident: Id,
    },
    CreateMaintenance(MaintenanceInput),
    UpdateMaintenance {
        id: Id,
        input: MaintenanceInput,
    },
    DeleteMaintenance {
        id: Id,
    },
    /// Moves maintenances whose window opened or closed, for those set to move by themselves.
    AdvanceMaintenances,
}

impl Command {
    /// A short name for audit logs, e.g. `incident.update`.
    pub fn action(&self) -> &'static str {
        match self {
            Command::SetPage { .. } => "page.update",
            Command::CreateComponent(_) => "component.create",
            Command::UpdateComponent { .. } => "component.update",
            Command::DeleteComponent { .. } => "component.delete",
            Command::CreateGroup(_) => "group.create",
            Command::UpdateGroup { .. } => "group.update",
            Command::DeleteGroup { .. } => "group.delete",
            Command::CreateIncident(_) => "incident.create",
            Command::UpdateIncident { .. } => "incident.update",
            Command::DeleteIncident { .. } => "incident.delete",
            Command::EditUpdate { .. } => "incident_update.edit",
            Command::DeleteUpdate { .. } => "incident_update.delete",
            Command::SavePostmortem { .. } => "postmortem.save",
            Command::PublishPostmortem { .. } => "postmortem.publish",
            Command::RevertPostmortem { .. } => "postmortem.revert",
            Command::DeletePostmortem { .. } => "postmortem.delete",
            Command::CreateMaintenance(_) => "maintenance.create",
            Command::UpdateMaintenance { .. } => "maintenance.update",
            Command::DeleteMaintenance { .. } => "maintenance.delete",
            Command::AdvanceMaintenances => "maintenance.advance",
        }
    }
}

/// Time and fresh ids for a command.
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub new_id: &'a mut dyn FnMut() -> Id,
}

fn check_name(field: &str, name: &str) -> Result<String, CommandError> {
    let name = name.trim();
    if name.is_empty() {
        Err(invalid(field, "must not be blank"))
    } else if name.chars().count() > crate::datafile::MAX_NAME {
        Err(invalid(
            field,
            format!("must be at most {} characters", crate::datafile::MAX_NAME),
        ))
    } else {
        Ok(name.to_string())
    }
}

fn check_body(body: &str) -> Result<(), CommandError> {
    if body.chars().count() > MAX_BODY {
        Err(invalid(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ))
    } else {
        Ok(())
    }
}

impl From<crate::text::TextError> for CommandError {
    fn from(e: crate::text::TextError) -> Self {
        invalid(e.field, e.message)
    }
}

/// Refuses control characters in every text a command carries, before anything else is
/// checked: names, titles, URLs and zones are single lines; bodies and descriptions may hold
/// newlines and tabs (see [`crate::text`]).
fn check_texts(command: &Command) -> Result<(), CommandError> {
    use crate::text::{line_opt, multiline_opt};
    match command {
        Command::SetPage {
            name,
            url,
            time_zone,
        } => {
            line_opt("name", name.as_deref())?;
            line_opt("url", url.as_deref())?;
            line_opt("time_zone", time_zone.as_deref())?;
        }
        Command::CreateComponent(input) | Command::UpdateComponent { input, .. } => {
            line_opt("name", input.name.as_deref())?;
            multiline_opt(
                "description",
                input.description.as_ref().and_then(|d| d.as_deref()),
            )?;
        }
        Command::CreateGroup(input) | Command::UpdateGroup { input, .. } => {
            line_opt("name", input.name.as_deref())?;
            multiline_opt(
                "description",
                input.description.as_ref().and_then(|d| d.as_deref()),
            )?;
        }
        Command::CreateIncident(input) | Command::UpdateIncident { input, .. } => {
            line_opt("name", input.name.as_deref())?;
            multiline_opt("body", input.body.as_deref())?;
        }
        Command::EditUpdate { body, .. } => multiline_opt("body", body.as_deref())?,
        Command::SavePostmortem { input, .. } => {
            multiline_opt("body", input.body.as_deref())?;
            line_opt(
                "timeline_zone_label",
                input
                    .timeline_zone_label
                    .as_ref()
                    .and_then(|z| z.as_deref()),
            )?;
            multiline_opt(
                "timeline_note",
                input.timeline_note.as_ref().and_then(|n| n.as_deref()),
            )?;
            for (n, row) in input.timeline.iter().flatten().enumerate() {
                multiline_opt(&format!("timeline[{n}].activity"), Some(&row.activity))?;
            }
            for (field, text) in [
                ("contributing_factors", &input.contributing_factors),
                ("stabilization_steps", &input.stabilization_steps),
                ("impact", &input.impact),
                ("corrective_actions", &input.corrective_actions),
            ] {
                multiline_opt(field, text.as_deref())?;
            }
        }
        Command::CreateMaintenance(input) | Command::UpdateMaintenance { input, .. } => {
            line_opt("name", input.name.as_deref())?;
            multiline_opt("body", input.body.as_deref())?;
        }
        Command::DeleteComponent { .. }
        | Command::DeleteGroup { .. }
        | Command::DeleteIncident { .. }
        | Command::DeleteUpdate { .. }
        | Command::PublishPostmortem { .. }
        | Command::RevertPostmortem { .. }
        | Command::DeletePostmortem { .. }
        | Command::DeleteMaintenance { .. }
        | Command::AdvanceMaintenances => {}
    }
    Ok(())
}

/// The impact components' statuses suggest when the caller gives none.
fn impact_from(statuses: impl IntoIterator<Item = ComponentStatus>) -> Impact {
    match ComponentStatus::worst(statuses) {
        ComponentStatus::MajorOutage => Impact::Critical,
        ComponentStatus::PartialOutage => Impact::Major,
        ComponentStatus::DegradedPerformance => Impact::Minor,
        _ => Impact::None,
    }
}

struct Work<'a, 'b> {
    doc: PageDocument,
    changes: Vec<StatusChange>,
    events: Vec<IncidentEvent>,
    ctx: &'a mut Context<'b>,
}

impl Work<'_, '_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    fn id(&mut self) -> Id {
        (self.ctx.new_id)()
    }

    fn component_index(&self, id: &Id, field: &str) -> Result<usize, CommandError> {
        self.doc
            .components
            .iter()
            .position(|c| &c.id == id)
            .ok_or_else(|| invalid(field, format!("no component has id `{id}` on this page")))
    }

    fn event(&mut self, incident: &Id, kind: IncidentEventKind, detail: serde_json::Value) {
        self.events.push(IncidentEvent {
            incident_id: incident.clone(),
            at: self.now(),
            kind,
            detail,
        });
    }

    /// Sets component statuses, recording each real change; returns what the update shows.
    fn set_statuses(
        &mut self,
        wanted: &[(Id, ComponentStatus)],
        field: &str,
        cause: &str,
    ) -> Result<Vec<AffectedComponent>, CommandError> {
        let mut affected = Vec::new();
        for (id, status) in wanted {
            let i = self.component_index(id, &format!("{field}.{id}"))?;
            let now = self.now();
            let component = &mut self.doc.components[i];
            let old = component.status;
            if let Some(change) = history::change(id, Some(old), *status, now, cause) {
                component.status = *status;
                component.updated_at = now;
                self.changes.push(change);
            }
            affected.push(AffectedComponent {
                component_id: id.clone(),
                old_status: old,
                new_status: *status,
            });
        }
        Ok(affected)
    }

    fn check_components(&self, ids: &[Id], field: &str) -> Result<(), CommandError> {
        for (n, id) in ids.iter().enumerate() {
            self.component_index(id, &format!("{field}[{n}]"))?;
        }
        Ok(())
    }

    fn incident_index(&self, id: &Id) -> Result<usize, CommandError> {
        self.doc
            .incidents
            .iter()
            .position(|i| &i.id == id)
            .ok_or_else(|| not_found(format!("incident {id}")))
    }

    fn maintenance_index(&self, id: &Id) -> Result<usize, CommandError> {
        self.doc
            .maintenances
            .iter()
            .position(|m| &m.id == id)
            .ok_or_else(|| not_found(format!("maintenance {id}")))
    }

    fn next_position(&self, group: Option<&Id>) -> i32 {
        let in_components = self
            .doc
            .components
            .iter()
            .filter(|c| c.group_id.as_ref() == group)
            .map(|c| c.position);
        let in_groups = self
            .doc
            .groups
            .iter()
            .filter(|_| group.is_none())
            .map(|g| g.position);
        in_components.chain(in_groups).max().unwrap_or(0) + 1
    }
}

/// Checks `command` against `doc` and returns the page it leads to. `doc` is left untouched.
pub fn apply(
    doc: &PageDocument,
    command: Command,
    ctx: &mut Context,
) -> Result<Outcome, CommandError> {
    let mut w = Work {
        doc: doc.clone(),
        changes: vec![],
        events: vec![],
        ctx,
    };
    check_texts(&command)?;
    let subject = run(&mut w, command)?;
    crate::datafile::sort_document(&mut w.doc);
    Ok(Outcome {
        doc: w.doc,
        changes: w.changes,
        events: w.events,
        subject,
    })
}

fn run(w: &mut Work, command: Command) -> Result<Option<Id>, CommandError> {
    match command {
        Command::SetPage {
            name,
            url,
            time_zone,
        } => {
            if let Some(n) = name {
                w.doc.page.name = check_name("name", &n)?;
            }
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(invalid("url", "must start with http:// or https://"));
                }
                w.doc.page.url = u;
            }
            if let Some(z) = time_zone {
                if crate::timefmt::zone(&z).is_none() {
                    return Err(invalid(
                        "time_zone",
                        format!("`{z}` is not an IANA time zone name"),
                    ));
                }
                w.doc.page.time_zone = z;
            }
            Ok(Some(w.doc.page.id.clone()))
        }
        Command::CreateComponent(input) => create_component(w, input),
        Command::UpdateComponent { id, input, cause } => update_component(w, id, input, &cause),
        Command::DeleteComponent { id } => {
            let i = w
                .doc
                .components
                .iter()
                .position(|c| c.id == id)
                .ok_or_else(|| not_found(format!("component {id}")))?;
            w.doc.components.remove(i);
            for inc in &mut w.doc.incidents {
                inc.component_ids.retain(|c| c != &id);
                for u in &mut inc.updates {
                    u.affected_components.retain(|a| a.component_id != id);
                }
            }
            for m in &mut w.doc.maintenances {
                m.component_ids.retain(|c| c != &id);
                for u in &mut m.updates {
                    u.affected_components.retain(|a| a.component_id != id);
                }
            }
            Ok(Some(id))
        }
        Command::CreateGroup(input) => {
            let name = check_name("name", input.name.as_deref().unwrap_or(""))?;
            let id = w.id();
            let now = w.now();
            let position = input.position.unwrap_or_else(|| w.next_position(None));
            w.doc.groups.push(ComponentGroup {
                id: id.clone(),
                name,
                description: input.description.flatten(),
                position,
                created_at: now,
                updated_at: now,
            });
            set_members(w, &id, input.component_ids.unwrap_or_default())?;
            Ok(Some(id))
        }
        Command::UpdateGroup { id, input } => {
            let i = w
                .doc
                .groups
                .iter()
                .position(|g| g.id == id)
                .ok_or_else(|| not_found(format!("component group {id}")))?;
            let now = w.now();
            if let Some(n) = &input.name {
                w.doc.groups[i].name = check_name("name", n)?;
            }
            patch(&mut w.doc.groups[i].description, input.description);
            patch(&mut w.doc.groups[i].position, input.position);
            w.doc.groups[i].updated_at = now;
            if let Some(members) = input.component_ids {
                set_members(w, &id, members)?;
            }
            Ok(Some(id))
        }
        Command::DeleteGroup { id } => {
            let i = w
                .doc
                .groups
                .iter()
                .position(|g| g.id == id)
                .ok_or_else(|| not_found(format!("component group {id}")))?;
            w.doc.groups.remove(i);
            let now = w.now();
            for c in w
                .doc
                .components
                .iter_mut()
                .filter(|c| c.group_id.as_ref() == Some(&id))
            {
                c.group_id = None;
                c.updated_at = now;
            }
            Ok(Some(id))
        }
        Command::CreateIncident(input) => create_incident(w, input),
        Command::UpdateIncident { id, input } => update_incident(w, id, input),
        Command::DeleteIncident { id } => {
            let i = w.incident_index(&id)?;
            w.doc.incidents.remove(i);
            w.event(&id, IncidentEventKind::Deleted, serde_json::Value::Null);
            Ok(Some(id))
        }
        Command::EditUpdate {
            incident,
            update,
            body,
            display_at,
            deliver_notifications,
        } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            let u = inc
                .updates
                .iter_mut()
                .find(|u| u.id == update)
                .ok_or_else(|| not_found(format!("incident update {update}")))?;
            if let Some(b) = body {
                check_body(&b)?;
                u.body = b;
            }
            if let Some(t) = display_at {
                u.display_at = t;
            }
            if let Some(d) = deliver_notifications {
                u.deliver_notifications = d;
            }
            u.updated_at = now;
            inc.updates
                .sort_by_key(|u| std::cmp::Reverse((u.display_at, u.created_at)));
            inc.updated_at = now;
            Ok(Some(update))
        }
        Command::DeleteUpdate { incident, update } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            let at = inc
                .updates
                .iter()
                .position(|u| u.id == update)
                .ok_or_else(|| not_found(format!("incident update {update}")))?;
            if inc.updates.len() == 1 {
                return Err(invalid(
                    "update",
                    "an incident keeps at least one update; delete the incident instead",
                ));
            }
            inc.updates.remove(at);
            if inc.status != IncidentStatus::Postmortem {
                if let Some(newest) = inc.updates.first() {
                    inc.status = newest.status;
                }
            }
            let reached = |s: IncidentStatus| {
                inc.updates
                    .iter()
                    .filter(|u| u.status == s)
                    .map(|u| u.display_at)
                    .min()
            };
            inc.monitoring_at = reached(IncidentStatus::Monitoring);
            inc.resolved_at = if inc.status.is_unresolved() {
                None
            } else {
                reached(IncidentStatus::Resolved)
            };
            inc.updated_at = now;
            w.event(
                &incident,
                IncidentEventKind::UpdateDeleted,
                serde_json::json!({"update": update}),
            );
            Ok(Some(incident))
        }
        Command::SavePostmortem { incident, input } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            let mut pm = inc.postmortem.clone().unwrap_or(Postmortem {
                body: String::new(),
                timeline_zone_label: None,
                timeline_note: None,
                timeline: vec![],
                contributing_factors: String::new(),
                stabilization_steps: String::new(),
                impact: String::new(),
                corrective_actions: String::new(),
                published_at: None,
                updated_at: now,
            });
            for (field, text) in [
                ("body", &input.body),
                ("contributing_factors", &input.contributing_factors),
                ("stabilization_steps", &input.stabilization_steps),
                ("impact", &input.impact),
                ("corrective_actions", &input.corrective_actions),
            ] {
                if text.as_ref().is_some_and(|t| t.chars().count() > MAX_BODY) {
                    return Err(invalid(
                        field,
                        format!("must be at most {MAX_BODY} characters"),
                    ));
                }
            }
            patch(&mut pm.body, input.body);
            patch(&mut pm.timeline_zone_label, input.timeline_zone_label);
            patch(&mut pm.timeline_note, input.timeline_note);
            if let Some(rows) = input.timeline {
                if let Some(n) = rows.iter().position(|r| r.activity.trim().is_empty()) {
                    return Err(invalid(
                        format!("timeline[{n}].activity"),
                        "must not be blank",
                    ));
                }
                pm.timeline = rows;
            }
            patch(&mut pm.contributing_factors, input.contributing_factors);
            patch(&mut pm.stabilization_steps, input.stabilization_steps);
            patch(&mut pm.impact, input.impact);
            patch(&mut pm.corrective_actions, input.corrective_actions);
            pm.updated_at = now;
            inc.postmortem = Some(pm);
            inc.updated_at = now;
            Ok(Some(incident))
        }
        Command::PublishPostmortem { incident } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            let pm = inc
                .postmortem
                .as_mut()
                .ok_or_else(|| not_found(format!("postmortem of incident {incident}")))?;
            if !matches!(
                inc.status,
                IncidentStatus::Resolved | IncidentStatus::Postmortem
            ) {
                return Err(invalid(
                    "status",
                    "resolve the incident before publishing its postmortem",
                ));
            }
            pm.published_at = Some(now);
            pm.updated_at = now;
            inc.status = IncidentStatus::Postmortem;
            inc.updated_at = now;
            w.event(
                &incident,
                IncidentEventKind::PostmortemPublished,
                serde_json::Value::Null,
            );
            Ok(Some(incident))
        }
        Command::RevertPostmortem { incident } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            let pm = inc
                .postmortem
                .as_mut()
                .ok_or_else(|| not_found(format!("postmortem of incident {incident}")))?;
            pm.published_at = None;
            pm.updated_at = now;
            if inc.status == IncidentStatus::Postmortem {
                inc.status = IncidentStatus::Resolved;
            }
            inc.updated_at = now;
            w.event(
                &incident,
                IncidentEventKind::PostmortemReverted,
                serde_json::Value::Null,
            );
            Ok(Some(incident))
        }
        Command::DeletePostmortem { incident } => {
            let i = w.incident_index(&incident)?;
            let now = w.now();
            let inc = &mut w.doc.incidents[i];
            if inc.postmortem.take().is_none() {
                return Err(not_found(format!("postmortem of incident {incident}")));
            }
            if inc.status == IncidentStatus::Postmortem {
                inc.status = IncidentStatus::Resolved;
            }
            inc.updated_at = now;
            Ok(Some(incident))
        }
        Command::CreateMaintenance(input) => create_maintenance(w, input),
        Command::UpdateMaintenance { id, input } => update_maintenance(w, id, input),
        Command::DeleteMaintenance { id } => {
            let i = w.maintenance_index(&id)?;
            w.doc.maintenances.remove(i);
            Ok(Some(id))
        }
        Command::AdvanceMaintenances => {
            for (id, status) in due_maintenances(&w.doc, w.now()) {
                let body = match status {
                    MaintenanceStatus::InProgress => {
                        "Scheduled maintenance is currently in progress."
                    }
                    _ => "The scheduled maintenance has been completed.",
                };
                let input = MaintenanceInput {
                    status: Some(status),
                    body: Some(body.into()),
                    ..Default::default()
                };
                update_maintenance(w, id, input)?;
            }
            Ok(None)
        }
    }
}

/// Overwrites `slot` with `value` when one is given: how every optional input field applies.
fn patch<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Maintenances set to move by themselves whose window opened or closed by `now`, with the
/// status each moves to.
pub fn due_maintenances(doc: &PageDocument, now: DateTime<Utc>) -> Vec<(Id, MaintenanceStatus)> {
    doc.maintenances
        .iter()
        .filter_map(|m| {
            if m.auto_complete
                && m.status != MaintenanceStatus::Completed
                && now >= m.scheduled_until
            {
                Some((m.id.clone(), MaintenanceStatus::Completed))
            } else if m.auto_start
                && m.status == MaintenanceStatus::Scheduled
                && now >= m.scheduled_for
            {
                Some((m.id.clone(), MaintenanceStatus::InProgress))
            } else {
                None
            }
        })
        .collect()
}

fn set_members(w: &mut Work, group: &Id, members: Vec<Id>) -> Result<(), CommandError> {
    w.check_components(&members, "components")?;
    let now = w.now();
    let mut position = 0;
    for c in &mut w.doc.components {
        let wanted = members.contains(&c.id);
        if c.group_id.as_ref() == Some(group) && !wanted {
            c.group_id = None;
            c.updated_at = now;
        }
    }
    for id in &members {
        position += 1;
        if let Some(c) = w.doc.components.iter_mut().find(|c| &c.id == id) {
            if c.group_id.as_ref() != Some(group) || c.position != position {
                c.group_id = Some(group.clone());
                c.position = position;
                c.updated_at = now;
            }
        }
    }
    Ok(())
}

fn create_component(w: &mut Work, input: ComponentInput) -> Result<Option<Id>, CommandError> {
    let name = check_name("name", input.name.as_deref().unwrap_or(""))?;
    let group_id = input.group_id.flatten();
    if let Some(g) = &group_id {
        if !w.doc.groups.iter().any(|x| &x.id == g) {
            return Err(invalid(
                "group_id",
                format!("no component group has id `{g}` on this page"),
            ));
        }
    }
    let id = w.id();
    let now = w.now();
    let status = input.status.unwrap_or(ComponentStatus::Operational);
    let position = input
        .position
        .unwrap_or_else(|| w.next_position(group_id.as_ref()));
    w.doc.components.push(Component {
        id: id.clone(),
        group_id,
        name,
        description: input.description.flatten(),
        position,
        status,
        showcase: input.showcase.unwrap_or(true),
        only_show_if_degraded: input.only_show_if_degraded.unwrap_or(false),
        start_date: input.start_date.flatten(),
        created_at: now,
        updated_at: now,
    });
    if let Some(change) = history::change(&id, None, status, now, "manual") {
        w.changes.push(change);
    }
    Ok(Some(id))
}

fn update_component(
    w: &mut Work,
    id: Id,
    input: ComponentInput,
    cause: &str,
) -> Result<Option<Id>, CommandError> {
    let i = w
        .doc
        .components
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| not_found(format!("component {id}")))?;
    if let Some(Some(g)) = &input.group_id {
        if !w.doc.groups.iter().any(|x| &x.id == g) {
            return Err(invalid(
                "group_id",
                format!("no component group has id `{g}` on this page"),
            ));
        }
    }
    let name = input
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    if let Some(status) = input.status {
        w.set_statuses(&[(id.clone(), status)], "status", cause)?;
    }
    let now = w.now();
    let c = &mut w.doc.components[i];
    if let Some(n) = name {
        c.name = n;
    }
    patch(&mut c.description, input.description);
    patch(&mut c.group_id, input.group_id);
    patch(&mut c.position, input.position);
    patch(&mut c.showcase, input.showcase);
    patch(&mut c.only_show_if_degraded, input.only_show_if_degraded);
    patch(&mut c.start_date, input.start_date);
    c.updated_at = now;
    Ok(Some(id))
}

fn create_incident(w: &mut Work, input: IncidentInput) -> Result<Option<Id>, CommandError> {
    let name = check_name("name", input.name.as_deref().unwrap_or(""))?;
    let body = input.body.clone().unwrap_or_default();
    check_body(&body)?;
    if let Some(ids) = &input.component_ids {
        w.check_components(ids, "component_ids")?;
    }
    let id = w.id();
    let now = w.now();
    let (status, at, affected) = if input.backfilled {
        if !input.components.is_empty() {
            return Err(invalid(
                "components",
                "a backfilled incident cannot change component statuses",
            ));
        }
        let at = input.backfill_date.unwrap_or(now);
        if at > now {
            return Err(invalid("backfill_date", "must not be in the future"));
        }
        (input.status.unwrap_or(IncidentStatus::Resolved), at, vec![])
    } else {
        let affected =
            w.set_statuses(&input.components, "components", &format!("incident:{id}"))?;
        (
            input.status.unwrap_or(IncidentStatus::Investigating),
            now,
            affected,
        )
    };
    if status == IncidentStatus::Postmortem {
        return Err(invalid("status", "an incident cannot start in postmortem"));
    }
    let mut component_ids = input.component_ids.clone().unwrap_or_default();
    for (c, _) in &input.components {
        if !component_ids.contains(c) {
            component_ids.push(c.clone());
        }
    }
    let impact = input
        .impact
        .unwrap_or_else(|| impact_from(input.components.iter().map(|(_, s)| *s)));
    if impact == Impact::Maintenance {
        return Err(invalid(
            "impact_override",
            "an incident's impact is none, minor, major or critical",
        ));
    }
    let update = Update {
        id: w.id(),
        status,
        body,
        display_at: at,
        created_at: at,
        updated_at: at,
        affected_components: affected,
        deliver_notifications: !input.backfilled && input.deliver_notifications.unwrap_or(true),
    };
    let started_at = input.started_at.filter(|s| *s <= at).unwrap_or(at);
    w.doc.incidents.push(Incident {
        id: id.clone(),
        name,
        status,
        impact,
        shortlink: None,
        created_at: at,
        started_at,
        monitoring_at: (status == IncidentStatus::Monitoring).then_some(at),
        resolved_at: (status == IncidentStatus::Resolved).then_some(at),
        updated_at: at,
        backfilled: input.backfilled,
        component_ids,
        updates: vec![update],
        postmortem: None,
    });
    w.event(
        &id,
        IncidentEventKind::Created,
        serde_json::json!({"status": status.as_str(), "impact": impact.as_str()}),
    );
    Ok(Some(id))
}

fn update_incident(w: &mut Work, id: Id, input: IncidentInput) -> Result<Option<Id>, CommandError> {
    let i = w.incident_index(&id)?;
    let name = input
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    if let Some(b) = &input.body {
        check_body(b)?;
    }
    if let Some(ids) = &input.component_ids {
        w.check_components(ids, "component_ids")?;
    }
    if input.impact == Some(Impact::Maintenance) {
        return Err(invalid(
            "impact_override",
            "an incident's impact is none, minor, major or critical",
        ));
    }
    let current = w.doc.incidents[i].status;
    if let Some(s) = input.status {
        incident_transition(current, s).map_err(|e| invalid("status", e.to_string()))?;
    }
    let affected = w.set_statuses(&input.components, "components", &format!("incident:{id}"))?;
    let now = w.now();
    let posts_update =
        input.status.is_some() || input.body.is_some() || !input.components.is_empty();
    let update_id = posts_update.then(|| w.id());
    let mut events = vec![];
    let inc = &mut w.doc.incidents[i];
    if let Some(n) = name {
        if n != inc.name {
            events.push((
                IncidentEventKind::Renamed,
                serde_json::json!({"from": inc.name, "to": n}),
            ));
            inc.name = n;
        }
    }
    patch(&mut inc.impact, input.impact);
    patch(&mut inc.component_ids, input.component_ids);
    for (c, _) in &input.components {
        if !inc.component_ids.contains(c) {
            inc.component_ids.push(c.clone());
        }
    }
    let status = input.status.unwrap_or(current);
    if status != current {
        events.push((
            IncidentEventKind::StatusChanged,
            serde_json::json!({"from": current.as_str(), "to": status.as_str()}),
        ));
    }
    if !affected.is_empty() {
        events.push((
            IncidentEventKind::ComponentsChanged,
            serde_json::to_value(&affected).unwrap_or_default(),
        ));
    }
    if let Some(uid) = update_id {
        inc.status = status;
        if status == IncidentStatus::Monitoring && inc.monitoring_at.is_none() {
            inc.monitoring_at = Some(now);
        }
        if status == IncidentStatus::Resolved && inc.resolved_at.is_none() {
            inc.resolved_at = Some(now);
        }
        if status.is_unresolved() {
            inc.resolved_at = None;
        }
        inc.updates.insert(
            0,
            Update {
                id: uid,
                status,
                body: input.body.unwrap_or_default(),
                display_at: now,
                created_at: now,
                updated_at: now,
                affected_components: affected,
                deliver_notifications: input.deliver_notifications.unwrap_or(true),
            },
        );
        events.push((
            IncidentEventKind::Updated,
            serde_json::json!({"status": status.as_str()}),
        ));
    }
    inc.updated_at = now;
    for (kind, detail) in events {
        w.event(&id, kind, detail);
    }
    Ok(Some(id))
}

fn create_maintenance(w: &mut Work, input: MaintenanceInput) -> Result<Option<Id>, CommandError> {
    let name = check_name("name", input.name.as_deref().unwrap_or(""))?;
    let from = input
        .scheduled_for
        .ok_or_else(|| invalid("scheduled_for", "is required"))?;
    let until = input
        .scheduled_until
        .ok_or_else(|| invalid("scheduled_until", "is required"))?;
    if until <= from {
        return Err(invalid("scheduled_until", "must be after scheduled_for"));
    }
    let body = input.body.clone().unwrap_or_default();
    check_body(&body)?;
    let mut component_ids = input.component_ids.clone().unwrap_or_default();
    w.check_components(&component_ids, "component_ids")?;
    let id = w.id();
    let affected = w.set_statuses(
        &input.components,
        "components",
        &format!("maintenance:{id}"),
    )?;
    for (c, _) in &input.components {
        if !component_ids.contains(c) {
            component_ids.push(c.clone());
        }
    }
    let now = w.now();
    let status = input.status.unwrap_or(MaintenanceStatus::Scheduled);
    let update = Update {
        id: w.id(),
        status,
        body,
        display_at: now,
        created_at: now,
        updated_at: now,
        affected_components: affected,
        deliver_notifications: input.deliver_notifications.unwrap_or(true),
    };
    w.doc.maintenances.push(Maintenance {
        id: id.clone(),
        name,
        status,
        impact: Impact::Maintenance,
        scheduled_for: from,
        scheduled_until: until,
        auto_start: input.auto_start.unwrap_or(true),
        auto_complete: input.auto_complete.unwrap_or(true),
        created_at: now,
        updated_at: now,
        component_ids,
        updates: vec![update],
    });
    w.event(
        &id,
        IncidentEventKind::Created,
        serde_json::json!({"status": status.as_str()}),
    );
    Ok(Some(id))
}

fn update_maintenance(
    w: &mut Work,
    id: Id,
    input: MaintenanceInput,
) -> Result<Option<Id>, CommandError> {
    let i = w.maintenance_index(&id)?;
    let name = input
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    if let Some(b) = &input.body {
        check_body(b)?;
    }
    let current = w.doc.maintenances[i].status;
    if let Some(s) = input.status {
        maintenance_transition(current, s).map_err(|e| invalid("status", e.to_string()))?;
    }
    let from = input
        .scheduled_for
        .unwrap_or(w.doc.maintenances[i].scheduled_for);
    let until = input
        .scheduled_until
        .unwrap_or(w.doc.maintenances[i].scheduled_until);
    if until <= from {
        return Err(invalid("scheduled_until", "must be after scheduled_for"));
    }
    if let Some(ids) = &input.component_ids {
        w.check_components(ids, "component_ids")?;
    }
    let status = input.status.unwrap_or(current);
    // Components follow the window: under maintenance while it runs, operational after.
    let mut wanted = input.components.clone();
    if status != current && wanted.is_empty() {
        let attached = input
            .component_ids
            .clone()
            .unwrap_or_else(|| w.doc.maintenances[i].component_ids.clone());
        let follow = match status {
            MaintenanceStatus::InProgress => Some(ComponentStatus::UnderMaintenance),
            MaintenanceStatus::Completed => Some(ComponentStatus::Operational),
            _ => None,
        };
        if let Some(s) = follow {
            wanted = attached.into_iter().map(|c| (c, s)).collect();
        }
    }
    let affected = w.set_statuses(&wanted, "components", &format!("maintenance:{id}"))?;
    let now = w.now();
    let posts_update = input.status.is_some() || input.body.is_some() || !affected.is_empty();
    let update_id = posts_update.then(|| w.id());
    let m = &mut w.doc.maintenances[i];
    if let Some(n) = name {
        m.name = n;
    }
    m.scheduled_for = from;
    m.scheduled_until = until;
    patch(&mut m.auto_start, input.auto_start);
    patch(&mut m.auto_complete, input.auto_complete);
    patch(&mut m.component_ids, input.component_ids);
    if let Some(uid) = update_id {
        m.status = status;
        m.updates.insert(
            0,
            Update {
                id: uid,
                status,
                body: input.body.unwrap_or_default(),
                display_at: now,
                created_at: now,
                updated_at: now,
                affected_components: affected,
                deliver_notifications: input.deliver_notifications.unwrap_or(true),
            },
        );
    }
    m.updated_at = now;
    if status != current {
        w.event(
            &id,
            IncidentEventKind::StatusChanged,
            serde_json::json!({"from": current.as_str(), "to": status.as_str()}),
        );
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests;
