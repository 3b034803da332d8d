//! Statuspage's manage API v1: a client written for Statuspage drives a whole incident, and after
//! every step the public v2 summary and the status page show it.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use herald_core::access::Role;
use serde_json::{json, Value};

struct Client<'a> {
    app: &'a App,
    auth: String,
}

impl Client<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app
            .call(
                method,
                &format!("/v1/pages/drchronopage{path}"),
                Some(&self.auth),
                body,
            )
            .await
    }
}

async fn summary(app: &App) -> Value {
    app.call("GET", "/api/v2/summary.json", None, None).await.1
}

async fn home(app: &App) -> String {
    app.text("/").await.1
}

#[tokio::test]
async fn a_statuspage_client_runs_a_whole_incident() {
    let app = app().await;
    let c = Client {
        app: &app,
        auth: format!("OAuth {}", app.key(Role::Editor).await),
    };

    let (status, pages) = app.call("GET", "/v1/pages.json", Some(&c.auth), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pages[0]["id"], "drchronopage");

    let (status, group) = c
        .call("POST", "/component-groups", Some(json!({"description": "Core services", "component_group": {"name": "Platform", "components": []}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().expect("group id").to_string();
    let mut ids = vec![];
    for name in ["Scheduling", "Billing"] {
        let (status, comp) = c
            .call(
                "POST",
                "/components.json",
                Some(json!({"component": {"name": name, "group_id": gid}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{comp}");
        assert_eq!(comp["group_id"], gid.as_str());
        assert!(comp["automation_email"].is_string());
        ids.push(comp["id"].as_str().expect("id").to_string());
    }
    let s = summary(&app).await;
    let names: Vec<&str> = s["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Platform") && names.contains(&"Scheduling") && names.contains(&"Billing"),
        "{names:?}"
    );
    assert!(home(&app).await.contains("Scheduling"));

    let (status, inc) = c
        .call(
            "POST",
            "/incidents",
            Some(json!({"incident": {
                "name": "Scheduling is down",
                "status": "investigating",
                "body": "We are investigating failures to book appointments.",
                "component_ids": [ids[0]],
                "components": {ids[0].clone(): "major_outage"},
                "deliver_notifications": true,
                "metadata": {"pagerduty": {"incident_key": "PD1"}}
            }})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let iid = inc["id"].as_str().expect("id").to_string();
    assert_eq!(inc["impact"], "critical");
    assert_eq!(
        inc["incident_updates"][0]["affected_components"][0]["new_status"],
        "major_outage"
    );
    assert_eq!(
        inc["incident_updates"][0]["affected_components"][0]["name"],
        "Platform - Scheduling"
    );
    let s = summary(&app).await;
    assert_eq!(s["status"]["indicator"], "critical");
    assert_eq!(s["incidents"][0]["id"], iid.as_str());
    let row = s["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|r| r["id"] == ids[0].as_str())
        .cloned();
    assert_eq!(
        row.map(|r| r["status"].clone()),
        Some(json!("major_outage"))
    );
    let page = home(&app).await;
    assert!(
        page.contains("Scheduling is down") && page.contains("Major System Outage"),
        "home page lacks the incident"
    );

    for (status, text) in [
        (
            "identified",
            "A database migration locked the appointments table.",
        ),
        (
            "monitoring",
            "The migration was rolled back; bookings work again.",
        ),
        ("resolved", "Everything has been normal for an hour."),
    ] {
        let mut fields = json!({"status": status, "body": text});
        if status == "monitoring" {
            fields["components"] = json!({ids[0].clone(): "operational"});
        }
        let (code, inc) = c
            .call(
                "PATCH",
                &format!("/incidents/{iid}.json"),
                Some(json!({"incident": fields})),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{inc}");
        assert_eq!(inc["status"], status);
        assert_eq!(inc["incident_updates"][0]["body"], text);
        let s = summary(&app).await;
        let unresolved: Vec<&str> = s["incidents"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(
            unresolved.contains(&iid.as_str()),
            status != "resolved",
            "{status}"
        );
        let page = app.text(&format!("/incidents/{iid}")).await.1;
        assert!(
            page.contains(text),
            "incident page lacks the {status} update"
        );
    }
    let s = summary(&app).await;
    assert_eq!(s["status"]["indicator"], "none");
    assert_eq!(s["status"]["description"], "All Systems Operational");

    let (code, pm) = c
        .call(
            "PUT",
            &format!("/incidents/{iid}/postmortem"),
            Some(
                json!({"postmortem": {"body_draft": "## What happened\nA migration held a lock."}}),
            ),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{pm}");
    assert!(pm["published_at"].is_null());
    assert!(
        !app.text(&format!("/incidents/{iid}"))
            .await
            .1
            .contains("A migration held a lock."),
        "a draft is not public"
    );
    let (code, pm) = c
        .call(
            "PUT",
            &format!("/incidents/{iid}/postmortem/publish"),
            Some(json!({"postmortem": {"notify_subscribers": false, "notify_twitter": false}})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{pm}");
    assert!(pm["published_at"].is_string());
    let page = app.text(&format!("/incidents/{iid}")).await.1;
    assert!(
        page.contains("A migration held a lock."),
        "published postmortem not shown"
    );
    let (_, inc) = c.call("GET", &format!("/incidents/{iid}"), None).await;
    assert_eq!(inc["status"], "postmortem");
    assert!(inc["postmortem_published_at"].is_string());
    let (_, all) = app.call("GET", "/api/v2/incidents.json", None, None).await;
    assert_eq!(all["incidents"][0]["status"], "postmortem");
}

#[tokio::test]
async fn v1_errors_look_like_statuspage_errors_and_change_nothing() {
    let app = app().await;
    let editor = format!("OAuth {}", app.key(Role::Editor).await);
    let viewer = format!("OAuth {}", app.key(Role::Viewer).await);
    let before = app.stored().await;
    let cases: Vec<(&str, String, Option<&str>, Value, StatusCode)> = vec![
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some(&editor),
            json!({"incident": {"name": "x", "status": "on_fire"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some(&editor),
            json!({"incident": {"name": "x", "components": {"otherpage001": "major_outage"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/components".into(),
            Some(&editor),
            json!({"component": {"name": "y".repeat(300)}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some(&editor),
            json!({"incident": {"name": "x", "scheduled_for": "next tuesday"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some(&editor),
            json!({"name": "no envelope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/v1/pages/otherpage001/incidents".into(),
            Some(&editor),
            json!({"incident": {"name": "x"}}),
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some(&viewer),
            json!({"incident": {"name": "x"}}),
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/v1/pages/drchronopage/incidents".into(),
            Some("OAuth deadbeefdeadbeef"),
            json!({"incident": {"name": "x"}}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "GET",
            "/v1/pages/drchronopage/incidents/nosuchthing0".into(),
            Some(&editor),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, auth, body, expected) in cases {
        let (status, error) = app.call(method, &path, auth, Some(body.clone())).await;
        assert_eq!(status, expected, "{method} {path} {body}: {error}");
        assert!(
            error["error"].is_string() && error["message"].is_string(),
            "{error}"
        );
        assert_eq!(
            app.stored().await,
            before,
            "{method} {path} {body} changed data"
        );
    }
    // Rails-style form bodies work like JSON ones.
    let req = Request::builder()
        .method("POST")
        .uri("/v1/pages/drchronopage/incidents.json")
        .header("authorization", editor.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("incident[name]=Slow+exports&incident[status]=identified&incident[component_ids][]=drchronocom1&api_key=ignored"))
        .expect("request");
    let (status, inc) = app.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    assert_eq!(inc["status"], "identified");
    assert_eq!(inc["components"][0]["id"], "drchronocom1");
}

#[tokio::test]
async fn subscribers_and_incident_templates_through_v1() {
    let mut app = app().await;
    // The webhook below names a host that does not resolve here; allowed by name, it is not
    // looked up when created.
    let options = herald::notify::NotifyOptions {
        allow_targets: vec!["hooks.acme.test".into()],
        ..Default::default()
    };
    app.state.notifier = herald::notify::Notifier::new(options, None).expect("notifier");
    let c = Client {
        app: &app,
        auth: format!("OAuth {}", app.key(Role::Editor).await),
    };
    let (status, sub) = c
        .call("POST", "/subscribers", Some(json!({"subscriber": {"email": "ops@acme.test", "component_ids": ["drchronocom1"]}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    assert_eq!(sub["mode"], "email");
    assert_eq!(sub["components"], json!(["drchronocom1"]));
    let sid = sub["id"].as_str().expect("id").to_string();
    // Unconfirmed email subscribers are not "active", the list's default.
    assert_eq!(c.call("GET", "/subscribers", None).await.1, json!([]));
    let (_, all) = c.call("GET", "/subscribers?state=all", None).await;
    assert_eq!(all.as_array().map(|a| a.len()), Some(1));
    let (status, hook) = c
        .call("POST", "/subscribers.json", Some(json!({"subscriber": {"endpoint": "https://hooks.acme.test/s", "email": "ops@acme.test"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert_eq!(hook["mode"], "webhook");
    let (_, active) = c.call("GET", "/subscribers?type=webhook", None).await;
    assert_eq!(active.as_array().map(|a| a.len()), Some(1));
    let (_, count) = c.call("GET", "/subscribers/count?state=all", None).await;
    assert_eq!(
        (count["email"].clone(), count["webhook"].clone()),
        (json!(1), json!(1))
    );
    let (status, dup) = c
        .call(
            "POST",
            "/subscribers",
            Some(json!({"subscriber": {"email": "OPS@acme.test"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let (status, bad) = c
        .call(
            "POST",
            "/subscribers",
            Some(json!({"subscriber": {"email": "not-an-address"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "subscriber.email");
    let (status, moved) = c
        .call(
            "PATCH",
            &format!("/subscribers/{sid}"),
            Some(json!({"component_ids": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["components"], json!([]));
    let (status, _) = c.call("DELETE", &format!("/subscribers/{sid}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, gone) = c.call("GET", "/subscribers?state=unsubscribed", None).await;
    assert_eq!(gone[0]["id"], sid.as_str());

    let (status, t) = c
        .call(
            "POST",
            "/incident_templates",
            Some(json!({"template": {"name": "Slow site", "title": "Site slowness", "body": "We are looking into slow pages.",
                                       "update_status": "investigating", "component_ids": ["drchronocom1"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["components"][0]["id"], "drchronocom1");
    let (_, list) = c.call("GET", "/incident_templates", None).await;
    assert_eq!(list[0]["title"], "Site slowness");
    let (status, bad) = c
        .call(
            "POST",
            "/incident_templates",
            Some(json!({"template": {"name": "x", "update_status": "panicking"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "template.update_status");
}
