//! Alerts sent to Herald by other systems: Prometheus Alertmanager, Grafana, Sentry, and
//! Herald's own generic format. Each payload becomes a list of [`Alert`]s; an integration's
//! mapping then names the component and the status each firing alert calls for.
//!
//! Payloads are read as JSON values rather than typed structs, so that every error can name the
//! field the way the sender wrote it (`alerts[2].status`), and fields a sender adds later are
//! simply ignored.

use super::{Integration, IntegrationKind};
use crate::model::Component;
use crate::status::ComponentStatus;
use crate::Id;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One alert, whatever system sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Identifies the alert across notifications (fingerprint, issue id…).
    pub key: String,
    /// Firing (true) or resolved.
    pub firing: bool,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub url: Option<String>,
}

/// Why a payload was refused; `field` names the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PayloadError {
    pub field: String,
    pub message: String,
}

fn error(field: impl Into<String>, message: impl Into<String>) -> PayloadError {
    PayloadError {
        field: field.into(),
        message: message.into(),
    }
}

/// Reads a payload of the given kind.
pub fn parse_payload(kind: IntegrationKind, body: &[u8]) -> Result<Vec<Alert>, PayloadError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| error("body", format!("is not JSON: {e}")))?;
    match kind {
        IntegrationKind::Alertmanager | IntegrationKind::Grafana => alert_list(&value),
        IntegrationKind::Sentry => sentry(&value).map(|a| vec![a]),
        IntegrationKind::Generic => generic(&value),
    }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    v.as_object()
        .ok_or_else(|| error(field, "must be an object"))
}

fn string_map(v: Option<&Value>, field: &str) -> Result<BTreeMap<String, String>, PayloadError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    if v.is_null() {
        return Ok(BTreeMap::new());
    }
    object(v, field)?
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(error(format!("{field}.{k}"), "must be a string")),
        })
        .collect()
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A key from the labels when the sender gives no fingerprint.
fn labels_key(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Alertmanager's webhook (version 4) and Grafana's webhook contact point share the `alerts`
/// list: each with `status`, `labels`, `annotations`, and usually a `fingerprint`.
fn alert_list(v: &Value) -> Result<Vec<Alert>, PayloadError> {
    let top = object(v, "body")?;
    let alerts = top
        .get("alerts")
        .ok_or_else(|| error("alerts", "is missing"))?
        .as_array()
        .ok_or_else(|| error("alerts", "must be a list"))?;
    let common = string_map(top.get("commonLabels"), "commonLabels")?;
    alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let field = format!("alerts[{i}]");
            let o = object(a, &field)?;
            let firing = match text(o, "status") {
                Some("firing") => true,
                Some("resolved") => false,
                Some(other) => {
                    return Err(error(
                        format!("{field}.status"),
                        format!("`{other}` is neither firing nor resolved"),
                    ))
                }
                None => return Err(error(format!("{field}.status"), "is missing")),
            };
            let mut labels = common.clone();
            labels.extend(string_map(o.get("labels"), &format!("{field}.labels"))?);
            let annotations = string_map(o.get("annotations"), &format!("{field}.annotations"))?;
            let key = text(o, "fingerprint")
                .map(str::to_string)
                .unwrap_or_else(|| labels_key(&labels));
            let summary = ["summary", "description"]
                .iter()
                .find_map(|k| annotations.get(*k).cloned())
                .or_else(|| labels.get("alertname").cloned())
                .unwrap_or_else(|| "Alert".into());
            let url = text(o, "generatorURL")
                .or_else(|| text(o, "panelURL"))
                .map(str::to_string);
            Ok(Alert {
                key,
                firing,
                labels,
                summary,
                url,
            })
        })
        .collect()
}

/// Sentry's issue alerts and integration webhooks: one issue (or event) per delivery.
fn sentry(v: &Value) -> Result<Alert, PayloadError> {
    let top = object(v, "body")?;
    let data = object(
        top.get("data").ok_or_else(|| error("data", "is missing"))?,
        "data",
    )?;
    let action = text(top, "action").unwrap_or("triggered");
    let (item, field) = if let Some(issue) = data.get("issue") {
        (object(issue, "data.issue")?, "data.issue")
    } else if let Some(event) = data.get("event") {
        (object(event, "data.event")?, "data.event")
    } else {
        return Err(error("data", "holds neither an issue nor an event"));
    };
    let mut labels = BTreeMap::new();
    if let Some(Value::Array(tags)) = item.get("tags") {
        for (i, tag) in tags.iter().enumerate() {
            match tag {
                Value::Array(pair) if pair.len() == 2 => {
                    if let (Some(k), Some(v)) = (pair[0].as_str(), pair[1].as_str()) {
                        labels.insert(k.to_string(), v.to_string());
                    }
                }
                Value::Object(o) => {
                    if let (Some(k), Some(v)) = (text(o, "key"), text(o, "value")) {
                        labels.insert(k.to_string(), v.to_string());
                    }
                }
                _ => {
                    return Err(error(
                        format!("{field}.tags[{i}]"),
                        "must be a [key, value] pair",
                    ))
                }
            }
        }
    }
    let project = item
        .get("project")
        .and_then(|p| match p {
            Value::Object(o) => text(o, "slug").or_else(|| text(o, "name")),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
        .or_else(|| text(item, "project_slug"));
    if let Some(p) = project {
        labels.insert("project".into(), p.to_string());
    }
    if let Some(level) = text(item, "level") {
        labels.insert("severity".into(), level.to_string());
    }
    let key = item
        .get("id")
        .or_else(|| item.get("issue_id"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .or_else(|| text(item, "title").map(str::to_string))
        .ok_or_else(|| error(format!("{field}.id"), "is missing"))?;
    Ok(Alert {
        key,
        firing: !matches!(action, "resolved" | "ignored" | "archived"),
        labels,
        summary: text(item, "title").unwrap_or("Sentry issue").to_string(),
        url: text(item, "web_url")
            .or_else(|| text(item, "url"))
            .map(str::to_string),
    })
}

/// Herald's own format: one object or a list of them, each
/// `{"component": "...", "status": "major_outage", "key"?, "resolved"?, "summary"?}`.
fn generic(v: &Value) -> Result<Vec<Alert>, PayloadError> {
    let one = |v: &Value, field: String| -> Result<Alert, PayloadError> {
        let o = object(v, &field)?;
        let component = text(o, "component")
            .ok_or_else(|| error(format!("{field}.component"), "is missing"))?;
        let status =
            text(o, "status").ok_or_else(|| error(format!("{field}.status"), "is missing"))?;
        let resolved = match o.get("resolved") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(error(format!("{field}.resolved"), "must be true or false")),
        };
        match ComponentStatus::parse(status) {
            Some(s)
                if s != ComponentStatus::Operational && s != ComponentStatus::UnderMaintenance => {}
            _ => {
                return Err(error(
                    format!("{field}.status"),
                    format!(
                    "`{status}` is not one of degraded_performance, partial_outage, major_outage"
                ),
                ))
            }
        }
        let mut labels = BTreeMap::new();
        labels.insert("component".to_string(), component.to_string());
        labels.insert("severity".to_string(), status.to_string());
        Ok(Alert {
            key: text(o, "key")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{component}/{status}")),
            firing: !resolved,
            labels,
            summary: text(o, "summary").unwrap_or(status).to_string(),
            url: text(o, "url").map(str::to_string),
        })
    };
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| one(v, format!("[{i}]")))
            .collect(),
        _ => Ok(vec![one(v, "body".to_string())?]),
    }
}

/// The component an alert is about and the status it calls for while firing.
pub fn map_alert(
    integration: &Integration,
    alert: &Alert,
    components: &[Component],
) -> Result<(Id, ComponentStatus), PayloadError> {
    let label = &integration.component_label;
    let component = match alert.labels.get(label) {
        Some(value) => integration
            .components
            .get(value)
            .cloned()
            .or_else(|| {
                components
                    .iter()
                    .find(|c| c.id.as_str() == value || c.name.eq_ignore_ascii_case(value))
                    .map(|c| c.id.clone())
            })
            .or_else(|| integration.default_component.clone())
            .ok_or_else(|| {
                error(
                    format!("labels.{label}"),
                    format!("`{value}` names no component"),
                )
            })?,
        None => integration.default_component.clone().ok_or_else(|| {
            error(
                format!("labels.{label}"),
                "is missing and the integration has no default component",
            )
        })?,
    };
    if !components.iter().any(|c| c.id == component) {
        return Err(error(
            format!("labels.{label}"),
            format!("component {component} does not exist"),
        ));
    }
    let status = match integration.kind {
        IntegrationKind::Generic => alert
            .labels
            .get("severity")
            .and_then(|s| ComponentStatus::parse(s))
            .unwrap_or(integration.default_status),
        _ => alert
            .labels
            .get(&integration.severity_label)
            .and_then(|s| integration.severities.get(&s.to_ascii_lowercase()))
            .copied()
            .unwrap_or(integration.default_status),
    };
    Ok((component, status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn components() -> Vec<Component> {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        ["web", "Database"]
            .iter()
            .enumerate()
            .map(|(i, name)| Component {
                id: Id::derive(name),
                name: name.to_string(),
                description: None,
                status: ComponentStatus::Operational,
                group_id: None,
                position: i32::try_from(i).expect("small"),
                showcase: true,
                only_show_if_degraded: false,
                start_date: None,
                created_at: now,
                updated_at: now,
            })
            .collect()
    }

    fn integration(kind: IntegrationKind) -> Integration {
        Integration::new(Id::derive("int"), kind, "test".into(), chrono::Utc::now())
    }

    const ALERTMANAGER: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"DbDown\"}", "status": "firing",
      "receiver": "herald", "groupLabels": {"alertname": "DbDown"},
      "commonLabels": {"alertname": "DbDown", "component": "Database"},
      "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "truncatedAlerts": 0,
      "alerts": [
        {"status": "firing", "labels": {"alertname": "DbDown", "component": "Database", "severity": "critical", "instance": "db1"},
         "annotations": {"summary": "Primary database is not answering"},
         "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "a1b2c3"},
        {"status": "resolved", "labels": {"alertname": "DbDown", "severity": "warning", "instance": "db2"},
         "annotations": {}, "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2026-01-01T00:05:00Z"}
      ]
    }"#;

    #[test]
    fn alertmanager_alerts_are_read_and_mapped() {
        let alerts =
            parse_payload(IntegrationKind::Alertmanager, ALERTMANAGER.as_bytes()).expect("parse");
        assert_eq!(alerts.len(), 2);
        assert!(alerts[0].firing);
        assert_eq!(alerts[0].key, "a1b2c3");
        assert_eq!(alerts[0].summary, "Primary database is not answering");
        assert!(!alerts[1].firing);
        // No fingerprint: a key from the labels, with the common labels merged in.
        assert!(alerts[1].key.contains("instance=db2"));
        assert_eq!(alerts[1].labels["component"], "Database");
        let i = integration(IntegrationKind::Alertmanager);
        let (c, s) = map_alert(&i, &alerts[0], &components()).expect("map");
        assert_eq!(c, Id::derive("Database"));
        assert_eq!(s, ComponentStatus::MajorOutage);
        let (_, s) = map_alert(&i, &alerts[1], &components()).expect("map");
        assert_eq!(s, ComponentStatus::PartialOutage);
    }

    #[test]
    fn grafana_alerts_use_the_same_list() {
        let body = r#"{"receiver": "herald", "status": "firing", "orgId": 1, "title": "[FIRING:1] Latency",
          "state": "alerting", "message": "...",
          "alerts": [{"status": "firing", "labels": {"alertname": "Latency", "grafana_folder": "Web", "component": "web", "severity": "info"},
            "annotations": {"description": "p99 over 2 s"}, "fingerprint": "ffee", "panelURL": "http://127.0.0.1:3000/d/1"}]}"#;
        let alerts = parse_payload(IntegrationKind::Grafana, body.as_bytes()).expect("parse");
        assert_eq!(alerts[0].summary, "p99 over 2 s");
        assert_eq!(alerts[0].url.as_deref(), Some("http://127.0.0.1:3000/d/1"));
        let (c, s) = map_alert(
            &integration(IntegrationKind::Grafana),
            &alerts[0],
            &components(),
        )
        .expect("map");
        assert_eq!(c, Id::derive("web"));
        assert_eq!(s, ComponentStatus::DegradedPerformance);
    }

    #[test]
    fn sentry_issues_become_one_alert() {
        let body = r#"{"action": "triggered", "actor": {"type": "application"},
          "data": {"event": {"title": "TypeError: x is undefined", "level": "error", "issue_id": "4711",
            "project": 12, "tags": [["component", "web"], ["browser", "Firefox"]], "web_url": "http://127.0.0.1/sentry/4711"}}}"#;
        let alerts = parse_payload(IntegrationKind::Sentry, body.as_bytes()).expect("parse");
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key, "4711");
        assert!(alerts[0].firing);
        let (c, s) = map_alert(
            &integration(IntegrationKind::Sentry),
            &alerts[0],
            &components(),
        )
        .expect("map");
        assert_eq!((c, s), (Id::derive("web"), ComponentStatus::PartialOutage));
        let resolved = r#"{"action": "resolved", "data": {"issue": {"id": "4711", "title": "TypeError", "project": {"slug": "web"}}}}"#;
        let alerts = parse_payload(IntegrationKind::Sentry, resolved.as_bytes()).expect("parse");
        assert!(!alerts[0].firing);
        assert_eq!(alerts[0].labels["project"], "web");
        let err = parse_payload(IntegrationKind::Sentry, br#"{"action": "triggered"}"#)
            .expect_err("no data");
        assert_eq!(err.field, "data");
    }

    #[test]
    fn generic_alerts_and_their_errors() {
        let alerts = parse_payload(
            IntegrationKind::Generic,
            br#"[{"component": "web", "status": "major_outage", "key": "k1"},
                 {"component": "Database", "status": "degraded_performance", "resolved": true}]"#,
        )
        .expect("parse");
        assert_eq!(alerts.len(), 2);
        assert!(!alerts[1].firing);
        let (_, s) = map_alert(
            &integration(IntegrationKind::Generic),
            &alerts[0],
            &components(),
        )
        .expect("map");
        assert_eq!(s, ComponentStatus::MajorOutage);
        for (body, field) in [
            (&br#"{"status": "major_outage"}"#[..], "body.component"),
            (
                br#"{"component": "web", "status": "on fire"}"#,
                "body.status",
            ),
            (
                br#"{"component": "web", "status": "operational"}"#,
                "body.status",
            ),
            (
                br#"{"component": "web", "status": "major_outage", "resolved": "yes"}"#,
                "body.resolved",
            ),
            (br#"[1]"#, "[0]"),
            (b"{not json", "body"),
        ] {
            let e = parse_payload(IntegrationKind::Generic, body).expect_err("refused");
            assert_eq!(e.field, field, "{e}");
        }
        let alerts = parse_payload(
            IntegrationKind::Generic,
            br#"{"component": "nothing here", "status": "major_outage"}"#,
        )
        .expect("parse");
        let e = map_alert(
            &integration(IntegrationKind::Generic),
            &alerts[0],
            &components(),
        )
        .expect_err("unknown component");
        assert_eq!(e.field, "labels.component");
    }

    #[test]
    fn malformed_alertmanager_payloads_name_the_field() {
        for (body, field) in [
            (&br#"{"status": "firing"}"#[..], "alerts"),
            (br#"{"alerts": {}}"#, "alerts"),
            (br#"{"alerts": [{"labels": {}}]}"#, "alerts[0].status"),
            (
                br#"{"alerts": [{"status": "exploded"}]}"#,
                "alerts[0].status",
            ),
            (
                br#"{"alerts": [{"status": "firing", "labels": {"a": [1]}}]}"#,
                "alerts[0].labels.a",
            ),
            (b"[]", "body"),
        ] {
            let e = parse_payload(IntegrationKind::Alertmanager, body).expect_err("refused");
            assert_eq!(e.field, field, "{e}");
        }
    }

    #[test]
    fn the_mapping_table_and_default_component_apply() {
        let mut i = integration(IntegrationKind::Alertmanager);
        i.component_label = "service".into();
        i.components
            .insert("pg-primary".into(), Id::derive("Database"));
        i.default_component = Some(Id::derive("web"));
        let alert = |labels: &[(&str, &str)]| Alert {
            key: "k".into(),
            firing: true,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            summary: String::new(),
            url: None,
        };
        let c = components();
        assert_eq!(
            map_alert(&i, &alert(&[("service", "pg-primary")]), &c)
                .expect("map")
                .0,
            Id::derive("Database")
        );
        assert_eq!(
            map_alert(&i, &alert(&[]), &c).expect("map").0,
            Id::derive("web")
        );
    }
}
