//! What the team configures around monitors: how each component reacts to them (status rule and
//! automatic incidents), where alerts come in from (integrations), where the team is told
//! (alert channels), and the system metrics shown on the public page.

use super::ComponentRule;
use crate::status::ComponentStatus;
use crate::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What Herald does on its own when monitors or alerts change a component's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoIncidentMode {
    /// Only the component's status changes.
    #[default]
    Off,
    /// The team is alerted with a drafted incident; nothing public until someone publishes it.
    Draft,
    /// A public incident is opened, moved to monitoring and resolved automatically.
    Publish,
}

impl AutoIncidentMode {
    pub const ALL: [AutoIncidentMode; 3] = [Self::Off, Self::Draft, Self::Publish];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Draft => "draft",
            Self::Publish => "publish",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How one component follows its monitors and alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentAutomation {
    pub component_id: Id,
    /// How the statuses of the component's monitors combine.
    #[serde(default)]
    pub rule: ComponentRule,
    #[serde(default)]
    pub incidents: AutoIncidentMode,
    /// Title of an automatic incident; `{component}` and `{status}` are filled in.
    #[serde(default = "default_title")]
    pub title: String,
    /// First update of an automatic incident; same placeholders.
    #[serde(default = "default_body")]
    pub body: String,
    /// How long checks must pass before an automatic incident in `monitoring` is resolved.
    #[serde(default = "ten_minutes")]
    pub quiet_period_seconds: u32,
}

fn default_title() -> String {
    "{status} of {component}".into()
}
fn default_body() -> String {
    "We are investigating {status} of {component}. Our checks noticed it automatically; \
     updates will follow."
        .into()
}
fn ten_minutes() -> u32 {
    600
}

impl ComponentAutomation {
    /// The defaults for a component: any-rule, no automatic incidents.
    pub fn new(component_id: Id) -> Self {
        ComponentAutomation {
            component_id,
            rule: ComponentRule::Any,
            incidents: AutoIncidentMode::Off,
            title: default_title(),
            body: default_body(),
            quiet_period_seconds: ten_minutes(),
        }
    }
}

/// Where alerts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// Prometheus Alertmanager's webhook receiver format.
    Alertmanager,
    /// Grafana alerting's webhook contact point.
    Grafana,
    /// Sentry's issue alert webhooks.
    Sentry,
    /// Herald's own small JSON format.
    Generic,
}

impl IntegrationKind {
    pub const ALL: [IntegrationKind; 4] = [
        Self::Alertmanager,
        Self::Grafana,
        Self::Sentry,
        Self::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alertmanager => "alertmanager",
            Self::Grafana => "grafana",
            Self::Sentry => "sentry",
            Self::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An alert source and how its alerts map onto components. Its token is stored only as a hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    pub id: Id,
    pub kind: IntegrationKind,
    pub name: String,
    /// The alert label (or Sentry tag / project slug) naming the component.
    #[serde(default = "component_label")]
    pub component_label: String,
    /// Label value → component. A value that is a component's id or exact name needs no entry.
    #[serde(default)]
    pub components: BTreeMap<String, Id>,
    /// The component for alerts that name none.
    #[serde(default)]
    pub default_component: Option<Id>,
    /// The label holding the severity.
    #[serde(default = "severity_label")]
    pub severity_label: String,
    /// Severity → component status while firing; unknown severities give `default_status`.
    #[serde(default)]
    pub severities: BTreeMap<String, ComponentStatus>,
    #[serde(default = "partial_outage")]
    pub default_status: ComponentStatus,
    pub created_at: DateTime<Utc>,
}

fn component_label() -> String {
    "component".into()
}
fn severity_label() -> String {
    "severity".into()
}
fn partial_outage() -> ComponentStatus {
    ComponentStatus::PartialOutage
}

impl Integration {
    /// A new integration with the usual mapping: `component` label, `severity` label with
    /// critical → major outage, warning → partial outage, info → degraded performance.
    pub fn new(id: Id, kind: IntegrationKind, name: String, now: DateTime<Utc>) -> Self {
        let severities = [
            ("critical", ComponentStatus::MajorOutage),
            ("fatal", ComponentStatus::MajorOutage),
            ("error", ComponentStatus::PartialOutage),
            ("warning", ComponentStatus::PartialOutage),
            ("info", ComponentStatus::DegradedPerformance),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Integration {
            id,
            kind,
            name,
            component_label: component_label(),
            components: BTreeMap::new(),
            default_component: None,
            severity_label: severity_label(),
            severities,
            default_status: partial_outage(),
            created_at: now,
        }
    }
}

/// How the team is told (not public subscribers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
    Slack,
    Discord,
    Teams,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 5] = [
        Self::Email,
        Self::Webhook,
        Self::Slack,
        Self::Discord,
        Self::Teams,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Teams => "teams",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A team alert channel: an email address or an incoming-webhook URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertChannel {
    pub id: Id,
    pub name: String,
    pub kind: ChannelKind,
    /// The email address, or the URL to post to (secret: webhook URLs carry it in the path).
    pub target: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl AlertChannel {
    /// Checks the target fits the kind: an address for email, an http(s) URL otherwise.
    pub fn validate(&self) -> Result<(), super::MonitorError> {
        let bad = |message: &str| super::MonitorError {
            field: "target".into(),
            message: message.into(),
        };
        crate::text::line("name", &self.name)?;
        crate::text::line("target", &self.target)?;
        let target = self.target.trim();
        match self.kind {
            ChannelKind::Email => {
                let ok = target.len() <= 254
                    && !target.contains(char::is_whitespace)
                    && target
                        .split_once('@')
                        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
                if !ok {
                    return Err(bad("must be an email address"));
                }
            }
            _ => {
                let ok = (target.starts_with("https://") || target.starts_with("http://"))
                    && target.len() > "https://".len()
                    && !target.contains(char::is_whitespace);
                if !ok {
                    return Err(bad("must be an http:// or https:// URL"));
                }
            }
        }
        if self.name.trim().is_empty() {
            return Err(super::MonitorError {
                field: "name".into(),
                message: "must not be empty".into(),
            });
        }
        Ok(())
    }
}

/// A system metric shown on the public page, fed by a monitor's response times or by data
/// points posted through the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub id: Id,
    pub name: String,
    /// Unit shown after values (`ms`, `%`).
    #[serde(default)]
    pub suffix: String,
    #[serde(default)]
    pub y_axis_min: Option<f64>,
    #[serde(default)]
    pub y_axis_max: Option<f64>,
    #[serde(default)]
    pub decimal_places: u8,
    #[serde(default)]
    pub description: Option<String>,
    /// When set, the metric shows this monitor's response times.
    #[serde(default)]
    pub monitor_id: Option<Id>,
    /// Shown on the public page.
    #[serde(default = "yes")]
    pub display: bool,
}

/// One value of a metric at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub at: DateTime<Utc>,
    pub value: f64,
}
