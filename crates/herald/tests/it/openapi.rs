//! `GET /api/openapi.json`: a valid OpenAPI 3 document that describes every native route, no
//! more and no fewer, with response schemas that match what the API really serves.

use crate::common;

use common::app;
use herald::http::api::{NATIVE_ROUTES, PREFIX};
use herald_core::access::Role;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

/// The operation keys of an OpenAPI path item.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The routes outside the native prefix that the document also describes.
const OTHER_ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/openapi.json"),
];

async fn document() -> Value {
    let app = app().await;
    let (status, doc) = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200, "{doc}");
    doc
}

/// Follows a local `$ref` such as `#/components/schemas/Component`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

/// Every `$ref` anywhere in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_string(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn openapi_document_is_valid_openapi_3() {
    let doc = document().await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "openapi is {version}");
    assert_eq!(doc["info"]["title"], "Herald");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let mut found = vec![];
    refs(&doc, &mut found);
    assert!(!found.is_empty(), "the document has no $ref at all");
    for r in found {
        assert!(r.starts_with("#/"), "non-local $ref {r}");
        assert!(resolve(&doc, r).is_some(), "$ref {r} resolves to nothing");
    }

    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let ops: Vec<_> = METHODS.iter().filter_map(|m| item.get(*m)).collect();
        assert!(!ops.is_empty(), "{path} has no operation");
        for op in ops {
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{path}: no responses");
            for (code, response) in responses {
                assert!(
                    response.get("description").is_some(),
                    "{path} {code}: no description"
                );
            }
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
            for scheme in op["security"].as_array().into_iter().flatten() {
                for name in scheme.as_object().expect("requirement").keys() {
                    assert!(
                        doc["components"]["securitySchemes"].get(name).is_some(),
                        "{path}: unknown security scheme {name}"
                    );
                }
            }
        }
    }

    validate_with_openapi_spec_validator(&doc);
}

/// Runs the reference validator from PyPI when it is installed; the checks above always run.
fn validate_with_openapi_spec_validator(doc: &Value) {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("note: openapi-spec-validator is not installed; skipped the reference validator");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run openapi_spec_validator");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("openapi-spec-validator accepted the document");
}

#[tokio::test]
async fn openapi_covers_every_native_route() {
    let doc = document().await;
    let expected: BTreeSet<(String, String)> = NATIVE_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), format!("{PREFIX}{p}")))
        .chain(
            OTHER_ROUTES
                .iter()
                .map(|(m, p)| (m.to_string(), p.to_string())),
        )
        .collect();
    let documented = operations(&doc);
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
}

/// The route table is the router: each listed (method, path) is served, and every other method
/// on a listed path is refused with 405.
#[tokio::test]
async fn native_route_table_matches_the_router() {
    let app = app().await;
    for (method, path) in NATIVE_ROUTES {
        let concrete = format!("{PREFIX}{path}")
            .replace("{id}", "aaaaaaaaaaaa")
            .replace("{update}", "bbbbbbbbbbbb");
        let (status, body) = app
            .call(&method.to_uppercase(), &concrete, None, None)
            .await;
        assert!(
            status != 404 && status != 405,
            "{method} {concrete} is not routed: {status} {body}"
        );
        for other in ["get", "put", "post", "delete", "patch"] {
            if NATIVE_ROUTES.contains(&(other, path)) {
                continue;
            }
            let (status, _) = app.call(&other.to_uppercase(), &concrete, None, None).await;
            assert_eq!(status, 405, "{other} {concrete} is routed but not listed");
        }
    }
}

/// The properties a schema in the document declares.
fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"))
        .keys()
        .cloned()
        .collect()
}

/// Checks that a served object has exactly the fields its schema names.
fn assert_shape(doc: &Value, schema: &str, served: &Value) {
    let fields: BTreeSet<String> = served
        .as_object()
        .unwrap_or_else(|| panic!("{schema}: served {served}"))
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        fields,
        properties(doc, schema),
        "schema {schema} vs {served}"
    );
}

#[tokio::test]
async fn response_schemas_match_what_the_api_serves() {
    let doc = document().await;
    let app = app().await;
    let (status, page) = app.call("GET", "/api/herald/v1/page", None, None).await;
    assert_eq!(status, 200);
    assert_shape(&doc, "Page", &page);
    assert_shape(&doc, "PageSettings", &page["page"]);
    assert_shape(&doc, "PageStatus", &page["status"]);
    let listed = |key: &str| {
        let items = page[key].as_array().expect("list").clone();
        assert!(!items.is_empty(), "the example page has no {key}");
        items
    };
    listed("components")
        .iter()
        .for_each(|c| assert_shape(&doc, "Component", c));
    let mut postmortems = 0;
    for incident in listed("incidents") {
        assert_shape(&doc, "Incident", &incident);
        for update in incident["updates"].as_array().expect("updates") {
            assert_shape(&doc, "IncidentUpdate", update);
            for affected in update["affected_components"].as_array().expect("affected") {
                assert_shape(&doc, "AffectedComponent", affected);
            }
        }
        if !incident["postmortem"].is_null() {
            postmortems += 1;
            assert_shape(&doc, "Postmortem", &incident["postmortem"]);
            for row in incident["postmortem"]["timeline"].as_array().expect("rows") {
                assert_shape(&doc, "TimelineRow", row);
            }
        }
    }
    assert!(postmortems > 0, "the example page has no postmortem");

    let owner = format!("OAuth {}", app.key(Role::Owner).await);
    let (status, group) = app
        .call(
            "POST",
            "/api/herald/v1/groups",
            Some(&owner),
            Some(json!({"name": "Core"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    assert_shape(&doc, "ComponentGroup", &group);
    let (status, maintenance) = app
        .call(
            "POST",
            "/api/herald/v1/maintenances",
            Some(&owner),
            Some(json!({
                "name": "Database upgrade",
                "body": "We will upgrade the database.",
                "scheduled_for": "2026-03-02T12:00:00Z",
                "scheduled_until": "2026-03-02T14:00:00Z",
                "component_ids": [page["components"][0]["id"]]
            })),
        )
        .await;
    assert_eq!(status, 201, "{maintenance}");
    assert_shape(&doc, "Maintenance", &maintenance);
    let updates = maintenance["updates"].as_array().expect("updates");
    assert!(!updates.is_empty());
    for update in updates {
        assert_shape(&doc, "MaintenanceUpdate", update);
    }
    let incident = page["incidents"][0]["id"].as_str().expect("id");
    let (status, events) = app
        .call(
            "PATCH",
            &format!("/api/herald/v1/incidents/{incident}"),
            Some(&owner),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(status, 200, "{events}");
    let (status, events) = app
        .call(
            "GET",
            &format!("/api/herald/v1/incidents/{incident}/events"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200, "{events}");
    assert_shape(&doc, "IncidentEvent", &events[0]);
    let (status, key) = app
        .call(
            "POST",
            "/api/herald/v1/api-keys",
            Some(&owner),
            Some(json!({"name": "ci", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    assert_shape(&doc, "NewApiKey", &key);
    let (_, keys) = app
        .call("GET", "/api/herald/v1/api-keys", Some(&owner), None)
        .await;
    assert_shape(&doc, "ApiKeyInfo", &keys[0]);
    let (_, audit) = app
        .call("GET", "/api/herald/v1/audit", Some(&owner), None)
        .await;
    assert_shape(&doc, "AuditEntry", &audit[0]);
    let (status, revoked) = app
        .call(
            "DELETE",
            &format!(
                "/api/herald/v1/api-keys/{}",
                key["id"].as_str().expect("id")
            ),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_shape(&doc, "Revoked", &revoked);

    let (status, error) = app
        .call(
            "POST",
            "/api/herald/v1/components",
            Some(&owner),
            Some(json!({"name": 7})),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_shape(&doc, "ErrorBody", &error);

    let component = page["components"][0]["id"].as_str().expect("id");
    let (status, deleted) = app
        .call(
            "DELETE",
            &format!("/api/herald/v1/components/{component}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert_shape(&doc, "Deleted", &deleted);
}
