use super::*;

const EXAMPLE: &str = include_str!("../../../../examples/drchrono-2022-11.toml");

fn now() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().expect("time")
}

fn example() -> PageDocument {
    DataFile::parse(EXAMPLE, Format::Toml)
        .expect("example parses")
        .into_document(None, now())
        .expect("example is valid")
}

const SMALL: &str = r#"
version = 1

[page]
id = "pagepagepage"
name = "Acme"
url = "https://status.acme.test"
time_zone = "Etc/UTC"

[[components]]
id = "componentapi"
name = "API"

[[incidents]]
id = "incident0001"
name = "Errors"
status = "investigating"
impact = "minor"
created_at = "2024-03-05T13:58:01Z"
components = ["componentapi"]

[[incidents.updates]]
id = "update000001"
status = "investigating"
body = "Looking."
display_at = "2024-03-05T13:58:01Z"
"#;

#[test]
fn the_example_holds_the_whole_report() {
    let doc = example();
    assert_eq!(doc.components.len(), 2);
    assert_eq!(doc.incidents.len(), 2);
    let slowness = doc
        .incidents
        .iter()
        .find(|i| i.name == "General system slowness on the DrChrono platform")
        .expect("first incident");
    let statuses: Vec<_> = slowness.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "resolved",
            "monitoring",
            "identified",
            "identified",
            "identified"
        ]
    );
    let pm = slowness.postmortem.as_ref().expect("postmortem");
    assert_eq!(pm.timeline.len(), 28);
    assert_eq!(pm.timeline_zone_label.as_deref(), Some("PST"));
    for section in [
        &pm.contributing_factors,
        &pm.stabilization_steps,
        &pm.impact,
        &pm.corrective_actions,
    ] {
        assert!(!section.trim().is_empty());
    }
    let tz = crate::timefmt::zone(&doc.page.time_zone).expect("zone");
    // The report's "PST" wall clock on 3 Nov is really PDT: 05:44 local is 12:44 UTC.
    let created = pm
        .timeline
        .iter()
        .find(|r| r.activity.starts_with("Status page was created"));
    assert_eq!(
        crate::timefmt::api(created.expect("row").at),
        "2022-11-03T12:44:00.000Z"
    );
    assert_eq!(
        crate::timefmt::posted(slowness.updates[4].display_at, tz),
        "Nov 03, 2022 - 05:44 PDT"
    );
    assert_eq!(
        crate::timefmt::posted(pm.published_at.expect("published"), tz),
        "Nov 14, 2022 - 11:37 PST"
    );
    assert_eq!(
        slowness.started_at,
        "2022-11-03T05:00:00Z".parse::<DateTime<Utc>>().expect("t")
    );
    assert!(doc
        .incidents
        .iter()
        .any(|i| i.name == "Task and message counts are temporarily unavailable"));
}

#[test]
fn export_then_import_round_trips_exactly() {
    let doc = example();
    for format in [Format::Toml, Format::Json] {
        let text = DataFile::from_document(&doc).render(format);
        let again = DataFile::parse(&text, format)
            .expect("exported file parses")
            .into_document(None, now() + chrono::Duration::days(3))
            .expect("exported file is valid");
        assert_eq!(again, doc, "{format:?}");
    }
}

#[test]
fn a_second_import_keeps_timestamps() {
    let file = DataFile::parse(SMALL, Format::Toml).expect("parses");
    let first = file.clone().into_document(None, now()).expect("valid");
    let later = now() + chrono::Duration::hours(1);
    let second = file
        .clone()
        .into_document(Some(&first), later)
        .expect("valid");
    assert_eq!(first, second);
    let mut renamed = file;
    renamed.components[0].name = "Public API".into();
    let third = renamed.into_document(Some(&first), later).expect("valid");
    assert_eq!(third.components[0].updated_at, later);
    assert_eq!(
        third.components[0].created_at,
        first.components[0].created_at
    );
}

fn error_of(text: &str) -> String {
    match DataFile::parse(text, Format::Toml) {
        Err(e) => e.to_string(),
        Ok(f) => f
            .into_document(None, now())
            .expect_err("should be refused")
            .to_string(),
    }
}

#[test]
fn a_wrong_status_names_its_line() {
    let text = SMALL.replace(
        "status = \"investigating\"\nimpact",
        "status = \"investigatin\"\nimpact",
    );
    let e = error_of(&text);
    assert!(e.contains("line 17"), "{e}");
    assert!(e.contains("investigatin"), "{e}");
}

#[test]
fn a_missing_field_names_its_table() {
    let text = SMALL.replace("name = \"Errors\"\n", "");
    let e = error_of(&text);
    assert!(e.contains("missing field `name`"), "{e}");
    assert!(e.contains("line 14"), "{e}");
}

#[test]
fn a_bad_time_names_its_line() {
    let text = SMALL.replace(
        "2024-03-05T13:58:01Z\"\ncomponents",
        "2024-03-05 lunchtime\"\ncomponents",
    );
    let e = error_of(&text);
    assert!(e.contains("line 19"), "{e}");
}

#[test]
fn semantic_errors_name_the_place() {
    let cases = [
        (
            SMALL.replace(
                "components = [\"componentapi\"]",
                "components = [\"nosuchthing0\"]",
            ),
            "incidents[0].components[0]: no component has id `nosuchthing0`",
        ),
        (SMALL.replace("Etc/UTC", "Mars/Olympus"), "page.time_zone"),
        (
            SMALL.replace("id = \"update000001\"", "id = \"componentapi\""),
            "incidents[0].updates[0].id: id `componentapi` is used twice",
        ),
        (
            SMALL.replace(
                "status = \"investigating\"\nbody",
                "status = \"monitoring\"\nbody",
            ),
            "incidents[0].status: the incident is `investigating` but its newest update",
        ),
        (
            SMALL.replace("version = 1", "version = 7"),
            "version: this Herald reads data file version 1",
        ),
        (
            SMALL.replace("name = \"API\"", &format!("name = \"{}\"", "x".repeat(256))),
            "components[0].name: is longer than 255 characters",
        ),
    ];
    for (text, expected) in cases {
        let e = error_of(&text);
        assert!(e.contains(expected), "expected `{expected}` in `{e}`");
    }
}

#[test]
fn json_errors_carry_line_and_column() {
    let e =
        DataFile::parse("{\n  \"version\": 1,\n  \"page\": 3\n}", Format::Json).expect_err("bad");
    assert!(e.to_string().contains("line 3"), "{e}");
}

/// SMALL with one monitor section appended; `probe` and `extra` fill in its fields.
fn with_monitor(extra: &str, probe: &str) -> String {
    format!(
        "{SMALL}\n[[monitors]]\nid = \"monitorapi01\"\nname = \"API\"\ncomponent_id = \"componentapi\"\n\
         interval_seconds = 30\ntimeout_ms = 5000\n{extra}\n[monitors.probe]\n{probe}\n"
    )
}

#[test]
fn monitors_are_checked_like_the_api_checks_them() {
    let good = with_monitor("", "type = \"http\"\nurl = \"https://127.0.0.1/health\"");
    let file = DataFile::parse(&good, Format::Toml).expect("parse");
    assert_eq!(file.monitors.len(), 1);
    file.into_document(None, now()).expect("valid");
    for (text, place) in [
        (
            with_monitor("", "type = \"http\"\nurl = \"ftp://x\""),
            "monitors[0].probe.url",
        ),
        (
            with_monitor("", "type = \"tcp\"\nhost = \"db\"\nport = 0"),
            "monitors[0].probe.port",
        ),
        (
            with_monitor(
                "retry_interval_seconds = 0",
                "type = \"tcp\"\nhost = \"db\"\nport = 5432",
            ),
            "monitors[0].retry_interval_seconds",
        ),
        (
            with_monitor("", "type = \"heartbeat\"\ntoken = \"short\""),
            "monitors[0].probe.token",
        ),
        (
            with_monitor("", "type = \"tcp\"\nhost = \"db\"\nport = 5432").replace(
                "component_id = \"componentapi\"",
                "component_id = \"nosuchthing0\"",
            ),
            "monitors[0].component_id",
        ),
    ] {
        let e = error_of(&text);
        assert!(e.contains(place), "{place}: {e}");
    }
    // An unknown probe type is a syntax error with its line.
    let e = error_of(&with_monitor("", "type = \"smtp\"\nhost = \"x\""));
    assert!(e.contains("smtp"), "{e}");
}

#[test]
fn nesting_and_nul_are_refused_before_parsing() {
    let deep_array = format!(
        "version = 1\na = {}1{}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let deep_keys = format!("version = 1\n{} = 1", vec!["k"; 50_000].join("."));
    let deep_json = format!("{{\"a\":{}1{}}}", "[".repeat(50_000), "]".repeat(50_000));
    for (text, format) in [
        (deep_array.as_str(), Format::Toml),
        (deep_keys.as_str(), Format::Toml),
        (deep_json.as_str(), Format::Json),
    ] {
        match DataFile::parse(text, format) {
            Err(DataFileError::Syntax(m)) => assert!(m.contains("deeper"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert!(DataFile::parse("version = 1\nx = \"\\u0000\"", Format::Toml).is_err());
    assert!(DataFile::parse("{\"version\": 1, \"x\": \"\\u0000\"}", Format::Json).is_err());
    let escape = SMALL.replace("name = \"API\"", "name = \"API\\u001b[31m\"");
    assert_ne!(escape, SMALL);
    match DataFile::parse(&escape, Format::Toml).and_then(|f| f.into_document(None, now())) {
        Err(DataFileError::Invalid { place, .. }) => assert_eq!(place, "components[0].name"),
        other => panic!("expected components[0].name refused, got {other:?}"),
    }
}
