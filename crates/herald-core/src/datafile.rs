//! The data file: one versioned document describing a whole page (groups, components,
//! incidents with their updates and postmortems, maintenance), for `herald import` and
//! `herald export`. TOML or JSON; the same fields either way. See `docs/data-file.md`.
//!
//! Every object carries its id, so importing the same file twice finds every object in place and
//! changes nothing. Timestamps are RFC 3339 strings with an offset; they are stored as instants.

use crate::id::Id;
use crate::model::*;
use crate::status::{ComponentStatus, Impact, IncidentStatus, MaintenanceStatus};
use crate::transitions::{incident_transition, maintenance_transition};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The only version this Herald reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Longest name accepted for any object (Statuspage's limit).
pub const MAX_NAME: usize = 255;

/// Largest data file read.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// How deep a data file may nest (a real one nests five levels) and how many members a list
/// may have (no bound that a real page could reach).
const FILE_SHAPE: crate::text::Shape = crate::text::Shape {
    depth: 32,
    members: usize::MAX,
};

/// A data file that could not be read: where, and what is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DataFileError {
    /// The text is not valid TOML/JSON for the format; the message carries line and column.
    #[error("{0}")]
    Syntax(String),
    /// The text parses but says something impossible; `place` is a path such as
    /// `incidents[0].updates[2].status`.
    #[error("{place}: {message}")]
    Invalid { place: String, message: String },
}

fn invalid(place: impl Into<String>, message: impl Into<String>) -> DataFileError {
    DataFileError::Invalid {
        place: place.into(),
        message: message.into(),
    }
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    pub version: u32,
    pub page: PageSpec,
    #[serde(default)]
    pub component_groups: Vec<GroupSpec>,
    #[serde(default)]
    pub components: Vec<ComponentSpec>,
    #[serde(default)]
    pub incidents: Vec<IncidentSpec>,
    #[serde(default)]
    pub maintenances: Vec<MaintenanceSpec>,
    /// Monitors, with their probes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitors: Vec<crate::monitor::MonitorSpec>,
    /// How components follow their monitors (rule, automatic incidents).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub automation: Vec<crate::monitor::ComponentAutomation>,
    /// System metrics shown on the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<crate::monitor::Metric>,
    /// Where the team is alerted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_channels: Vec<crate::monitor::AlertChannel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub id: Id,
    pub name: String,
    pub url: String,
    pub time_zone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub id: Id,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to the order in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    pub id: Id,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The id of the group it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Id>,
    /// Defaults to the order in the file (within its group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    #[serde(default = "operational")]
    pub status: ComponentStatus,
    #[serde(default)]
    pub showcase: bool,
    #[serde(default)]
    pub only_show_if_degraded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

fn operational() -> ComponentStatus {
    ComponentStatus::Operational
}

fn yes() -> bool {
    true
}

fn maintenance_impact() -> Impact {
    Impact::Maintenance
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedSpec {
    pub component: Id,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec<S> {
    pub id: Id,
    pub status: S,
    pub body: String,
    pub display_at: DateTime<Utc>,
    /// Defaults to `display_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Defaults to `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected_components: Vec<AffectedSpec>,
    #[serde(default = "yes")]
    pub deliver_notifications: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineRowSpec {
    pub at: DateTime<Utc>,
    pub activity: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemSpec {
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// Defaults to `published_at`, else the incident's last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_zone_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_note: Option<String>,
    #[serde(default)]
    pub contributing_factors: String,
    #[serde(default)]
    pub stabilization_steps: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub corrective_actions: String,
    #[serde(default)]
    pub timeline: Vec<TimelineRowSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSpec {
    pub id: Id,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortlink: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the trouble began; defaults to `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Defaults to the latest of the incident's own times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub backfilled: bool,
    /// Ids of the components it affected.
    #[serde(default)]
    pub components: Vec<Id>,
    #[serde(default)]
    pub updates: Vec<UpdateSpec<IncidentStatus>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<PostmortemSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSpec {
    pub id: Id,
    pub name: String,
    pub status: MaintenanceStatus,
    #[serde(default = "maintenance_impact")]
    pub impact: Impact,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    #[serde(default = "yes")]
    pub auto_start: bool,
    #[serde(default = "yes")]
    pub auto_complete: bool,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub components: Vec<Id>,
    #[serde(default)]
    pub updates: Vec<UpdateSpec<MaintenanceStatus>>,
}

/// The two spellings of a data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// `.json` files are JSON; everything else is read as TOML.
    pub fn from_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

impl DataFile {
    /// Reads a data file's text. Syntax and type errors carry line and column.
    pub fn parse(text: &str, format: Format) -> Result<DataFile, DataFileError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(DataFileError::Syntax(format!(
                "the file is larger than {} MiB",
                MAX_FILE_BYTES / (1024 * 1024)
            )));
        }
        // Bounded before a parser sees it: no file can nest deep enough to exhaust a stack.
        let shape = match format {
            Format::Toml => crate::text::toml_shape(text, FILE_SHAPE),
            Format::Json if crate::text::json_holds_nul(text.as_bytes()) => {
                Err("a string holds a NUL character (\\u0000)".into())
            }
            Format::Json => crate::text::json_shape(text.as_bytes(), FILE_SHAPE),
        };
        shape.map_err(|why| DataFileError::Syntax(format!("the file {why}")))?;
        let file: DataFile = match format {
            Format::Toml => toml::from_str(text).map_err(|e| DataFileError::Syntax(e.to_string())),
            Format::Json => {
                serde_json::from_str(text).map_err(|e| DataFileError::Syntax(e.to_string()))
            }
        }?;
        if file.version != FORMAT_VERSION {
            return Err(invalid(
                "version",
                format!(
                    "this Herald reads data file version {FORMAT_VERSION}, not {}",
                    file.version
                ),
            ));
        }
        Ok(file)
    }

    /// Writes the file in the given format.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Toml => toml::to_string_pretty(self).unwrap_or_else(|e| format!("# {e}\n")),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
        }
    }

    /// Describes a stored page as a data file; importing it reproduces the page exactly.
    pub fn from_document(doc: &PageDocument) -> DataFile {
        DataFile {
            version: FORMAT_VERSION,
            page: PageSpec {
                id: doc.page.id.clone(),
                name: doc.page.name.clone(),
                url: doc.page.url.clone(),
                time_zone: doc.page.time_zone.clone(),
            },
            component_groups: doc
                .groups
                .iter()
                .map(|g| GroupSpec {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    position: Some(g.position),
                    created_at: Some(g.created_at),
                    updated_at: Some(g.updated_at),
                })
                .collect(),
            components: doc
                .components
                .iter()
                .map(|c| ComponentSpec {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    description: c.description.clone(),
                    group: c.group_id.clone(),
                    position: Some(c.position),
                    status: c.status,
                    showcase: c.showcase,
                    only_show_if_degraded: c.only_show_if_degraded,
                    start_date: c.start_date,
                    created_at: Some(c.created_at),
                    updated_at: Some(c.updated_at),
                })
                .collect(),
            incidents: doc
                .incidents
                .iter()
                .map(|i| IncidentSpec {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    status: i.status,
                    impact: i.impact,
                    shortlink: i.shortlink.clone(),
                    created_at: i.created_at,
                    started_at: Some(i.started_at),
                    updated_at: Some(i.updated_at),
                    backfilled: i.backfilled,
                    components: i.component_ids.clone(),
                    updates: i.updates.iter().rev().map(update_spec).collect(),
                    postmortem: i.postmortem.as_ref().map(|p| PostmortemSpec {
                        body: p.body.clone(),
                        published_at: p.published_at,
                        updated_at: Some(p.updated_at),
                        timeline_zone_label: p.timeline_zone_label.clone(),
                        timeline_note: p.timeline_note.clone(),
                        contributing_factors: p.contributing_factors.clone(),
                        stabilization_steps: p.stabilization_steps.clone(),
                        impact: p.impact.clone(),
                        corrective_actions: p.corrective_actions.clone(),
                        timeline: p
                            .timeline
                            .iter()
                            .map(|r| TimelineRowSpec {
                                at: r.at,
                                activity: r.activity.clone(),
                            })
                            .collect(),
                    }),
                })
                .collect(),
            maintenances: doc
                .maintenances
                .iter()
                .map(|m| MaintenanceSpec {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    status: m.status,
                    impact: m.impact,
                    scheduled_for: m.scheduled_for,
                    scheduled_until: m.scheduled_until,
                    auto_start: m.auto_start,
                    auto_complete: m.auto_complete,
                    created_at: m.created_at,
                    updated_at: Some(m.updated_at),
                    components: m.component_ids.clone(),
                    updates: m.updates.iter().rev().map(update_spec).collect(),
                })
                .collect(),
            monitors: Vec::new(),
            automation: Vec::new(),
            metrics: Vec::new(),
            alert_channels: Vec::new(),
        }
    }

    /// Checks the file and turns it into the page it describes. Objects already stored
    /// (`existing`) keep their timestamps when the file leaves them out and nothing else changed,
    /// so importing the same file twice yields the same page; `now` stamps what is new.
    pub fn into_document(
        self,
        existing: Option<&PageDocument>,
        now: DateTime<Utc>,
    ) -> Result<PageDocument, DataFileError> {
        self.validate()?;
        let old_groups: HashMap<&Id, &ComponentGroup> = existing
            .map(|d| d.groups.iter().map(|g| (&g.id, g)).collect())
            .unwrap_or_default();
        let old_components: HashMap<&Id, &Component> = existing
            .map(|d| d.components.iter().map(|c| (&c.id, c)).collect())
            .unwrap_or_default();

        let mut groups = Vec::new();
        for (n, g) in self.component_groups.into_iter().enumerate() {
            let old = old_groups.get(&g.id).copied();
            let mut group = ComponentGroup {
                id: g.id,
                name: g.name,
                description: g.description,
                position: g.position.unwrap_or(n as i32 + 1),
                created_at: g.created_at.or(old.map(|o| o.created_at)).unwrap_or(now),
                updated_at: now,
            };
            group.updated_at = g.updated_at.unwrap_or_else(|| keep_stamp(old, &group, now));
            groups.push(group);
        }

        let mut components = Vec::new();
        let mut next_position: HashMap<Option<Id>, i32> = HashMap::new();
        for c in self.components {
            let old = old_components.get(&c.id).copied();
            let slot = next_position.entry(c.group.clone()).or_insert(0);
            *slot += 1;
            let mut component = Component {
                id: c.id,
                group_id: c.group,
                name: c.name,
                description: c.description,
                position: c.position.unwrap_or(*slot),
                status: c.status,
                showcase: c.showcase,
                only_show_if_degraded: c.only_show_if_degraded,
                start_date: c.start_date,
                created_at: c.created_at.or(old.map(|o| o.created_at)).unwrap_or(now),
                updated_at: now,
            };
            component.updated_at = c
                .updated_at
                .unwrap_or_else(|| keep_stamp(old, &component, now));
            components.push(component);
        }

        let incidents = self.incidents.into_iter().map(build_incident).collect();
        let maintenances = self
            .maintenances
            .into_iter()
            .map(build_maintenance)
            .collect();
        let mut doc = PageDocument {
            page: PageSettings {
                id: self.page.id,
                name: self.page.name,
                url: self.page.url,
                time_zone: self.page.time_zone,
            },
            groups,
            components,
            incidents,
            maintenances,
        };
        sort_document(&mut doc);
        Ok(doc)
    }

    fn validate(&self) -> Result<(), DataFileError> {
        check_name("page.name", &self.page.name)?;
        crate::text::line("page.url", &self.page.url).map_err(|e| invalid(e.field, e.message))?;
        if crate::timefmt::zone(&self.page.time_zone).is_none() {
            return Err(invalid(
                "page.time_zone",
                format!("`{}` is not an IANA time zone name", self.page.time_zone),
            ));
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut unique = |place: String, id: &Id| -> Result<(), DataFileError> {
            if seen.insert(id.as_str().to_string()) {
                Ok(())
            } else {
                Err(invalid(place, format!("id `{id}` is used twice")))
            }
        };
        let groups: HashSet<&Id> = self.component_groups.iter().map(|g| &g.id).collect();
        let components: HashSet<&Id> = self.components.iter().map(|c| &c.id).collect();
        for (n, g) in self.component_groups.iter().enumerate() {
            unique(format!("component_groups[{n}].id"), &g.id)?;
            check_name(&format!("component_groups[{n}].name"), &g.name)?;
            check_text(
                &format!("component_groups[{n}].description"),
                g.description.as_deref(),
            )?;
        }
        for (n, c) in self.components.iter().enumerate() {
            unique(format!("components[{n}].id"), &c.id)?;
            check_name(&format!("components[{n}].name"), &c.name)?;
            check_text(
                &format!("components[{n}].description"),
                c.description.as_deref(),
            )?;
            if let Some(g) = &c.group {
                if !groups.contains(g) {
                    return Err(invalid(
                        format!("components[{n}].group"),
                        format!("no component group has id `{g}`"),
                    ));
                }
            }
        }
        let known = |place: String, id: &Id| -> Result<(), DataFileError> {
            if components.contains(id) {
                Ok(())
            } else {
                Err(invalid(place, format!("no component has id `{id}`")))
            }
        };
        for (n, i) in self.incidents.iter().enumerate() {
            let at = format!("incidents[{n}]");
            unique(format!("{at}.id"), &i.id)?;
            check_name(&format!("{at}.name"), &i.name)?;
            if i.impact == Impact::Maintenance {
                return Err(invalid(
                    format!("{at}.impact"),
                    "an incident's impact is none, minor, major or critical",
                ));
            }
            for (k, c) in i.components.iter().enumerate() {
                known(format!("{at}.components[{k}]"), c)?;
            }
            check_updates(&at, &i.updates, &mut unique, &known)?;
            let ordered = chronological(&i.updates);
            for pair in ordered.windows(2) {
                incident_transition(pair[0].1.status, pair[1].1.status).map_err(|e| {
                    invalid(format!("{at}.updates[{}].status", pair[1].0), e.to_string())
                })?;
            }
            if let Some((k, newest)) = ordered.last() {
                let consistent = newest.status == i.status
                    || (i.status == IncidentStatus::Postmortem
                        && newest.status == IncidentStatus::Resolved);
                if !consistent {
                    return Err(invalid(
                        format!("{at}.status"),
                        format!(
                            "the incident is `{}` but its newest update (updates[{k}]) is `{}`",
                            i.status, newest.status
                        ),
                    ));
                }
            }
            if let Some(p) = &i.postmortem {
                for (field, text) in [
                    ("body", &p.body),
                    ("contributing_factors", &p.contributing_factors),
                    ("stabilization_steps", &p.stabilization_steps),
                    ("impact", &p.impact),
                    ("corrective_actions", &p.corrective_actions),
                ] {
                    check_text(&format!("{at}.postmortem.{field}"), Some(text))?;
                }
                crate::text::line_opt(
                    &format!("{at}.postmortem.timeline_zone_label"),
                    p.timeline_zone_label.as_deref(),
                )
                .map_err(|e| invalid(e.field, e.message))?;
                check_text(
                    &format!("{at}.postmortem.timeline_note"),
                    p.timeline_note.as_deref(),
                )?;
                for (k, row) in p.timeline.iter().enumerate() {
                    check_text(
                        &format!("{at}.postmortem.timeline[{k}].activity"),
                        Some(&row.activity),
                    )?;
                    if row.activity.trim().is_empty() {
                        return Err(invalid(
                            format!("{at}.postmortem.timeline[{k}].activity"),
                            "a timeline row needs an activity",
                        ));
                    }
                }
            }
        }
        for (n, m) in self.maintenances.iter().enumerate() {
            let at = format!("maintenances[{n}]");
            unique(format!("{at}.id"), &m.id)?;
            check_name(&format!("{at}.name"), &m.name)?;
            if m.scheduled_until <= m.scheduled_for {
                return Err(invalid(
                    format!("{at}.scheduled_until"),
                    "the window must end after it starts",
                ));
            }
            for (k, c) in m.components.iter().enumerate() {
                known(format!("{at}.components[{k}]"), c)?;
            }
            check_updates(&at, &m.updates, &mut unique, &known)?;
            let ordered = chronological(&m.updates);
            for pair in ordered.windows(2) {
                maintenance_transition(pair[0].1.status, pair[1].1.status).map_err(|e| {
                    invalid(format!("{at}.updates[{}].status", pair[1].0), e.to_string())
                })?;
            }
        }
        self.validate_monitoring(&mut unique, &known)
    }

    /// Checks the monitoring sections: monitors as the API would, references to components.
    fn validate_monitoring(
        &self,
        unique: &mut impl FnMut(String, &Id) -> Result<(), DataFileError>,
        known: &impl Fn(String, &Id) -> Result<(), DataFileError>,
    ) -> Result<(), DataFileError> {
        let mut tokens = HashSet::new();
        for (n, m) in self.monitors.iter().enumerate() {
            let at = format!("monitors[{n}]");
            unique(format!("{at}.id"), &m.id)?;
            m.validate()
                .map_err(|e| invalid(format!("{at}.{}", e.field), e.message))?;
            if let Some(c) = &m.component_id {
                known(format!("{at}.component_id"), c)?;
            }
            if let crate::monitor::ProbeSpec::Heartbeat { token, .. } = &m.probe {
                if token.trim().len() < 8 {
                    return Err(invalid(
                        format!("{at}.probe.token"),
                        "must be at least 8 characters",
                    ));
                }
                if !tokens.insert(token.clone()) {
                    return Err(invalid(
                        format!("{at}.probe.token"),
                        "is used by another monitor",
                    ));
                }
            }
        }
        let mut automated = HashSet::new();
        for (n, a) in self.automation.iter().enumerate() {
            let at = format!("automation[{n}].component_id");
            known(at.clone(), &a.component_id)?;
            if !automated.insert(&a.component_id) {
                return Err(invalid(at, "this component has automation settings twice"));
            }
        }
        for (n, m) in self.metrics.iter().enumerate() {
            let at = format!("metrics[{n}]");
            unique(format!("{at}.id"), &m.id)?;
            check_name(&format!("{at}.name"), &m.name)?;
        }
        for (n, c) in self.alert_channels.iter().enumerate() {
            let at = format!("alert_channels[{n}]");
            unique(format!("{at}.id"), &c.id)?;
            check_name(&format!("{at}.name"), &c.name)?;
            c.validate()
                .map_err(|e| invalid(format!("{at}.{}", e.field), e.message))?;
        }
        Ok(())
    }
}

/// A multi-line text (a description, a body) free of control characters.
fn check_text(place: &str, text: Option<&str>) -> Result<(), DataFileError> {
    crate::text::multiline_opt(place, text).map_err(|e| invalid(e.field, e.message))
}

fn check_name(place: &str, name: &str) -> Result<(), DataFileError> {
    crate::text::line(place, name).map_err(|e| invalid(e.field, e.message))?;
    if name.trim().is_empty() {
        Err(invalid(place, "must not be empty"))
    } else if name.chars().count() > MAX_NAME {
        Err(invalid(
            place,
            format!("is longer than {MAX_NAME} characters"),
        ))
    } else {
        Ok(())
    }
}

fn check_updates<S>(
    at: &str,
    updates: &[UpdateSpec<S>],
    unique: &mut impl FnMut(String, &Id) -> Result<(), DataFileError>,
    known: &impl Fn(String, &Id) -> Result<(), DataFileError>,
) -> Result<(), DataFileError> {
    for (k, u) in updates.iter().enumerate() {
        unique(format!("{at}.updates[{k}].id"), &u.id)?;
        check_text(&format!("{at}.updates[{k}].body"), Some(&u.body))?;
        for (j, a) in u.affected_components.iter().enumerate() {
            known(
                format!("{at}.updates[{k}].affected_components[{j}].component"),
                &a.component,
            )?;
        }
    }
    Ok(())
}

/// Updates with their index in the file, oldest first.
fn chronological<S>(updates: &[UpdateSpec<S>]) -> Vec<(usize, &UpdateSpec<S>)> {
    let mut v: Vec<_> = updates.iter().enumerate().collect();
    v.sort_by_key(|(_, u)| (u.display_at, u.created_at.unwrap_or(u.display_at)));
    v
}

/// The stored `updated_at` when the object is otherwise unchanged, else `now`.
fn keep_stamp<T: Clone + PartialEq + Stamped>(
    old: Option<&T>,
    new: &T,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match old {
        Some(old)
            if old.with_updated_at(old.updated_at()) == new.with_updated_at(old.updated_at()) =>
        {
            old.updated_at()
        }
        _ => now,
    }
}

trait Stamped {
    fn updated_at(&self) -> DateTime<Utc>;
    fn with_updated_at(&self, at: DateTime<Utc>) -> Self;
}

impl Stamped for ComponentGroup {
    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    fn with_updated_at(&self, at: DateTime<Utc>) -> Self {
        ComponentGroup {
            updated_at: at,
            ..self.clone()
        }
    }
}

impl Stamped for Component {
    fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    fn with_updated_at(&self, at: DateTime<Utc>) -> Self {
        Component {
            updated_at: at,
            ..self.clone()
        }
    }
}

fn update_spec<S: Copy>(u: &Update<S>) -> UpdateSpec<S> {
    UpdateSpec {
        id: u.id.clone(),
        status: u.status,
        body: u.body.clone(),
        display_at: u.display_at,
        created_at: Some(u.created_at),
        updated_at: Some(u.updated_at),
        affected_components: u
            .affected_components
            .iter()
            .map(|a| AffectedSpec {
                component: a.component_id.clone(),
                old_status: a.old_status,
                new_status: a.new_status,
            })
            .collect(),
        deliver_notifications: u.deliver_notifications,
    }
}

fn build_update<S>(u: UpdateSpec<S>) -> Update<S> {
    let created_at = u.created_at.unwrap_or(u.display_at);
    Update {
        id: u.id,
        status: u.status,
        body: u.body,
        display_at: u.display_at,
        created_at,
        updated_at: u.updated_at.unwrap_or(created_at),
        affected_components: u
            .affected_components
            .into_iter()
            .map(|a| AffectedComponent {
                component_id: a.component,
                old_status: a.old_status,
                new_status: a.new_status,
            })
            .collect(),
        deliver_notifications: u.deliver_notifications,
    }
}

/// Newest first, as every page and API lists updates.
fn newest_first<S>(mut updates: Vec<Update<S>>) -> Vec<Update<S>> {
    updates.sort_by_key(|u| std::cmp::Reverse((u.display_at, u.created_at)));
    updates
}

fn build_incident(i: IncidentSpec) -> Incident {
    let updates = newest_first(i.updates.into_iter().map(build_update).collect());
    let first_with = |s: IncidentStatus| {
        updates
            .iter()
            .rev()
            .find(|u| u.status == s)
            .map(|u| u.display_at)
    };
    let monitoring_at = first_with(IncidentStatus::Monitoring);
    let resolved_at = first_with(IncidentStatus::Resolved);
    let last_update = updates.first().map(|u| u.updated_at.max(u.display_at));
    let postmortem = i.postmortem.map(|p| Postmortem {
        body: p.body,
        timeline_zone_label: p.timeline_zone_label,
        timeline_note: p.timeline_note,
        timeline: p
            .timeline
            .into_iter()
            .map(|r| TimelineRow {
                at: r.at,
                activity: r.activity,
            })
            .collect(),
        contributing_factors: p.contributing_factors,
        stabilization_steps: p.stabilization_steps,
        impact: p.impact,
        corrective_actions: p.corrective_actions,
        published_at: p.published_at,
        updated_at: p
            .updated_at
            .or(p.published_at)
            .or(last_update)
            .unwrap_or(i.created_at),
    });
    let derived_updated = [
        Some(i.created_at),
        last_update,
        postmortem.as_ref().map(|p| p.updated_at),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(i.created_at);
    Incident {
        id: i.id,
        name: i.name,
        status: i.status,
        impact: i.impact,
        shortlink: i.shortlink,
        created_at: i.created_at,
        started_at: i.started_at.unwrap_or(i.created_at),
        monitoring_at,
        resolved_at,
        updated_at: i.updated_at.unwrap_or(derived_updated),
        backfilled: i.backfilled,
        component_ids: i.components,
        updates,
        postmortem,
    }
}

fn build_maintenance(m: MaintenanceSpec) -> Maintenance {
    let updates = newest_first(m.updates.into_iter().map(build_update).collect());
    let last_update = updates.first().map(|u| u.updated_at.max(u.display_at));
    Maintenance {
        id: m.id,
        name: m.name,
        status: m.status,
        impact: m.impact,
        scheduled_for: m.scheduled_for,
        scheduled_until: m.scheduled_until,
        auto_start: m.auto_start,
        auto_complete: m.auto_complete,
        created_at: m.created_at,
        updated_at: m
            .updated_at
            .unwrap_or(last_update.unwrap_or(m.created_at).max(m.created_at)),
        component_ids: m.components,
        updates,
    }
}

/// Puts a document in the canonical order every layer relies on (see [`PageDocument`]).
pub fn sort_document(doc: &mut PageDocument) {
    doc.groups
        .sort_by(|a, b| (a.position, &a.id).cmp(&(b.position, &b.id)));
    let group_pos: HashMap<Id, i32> = doc
        .groups
        .iter()
        .map(|g| (g.id.clone(), g.position))
        .collect();
    let key = |c: &Component| match &c.group_id {
        Some(g) => (group_pos.get(g).copied().unwrap_or(i32::MAX), 1, c.position),
        None => (c.position, 0, 0),
    };
    doc.components
        .sort_by(|a, b| (key(a), &a.id).cmp(&(key(b), &b.id)));
    doc.incidents
        .sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    doc.maintenances
        .sort_by(|a, b| (b.scheduled_for, &b.id).cmp(&(a.scheduled_for, &a.id)));
}

#[cfg(test)]
mod tests;
