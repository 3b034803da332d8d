//! The Statuspage public API v2, end to end: a page is imported into a store, the snapshot is
//! built, and every endpoint is fetched through the router.
//!
//! Each response is held against a fixture written from the compatibility reference
//! (`tests/fixtures/v2/`): the same keys in the same order at every level, the same JSON types
//! (`null` only where the reference allows it), enum values from the reference's enums and
//! timestamps in the millisecond-`Z` form. Concrete values are then checked for the known data.

use crate::common;

use axum::http::{header, StatusCode};
use chrono::{DateTime, Utc};
use common::{App, Reply, TestApp};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::io::Read;

use crate::common::EXAMPLE as DRCHRONO;

/// Adds to the DrChrono page (same page settings) a group with two components, an unresolved
/// incident on a grouped component, and an upcoming, an active and a completed maintenance.
const PLATFORM: &str = r#"
version = 1

[page]
id = "drchronopage"
name = "DrChrono"
url = "http://127.0.0.1:8080"
time_zone = "America/Los_Angeles"

[[component_groups]]
id = "platformgrp1"
name = "Platform"
description = "Services behind the apps"
position = 3
created_at = "2024-01-02T03:04:05Z"
updated_at = "2024-03-05T13:20:00.250Z"

[[components]]
id = "apiserver001"
name = "API"
description = "Public REST API"
group = "platformgrp1"
status = "partial_outage"
start_date = "2024-01-02"
created_at = "2024-01-02T03:04:06Z"
updated_at = "2024-03-05T13:20:00.250Z"

[[components]]
id = "webhooks0001"
name = "Webhooks"
group = "platformgrp1"
status = "under_maintenance"
only_show_if_degraded = true
created_at = "2024-01-02T03:04:07Z"
updated_at = "2024-03-05T14:00:07.125Z"

[[incidents]]
id = "apiincident1"
name = "Elevated API error rates"
status = "identified"
impact = "minor"
created_at = "2024-03-05T12:58:01.101Z"
components = ["apiserver001"]

[[incidents.updates]]
id = "apiupd000001"
status = "investigating"
display_at = "2024-03-05T12:58:01.200Z"
body = "We are looking into elevated 5xx rates."

[[incidents.updates.affected_components]]
component = "apiserver001"
old_status = "operational"
new_status = "degraded_performance"

[[incidents.updates]]
id = "apiupd000002"
status = "identified"
display_at = "2024-03-05T13:20:00.250Z"
body = "Root cause found; **rolling back**."

[[incidents.updates.affected_components]]
component = "apiserver001"
old_status = "degraded_performance"
new_status = "partial_outage"

[[maintenances]]
id = "dbupgrade001"
name = "Database upgrade"
status = "scheduled"
scheduled_for = "2024-03-09T02:00:00Z"
scheduled_until = "2024-03-09T04:00:00Z"
created_at = "2024-03-01T10:00:00Z"
components = ["apiserver001"]

[[maintenances.updates]]
id = "dbupd0000001"
status = "scheduled"
display_at = "2024-03-01T10:00:00.040Z"
body = "We will upgrade the primary database."

[[maintenances.updates.affected_components]]
component = "apiserver001"
old_status = "operational"
new_status = "operational"

[[maintenances]]
id = "webhookmnt01"
name = "Webhook queue migration"
status = "in_progress"
scheduled_for = "2024-03-05T14:00:00Z"
scheduled_until = "2024-03-05T16:00:00Z"
created_at = "2024-03-02T09:00:00Z"
components = ["webhooks0001"]

[[maintenances.updates]]
id = "whkupd000001"
status = "scheduled"
display_at = "2024-03-02T09:00:00Z"
body = "Webhook deliveries will be queued while we move the queue."

[[maintenances.updates]]
id = "whkupd000002"
status = "in_progress"
display_at = "2024-03-05T14:00:07.125Z"
body = "The migration has started."

[[maintenances.updates.affected_components]]
component = "webhooks0001"
old_status = "operational"
new_status = "under_maintenance"

[[maintenances]]
id = "oldmaint0001"
name = "Load balancer replacement"
status = "completed"
scheduled_for = "2023-10-07T06:00:00Z"
scheduled_until = "2023-10-07T08:00:00Z"
created_at = "2023-10-01T00:00:00Z"
components = ["apiserver001"]

[[maintenances.updates]]
id = "lbupd0000001"
status = "scheduled"
display_at = "2023-10-01T00:00:00Z"
body = "We will replace the load balancers."

[[maintenances.updates]]
id = "lbupd0000002"
status = "in_progress"
display_at = "2023-10-07T06:00:00Z"
body = "Started."

[[maintenances.updates]]
id = "lbupd0000003"
status = "verifying"
display_at = "2023-10-07T07:30:00Z"
body = "Verifying."

[[maintenances.updates]]
id = "lbupd0000004"
status = "completed"
display_at = "2023-10-07T07:45:00Z"
body = "Done."
"#;

/// Each endpoint and the fixture its response must match.
const ENDPOINTS: &[(&str, &str)] = &[
    (
        "/api/v2/summary.json",
        include_str!("fixtures/v2/summary.json"),
    ),
    (
        "/api/v2/status.json",
        include_str!("fixtures/v2/status.json"),
    ),
    (
        "/api/v2/components.json",
        include_str!("fixtures/v2/components.json"),
    ),
    (
        "/api/v2/incidents.json",
        include_str!("fixtures/v2/incidents.json"),
    ),
    (
        "/api/v2/incidents/unresolved.json",
        include_str!("fixtures/v2/incidents-unresolved.json"),
    ),
    (
        "/api/v2/scheduled-maintenances.json",
        include_str!("fixtures/v2/scheduled-maintenances.json"),
    ),
    (
        "/api/v2/scheduled-maintenances/upcoming.json",
        include_str!("fixtures/v2/scheduled-maintenances-upcoming.json"),
    ),
    (
        "/api/v2/scheduled-maintenances/active.json",
        include_str!("fixtures/v2/scheduled-maintenances-active.json"),
    ),
];

// ---------------------------------------------------------------------------------------------
// JSON that remembers key order (serde_json's own map sorts keys in this build).

/// A parsed JSON value whose objects keep their keys in document order.
#[derive(Clone, Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<J, E> {
                Ok(J::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<J, E> {
                Ok(J::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<J, E> {
                i64::try_from(v).map(J::Int).map_err(E::custom)
            }
            fn visit_f64<E>(self, v: f64) -> Result<J, E> {
                Ok(J::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<J, E> {
                Ok(J::Str(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(J::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, J>()? {
                    entries.push((k, v));
                }
                Ok(J::Obj(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl J {
    fn parse(text: &[u8]) -> J {
        serde_json::from_slice(text).expect("valid JSON")
    }

    fn get(&self, key: &str) -> &J {
        match self {
            J::Obj(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key `{key}` in {self:?}")),
            other => panic!("`{key}` asked of a non-object {other:?}"),
        }
    }

    fn at(&self, n: usize) -> &J {
        self.items()
            .get(n)
            .unwrap_or_else(|| panic!("no item {n} in {self:?}"))
    }

    fn items(&self) -> &[J] {
        match self {
            J::Arr(items) => items,
            other => panic!("not an array: {other:?}"),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            J::Obj(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Int(_) => "integer",
            J::Float(_) => "number",
            J::Str(_) => "string",
            J::Arr(_) => "array",
            J::Obj(_) => "object",
        }
    }

    /// The `field` of every item of the array `self`.
    fn column(&self, field: &str) -> Vec<&str> {
        self.items().iter().map(|i| i.get(field).str()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Shape: the response against its fixture.

/// Keys the reference shows as `null` when unset; when set they are strings.
const NULLABLE: &[&str] = &[
    "description",
    "start_date",
    "group_id",
    "monitoring_at",
    "resolved_at",
    "custom_tweet",
    "tweet_id",
];

/// Checks that `actual` has the shape of `expected`: objects with the same keys in the same
/// order, arrays whose every item has the shape of one of the fixture's items, same types.
fn same_shape(actual: &J, expected: &J, key: &str, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (J::Obj(a), J::Obj(e)) => {
            let ak: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
            let ek: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
            if ak != ek {
                return Err(format!("{at}: keys {ak:?}, fixture has {ek:?}"));
            }
            for ((k, av), (_, ev)) in a.iter().zip(e) {
                same_shape(av, ev, k, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (J::Arr(a), J::Arr(e)) => {
            if !a.is_empty() && e.is_empty() {
                return Err(format!("{at}: the fixture has no item to compare with"));
            }
            for (n, item) in a.iter().enumerate() {
                let tries: Vec<String> = e
                    .iter()
                    .filter_map(|t| same_shape(item, t, key, &format!("{at}[{n}]")).err())
                    .collect();
                if tries.len() == e.len() {
                    return Err(tries.join("\n   or "));
                }
            }
            // Every kind of item the fixture shows (group rows and plain rows) must occur.
            if !a.is_empty() {
                for t in e.iter().filter(|t| matches!(t, J::Obj(_))) {
                    if !a
                        .iter()
                        .any(|i| matches!(i, J::Obj(_)) && i.keys() == t.keys())
                    {
                        return Err(format!("{at}: no item has the keys {:?}", t.keys()));
                    }
                }
            }
            Ok(())
        }
        (a, e) if NULLABLE.contains(&key) => {
            let ok = |j: &J| matches!(j, J::Null | J::Str(_));
            if ok(a) && ok(e) {
                Ok(())
            } else {
                Err(format!("{at}: {} where string or null belongs", a.kind()))
            }
        }
        (a, e) if a.kind() == e.kind() => Ok(()),
        (a, e) => Err(format!(
            "{at}: {} where the fixture has {}",
            a.kind(),
            e.kind()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Values: enums, timestamps, ids, as the reference spells them.

const COMPONENT_STATUSES: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INCIDENT_STATUSES: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUSES: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];
const IMPACTS: &[&str] = &["none", "minor", "major", "critical", "maintenance"];
const INDICATORS: &[&str] = &["none", "minor", "major", "critical", "maintenance"];
const DESCRIPTIONS: &[&str] = &[
    "All Systems Operational",
    "Partially Degraded Service",
    "Minor Service Outage",
    "Partial System Outage",
    "Major Service Outage",
    "Major System Outage",
    "Service Under Maintenance",
];

/// `d` for a digit, anything else literally.
fn fits(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            _ => c == p,
        })
}

fn is_timestamp(s: &str) -> bool {
    fits(s, "dddd-dd-ddTdd:dd:dd.dddZ") && s.parse::<DateTime<Utc>>().is_ok()
}

fn is_id(s: &str) -> bool {
    s.len() == 12
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Every value that breaks the reference's enums or formats, with where it is.
fn bad_values(j: &J, path: &mut Vec<String>, out: &mut Vec<String>) {
    match j {
        J::Obj(entries) => {
            for (k, v) in entries {
                if let J::Str(s) = v {
                    if let Some(problem) = bad_value(k, s, path) {
                        out.push(format!("{}.{k} = {s:?}: {problem}", path.join(".")));
                    }
                }
                path.push(k.clone());
                bad_values(v, path, out);
                path.pop();
            }
        }
        J::Arr(items) => {
            for item in items {
                if let (J::Str(s), Some("components")) = (item, path.last().map(|p| p.as_str())) {
                    if !is_id(s) {
                        out.push(format!("{}: child id {s:?}", path.join(".")));
                    }
                }
                bad_values(item, path, out);
            }
        }
        _ => {}
    }
}

fn bad_value(key: &str, s: &str, path: &[String]) -> Option<&'static str> {
    let within = |names: &[&str]| {
        path.iter()
            .rev()
            .find(|p| names.contains(&p.as_str()))
            .map(|p| p.as_str())
    };
    let one_of = |allowed: &[&str]| (!allowed.contains(&s)).then_some("not in the enum");
    match key {
        "status" => match within(&[
            "incident_updates",
            "components",
            "incidents",
            "scheduled_maintenances",
        ]) {
            Some("components") => one_of(COMPONENT_STATUSES),
            Some("incidents") => one_of(INCIDENT_STATUSES),
            Some("scheduled_maintenances") => one_of(MAINTENANCE_STATUSES),
            Some(_) if path.iter().any(|p| p == "scheduled_maintenances") => {
                one_of(MAINTENANCE_STATUSES)
            }
            Some(_) => one_of(INCIDENT_STATUSES),
            None => Some("a status outside any list"),
        },
        "old_status" | "new_status" => one_of(COMPONENT_STATUSES),
        "impact" => one_of(IMPACTS),
        "indicator" => one_of(INDICATORS),
        "description" if path.last().map(|p| p.as_str()) == Some("status") => one_of(DESCRIPTIONS),
        "start_date" => (!fits(s, "dddd-dd-dd")).then_some("not YYYY-MM-DD"),
        "id" | "page_id" | "incident_id" | "code" | "group_id" => {
            (!is_id(s)).then_some("not a 12-character id")
        }
        k if k.ends_with("_at") || k == "scheduled_for" || k == "scheduled_until" => {
            (!is_timestamp(s)).then_some("not YYYY-MM-DDTHH:MM:SS.mmmZ")
        }
        _ => None,
    }
}

fn assert_values_valid(j: &J, what: &str) {
    let mut problems = Vec::new();
    bad_values(j, &mut Vec::new(), &mut problems);
    assert!(problems.is_empty(), "{what}:\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The server.

/// An app whose store holds the given data files, imported in order, with the clock at `now`.
async fn serve(files: &[&str], now: &str) -> App {
    TestApp::new().with_files(files).at(now).build().await
}

async fn get(app: &App, path: &str, headers: &[(&str, &str)]) -> Reply {
    app.get(path, headers).await
}

async fn get_json(app: &App, path: &str) -> J {
    let reply = get(app, path, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}");
    J::parse(&reply.body)
}

/// Every v2 response of a server, by path.
async fn all_endpoints(app: &App) -> Vec<(&'static str, J)> {
    let mut out = Vec::new();
    for (path, _) in ENDPOINTS {
        out.push((*path, get_json(app, path).await));
    }
    out
}

fn header(reply: &Reply, name: header::HeaderName) -> &str {
    reply
        .headers
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn fixtures_follow_the_reference() {
    for (path, fixture) in ENDPOINTS {
        let j = J::parse(fixture.as_bytes());
        assert_eq!(j.keys().first(), Some(&"page"), "{path}");
        assert_values_valid(&j, &format!("fixture for {path}"));
    }
    let summary = J::parse(ENDPOINTS[0].1.as_bytes());
    assert_eq!(
        summary.keys(),
        [
            "page",
            "components",
            "incidents",
            "scheduled_maintenances",
            "status"
        ]
    );
}

#[tokio::test]
async fn every_endpoint_matches_its_fixture_field_for_field() {
    let app = serve(&[DRCHRONO, PLATFORM], "2024-03-05T15:00:00Z").await;
    for ((path, actual), (_, fixture)) in all_endpoints(&app).await.iter().zip(ENDPOINTS) {
        let expected = J::parse(fixture.as_bytes());
        if let Err(e) = same_shape(actual, &expected, "", path) {
            panic!("{path} differs from its fixture:\n{e}");
        }
        assert_values_valid(actual, path);
    }
}

#[tokio::test]
async fn the_drchrono_example_reads_as_statuspage_would_show_it() {
    let app = serve(&[DRCHRONO], "2022-11-20T00:00:00Z").await;
    for (path, j) in all_endpoints(&app).await {
        assert_values_valid(&j, path);
        let page = j.get("page");
        assert_eq!(
            page,
            &J::Obj(vec![
                ("id".into(), J::Str("drchronopage".into())),
                ("name".into(), J::Str("DrChrono".into())),
                ("url".into(), J::Str("http://127.0.0.1:8080".into())),
                ("time_zone".into(), J::Str("America/Los_Angeles".into())),
                // The postmortem, published on 14 November, is the last change.
                (
                    "updated_at".into(),
                    J::Str("2022-11-14T19:37:00.000Z".into())
                ),
            ]),
            "{path}"
        );
    }

    let status = get_json(&app, "/api/v2/status.json").await;
    assert_eq!(status.get("status").get("indicator").str(), "none");
    assert_eq!(
        status.get("status").get("description").str(),
        "All Systems Operational"
    );

    let components = get_json(&app, "/api/v2/components.json").await;
    let components = components.get("components");
    assert_eq!(
        components.column("name"),
        ["drchrono.com", "drchrono iPad EHR"]
    );
    for c in components.items() {
        assert_eq!(c.get("status").str(), "operational");
        assert_eq!(c.get("group"), &J::Bool(false));
        assert_eq!(c.get("group_id"), &J::Null);
        assert_eq!(c.get("page_id").str(), "drchronopage");
    }
    assert_eq!(components.at(0).get("position"), &J::Int(1));
    assert_eq!(components.at(1).get("position"), &J::Int(2));

    let incidents = get_json(&app, "/api/v2/incidents.json").await;
    let incidents = incidents.get("incidents");
    assert_eq!(incidents.column("id"), ["countsoff221", "slowness2211"]);
    let slow = incidents.at(1);
    assert_eq!(slow.get("status").str(), "postmortem");
    assert_eq!(slow.get("impact").str(), "major");
    assert_eq!(slow.get("created_at").str(), "2022-11-03T12:44:00.000Z");
    assert_eq!(slow.get("started_at").str(), "2022-11-03T05:00:00.000Z");
    assert_eq!(slow.get("monitoring_at").str(), "2022-11-03T21:00:00.000Z");
    assert_eq!(slow.get("resolved_at").str(), "2022-11-04T14:01:00.000Z");
    assert_eq!(
        slow.get("shortlink").str(),
        "http://127.0.0.1:8080/incidents/slowness2211"
    );
    let updates = slow.get("incident_updates");
    assert_eq!(
        updates.column("id"),
        [
            "slowupd00005",
            "slowupd00004",
            "slowupd00003",
            "slowupd00002",
            "slowupd00001"
        ]
    );
    assert_eq!(
        updates.column("status"),
        [
            "resolved",
            "monitoring",
            "identified",
            "identified",
            "identified"
        ]
    );
    assert_eq!(
        updates.column("incident_id"),
        ["slowness2211"; 5].as_slice()
    );
    let first = updates.at(4);
    assert_eq!(first.get("display_at").str(), "2022-11-03T12:44:00.000Z");
    assert!(first
        .get("body")
        .str()
        .starts_with("Our team has identified an issue"));
    let affected = first.get("affected_components");
    assert_eq!(affected.column("code"), ["drchronocom1", "drchronoipad"]);
    assert_eq!(
        affected.column("name"),
        ["drchrono.com", "drchrono iPad EHR"]
    );
    assert_eq!(
        affected.column("new_status"),
        ["degraded_performance", "degraded_performance"]
    );
    assert_eq!(updates.at(3).get("affected_components").items().len(), 0);
    assert_eq!(
        slow.get("components").column("id"),
        ["drchronocom1", "drchronoipad"]
    );

    let unresolved = get_json(&app, "/api/v2/incidents/unresolved.json").await;
    assert!(unresolved.get("incidents").items().is_empty());
    for path in [
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/scheduled-maintenances/active.json",
    ] {
        let j = get_json(&app, path).await;
        assert!(j.get("scheduled_maintenances").items().is_empty(), "{path}");
    }
    let summary = get_json(&app, "/api/v2/summary.json").await;
    assert!(summary.get("incidents").items().is_empty());
    assert_eq!(summary.get("components").items().len(), 2);
    assert_eq!(summary.get("status").get("indicator").str(), "none");
}

#[tokio::test]
async fn groups_incidents_and_maintenance_read_as_statuspage_would_show_them() {
    let app = serve(&[DRCHRONO, PLATFORM], "2024-03-05T15:00:00Z").await;
    let summary = get_json(&app, "/api/v2/summary.json").await;
    assert_eq!(
        summary.get("page").get("updated_at").str(),
        "2024-03-05T14:00:07.125Z"
    );

    // A component partly out beats a minor incident and maintenance in progress.
    let status = summary.get("status");
    assert_eq!(status.get("indicator").str(), "major");
    assert_eq!(status.get("description").str(), "Partial System Outage");

    let components = summary.get("components");
    assert_eq!(
        components.column("id"),
        [
            "drchronocom1",
            "drchronoipad",
            "platformgrp1",
            "apiserver001",
            "webhooks0001"
        ]
    );
    let group = components.at(2);
    assert_eq!(group.get("group"), &J::Bool(true));
    assert_eq!(group.get("name").str(), "Platform");
    assert_eq!(group.get("status").str(), "partial_outage");
    assert_eq!(group.get("position"), &J::Int(3));
    assert_eq!(group.get("group_id"), &J::Null);
    assert_eq!(
        group.get("components"),
        &J::Arr(vec![
            J::Str("apiserver001".into()),
            J::Str("webhooks0001".into())
        ])
    );
    let api = components.at(3);
    assert_eq!(api.get("group_id").str(), "platformgrp1");
    assert_eq!(api.get("position"), &J::Int(1));
    assert_eq!(api.get("start_date").str(), "2024-01-02");
    assert_eq!(api.get("description").str(), "Public REST API");
    assert_eq!(
        components.at(4).get("only_show_if_degraded"),
        &J::Bool(true)
    );
    let plain_keys = components.at(0).keys();
    assert_eq!(plain_keys.len(), 13);
    assert!(!plain_keys.contains(&"components"));

    let listed = get_json(&app, "/api/v2/components.json").await;
    assert_eq!(listed.get("components"), components);

    // Only the unresolved incident, in summary and in unresolved.json alike.
    let unresolved = get_json(&app, "/api/v2/incidents/unresolved.json").await;
    assert_eq!(unresolved.get("incidents"), summary.get("incidents"));
    let incidents = summary.get("incidents");
    assert_eq!(incidents.column("id"), ["apiincident1"]);
    let incident = incidents.at(0);
    assert_eq!(incident.get("monitoring_at"), &J::Null);
    assert_eq!(incident.get("resolved_at"), &J::Null);
    assert_eq!(incident.get("impact").str(), "minor");
    let updates = incident.get("incident_updates");
    assert_eq!(updates.column("status"), ["identified", "investigating"]);
    assert_eq!(
        updates.at(0).get("body").str(),
        "Root cause found; **rolling back**."
    );
    let affected = updates.at(0).get("affected_components").at(0);
    assert_eq!(
        affected,
        &J::Obj(vec![
            ("code".into(), J::Str("apiserver001".into())),
            ("name".into(), J::Str("Platform - API".into())),
            ("old_status".into(), J::Str("degraded_performance".into())),
            ("new_status".into(), J::Str("partial_outage".into())),
        ])
    );
    assert_eq!(updates.at(0).get("custom_tweet"), &J::Null);
    assert_eq!(updates.at(0).get("tweet_id"), &J::Null);
    assert_eq!(incident.get("components").column("id"), ["apiserver001"]);
    assert_eq!(
        incident.get("components").at(0).get("status").str(),
        "partial_outage"
    );

    let all = get_json(&app, "/api/v2/incidents.json").await;
    assert_eq!(
        all.get("incidents").column("id"),
        ["apiincident1", "countsoff221", "slowness2211"]
    );

    // Maintenances: every status in the full list, by window, latest first.
    let every = get_json(&app, "/api/v2/scheduled-maintenances.json").await;
    let every = every.get("scheduled_maintenances");
    assert_eq!(
        every.column("id"),
        ["dbupgrade001", "webhookmnt01", "oldmaint0001"]
    );
    assert_eq!(
        every.column("status"),
        ["scheduled", "in_progress", "completed"]
    );
    assert_eq!(
        every.column("impact"),
        ["maintenance", "maintenance", "maintenance"]
    );
    let done = every.at(2);
    assert_eq!(done.get("monitoring_at").str(), "2023-10-07T07:30:00.000Z");
    assert_eq!(done.get("resolved_at").str(), "2023-10-07T07:45:00.000Z");
    assert_eq!(
        done.get("incident_updates").column("status"),
        ["completed", "verifying", "in_progress", "scheduled"]
    );
    let db = every.at(0);
    assert_eq!(db.get("scheduled_for").str(), "2024-03-09T02:00:00.000Z");
    assert_eq!(db.get("scheduled_until").str(), "2024-03-09T04:00:00.000Z");
    assert_eq!(db.get("resolved_at"), &J::Null);
    assert_eq!(
        db.get("incident_updates")
            .at(0)
            .get("affected_components")
            .at(0)
            .get("name")
            .str(),
        "Platform - API"
    );
    let keys = db.keys();
    assert_eq!(
        keys.get(keys.len() - 2..),
        Some(&["scheduled_for", "scheduled_until"][..])
    );

    let upcoming = get_json(&app, "/api/v2/scheduled-maintenances/upcoming.json").await;
    assert_eq!(
        upcoming.get("scheduled_maintenances").column("id"),
        ["dbupgrade001"]
    );
    let active = get_json(&app, "/api/v2/scheduled-maintenances/active.json").await;
    assert_eq!(
        active.get("scheduled_maintenances").column("id"),
        ["webhookmnt01"]
    );
    assert_eq!(
        active
            .get("scheduled_maintenances")
            .at(0)
            .get("components")
            .column("id"),
        ["webhooks0001"]
    );
    assert_eq!(
        summary.get("scheduled_maintenances").column("id"),
        ["dbupgrade001", "webhookmnt01"]
    );
}

/// A data file with `n` investigating incidents and `n` scheduled maintenances, numbered so
/// that a higher number is newer.
fn many(n: usize) -> String {
    let mut text = String::from(
        "version = 1\n[page]\nid = \"manypage0001\"\nname = \"Many\"\n\
         url = \"https://status.many.test/\"\ntime_zone = \"Etc/UTC\"\n",
    );
    for k in 0..n {
        text.push_str(&format!(
            "[[incidents]]\nid = \"incident{k:04}\"\nname = \"Incident {k}\"\n\
             status = \"investigating\"\nimpact = \"minor\"\n\
             created_at = \"2024-01-01T00:{:02}:{:02}Z\"\n\
             [[maintenances]]\nid = \"maintena{k:04}\"\nname = \"Maintenance {k}\"\n\
             status = \"scheduled\"\nscheduled_for = \"2024-06-{:02}T00:00:00Z\"\n\
             scheduled_until = \"2024-06-{:02}T01:00:00Z\"\ncreated_at = \"2024-01-01T00:00:00Z\"\n",
            k / 60,
            k % 60,
            k / 3 + 1,
            k / 3 + 1,
        ));
    }
    text
}

#[tokio::test]
async fn lists_hold_the_fifty_most_recent() {
    let app = serve(&[&many(60)], "2024-02-01T00:00:00Z").await;
    let page = get_json(&app, "/api/v2/status.json").await;
    // The trailing slash of the configured URL is not repeated in links.
    assert_eq!(
        page.get("page").get("url").str(),
        "https://status.many.test"
    );
    for (path, key) in [
        ("/api/v2/incidents.json", "incidents"),
        ("/api/v2/incidents/unresolved.json", "incidents"),
        ("/api/v2/summary.json", "incidents"),
    ] {
        let j = get_json(&app, path).await;
        let ids = j.get(key).column("id");
        assert_eq!(ids.len(), 50, "{path}");
        assert_eq!(ids.first(), Some(&"incident0059"), "{path}");
        assert_eq!(ids.last(), Some(&"incident0010"), "{path}");
        assert_eq!(
            j.get(key).at(0).get("shortlink").str(),
            "https://status.many.test/incidents/incident0059"
        );
    }
    for path in [
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json",
        "/api/v2/summary.json",
    ] {
        let j = get_json(&app, path).await;
        assert_eq!(j.get("scheduled_maintenances").items().len(), 50, "{path}");
    }
}

#[tokio::test]
async fn v2_is_served_like_statuspage_serves_it() {
    let app = serve(&[DRCHRONO, PLATFORM], "2024-03-05T15:00:00Z").await;
    let plain = get(&app, "/api/v2/summary.json", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(header(&plain, header::CONTENT_TYPE).starts_with("application/json"));
    assert_eq!(header(&plain, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());

    for (path, _) in ENDPOINTS {
        let bare = path.trim_end_matches(".json");
        let with = get(&app, path, &[]).await;
        let without = get(&app, bare, &[]).await;
        assert_eq!(without.status, StatusCode::OK, "{bare}");
        assert_eq!(without.body, with.body, "{bare}");
        assert_eq!(header(&without, header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    }

    let gz = get(&app, "/api/v2/summary.json", &[("accept-encoding", "gzip")]).await;
    assert_eq!(header(&gz, header::CONTENT_ENCODING), "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut unzipped)
        .expect("gzip body");
    assert_eq!(unzipped, plain.body);

    let br = get(
        &app,
        "/api/v2/summary.json",
        &[("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(header(&br, header::CONTENT_ENCODING), "br");
    let mut unbrotli = Vec::new();
    brotli::Decompressor::new(br.body.as_slice(), 4096)
        .read_to_end(&mut unbrotli)
        .expect("brotli body");
    assert_eq!(unbrotli, plain.body);

    let etag = header(&plain, header::ETAG).to_string();
    let again = get(&app, "/api/v2/summary.json", &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = get(&app, "/api/v2/status.json", &[("if-none-match", &etag)]).await;
    assert_eq!(other.status, StatusCode::OK);
}
