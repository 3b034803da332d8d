//! Secrets by role. An owner configures an HTTP monitor with credentials in its URL and secret
//! headers, a PostgreSQL probe with a password, a heartbeat, a Slack alert channel, an
//! integration and a webhook subscriber; an old audit entry from before redaction holds probe
//! headers in full. A viewer then reads every GET route of the native API, the Statuspage
//! subscribers and every admin page, with an API key and with a session: no secret appears in
//! any body, and the redacted forms (`••••` and the last four) do. Writers still see what they
//! edit. The secrets are collected once and every body is scanned for all of them, so a new
//! leak anywhere fails.

use crate::common;

use axum::http::StatusCode;
use common::*;
use herald_core::access::Role;
use herald_core::monitor::{MonitorState, ProbeOutcome, ProbeResult};
use herald_store::monitoring::RecordedResult;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const API: &str = "/api/herald/v1";

// Letters, digits and `-`, so no escaping (HTML or JSON) can hide one from the scan.
const PROBE_PASSWORD: &str = "probe-pass-Aa1Bb2Cc3";
const QUERY_TOKEN: &str = "query-token-Dd4Ee5Ff6";
const AUTH_HEADER: &str = "Bearer header-auth-Gg7Hh8Ii9";
const KEY_HEADER: &str = "header-key-Jj0Kk1Ll2";
const COOKIE_HEADER: &str = "sid-header-cookie-Mm3Nn4";
const PROBE_BODY: &str = "body-secret-Oo5Pp6Qq7";
const PG_PASSWORD: &str = "pg-pass-Rr8Ss9Tt0";
const HEARTBEAT: &str = "heartbeat-Uu1Vv2Ww3Xx4";
const SLACK_PATH: &str = "services-T0SECRET-B0SECRET-slack-Yy5Zz6";
const SUBSCRIBER_PATH: &str = "subscriber-path-Ab7Cd8Ef9";
/// In the old audit entry only.
const OLD_HEADER: &str = "old-entry-header-Gh0Ij1Kl2";

const SLACK_HOST: &str = "hooks.slack.test";
const SUBSCRIBER_HOST: &str = "hooks.example.test";

fn http_url() -> String {
    format!("https://probe-user:{PROBE_PASSWORD}@127.0.0.1:9/health?region=eu&token={QUERY_TOKEN}")
}

/// `••••` and the last four characters: what a viewer sees of a secret.
fn redacted(secret: &str) -> String {
    let tail: String = secret.chars().skip(secret.chars().count() - 4).collect();
    format!("••••{tail}")
}

/// How a request proves who sends it.
#[derive(Clone)]
enum Auth {
    Key(String),
    Cookie(String),
}

async fn fetch(app: &App, path: &str, auth: &Auth) -> (StatusCode, String) {
    let bearer;
    let header = match auth {
        Auth::Key(k) => {
            bearer = format!("Bearer {k}");
            ("authorization", bearer.as_str())
        }
        Auth::Cookie(c) => ("cookie", c.as_str()),
    };
    let reply = app.get(path, &[header]).await;
    (reply.status, reply.text())
}

/// Text as a browser reads it, so an escaped secret is still found.
fn unescaped(body: &str) -> String {
    body.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What the owner configured: the ids to visit and every secret to look for.
struct Configured {
    monitors: Vec<String>,
    subscriber: String,
    ids: Vec<String>,
    secrets: Vec<String>,
}

async fn configure(app: &mut App) -> Configured {
    // Channel and subscriber hosts allowed by name: the guard resolves nothing.
    let guard = herald::netguard::Guard::new(herald::netguard::TargetPolicy::new([SLACK_HOST]));
    app.state.alerter =
        herald::alerting::Alerter::new(None, Duration::from_secs(1), guard).expect("alerter");
    app.state.notifier = herald::notify::Notifier::new(
        herald::notify::NotifyOptions {
            allow_targets: vec![SUBSCRIBER_HOST.into()],
            ..Default::default()
        },
        None,
    )
    .expect("notifier");

    let app: &App = app;
    let owner = format!("Bearer {}", app.key(Role::Owner).await);
    let owner = Some(owner.as_str());
    let create = |path: &'static str, body: Value| async move {
        let (status, v) = app
            .call("POST", &format!("{API}{path}"), owner, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {v}");
        v
    };
    let http = create(
        "/monitors",
        json!({
            "name": "Checkout API", "interval_seconds": 60, "timeout_ms": 5000,
            "probe": {
                "type": "http", "url": http_url(), "method": "POST",
                "headers": [
                    ["Authorization", AUTH_HEADER], ["X-Api-Key", KEY_HEADER],
                    ["Cookie", COOKIE_HEADER], ["Accept", "application/json"],
                ],
                "body": PROBE_BODY,
            },
        }),
    )
    .await;
    let pg = create(
        "/monitors",
        json!({
            "name": "Orders database", "interval_seconds": 60, "timeout_ms": 5000,
            "probe": {"type": "postgres", "url": format!("postgres://orders:{PG_PASSWORD}@127.0.0.1:5432/orders")},
        }),
    )
    .await;
    let hb = create(
        "/monitors",
        json!({
            "name": "Nightly backup", "interval_seconds": 3600, "timeout_ms": 1000,
            "probe": {"type": "heartbeat", "token": HEARTBEAT},
        }),
    )
    .await;
    let channel = create(
        "/alert-channels",
        json!({"name": "Ops Slack", "kind": "slack", "target": format!("https://{SLACK_HOST}/{SLACK_PATH}")}),
    )
    .await;
    let integration = create(
        "/integrations",
        json!({"kind": "generic", "name": "Ingest"}),
    )
    .await;
    let subscriber = create(
        "/subscribers",
        json!({"type": "webhook", "endpoint": format!("https://{SUBSCRIBER_HOST}/{SUBSCRIBER_PATH}")}),
    )
    .await;
    let text = |v: &Value, k: &str| v[k].as_str().expect(k).to_string();
    let integration_token = text(&integration, "token");
    let signing_secret = text(&subscriber, "secret");
    assert!(integration_token.len() >= 12 && signing_secret.len() >= 12);

    // A failure whose reason quotes the URL, as probes once wrote them.
    let at = (app.state.clock)();
    let quoted = ProbeResult {
        monitor_id: herald_core::Id::parse(&text(&http, "id")).expect("id"),
        at,
        outcome: ProbeOutcome::Down {
            reason: format!(
                "request failed: error sending request for url ({})",
                http_url()
            ),
        },
    };
    app.store
        .record_results(&[RecordedResult {
            result: quoted,
            state: MonitorState::default(),
        }])
        .await
        .expect("result");

    let doc = app.store.load().await.expect("load").expect("page");
    let mut ids = vec![
        text(&http, "id"),
        text(&pg, "id"),
        text(&hb, "id"),
        text(&channel, "id"),
        text(&integration, "id"),
        text(&subscriber, "id"),
    ];
    ids.extend(doc.components.iter().take(2).map(|c| c.id.to_string()));
    ids.extend(doc.incidents.iter().take(2).map(|i| i.id.to_string()));
    Configured {
        monitors: vec![text(&http, "id"), text(&pg, "id"), text(&hb, "id")],
        subscriber: text(&subscriber, "id"),
        ids,
        secrets: vec![
            PROBE_PASSWORD.into(),
            QUERY_TOKEN.into(),
            AUTH_HEADER.into(),
            "header-auth-Gg7Hh8Ii9".into(),
            KEY_HEADER.into(),
            COOKIE_HEADER.into(),
            PROBE_BODY.into(),
            PG_PASSWORD.into(),
            HEARTBEAT.into(),
            SLACK_PATH.into(),
            SUBSCRIBER_PATH.into(),
            OLD_HEADER.into(),
            integration_token,
            signing_secret,
        ],
    }
}

/// Every GET answer a viewer can ask for that could show configuration: each GET route of the
/// native API with every known id, the Statuspage subscribers, and the admin pages.
async fn viewer_paths(app: &App, c: &Configured, auth: &Auth) -> Vec<String> {
    let mut paths = Vec::new();
    for (method, route) in herald::http::api::NATIVE_ROUTES {
        if *method != "get" || route.contains("{update}") {
            continue;
        }
        if route.contains("{id}") {
            for id in &c.ids {
                paths.push(format!("{API}{}", route.replace("{id}", id)));
            }
        } else {
            paths.push(format!("{API}{route}"));
        }
    }
    paths.push(format!("{API}/deliveries?subscriber={}", c.subscriber));
    let (status, pages) = fetch(app, "/v1/pages", auth).await;
    assert_eq!(status, StatusCode::OK, "{pages}");
    let pages: Value = serde_json::from_str(&pages).expect("pages");
    let page = pages[0]["id"].as_str().expect("page id").to_string();
    for p in [
        "subscribers?state=all".to_string(),
        format!("subscribers/{}", c.subscriber),
        "subscribers/count".to_string(),
    ] {
        paths.push(format!("/v1/pages/{page}/{p}"));
    }
    if matches!(auth, Auth::Cookie(_)) {
        for p in [
            "",
            "/monitors",
            "/alerting",
            "/subscribers",
            "/audit",
            "/components",
            "/incidents",
            "/maintenance",
            "/api-keys",
            "/users",
        ] {
            paths.push(format!("/admin{p}"));
        }
        for m in &c.monitors {
            paths.push(format!("/admin/monitors/{m}"));
        }
        paths.push(format!("/admin/subscribers/{}", c.subscriber));
    }
    paths
}

/// An audit entry as the log held them before redaction on write: probe headers in full.
async fn old_audit_entry(url: &str) {
    let after = json!({
        "name": "Legacy", "probe": {"type": "http", "url": "https://example.com/",
        "headers": [["Authorization", OLD_HEADER]]},
    })
    .to_string();
    let sql = "INSERT INTO audit_log (at, actor, action, subject_id, before, after) \
               VALUES ($1, 'user:old', 'monitor.save', 'legacy', NULL, $2)";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
        sqlx::query(sql)
            .bind(0_i64)
            .bind(after)
            .execute(&pool)
            .await
            .expect("insert");
    } else {
        let pool = sqlx::PgPool::connect(url).await.expect("postgres");
        sqlx::query(sql)
            .bind(0_i64)
            .bind(after)
            .execute(&pool)
            .await
            .expect("insert");
    }
}

async fn viewers_see_no_secret(mut app: App, url: &str) {
    old_audit_entry(url).await;
    let c = configure(&mut app).await;
    let viewers = [
        Auth::Key(app.key(Role::Viewer).await),
        Auth::Cookie(app.session(Role::Viewer).await.cookie),
    ];
    let mut seen = String::new();
    let mut visited = 0;
    for auth in &viewers {
        for path in viewer_paths(&app, &c, auth).await {
            let (status, body) = fetch(&app, &path, auth).await;
            assert!(!status.is_server_error(), "{path}: {status} {body}");
            let body = unescaped(&body);
            for s in &c.secrets {
                assert!(
                    !body.contains(s.as_str()),
                    "{path} shows `{s}` to a viewer:\n{body}"
                );
            }
            if status == StatusCode::OK {
                visited += 1;
                seen.push_str(&body);
            }
        }
    }
    assert!(visited > 30, "only {visited} answers were read");
    // What they see instead: the redacted forms, where the UI shows the values.
    for s in [
        PROBE_PASSWORD,
        QUERY_TOKEN,
        "header-auth-Gg7Hh8Ii9",
        KEY_HEADER,
        PG_PASSWORD,
        HEARTBEAT,
        SLACK_PATH,
        SUBSCRIBER_PATH,
        OLD_HEADER,
    ] {
        assert!(seen.contains(&redacted(s)), "{} is not shown", redacted(s));
    }
    assert!(seen.contains(&format!("/api/push/{}", redacted(HEARTBEAT))));
    assert!(seen.contains(&format!("https://{SLACK_HOST}/{}", redacted(SLACK_PATH))));
    assert!(seen.contains("https://probe-user:••••"));

    // Writers see what they edit: the API's monitor and the admin edit form.
    let editor = Auth::Key(app.key(Role::Editor).await);
    let (status, body) = fetch(&app, &format!("{API}/monitors/{}", c.monitors[0]), &editor).await;
    assert_eq!(status, StatusCode::OK);
    for s in [PROBE_PASSWORD, QUERY_TOKEN, AUTH_HEADER, PROBE_BODY] {
        assert!(body.contains(s), "an editor does not see `{s}`: {body}");
    }
    let Session { cookie, csrf } = app.session(Role::Owner).await;
    let owner = Auth::Cookie(cookie.clone());
    let (_, form) = fetch(&app, &format!("/admin/monitors/{}", c.monitors[0]), &owner).await;
    let form = unescaped(&form);
    assert!(
        form.contains(&format!("Authorization: {AUTH_HEADER}")),
        "{form}"
    );
    assert!(form.contains(PROBE_PASSWORD) && form.contains(PROBE_BODY));
    // Saving the edit form keeps the headers it showed.
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("name", "Checkout API"),
        ("kind", "http"),
        ("url", &http_url()),
        ("method", "POST"),
        ("http_body", PROBE_BODY),
        (
            "headers",
            &format!("Authorization: {AUTH_HEADER}\r\nX-Api-Key: {KEY_HEADER}"),
        ),
        ("interval_seconds", "60"),
        ("timeout_ms", "5000"),
        ("failures_to_down", "3"),
        ("successes_to_up", "2"),
        ("flap_window_seconds", "300"),
        ("enabled", "on"),
    ];
    let res = app
        .post_form(
            &format!("/admin/monitors/{}", c.monitors[0]),
            Some(&cookie),
            &fields,
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text());
    let saved = app
        .store
        .monitor(&herald_core::Id::parse(&c.monitors[0]).expect("id"))
        .await
        .expect("read")
        .expect("monitor");
    let herald_core::monitor::ProbeSpec::Http { headers, body, .. } = saved.spec.probe else {
        panic!("still an HTTP probe");
    };
    assert_eq!(body.as_deref(), Some(PROBE_BODY));
    assert_eq!(
        headers,
        vec![
            ("Authorization".to_string(), AUTH_HEADER.to_string()),
            ("X-Api-Key".to_string(), KEY_HEADER.to_string()),
        ]
    );
    let (_, form) = fetch(&app, &format!("/admin/monitors/{}", c.monitors[1]), &owner).await;
    assert!(unescaped(&form).contains(PG_PASSWORD));
    let (_, form) = fetch(&app, &format!("/admin/monitors/{}", c.monitors[2]), &owner).await;
    assert!(unescaped(&form).contains(&format!("/api/push/{HEARTBEAT}")));
    let (_, sub) = fetch(
        &app,
        &format!("/admin/subscribers/{}", c.subscriber),
        &owner,
    )
    .await;
    assert!(unescaped(&sub).contains(SUBSCRIBER_PATH));
    // Entries are redacted before they are written; only the old one holds a secret.
    let raw = app.store.audit_log(200).await.expect("audit log");
    assert!(raw
        .iter()
        .any(|e| e.action == "monitor.save" && e.actor != "user:old"));
    for e in raw.iter().filter(|e| e.actor != "user:old") {
        let text = json!([e.before, e.after]).to_string();
        for s in &c.secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} was written with `{s}`",
                e.action
            );
        }
    }
    // The audit log redacts for every role.
    for auth in [&editor, &owner] {
        let (_, log) = fetch(&app, &format!("{API}/audit"), auth).await;
        let (_, page) = fetch(&app, "/admin/audit", &owner).await;
        for body in [log, unescaped(&page)] {
            for s in &c.secrets {
                assert!(!body.contains(s.as_str()), "the audit log shows `{s}`");
            }
        }
    }
}

#[tokio::test]
async fn a_viewer_sees_every_secret_redacted_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let store = herald_store::SqliteStore::open(&url)
        .await
        .expect("open sqlite");
    herald_store::Store::migrate(&store).await.expect("migrate");
    let app = TestApp::new()
        .on_store(Arc::new(store), Some(dir))
        .build()
        .await;
    viewers_see_no_secret(app, &url).await;
}

#[tokio::test]
async fn a_viewer_sees_every_secret_redacted_on_postgres() {
    let url = herald_store::testing::shared_cluster().create_database();
    let store = herald_store::PostgresStore::open(&url)
        .await
        .expect("connect to the test cluster");
    herald_store::Store::migrate(&store).await.expect("migrate");
    let app = TestApp::new().on_store(Arc::new(store), None).build().await;
    viewers_see_no_secret(app, &url).await;
}
