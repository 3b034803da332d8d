//! The native REST API: a whole incident through `/api/herald/v1`, access rules, and bad input
//! that must be refused with a JSON error naming the field and leave stored data untouched.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use herald_core::access::Role;
use serde_json::{json, Value};

fn oauth(key: &str) -> String {
    format!("OAuth {key}")
}

async fn page(app: &App) -> Value {
    app.call("GET", "/api/herald/v1/page", None, None).await.1
}

#[tokio::test]
async fn an_incident_from_open_to_postmortem() {
    let app = app().await;
    let key = oauth(&app.key(Role::Editor).await);
    let auth = Some(key.as_str());
    let (status, group) = app
        .call(
            "POST",
            "/api/herald/v1/groups",
            auth,
            Some(json!({"name": "Backend"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().expect("id").to_string();
    let mut ids = vec![];
    for name in ["API", "Workers"] {
        let (status, c) = app
            .call(
                "POST",
                "/api/herald/v1/components",
                auth,
                Some(json!({"name": name, "group_id": gid})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    let (status, inc) = app
        .call(
            "POST",
            "/api/herald/v1/incidents",
            auth,
            Some(json!({"name": "API outage", "body": "Investigating.", "components": {ids[0].clone(): "major_outage"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let iid = inc["id"].as_str().expect("id").to_string();
    let p = page(&app).await;
    assert_eq!(p["status"]["indicator"], "critical");
    assert_eq!(p["status"]["description"], "Major System Outage");

    for status in ["identified", "monitoring", "resolved"] {
        let components = if status == "resolved" {
            json!({ids[0].clone(): "operational"})
        } else {
            json!({})
        };
        let (code, body) = app
            .call(
                "PATCH",
                &format!("/api/herald/v1/incidents/{iid}"),
                auth,
                Some(json!({"status": status, "body": format!("Now {status}."), "components": components})),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let p = page(&app).await;
        let shown = p["incidents"]
            .as_array()
            .expect("list")
            .iter()
            .find(|i| i["id"] == iid.as_str())
            .cloned();
        assert_eq!(
            shown.as_ref().map(|i| i["status"].clone()),
            Some(json!(status))
        );
    }
    assert_eq!(page(&app).await["status"]["indicator"], "none");

    let (code, body) = app
        .call(
            "PUT",
            &format!("/api/herald/v1/incidents/{iid}/postmortem"),
            auth,
            Some(json!({"body": "A bad deploy.", "timeline": [{"at": "2026-03-01T11:00:00Z", "activity": "Deploy"}]})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = app
        .call(
            "POST",
            &format!("/api/herald/v1/incidents/{iid}/postmortem/publish"),
            auth,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "postmortem");
    assert!(body["postmortem"]["published_at"].is_string());

    let (code, events) = app
        .call(
            "GET",
            &format!("/api/herald/v1/incidents/{iid}/events"),
            auth,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(events.as_array().expect("events").len() >= 4, "{events}");
    let (_, audit) = app.call("GET", "/api/herald/v1/audit", auth, None).await;
    assert_eq!(audit[0]["action"], "postmortem.publish");
    assert!(audit[0]["actor"]
        .as_str()
        .expect("actor")
        .starts_with("key:"));
}

#[tokio::test]
async fn bad_requests_get_a_json_error_and_change_nothing() {
    let app = app().await;
    let editor = oauth(&app.key(Role::Editor).await);
    let viewer = oauth(&app.key(Role::Viewer).await);
    let revoked_secret = app.key(Role::Editor).await;
    let keys = app.store.list_api_keys().await.expect("keys");
    let meta = herald_store::WriteMeta {
        actor: "test".into(),
        now: (app.state.clock)(),
    };
    app.store
        .revoke_api_key(&keys[2].id, &meta)
        .await
        .expect("revoke");
    let before = app.stored().await;
    let incident = "/api/herald/v1/incidents/slowness2211";
    // (method, path, authorization, body, expected status, field the error must name)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<String>,
        Value,
        StatusCode,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(editor.clone()),
            json!({"name": "x", "status": "exploding"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(editor.clone()),
            json!({"name": "x", "components": {"elsewhere001": "major_outage"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("components.elsewhere001"),
        ),
        (
            "POST",
            "/api/herald/v1/components",
            Some(editor.clone()),
            json!({"name": "n".repeat(256)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(editor.clone()),
            json!({"name": "x", "backfilled": true, "backfill_date": "yesterday"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("backfill_date"),
        ),
        (
            "PATCH",
            incident,
            Some(editor.clone()),
            json!({"status": "investigating"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(editor.clone()),
            json!({"name": "x", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some("OAuth 0123456789abcdef".into()),
            json!({"name": "x"}),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(oauth(&revoked_secret)),
            json!({"name": "x"}),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            None,
            json!({"name": "x"}),
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/incidents",
            Some(viewer.clone()),
            json!({"name": "x"}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/api-keys",
            Some(editor.clone()),
            json!({"name": "x", "role": "owner"}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "DELETE",
            "/api/herald/v1/incidents/nosuchthing0",
            Some(editor.clone()),
            json!({}),
            StatusCode::NOT_FOUND,
            None,
        ),
    ];
    for (method, path, auth, body, expected, field) in cases {
        let (status, error) = app
            .call(method, path, auth.as_deref(), Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{method} {path} {body}: {error}");
        assert!(
            error["error"].is_string(),
            "{method} {path} {body}: no JSON error in {error}"
        );
        if let Some(f) = field {
            let named = error["field"].as_str().unwrap_or("");
            assert!(
                named.starts_with(f),
                "{body}: expected field {f}, got {error}"
            );
        }
        assert_eq!(
            app.stored().await,
            before,
            "{method} {path} {body} changed stored data"
        );
    }
    // Malformed JSON is refused the same way.
    let req = Request::builder()
        .method("POST")
        .uri("/api/herald/v1/incidents")
        .header("authorization", editor.as_str())
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .expect("request");
    let (status, error) = app.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]
        .as_str()
        .expect("message")
        .contains("not valid JSON"));
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn session_writes_need_the_csrf_token() {
    let app = app().await;
    let uid = herald::app::create_user(
        &app.store,
        "ops@acme.test",
        "long enough password",
        Role::Editor,
        "test",
    )
    .await
    .expect("user");
    let token = herald::auth::new_secret(32);
    let now = (app.state.clock)();
    app.store
        .create_session(
            &herald::auth::secret_hash(&token),
            &uid,
            "csrf-123",
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .expect("session");
    let before = app.stored().await;
    let request = |csrf: Option<&str>| {
        let mut r = Request::builder()
            .method("POST")
            .uri("/api/herald/v1/components")
            .header("cookie", format!("herald_session={token}"))
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.body(Body::from(json!({"name": "Web"}).to_string()))
            .expect("request")
    };
    for bad in [None, Some("wrong")] {
        let (status, error) = app.send(request(bad)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        assert_eq!(app.stored().await, before);
    }
    let (status, body) = app.send(request(Some("csrf-123"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn maintenance_moves_through_its_window_on_its_own() {
    // Served with a short tick, so the schedule loop also runs.
    let mut app = TestApp::new()
        .configure(|state| state.maintenance_tick = std::time::Duration::from_millis(50))
        .served()
        .await;
    let key = oauth(&app.key(Role::Editor).await);
    let (status, m) = app
        .call(
            "POST",
            "/api/herald/v1/maintenances",
            Some(&key),
            Some(json!({
                "name": "Database upgrade",
                "body": "We will upgrade the database.",
                "scheduled_for": "2026-03-01T12:00:02Z",
                "scheduled_until": "2026-03-01T12:00:04Z",
                "component_ids": ["drchronocom1"]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let mid = m["id"].as_str().expect("id").to_string();
    let status_now = |app: &App| {
        let app_state = app.state.clone();
        let mid = mid.clone();
        async move {
            let doc = app_state.store.load().await.expect("load").expect("page");
            let m = doc
                .maintenances
                .iter()
                .find(|x| x.id.as_str() == mid)
                .cloned()
                .expect("maintenance");
            let web = doc
                .components
                .iter()
                .find(|c| c.id.as_str() == "drchronocom1")
                .map(|c| c.status);
            (m.status.as_str(), web.map(|s| s.as_str()))
        }
    };
    // One step a second by the test clock: the window opens at its start.
    let mut seen = vec![];
    for _ in 0..4 {
        herald::runtime::maintenance::run_due(&app.state.service).await;
        seen.push(status_now(&app).await);
        app.clock.advance(1);
    }
    seen.dedup();
    assert_eq!(
        seen,
        [
            ("scheduled", Some("operational")),
            ("in_progress", Some("under_maintenance")),
        ]
    );
    // Past its end the schedule loop closes it with no step from the test.
    app.clock.advance(2);
    common::wait_until(
        "the loop to close the window and the page to show it",
        std::time::Duration::from_secs(10),
        || async {
            let done = status_now(&app).await == ("completed", Some("operational"));
            (done && page(&app).await["status"]["indicator"] == "none").then_some(())
        },
    )
    .await;
    app.stop().await.expect("the server stops cleanly");
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_locks_after_failures() {
    let app = app().await;
    herald::app::create_user(
        &app.store,
        "ops@acme.test",
        "long enough password",
        Role::Editor,
        "test",
    )
    .await
    .expect("user");
    let login = |password: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/herald/v1/session")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"email": "ops@acme.test", "password": password}).to_string(),
            ))
            .expect("request")
    };
    let res = app.request(login("long enough password")).await;
    assert_eq!(res.status, StatusCode::CREATED);
    let cookie = res.header("set-cookie").to_string();
    assert!(
        cookie.starts_with("herald_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let body = res.json();
    let csrf = body["csrf_token"].as_str().expect("csrf").to_string();
    let token = cookie
        .trim_start_matches("herald_session=")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let req = Request::builder()
        .method("POST")
        .uri("/api/herald/v1/components")
        .header("cookie", format!("herald_session={token}"))
        .header("x-csrf-token", csrf)
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": "Web"}).to_string()))
        .expect("request");
    assert_eq!(app.send(req).await.0, StatusCode::CREATED);

    for _ in 0..5 {
        assert_eq!(
            app.send(login("wrong password!")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // This address is locked out of the account now, even with the right password, and gets
    // the answer a wrong password gets.
    assert_eq!(
        app.send(login("long enough password")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // And the address is held back after ten failures.
    let mut codes = vec![];
    for _ in 0..5 {
        codes.push(app.send(login("wrong password!")).await.0);
    }
    assert_eq!(
        codes.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{codes:?}"
    );
}

#[tokio::test]
async fn owners_manage_users_through_the_api() {
    let app = app().await;
    let owner = oauth(&app.key(Role::Owner).await);
    let editor = oauth(&app.key(Role::Editor).await);
    let body =
        json!({"email": "New@Acme.test", "password": "long enough password", "role": "viewer"});
    let (status, _) = app
        .call(
            "POST",
            "/api/herald/v1/users",
            Some(&editor),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, user) = app
        .call(
            "POST",
            "/api/herald/v1/users",
            Some(&owner),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(
        (user["email"].as_str(), user["role"].as_str()),
        (Some("new@acme.test"), Some("viewer"))
    );
    assert!(user.get("password_hash").is_none());
    let (status, dup) = app
        .call("POST", "/api/herald/v1/users", Some(&owner), Some(body))
        .await;
    // A duplicate is a conflict, not bad input.
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    assert!(
        dup["error"]
            .as_str()
            .is_some_and(|e| e.contains("new@acme.test")),
        "{dup}"
    );
    let (status, short) = app
        .call(
            "POST",
            "/api/herald/v1/users",
            Some(&owner),
            Some(json!({"email": "b@acme.test", "password": "short", "role": "editor"})),
        )
        .await;
    assert_eq!(
        (status, short["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    let (_, list) = app
        .call("GET", "/api/herald/v1/users", Some(&owner), None)
        .await;
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));
}
