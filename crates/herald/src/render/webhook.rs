//! The bodies Statuspage posts to webhook subscribers, built from Herald's page: an incident (or
//! maintenance) payload, and a component status change payload. Receivers tell them apart by the
//! top-level key (`incident` or `component_update`). Delivery itself is not here.

use super::v2::{component_value, incident_value, maintenance_value};
use super::RenderContext;
use chrono::{DateTime, Utc};
use herald_core::timefmt::api;
use herald_core::{Component, Id, Incident, Maintenance, StatusChange};
use serde_json::{json, Value};

/// Where Statuspage's documentation of these payloads lives; receivers sometimes check it.
const DOCUMENTATION: &str = "https://doers.statuspage.io/customer-notifications/webhooks/";

fn envelope(ctx: &RenderContext, unsubscribe: &str, generated_at: DateTime<Utc>) -> Value {
    let status = ctx.doc.status();
    json!({
        "meta": {
            "unsubscribe": unsubscribe,
            "documentation": DOCUMENTATION,
            "generated_at": api(generated_at),
        },
        "page": {
            "id": ctx.doc.page.id,
            "status_indicator": status.indicator.as_str(),
            "status_description": status.description,
        },
    })
}

/// Fields Statuspage's incident object carries that Herald has no use for, with the values
/// Statuspage sends when they are unused.
fn statuspage_extras(incident: &mut Value, backfilled: bool) {
    let Value::Object(o) = incident else {
        return;
    };
    let defaults = [
        ("postmortem_ignored", json!(false)),
        ("postmortem_body", Value::Null),
        ("postmortem_body_last_updated_at", Value::Null),
        ("postmortem_published_at", Value::Null),
        ("postmortem_notified_subscribers", json!(false)),
        ("postmortem_notified_twitter", json!(false)),
        ("backfilled", json!(backfilled)),
        ("scheduled_for", Value::Null),
        ("scheduled_until", Value::Null),
        ("scheduled_remind_prior", json!(false)),
        ("scheduled_reminded_at", Value::Null),
        ("impact_override", Value::Null),
        ("scheduled_auto_in_progress", json!(false)),
        ("scheduled_auto_completed", json!(false)),
    ];
    for (k, v) in defaults {
        o.entry(k).or_insert(v);
    }
    if let Some(Value::Array(updates)) = o.get_mut("incident_updates") {
        for u in updates {
            if let Value::Object(u) = u {
                u.entry("wants_twitter_update").or_insert(json!(false));
                u.entry("twitter_updated_at").or_insert(Value::Null);
                u.remove("tweet_id");
            }
        }
    }
}

/// The payload for an incident that was created or got an update.
pub fn incident_payload(
    ctx: &RenderContext,
    incident: &Incident,
    unsubscribe: &str,
    generated_at: DateTime<Utc>,
) -> Value {
    let mut body = envelope(ctx, unsubscribe, generated_at);
    let mut value = incident_value(ctx, incident);
    if let (Value::Object(o), Some(pm)) = (&mut value, &incident.postmortem) {
        if let Some(published) = pm.published_at {
            o.insert("postmortem_body".into(), Value::String(pm.body.clone()));
            o.insert("postmortem_published_at".into(), json!(api(published)));
            o.insert(
                "postmortem_body_last_updated_at".into(),
                json!(api(pm.updated_at)),
            );
        }
    }
    statuspage_extras(&mut value, incident.backfilled);
    body["incident"] = value;
    body
}

/// The payload for a scheduled maintenance: the incident shape with its window.
pub fn maintenance_payload(
    ctx: &RenderContext,
    maintenance: &Maintenance,
    unsubscribe: &str,
    generated_at: DateTime<Utc>,
) -> Value {
    let mut body = envelope(ctx, unsubscribe, generated_at);
    let mut value = maintenance_value(ctx, maintenance);
    if let Value::Object(o) = &mut value {
        o.insert(
            "scheduled_auto_in_progress".into(),
            json!(maintenance.auto_start),
        );
        o.insert(
            "scheduled_auto_completed".into(),
            json!(maintenance.auto_complete),
        );
    }
    statuspage_extras(&mut value, false);
    body["incident"] = value;
    body
}

/// The payload for one component's status change; `change_id` identifies the change.
pub fn component_payload(
    ctx: &RenderContext,
    component: &Component,
    change: &StatusChange,
    change_id: &Id,
    unsubscribe: &str,
    generated_at: DateTime<Utc>,
) -> Value {
    let mut body = envelope(ctx, unsubscribe, generated_at);
    body["component_update"] = json!({
        "old_status": change.old_status.map(|s| s.as_str()),
        "new_status": change.new_status.as_str(),
        "created_at": api(change.at),
        "component_type": "Component",
        "id": change_id,
        "component_id": component.id,
    });
    body["component"] = component_value(ctx, component);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Branding, SnapshotInput};
    use herald_core::datafile::{DataFile, Format};
    use std::collections::BTreeSet;

    const EXAMPLE: &str = include_str!("../../../../examples/drchrono-2022-11.toml");

    fn input() -> SnapshotInput {
        let now: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().expect("time");
        SnapshotInput {
            doc: DataFile::parse(EXAMPLE, Format::Toml)
                .expect("parse")
                .into_document(None, now)
                .expect("doc"),
            history: Vec::new(),
            now,
            branding: Branding::default(),
            extras: Default::default(),
        }
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_incident_payload_has_every_field_statuspage_sends() {
        let input = input();
        let ctx = RenderContext::new(&input);
        let incident = &input.doc.incidents[0];
        let p = incident_payload(&ctx, incident, "http://127.0.0.1/?unsubscribe=x", input.now);
        assert_eq!(keys(&p), set(&["meta", "page", "incident"]));
        assert_eq!(
            keys(&p["meta"]),
            set(&["unsubscribe", "documentation", "generated_at"])
        );
        assert_eq!(
            keys(&p["page"]),
            set(&["id", "status_indicator", "status_description"])
        );
        let expected = set(&[
            "name",
            "status",
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "impact",
            "shortlink",
            "postmortem_ignored",
            "postmortem_body",
            "postmortem_body_last_updated_at",
            "postmortem_published_at",
            "postmortem_notified_subscribers",
            "postmortem_notified_twitter",
            "backfilled",
            "scheduled_for",
            "scheduled_until",
            "scheduled_remind_prior",
            "scheduled_reminded_at",
            "impact_override",
            "scheduled_auto_in_progress",
            "scheduled_auto_completed",
            "id",
            "page_id",
            "incident_updates",
            "components",
        ]);
        let got = keys(&p["incident"]);
        assert!(
            expected.is_subset(&got),
            "missing: {:?}",
            expected.difference(&got).collect::<Vec<_>>()
        );
        let update = &p["incident"]["incident_updates"][0];
        for k in [
            "status",
            "body",
            "created_at",
            "wants_twitter_update",
            "twitter_updated_at",
            "updated_at",
            "display_at",
            "affected_components",
            "custom_tweet",
            "deliver_notifications",
            "id",
            "incident_id",
        ] {
            assert!(
                update.get(k).is_some(),
                "update field {k} missing: {update}"
            );
        }
        assert_eq!(p["meta"]["documentation"], DOCUMENTATION);
    }

    #[test]
    fn the_component_payload_names_old_and_new_status() {
        let input = input();
        let ctx = RenderContext::new(&input);
        let c = &input.doc.components[0];
        let change = StatusChange {
            component_id: c.id.clone(),
            at: input.now,
            old_status: Some(herald_core::ComponentStatus::Operational),
            new_status: herald_core::ComponentStatus::MajorOutage,
            cause: "monitor".into(),
        };
        let p = component_payload(&ctx, c, &change, &Id::derive("change"), "u", input.now);
        assert_eq!(
            keys(&p),
            set(&["meta", "page", "component_update", "component"])
        );
        assert_eq!(p["component_update"]["old_status"], "operational");
        assert_eq!(p["component_update"]["new_status"], "major_outage");
        assert_eq!(p["component_update"]["component_type"], "Component");
        assert_eq!(p["component"]["id"], c.id.as_str());
    }
}
