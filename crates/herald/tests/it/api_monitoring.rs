//! The monitoring API: monitors of every kind created, read, replaced and deleted; malformed
//! configurations refused with the field named and nothing stored; integrations whose token is
//! shown once; team alert channels; system metrics fed through the native API and Statuspage's
//! v1 data endpoint (JSON and form bodies); viewers cannot write.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use herald_core::access::Role;
use serde_json::{json, Value};

const BASE: &str = "/api/herald/v1";

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn http_monitor(name: &str) -> Value {
    json!({
        "name": name,
        "component_id": "drchronocom1",
        "probe": {"type": "http", "url": "https://127.0.0.1:9/health", "expected_status": [200, 204],
                  "body_contains": "ok", "headers": [["X-Check", "herald"]]},
        "interval_seconds": 30,
        "timeout_ms": 5000,
        "degraded_after_ms": 1500,
    })
}

#[tokio::test]
async fn monitors_of_every_kind_round_trip() {
    let app = app().await;
    let key = bearer(&app.key(Role::Editor).await);
    let auth = Some(key.as_str());
    let kinds = [
        http_monitor("web"),
        json!({"name": "db port", "probe": {"type": "tcp", "host": "127.0.0.1", "port": 5432},
               "interval_seconds": 60, "timeout_ms": 2000}),
        json!({"name": "dns", "probe": {"type": "dns", "name": "example.test", "record_type": "A",
               "expected": "127.0.0.1", "resolver": "127.0.0.1:53"}, "interval_seconds": 60, "timeout_ms": 2000}),
        json!({"name": "certificate", "probe": {"type": "tls_expiry", "host": "127.0.0.1", "port": 8443, "warn_days": 21},
               "interval_seconds": 3600, "timeout_ms": 5000}),
        json!({"name": "nightly job", "component_id": "drchronoipad", "probe": {"type": "heartbeat", "token": ""},
               "interval_seconds": 86400, "timeout_ms": 1000}),
        json!({"name": "primary db", "probe": {"type": "postgres", "url": "postgres://herald@127.0.0.1/herald",
               "max_replica_lag_seconds": 30}, "interval_seconds": 30, "timeout_ms": 5000}),
        json!({"name": "mysql", "probe": {"type": "mysql", "url": "mysql://root@127.0.0.1/app"},
               "interval_seconds": 30, "timeout_ms": 5000}),
    ];
    let mut ids = Vec::new();
    for body in kinds {
        let (status, m) = app
            .call(
                "POST",
                &format!("{BASE}/monitors"),
                auth,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body} → {m}");
        assert_eq!(m["name"], body["name"]);
        assert_eq!(m["state"]["status"], "unknown");
        ids.push(m["id"].as_str().expect("id").to_string());
        if body["probe"]["type"] == "heartbeat" {
            let token = m["probe"]["token"].as_str().expect("generated token");
            assert!(token.len() >= 16, "{m}");
            assert!(m["push_url"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("/api/push/{token}"))));
        }
    }
    let (status, list) = app
        .call("GET", &format!("{BASE}/monitors"), auth, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(7));

    // Replace keeps the id; delete removes.
    let mut changed = http_monitor("web (renamed)");
    changed["interval_seconds"] = json!(60);
    let (status, m) = app
        .call(
            "PUT",
            &format!("{BASE}/monitors/{}", ids[0]),
            auth,
            Some(changed),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["id"], ids[0].as_str());
    assert_eq!(m["interval_seconds"], 60);
    let (status, _) = app
        .call("DELETE", &format!("{BASE}/monitors/{}", ids[1]), auth, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call("GET", &format!("{BASE}/monitors/{}", ids[1]), auth, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, results) = app
        .call(
            "GET",
            &format!("{BASE}/monitors/{}/results?hours=2", ids[0]),
            auth,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(results, json!([]));
}

#[tokio::test]
async fn malformed_monitor_configs_are_refused_with_the_field() {
    let app = app().await;
    let key = bearer(&app.key(Role::Editor).await);
    let auth = Some(key.as_str());
    let with = |path: &[&str], value: Value| {
        let mut m = http_monitor("bad");
        let mut node = &mut m;
        for p in &path[..path.len() - 1] {
            node = &mut node[*p];
        }
        node[path[path.len() - 1]] = value;
        m
    };
    let cases = [
        (with(&["probe", "url"], json!("not a url")), "probe.url"),
        (with(&["interval_seconds"], json!(1)), "interval_seconds"),
        (with(&["timeout_ms"], json!(30_000)), "timeout_ms"),
        (with(&["probe", "type"], json!("carrier_pigeon")), "probe"),
        (with(&["probe", "colour"], json!("blue")), "probe"),
        (
            with(&["probe", "body_regex"], json!("(unclosed")),
            "probe.body_regex",
        ),
        (
            with(&["component_id"], json!("nosuchthing0")),
            "component_id",
        ),
        (
            with(&["interval_seconds"], json!("often")),
            "interval_seconds",
        ),
        (
            with(&["retry_interval_seconds"], json!(0)),
            "retry_interval_seconds",
        ),
    ];
    for (body, field) in cases {
        let (status, e) = app
            .call("POST", &format!("{BASE}/monitors"), auth, Some(body))
            .await;
        assert!(status.is_client_error(), "{field}: {status} {e}");
        assert!(
            e["field"].as_str().is_some_and(|f| f.starts_with(field)),
            "{field}: {e}"
        );
    }
    // A body that is not JSON at all.
    let req = Request::builder()
        .method("POST")
        .uri(format!("{BASE}/monitors"))
        .header("authorization", key.as_str())
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .expect("request");
    let (status, e) = app.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (_, list) = app
        .call("GET", &format!("{BASE}/monitors"), auth, None)
        .await;
    assert_eq!(list, json!([]), "nothing was stored");
}

#[tokio::test]
async fn integrations_show_their_token_once() {
    let app = app().await;
    let key = bearer(&app.key(Role::Owner).await);
    let auth = Some(key.as_str());
    let (status, i) = app
        .call(
            "POST",
            &format!("{BASE}/integrations"),
            auth,
            Some(json!({"kind": "alertmanager", "name": "prod", "components": {"web": "drchronocom1"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{i}");
    let token = i["token"].as_str().expect("token").to_string();
    assert!(i["url"]
        .as_str()
        .is_some_and(|u| u.contains("/api/integrations/alertmanager?token=")));
    let (_, list) = app
        .call("GET", &format!("{BASE}/integrations"), auth, None)
        .await;
    assert!(!list.to_string().contains(&token), "{list}");
    let audit = app.store.audit_log(20).await.expect("audit");
    assert!(!format!("{audit:?}").contains(&token));
    for (body, field) in [
        (json!({"kind": "pagerduty", "name": "x"}), "kind"),
        (json!({"kind": "grafana", "name": ""}), "name"),
        (
            json!({"kind": "grafana", "name": "g", "default_component": "nosuchthing0"}),
            "default_component",
        ),
        (
            json!({"kind": "grafana", "name": "g", "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, e) = app
            .call("POST", &format!("{BASE}/integrations"), auth, Some(body))
            .await;
        assert!(status.is_client_error(), "{e}");
        assert!(
            e["field"].as_str().is_some_and(|f| f.starts_with(field)),
            "{field}: {e}"
        );
    }
    let id = i["id"].as_str().expect("id");
    let (status, _) = app
        .call("DELETE", &format!("{BASE}/integrations/{id}"), auth, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn alert_channels_and_automation() {
    let mut app = app().await;
    let loopback = herald::netguard::Guard::new(herald::netguard::TargetPolicy::new(["127.0.0.1"]));
    app.state.alerter =
        herald::alerting::Alerter::new(None, std::time::Duration::from_secs(2), loopback)
            .expect("alerter");
    let key = bearer(&app.key(Role::Editor).await);
    let auth = Some(key.as_str());
    for (body, ok) in [
        (
            json!({"name": "ops", "kind": "slack", "target": "https://127.0.0.1/hooks/abc"}),
            true,
        ),
        (
            json!({"name": "on call", "kind": "email", "target": "oncall@example.com"}),
            true,
        ),
        (
            json!({"name": "bad", "kind": "email", "target": "not an address"}),
            false,
        ),
        (
            json!({"name": "bad", "kind": "discord", "target": "ftp://x"}),
            false,
        ),
        (
            json!({"name": "bad", "kind": "pager", "target": "https://x"}),
            false,
        ),
        (
            json!({"name": "bad", "kind": "webhook", "target": "http://[::ffff:169.254.169.254]/"}),
            false,
        ),
    ] {
        let (status, c) = app
            .call("POST", &format!("{BASE}/alert-channels"), auth, Some(body))
            .await;
        assert_eq!(status.is_success(), ok, "{c}");
    }
    let (_, list) = app
        .call("GET", &format!("{BASE}/alert-channels"), auth, None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));

    let path = format!("{BASE}/components/drchronocom1/automation");
    let (status, a) = app.call("GET", &path, auth, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["incidents"], "off");
    let (status, a) = app
        .call(
            "PUT",
            &path,
            auth,
            Some(json!({"rule": "all", "incidents": "publish", "quiet_period_seconds": 120})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let (_, a) = app.call("GET", &path, auth, None).await;
    assert_eq!(
        (a["rule"].as_str(), a["incidents"].as_str()),
        (Some("all"), Some("publish"))
    );
    let (status, e) = app
        .call("PUT", &path, auth, Some(json!({"incidents": "sometimes"})))
        .await;
    assert!(status.is_client_error());
    assert_eq!(e["field"], "incidents");
    let (status, _) = app
        .call(
            "GET",
            &format!("{BASE}/components/nosuchthing0/automation"),
            auth,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_take_data_through_both_apis() {
    let app = app().await;
    let key = app.key(Role::Editor).await;
    let auth = bearer(&key);
    let auth = Some(auth.as_str());
    let (status, m) = app
        .call(
            "POST",
            &format!("{BASE}/metrics"),
            auth,
            Some(json!({"name": "API latency", "suffix": " ms", "decimal_places": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let id = m["id"].as_str().expect("id").to_string();
    let (status, d) = app
        .call(
            "POST",
            &format!("{BASE}/metrics/{id}/data"),
            auth,
            Some(json!({"data": [{"timestamp": 1772366000, "value": 12.5}, {"timestamp": "2026-03-01T11:55:00Z", "value": 14}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    // Statuspage's v1 endpoint, with its OAuth header, JSON and Rails form bodies.
    let oauth = format!("OAuth {key}");
    let (status, d) = app
        .call(
            "POST",
            &format!("/v1/pages/drchronopage/metrics/{id}/data.json"),
            Some(&oauth),
            Some(json!({"data": {"timestamp": 1772366130, "value": 13.0}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d, json!({"data": {"timestamp": 1772366130, "value": 13.0}}));
    let req = Request::builder()
        .method("POST")
        .uri(format!("/v1/pages/drchronopage/metrics/{id}/data"))
        .header("authorization", oauth.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("data[timestamp]=1772366160&data[value]=9.5"))
        .expect("request");
    let (status, d) = app.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let since = "2026-03-01T00:00:00Z".parse().expect("time");
    let points = app
        .store
        .metric_points(&herald_core::Id::parse(&id).expect("id"), since)
        .await
        .expect("points");
    assert_eq!(points.len(), 4);
    let (_, listed) = app
        .call("GET", "/v1/pages/drchronopage/metrics", Some(&oauth), None)
        .await;
    assert_eq!(listed[0]["name"], "API latency");
    for body in [
        json!({"data": {"timestamp": 1772366100}}),
        json!({"data": {"timestamp": "yesterday", "value": 1}}),
        json!({"data": {"timestamp": 1772366100, "value": "NaN"}}),
        json!({"values": []}),
    ] {
        let (status, e) = app
            .call(
                "POST",
                &format!("{BASE}/metrics/{id}/data"),
                auth,
                Some(body.clone()),
            )
            .await;
        assert!(status.is_client_error(), "{body}: {e}");
        assert!(
            e["field"].as_str().is_some_and(|f| f.starts_with("data")),
            "{e}"
        );
    }
    let (status, _) = app
        .call(
            "POST",
            &format!("{BASE}/metrics/nosuchthing0/data"),
            auth,
            Some(json!({"data": {"timestamp": 1, "value": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The home page shows the metric's chart, and the chart draws.
    app.state.site.rebuild().await.expect("snapshot");
    let (_, home) = app.text("/").await;
    // Attribute values come out with `/` escaped as `&#x2f;`.
    assert!(
        home.contains(&format!("metrics&#x2f;{id}.svg")),
        "metric missing from the page"
    );
    let (status, svg) = app.text(&format!("/metrics/{id}.svg?range=week")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        svg.starts_with("<svg") && svg.contains("API latency"),
        "{svg}"
    );
}

#[tokio::test]
async fn viewers_read_but_cannot_change_monitoring() {
    let app = app().await;
    let key = bearer(&app.key(Role::Viewer).await);
    let auth = Some(key.as_str());
    let (status, _) = app
        .call("GET", &format!("{BASE}/monitors"), auth, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for (path, body) in [
        ("/monitors", http_monitor("x")),
        (
            "/alert-channels",
            json!({"name": "x", "kind": "slack", "target": "https://127.0.0.1/x"}),
        ),
        ("/metrics", json!({"name": "x"})),
        ("/integrations", json!({"kind": "generic", "name": "x"})),
    ] {
        let (status, _) = app
            .call("POST", &format!("{BASE}{path}"), auth, Some(body))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = app
        .call("GET", &format!("{BASE}/monitors"), None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
