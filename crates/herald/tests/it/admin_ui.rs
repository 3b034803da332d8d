//! The admin web UI through the router: signing in, CSRF tokens on every form, the viewer
//! role, opening an incident from the form and seeing it on the public API, the postmortem
//! editor, and bad input sent back with its message while stored data stays as it was.

use crate::common;

use axum::http::{header, StatusCode};
use common::*;
use herald_core::access::Role;
use serde_json::Value;

/// An answer from the admin UI: status, headers and the body as text.
struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl From<Reply> for Page {
    fn from(r: Reply) -> Page {
        Page {
            body: r.text(),
            status: r.status,
            headers: r.headers,
        }
    }
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the form field `name` on the page.
    fn hidden(&self, name: &str) -> String {
        common::hidden(&self.body, name)
    }

    /// The `name=value` part of the cookie `name` this answer sets.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

async fn get(app: &App, path: &str, cookie: Option<&str>) -> Page {
    match cookie {
        Some(c) => app.get(path, &[("cookie", c)]).await,
        None => app.get(path, &[]).await,
    }
    .into()
}

async fn post(app: &App, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Page {
    app.post_form(path, cookie, fields).await.into()
}

/// Opens the sign-in form as a browser does: its cookie and the token of its hidden field.
async fn login_form(app: &App) -> (String, String) {
    let form = get(app, "/admin/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let cookie = form.cookie("herald_login").expect("a sign-in form cookie");
    (cookie, form.hidden("login_token"))
}

/// Sends the sign-in form (fetched first) with these credentials.
async fn post_login(app: &App, email: &str, password: &str) -> Page {
    app.post_login(email, password).await.into()
}

/// An app with a user of `role` signed in: the app, the cookie and a page's CSRF token.
async fn signed_in(role: Role) -> (App, String, String) {
    let app = app().await;
    let Session { cookie, csrf } = app.session(role).await;
    (app, cookie, csrf)
}

async fn component_id(app: &App, name: &str) -> String {
    let doc = app.store.load().await.expect("load").expect("page");
    doc.components
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.id.to_string())
        .expect("component")
}

async fn summary(app: &App) -> Value {
    app.call("GET", "/api/v2/summary.json", None, None).await.1
}

#[tokio::test]
async fn signing_in_with_the_right_password_opens_the_dashboard() {
    let app = app().await;
    app.user("owner@example.test", Role::Owner).await;

    let bare = get(&app, "/admin", None).await;
    assert_eq!(bare.status, StatusCode::SEE_OTHER);
    assert_eq!(bare.location(), "/admin/login");

    let form = get(&app, "/admin/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"password\""));

    let cookie = app.sign_in("owner@example.test").await.cookie;
    let dash = get(&app, "/admin", Some(&cookie)).await;
    assert_eq!(dash.status, StatusCode::OK, "{}", dash.body);
    assert!(dash.body.contains("owner@example.test"));
    assert!(dash.body.contains("Open incidents"));
    assert_eq!(dash.headers["cache-control"], "no-store");
    assert_eq!(dash.headers["x-frame-options"], "DENY");
    assert!(dash.headers.contains_key("content-security-policy"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message() {
    let app = app().await;
    app.user("owner@example.test", Role::Owner).await;
    let res = post_login(&app, "owner@example.test", "wrong horse battery").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.cookie("herald_session").is_none());
    assert!(res.body.contains("do not match an account"), "{}", res.body);
    assert!(res.body.contains("value=\"owner@example.test\""));

    // Four more failures lock this address out of the account: the right password then gets
    // the same page as a wrong one.
    for _ in 0..4 {
        post_login(&app, "owner@example.test", "still wrong").await;
    }
    let locked = post_login(&app, "owner@example.test", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert!(
        locked.body.contains("do not match an account"),
        "{}",
        locked.body
    );
    assert!(locked.cookie("herald_session").is_none());
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_token_and_cookie() {
    let app = app().await;
    app.user("owner@example.test", Role::Owner).await;
    let form = get(&app, "/admin/login", None).await;
    let set = form
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("herald_login="))
        .expect("a sign-in form cookie")
        .to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age="] {
        assert!(set.contains(part), "{set}");
    }
    let (cookie, token) = (
        form.cookie("herald_login").expect("cookie"),
        form.hidden("login_token"),
    );
    let (other_cookie, _) = login_form(&app).await;
    let creds = [("email", "owner@example.test"), ("password", PASSWORD)];
    let with = |t: &str| {
        let mut f = vec![("login_token", t.to_string())];
        f.extend(creds.iter().map(|(k, v)| (*k, v.to_string())));
        f
    };
    let send = |cookie: Option<String>, fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(app, "/admin/login", cookie.as_deref(), &f).await
        }
    };
    // No token, no cookie, another form's cookie, a made-up token: the form again, 403.
    for res in [
        send(Some(cookie.clone()), with("")).await,
        send(None, with(&token)).await,
        send(Some(other_cookie), with(&token)).await,
        send(Some(cookie.clone()), with("0123456789abcdef")).await,
    ] {
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
        assert!(res.body.contains("out of date"), "{}", res.body);
        assert!(res.body.contains("name=\"login_token\""), "a fresh form");
        assert!(res.cookie("herald_session").is_none());
    }
    // The matching pair signs in and clears the form's cookie.
    let res = send(Some(cookie), with(&token)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(res.cookie("herald_session").is_some());
    assert_eq!(res.cookie("herald_login").as_deref(), Some("herald_login="));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let out = post(
        &app,
        "/admin/logout",
        Some(&cookie),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, "/admin", Some(&cookie)).await.location(),
        "/admin/login"
    );
}

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    let (app, cookie, csrf) = signed_in(Role::Owner).await;
    let before = app.stored().await;
    let fields = |token: &'static str| {
        vec![
            ("csrf_token", token),
            ("name", "Sneaky incident"),
            ("status", "investigating"),
            ("body", "Planted by another site."),
        ]
    };
    let missing: Vec<_> = fields("").into_iter().skip(1).collect();
    let res = post(&app, "/admin/incidents", Some(&cookie), &missing).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = post(
        &app,
        "/admin/incidents",
        Some(&cookie),
        &fields("0123456789abcdef"),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(res.body.contains("security token"));
    let res = post(
        &app,
        "/admin/users",
        Some(&cookie),
        &[
            ("email", "x@example.test"),
            ("role", "owner"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.stored().await, before);
    assert_eq!(app.store.list_users().await.expect("users").len(), 1);

    // The same form with the session's token goes through.
    let mut good = fields("");
    good[0].1 = &csrf;
    let res = post(&app, "/admin/incidents", Some(&cookie), &good).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_ne!(app.stored().await, before);
}

#[tokio::test]
async fn a_viewer_sees_pages_but_cannot_write() {
    let (app, cookie, csrf) = signed_in(Role::Viewer).await;
    let before = app.stored().await;
    for path in [
        "/admin/incidents",
        "/admin/incidents/new",
        "/admin/components",
        "/admin/maintenance",
        "/admin/audit",
    ] {
        let res = get(&app, path, Some(&cookie)).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.body);
    }
    assert_eq!(
        get(&app, "/admin/users", Some(&cookie)).await.status,
        StatusCode::FORBIDDEN
    );
    let res = post(
        &app,
        "/admin/incidents",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "Viewer incident"),
            ("status", "investigating"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = post(
        &app,
        "/admin/components",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "New"),
            ("status", "operational"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn an_incident_opened_from_the_form_is_on_the_public_api() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let web = component_id(&app, "drchrono.com").await;
    let field = format!("components.{web}");
    let res = post(
        &app,
        "/admin/incidents",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "Website unreachable"),
            ("status", "investigating"),
            ("impact", ""),
            ("body", "We are looking into it."),
            (&field, "major_outage"),
            ("deliver_notifications", "on"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let incident_page = res.location().to_string();
    assert!(incident_page.starts_with("/admin/incidents/"));

    let s = summary(&app).await;
    assert_eq!(s["status"]["description"], "Major System Outage");
    let names: Vec<_> = s["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert!(
        names.contains(&Value::from("Website unreachable")),
        "{names:?}"
    );
    let component = s["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "drchrono.com")
        .cloned()
        .expect("component");
    assert_eq!(component["status"], "major_outage");

    let shown = get(&app, &incident_page, Some(&cookie)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("We are looking into it."));

    // Resolve: the component goes back to operational and the page is all clear.
    let res = post(
        &app,
        &format!("{incident_page}/resolve"),
        Some(&cookie),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let s = summary(&app).await;
    assert_eq!(s["status"]["description"], "All Systems Operational");
}

#[tokio::test]
async fn bad_input_comes_back_with_its_message_and_changes_nothing() {
    let (app, cookie, csrf) = signed_in(Role::Owner).await;
    let before = app.stored().await;
    let long = "x".repeat(300);
    let cases: [(&str, &str, &str); 3] = [
        ("   ", "investigating", "must not be blank"),
        (&long, "investigating", "at most 255 characters"),
        (
            "Typed name",
            "exploded",
            "choose one of the listed statuses",
        ),
    ];
    for (name, status, message) in cases {
        let res = post(
            &app,
            "/admin/incidents",
            Some(&cookie),
            &[
                ("csrf_token", &csrf),
                ("name", name),
                ("status", status),
                ("body", "Kept as typed <b>here</b>"),
            ],
        )
        .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            res.body
        );
        assert!(res.body.contains(message), "{message}: {}", res.body);
        assert!(
            res.body
                .contains("Kept as typed &lt;b&gt;here&lt;&#x2f;b&gt;")
                || res.body.contains("Kept as typed &lt;b&gt;here&lt;/b&gt;"),
            "{}",
            res.body
        );
        assert!(
            res.body.contains("class=\"field__error\""),
            "message next to the field"
        );
    }
    let res = post(
        &app,
        "/admin/maintenance",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "Upgrade"),
            ("scheduled_for", "tomorrow"),
            ("scheduled_until", "2026-03-02T10:00"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("must be a date and time"));
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn a_postmortem_written_in_the_editor_is_published() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let res = post(
        &app,
        "/admin/incidents",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "Queue stalled"),
            ("status", "resolved"),
            ("body", "Fixed."),
        ],
    )
    .await;
    let editor = format!("{}/postmortem", res.location());
    let fields = |action: &'static str| {
        vec![
            ("body", "The **queue** stalled."),
            ("timeline_zone_label", "PST"),
            ("timeline_note", "All times are PST."),
            ("row_at", "2026-03-01T03:00"),
            ("row_activity", "First alert"),
            ("row_at", "2026-03-01T03:30"),
            ("row_activity", "Workers restarted"),
            ("contributing_factors", "A full disk."),
            ("stabilization_steps", ""),
            ("impact", "Slow jobs."),
            ("corrective_actions", "Alert on disk."),
            ("action", action),
        ]
    };
    let with_token = |f: Vec<(&'static str, &'static str)>| {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
        all.extend(f);
        all
    };
    let moved = post(&app, &editor, Some(&cookie), &with_token(fields("down-0"))).await;
    assert_eq!(moved.status, StatusCode::OK);
    let first = moved.body.find("Workers restarted").expect("row");
    assert!(
        first < moved.body.find("First alert").expect("row"),
        "rows swapped"
    );

    let preview = post(&app, &editor, Some(&cookie), &with_token(fields("preview"))).await;
    assert!(
        preview.body.contains("<strong>queue</strong>"),
        "{}",
        preview.body
    );

    let res = post(&app, &editor, Some(&cookie), &with_token(fields("publish"))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let doc = app.store.load().await.expect("load").expect("page");
    let inc = doc
        .incidents
        .iter()
        .find(|i| i.name == "Queue stalled")
        .expect("incident");
    let pm = inc.postmortem.as_ref().expect("postmortem");
    assert!(pm.published_at.is_some());
    assert_eq!(pm.timeline.len(), 2);
    let (_, public) = app.text(&format!("/incidents/{}", inc.id)).await;
    assert!(public.contains("Workers restarted"));
    assert!(public.contains("Alert on disk."));

    // A blank row is refused next to the row, with what was typed kept.
    let mut blank = with_token(fields("save"));
    blank.retain(|(k, v)| !(*k == "row_activity" && *v == "First alert"));
    blank.push(("row_activity", ""));
    let before = app.stored().await;
    let res = post(&app, &editor, Some(&cookie), &blank).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("must not be blank"));
    assert!(res.body.contains("Alert on disk."));
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn components_maintenance_keys_and_users_from_their_forms() {
    let (app, cookie, csrf) = signed_in(Role::Owner).await;
    let token = csrf.as_str();

    let res = post(
        &app,
        "/admin/groups",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", "Mobile"),
            ("description", ""),
            ("position", ""),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let doc = app.store.load().await.expect("load").expect("page");
    let group = doc
        .groups
        .iter()
        .find(|g| g.name == "Mobile")
        .expect("group")
        .id
        .to_string();
    let res = post(
        &app,
        "/admin/components",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", "Android app"),
            ("description", "The app"),
            ("group_id", &group),
            ("position", ""),
            ("status", "degraded_performance"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let android = component_id(&app, "Android app").await;
    let list = get(&app, "/admin/components", Some(&cookie)).await;
    assert!(list.body.contains("value=\"Android app\""));
    let res = post(
        &app,
        &format!("/admin/components/{android}"),
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", ""),
            ("description", ""),
            ("group_id", &group),
            ("position", "1"),
            ("status", "operational"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("must not be blank"));

    let web = component_id(&app, "drchrono.com").await;
    let res = post(
        &app,
        "/admin/maintenance",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", "Database upgrade"),
            ("scheduled_for", "2026-03-02T01:00"),
            ("scheduled_until", "2026-03-02T03:00"),
            ("body", "Brief downtime."),
            ("component_ids", &web),
            ("auto_start", "on"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let doc = app.store.load().await.expect("load").expect("page");
    let m = doc
        .maintenances
        .iter()
        .find(|m| m.name == "Database upgrade")
        .expect("maintenance");
    // 01:00 in Los Angeles (PST) is 09:00 UTC.
    assert_eq!(m.scheduled_for.to_rfc3339(), "2026-03-02T09:00:00+00:00");
    assert!(m.auto_start && !m.auto_complete);
    let listed = get(&app, "/admin/maintenance", Some(&cookie)).await;
    assert!(
        listed.body.contains("Mar 02, 2026 - 01:00 PST"),
        "{}",
        listed.body
    );

    let created = post(
        &app,
        "/admin/api-keys",
        Some(&cookie),
        &[("csrf_token", token), ("name", "CI"), ("role", "editor")],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let marker = "<code class=\"secret\">";
    let start = created.body.find(marker).expect("the secret, shown once") + marker.len();
    let secret = &created.body[start..start + 40];
    let (status, _) = app
        .call(
            "GET",
            "/api/herald/v1/api-keys",
            Some(&format!("OAuth {secret}")),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an editor key works but is not an owner"
    );
    let keys = get(&app, "/admin/api-keys", Some(&cookie)).await;
    assert!(!keys.body.contains(secret), "the secret is not shown again");

    let res = post(
        &app,
        "/admin/users",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("email", "editor2@example.test"),
            ("role", "editor"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("at least 10 characters"));
    assert!(
        !res.body.contains("value=\"short\""),
        "the password is not sent back"
    );
    let res = post(
        &app,
        "/admin/users",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("email", "editor2@example.test"),
            ("role", "editor"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(get(&app, "/admin/users", Some(&cookie))
        .await
        .body
        .contains("editor2@example.test"));

    let audit = get(&app, "/admin/audit", Some(&cookie)).await;
    assert!(audit.body.contains("maintenance.create"), "{}", audit.body);
    assert!(audit.body.contains("user:owner@example.test"));
}

#[tokio::test]
async fn backfill_edit_an_update_and_delete_an_incident() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let token = csrf.as_str();
    let res = post(
        &app,
        "/admin/incidents/backfill",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", "Old outage"),
            ("backfill_date", "2026-01-10T08:30"),
            ("impact", "major"),
            ("body", "It happened."),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let incident_page = res.location().to_string();
    let doc = app.store.load().await.expect("load").expect("page");
    let inc = doc
        .incidents
        .iter()
        .find(|i| i.name == "Old outage")
        .expect("incident");
    assert!(inc.backfilled);
    // 08:30 in Los Angeles (PST) is 16:30 UTC.
    assert_eq!(inc.created_at.to_rfc3339(), "2026-01-10T16:30:00+00:00");
    let update = inc.updates[0].id.to_string();

    let future = post(
        &app,
        "/admin/incidents/backfill",
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("name", "Future outage"),
            ("backfill_date", "2030-01-01T00:00"),
            ("impact", "minor"),
            ("body", ""),
        ],
    )
    .await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(future.body.contains("must not be in the future"));
    assert!(future.body.contains("value=\"Future outage\""));

    let res = post(
        &app,
        &format!("{incident_page}/updates/{update}"),
        Some(&cookie),
        &[
            ("csrf_token", token),
            ("body", "It happened, and we fixed it."),
            ("display_at", "2026-01-10T09:00"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let shown = get(&app, &incident_page, Some(&cookie)).await;
    assert!(shown.body.contains("It happened, and we fixed it."));
    assert!(
        shown.body.contains("Jan 10, 2026 - 09:00 PST"),
        "{}",
        shown.body
    );

    let res = post(
        &app,
        &format!("{incident_page}/delete"),
        Some(&cookie),
        &[("csrf_token", token)],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        get(&app, &incident_page, Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn deleting_an_update_from_the_incident_page() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let token = csrf.as_str();
    // The counts incident has two updates: identified, then resolved.
    let page = "/admin/incidents/countsoff221";
    let res = post(
        &app,
        &format!("{page}/updates/cntupd000002/delete"),
        Some(&cookie),
        &[("csrf_token", token)],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let doc = app.store.load().await.expect("load").expect("page");
    let inc = doc
        .incidents
        .iter()
        .find(|i| i.id.as_str() == "countsoff221")
        .expect("incident");
    assert_eq!(inc.updates.len(), 1);
    assert_eq!(inc.status.as_str(), "identified");
    assert!(
        summary(&app).await["incidents"]
            .to_string()
            .contains("countsoff221"),
        "it is open again"
    );
    // The last update cannot go; the page says why and nothing changes.
    let before = app.stored().await;
    let res = post(
        &app,
        &format!("{page}/updates/cntupd000001/delete"),
        Some(&cookie),
        &[("csrf_token", token)],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("at least one update"));
    assert_eq!(app.stored().await, before);
    // Without the CSRF token nothing happens either.
    let res = post(
        &app,
        &format!("{page}/updates/cntupd000001/delete"),
        Some(&cookie),
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.stored().await, before);
}

#[tokio::test]
async fn the_open_form_starts_from_a_template() {
    let (app, cookie, _csrf) = signed_in(Role::Editor).await;
    let key = app.key(Role::Editor).await;
    let (status, t) = app
        .call(
            "POST",
            "/api/herald/v1/templates",
            Some(&format!("OAuth {key}")),
            Some(serde_json::json!({"name": "Slow pages", "title": "Pages load slowly", "body": "We are looking into slow page loads.", "update_status": "identified"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let blank = get(&app, "/admin/incidents/new", Some(&cookie)).await;
    assert!(blank.body.contains("Slow pages"), "the template is offered");
    assert!(!blank.body.contains("We are looking into slow page loads."));
    let id = t["id"].as_str().expect("id");
    let filled = get(
        &app,
        &format!("/admin/incidents/new?template={id}"),
        Some(&cookie),
    )
    .await;
    assert!(
        filled.body.contains("value=\"Pages load slowly\""),
        "{}",
        filled.body
    );
    assert!(filled.body.contains("We are looking into slow page loads."));
}

#[tokio::test]
async fn monitors_automation_and_alerting_from_the_forms() {
    let (mut app, cookie, csrf) = signed_in(Role::Editor).await;
    let loopback = herald::netguard::Guard::new(herald::netguard::TargetPolicy::new(["127.0.0.1"]));
    app.state.alerter =
        herald::alerting::Alerter::new(None, std::time::Duration::from_secs(2), loopback)
            .expect("alerter");
    let c = Some(cookie.as_str());
    let page = get(&app, "/admin/monitors", c).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("New monitor"));
    // A bad URL is sent back with its message; nothing is stored.
    let bad = post(
        &app,
        "/admin/monitors",
        c,
        &[
            ("csrf_token", &csrf),
            ("name", "Homepage"),
            ("component_id", "drchronocom1"),
            ("kind", "http"),
            ("url", "not a url"),
            ("interval_seconds", "60"),
            ("timeout_ms", "5000"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("probe.url"), "{}", bad.body);
    assert!(app.store.list_monitors().await.expect("list").is_empty());
    // A good one is created and shown.
    let made = post(
        &app,
        "/admin/monitors",
        c,
        &[
            ("csrf_token", &csrf),
            ("name", "Homepage"),
            ("component_id", "drchronocom1"),
            ("kind", "http"),
            ("url", "https://127.0.0.1:9/health"),
            ("expected_status", "200, 204"),
            ("interval_seconds", "60"),
            ("timeout_ms", "5000"),
            ("failures_to_down", "2"),
            ("successes_to_up", "2"),
            ("flap_window_seconds", "120"),
            ("verify_tls", "on"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let stored = app.store.list_monitors().await.expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].spec.failures_to_down, 2);
    let detail = get(&app, made.location(), c).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Recent results"));
    // Automation for the component.
    let saved = post(
        &app,
        "/admin/automation/drchronocom1",
        c,
        &[
            ("csrf_token", &csrf),
            ("rule", "all"),
            ("incidents", "publish"),
            ("quiet_period_seconds", "600"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let autos = app.store.list_automations().await.expect("automation");
    assert_eq!(autos[0].incidents.as_str(), "publish");
    // An integration shows its address with the token once; channels and metrics are added.
    let made = post(
        &app,
        "/admin/alerting/integrations",
        c,
        &[
            ("csrf_token", &csrf),
            ("integration_kind", "alertmanager"),
            ("integration_name", "Prometheus"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::OK);
    assert!(made.body.contains("alertmanager?token="), "{}", made.body);
    let again = get(&app, "/admin/alerting", c).await;
    assert!(!again.body.contains("?token="));
    let bad = post(
        &app,
        "/admin/alerting/channels",
        c,
        &[
            ("csrf_token", &csrf),
            ("channel_kind", "slack"),
            ("channel_name", "ops"),
            ("channel_target", "not a url"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let metadata = post(
        &app,
        "/admin/alerting/channels",
        c,
        &[
            ("csrf_token", &csrf),
            ("channel_kind", "webhook"),
            ("channel_name", "metadata"),
            ("channel_target", "http://169.254.169.254/latest/meta-data"),
        ],
    )
    .await;
    assert_eq!(metadata.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(metadata.body.contains("link-local"), "{}", metadata.body);
    let ok = post(
        &app,
        "/admin/alerting/channels",
        c,
        &[
            ("csrf_token", &csrf),
            ("channel_kind", "slack"),
            ("channel_name", "ops"),
            ("channel_target", "https://127.0.0.1/hooks/secret-part"),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = get(&app, "/admin/alerting", c).await;
    assert!(page.body.contains("ops"));
    assert!(
        !page.body.contains("secret-part"),
        "webhook secrets stay hidden"
    );
    let ok = post(
        &app,
        "/admin/alerting/metrics",
        c,
        &[
            ("csrf_token", &csrf),
            ("metric_name", "Queue depth"),
            ("suffix", " jobs"),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store.list_metrics().await.expect("metrics").len(), 1);
    // Without the CSRF token nothing happens.
    let refused = post(
        &app,
        "/admin/alerting/metrics",
        c,
        &[("metric_name", "Sneaky")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn dead_letters_are_listed_and_retried_from_the_subscribers_page() {
    let (app, cookie, csrf) = signed_in(Role::Editor).await;
    let now = (app.state.clock)();
    let sub = herald_core::audience::Subscriber {
        id: herald_store::random_id(),
        mode: herald_core::audience::SubscriberMode::Webhook,
        email: None,
        endpoint: Some("http://169.254.169.254/hook".into()),
        component_ids: Vec::new(),
        incident_id: None,
        state: herald_core::audience::SubscriberState::Active,
        created_at: now,
        updated_at: now,
    };
    app.store
        .create_subscriber(&sub, &app.meta())
        .await
        .expect("subscriber");
    let page = post(
        &app,
        "/admin/incidents",
        Some(&cookie),
        &[
            ("csrf_token", &csrf),
            ("name", "Replica lag"),
            ("status", "investigating"),
            ("impact", "minor"),
            ("body", "Reads are slow."),
            ("deliver_notifications", "on"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    app.drain().await;

    let list = get(&app, "/admin/subscribers", Some(&cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("class=\"dead-letter\""), "{}", list.body);
    assert!(list.body.contains("link-local"), "the refusal is shown");
    let detail = get(
        &app,
        &format!("/admin/subscribers/{}", sub.id),
        Some(&cookie),
    )
    .await;
    assert!(detail.body.contains("Delivery log"));
    assert!(detail.body.contains("Signing secret"));

    let dead = app
        .store
        .list_deliveries(Some(herald_store::delivery::DeliveryState::Dead), None, 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    let page = post(
        &app,
        &format!("/admin/deliveries/{}/retry", dead[0].id),
        Some(&cookie),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let pending = app
        .store
        .list_deliveries(
            Some(herald_store::delivery::DeliveryState::Pending),
            None,
            10,
        )
        .await
        .expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 0);

    let page = post(
        &app,
        &format!("/admin/subscribers/{}/state", sub.id),
        Some(&cookie),
        &[("csrf_token", &csrf), ("state", "quarantined")],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let stored = app
        .store
        .subscriber(&sub.id)
        .await
        .expect("read")
        .expect("sub");
    assert_eq!(
        stored.state,
        herald_core::audience::SubscriberState::Quarantined
    );
}
