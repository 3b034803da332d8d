//! The objects on a status page, as Herald holds them in memory and hands them between layers.

use crate::id::Id;
use crate::status::{ComponentStatus, Impact, IncidentStatus, MaintenanceStatus};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Page-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageSettings {
    pub id: Id,
    pub name: String,
    /// The public address of the page, used in links, feeds and shortlinks.
    pub url: String,
    /// IANA zone name in which times are shown, e.g. `America/Los_Angeles`.
    pub time_zone: String,
}

/// A named set of components shown together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentGroup {
    pub id: Id,
    pub name: String,
    pub description: Option<String>,
    /// 1-based order among the top-level rows of the page.
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One part of the service whose status the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub id: Id,
    pub group_id: Option<Id>,
    pub name: String,
    pub description: Option<String>,
    /// 1-based order: among top-level rows, or within the group.
    pub position: i32,
    pub status: ComponentStatus,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub start_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A component status set by an incident or maintenance update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AffectedComponent {
    pub component_id: Id,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

/// One message posted on an incident (`S` = incident status) or a maintenance
/// (`S` = maintenance status).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update<S> {
    pub id: Id,
    pub status: S,
    /// Markdown.
    pub body: String,
    /// The time shown next to the update.
    pub display_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub affected_components: Vec<AffectedComponent>,
    pub deliver_notifications: bool,
}

/// One row of a postmortem's timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub at: DateTime<Utc>,
    pub activity: String,
}

/// The write-up after an incident: free Markdown plus structured sections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    /// Markdown shown before the timeline.
    pub body: String,
    /// The zone label the author used for the timeline (e.g. `PST`), shown as written even when
    /// the instants fall in another offset.
    pub timeline_zone_label: Option<String>,
    /// The author's sentence introducing the timeline, e.g. "All times are PST Timezone."
    pub timeline_note: Option<String>,
    pub timeline: Vec<TimelineRow>,
    pub contributing_factors: String,
    pub stabilization_steps: String,
    pub impact: String,
    pub corrective_actions: String,
    /// `None` while it is a draft.
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A realtime incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: Id,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub shortlink: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub backfilled: bool,
    pub component_ids: Vec<Id>,
    /// Newest first.
    pub updates: Vec<Update<IncidentStatus>>,
    pub postmortem: Option<Postmortem>,
}

/// A scheduled maintenance window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    pub id: Id,
    pub name: String,
    pub status: MaintenanceStatus,
    pub impact: Impact,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    /// Moves to in progress at `scheduled_for` by itself.
    pub auto_start: bool,
    /// Moves to completed at `scheduled_until` by itself.
    pub auto_complete: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub component_ids: Vec<Id>,
    /// Newest first.
    pub updates: Vec<Update<MaintenanceStatus>>,
}

/// One recorded change of a component's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub component_id: Id,
    pub at: DateTime<Utc>,
    /// `None` for the first status a component ever had.
    pub old_status: Option<ComponentStatus>,
    pub new_status: ComponentStatus,
    /// What caused it: `import`, `manual`, `incident:<id>`, `maintenance:<id>`, `monitor:<id>`.
    pub cause: String,
}

/// Everything the public page shows: one consistent read of the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageDocument {
    pub page: PageSettings,
    /// By position.
    pub groups: Vec<ComponentGroup>,
    /// By group position, then position within the group.
    pub components: Vec<Component>,
    /// Newest first (by `created_at`).
    pub incidents: Vec<Incident>,
    /// By `scheduled_for`, latest first.
    pub maintenances: Vec<Maintenance>,
}

impl PageDocument {
    /// An empty page with the given settings.
    pub fn empty(page: PageSettings) -> Self {
        PageDocument {
            page,
            groups: vec![],
            components: vec![],
            incidents: vec![],
            maintenances: vec![],
        }
    }

    /// The last change to anything on the page; `None` for an empty page.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        let groups = self.groups.iter().map(|g| g.updated_at);
        let components = self.components.iter().map(|c| c.updated_at);
        let incidents = self.incidents.iter().map(|i| i.updated_at);
        let maintenances = self.maintenances.iter().map(|m| m.updated_at);
        groups
            .chain(components)
            .chain(incidents)
            .chain(maintenances)
            .max()
    }

    pub fn component(&self, id: &Id) -> Option<&Component> {
        self.components.iter().find(|c| &c.id == id)
    }

    pub fn incident(&self, id: &Id) -> Option<&Incident> {
        self.incidents.iter().find(|i| &i.id == id)
    }

    /// Incidents that are investigating, identified or monitoring.
    pub fn unresolved_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.status.is_unresolved())
    }

    /// Maintenances in progress or verifying.
    pub fn active_maintenances(&self) -> impl Iterator<Item = &Maintenance> {
        self.maintenances.iter().filter(|m| m.status.is_active())
    }

    /// The page's overall status, by [`crate::indicator::page_status`].
    pub fn status(&self) -> crate::indicator::PageStatus {
        crate::indicator::page_status(
            self.components.iter().map(|c| c.status),
            self.unresolved_incidents().map(|i| i.impact),
            self.active_maintenances().next().is_some(),
        )
    }
}
