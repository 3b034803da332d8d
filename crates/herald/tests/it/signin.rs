//! Signing in under attack, seen from outside: a real `herald serve --demo` over TCP with clients
//! bound to different loopback addresses. Failures from one address never lock the owner out
//! from another; behind a trusted proxy the forwarded address counts, from any other peer the
//! forwarding headers are ignored; every refusal reads the same; sign-ins land in the audit log
//! with the client's address. In-process, on a test clock: locks run out and start a fresh count,
//! a flood of refused attempts writes nothing, the role is checked before the body is read, and
//! subscribing answers the same whether or not the address was subscribed.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::process::{Running, Serve};
use common::sinks;
use common::{App, TestApp, PASSWORD};
use herald::http::limit::ClientIp;
use herald_core::access::Role;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};

const OWNER: &str = "owner@herald.test";

/// `herald serve --demo` with an owner from configuration and the extra variables `env`,
/// answering.
async fn serve(env: &[(&str, &str)]) -> (Running, String) {
    let herald = Serve::new()
        .demo()
        .env("HERALD_ADMIN_EMAIL", OWNER)
        .env("HERALD_ADMIN_PASSWORD", PASSWORD)
        .envs(env)
        .ready()
        .await;
    let base = herald.base.clone();
    (herald, base)
}

/// A client whose connections come from `ip` (any address in 127.0.0.0/8 works on Linux).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `POST /api/herald/v1/session`, optionally naming a forwarded client: status, body bytes and
/// the session cookie when one was set.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    forwarded: Option<&str>,
    email: &str,
    password: &str,
) -> (u16, String, Option<String>) {
    let mut req = client
        .post(format!("{base}/api/herald/v1/session"))
        .json(&json!({"email": email, "password": password}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let res = req.send().await.expect("sign in");
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.starts_with("herald_session="))
        .map(str::to_string);
    (status, res.text().await.expect("body"), cookie)
}

/// The audit log as the signed-in `cookie` reads it.
async fn audit(client: &reqwest::Client, base: &str, cookie: &str) -> Vec<Value> {
    let res = client
        .get(format!("{base}/api/herald/v1/audit"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("audit");
    assert_eq!(res.status(), 200);
    res.json::<Vec<Value>>().await.expect("json")
}

fn entries<'a>(log: &'a [Value], action: &str, address: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| e["action"] == action && e["after"]["address"] == address)
        .collect()
}

#[tokio::test]
async fn failures_from_one_address_do_not_lock_the_owner_out_from_another() {
    let (_herald, base) = serve(&[]).await;
    let attacker = client_from([127, 0, 0, 1]);
    let owner = client_from([127, 0, 0, 2]);

    for i in 0..10 {
        let (status, body, _) = sign_in(&attacker, &base, None, OWNER, &format!("guess {i}")).await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    // The owner, from elsewhere, gets in.
    let (status, body, cookie) = sign_in(&owner, &base, None, OWNER, PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    let cookie = cookie.expect("session cookie");
    // The attacker's address is held back, even with the right password.
    let (status, body, none) = sign_in(&attacker, &base, None, OWNER, PASSWORD).await;
    assert_eq!(status, 429, "{body}");
    assert!(none.is_none());

    // The audit log names the addresses: five checked failures from the attacker, then one
    // entry per lock (the account from that address, then the address), nothing for attempts a
    // lock refused; the owner's sign-in from its own address.
    let log = audit(&owner, &base, &cookie).await;
    let failed = entries(&log, "session.sign_in_failed", "127.0.0.1");
    assert_eq!(failed.len(), 5, "{log:?}");
    assert!(failed.iter().all(
        |e| e["actor"] == format!("user:{OWNER}") && e["after"]["outcome"] == "wrong_password"
    ));
    let locks = entries(&log, "session.lock", "127.0.0.1");
    let scopes: Vec<&str> = locks
        .iter()
        .filter_map(|e| e["after"]["scope"].as_str())
        .collect();
    assert_eq!(scopes.len(), 2, "{locks:?}");
    assert!(scopes.contains(&"address") && scopes.contains(&"account_from_address"));
    let signed_in = entries(&log, "session.sign_in", "127.0.0.2");
    assert_eq!(signed_in.len(), 1, "{log:?}");
    assert_eq!(signed_in[0]["actor"], format!("user:{OWNER}"));
    assert_eq!(signed_in[0]["after"]["outcome"], "signed_in");

    // Wrong password, unknown account and an address locked out of the account: one answer.
    let third = client_from([127, 0, 0, 3]);
    let (s1, wrong, _) = sign_in(&third, &base, None, OWNER, "not it").await;
    let (s2, unknown, _) = sign_in(&third, &base, None, "nobody@herald.test", "not it").await;
    for _ in 0..4 {
        sign_in(&third, &base, None, OWNER, "still not it").await;
    }
    let (s3, locked, none) = sign_in(&third, &base, None, OWNER, PASSWORD).await;
    assert_eq!((s1, s2, s3), (401, 401, 401));
    // The same words; only each request's own id differs.
    let words = |body: &str| {
        let mut v: Value = serde_json::from_str(body).expect("json");
        v.as_object_mut().map(|o| o.remove("request_id"));
        v
    };
    assert_eq!(words(&wrong), words(&unknown));
    assert_eq!(words(&wrong), words(&locked));
    assert!(none.is_none(), "locked out, even with the right password");
    let log = audit(&owner, &base, &cookie).await;
    let unknown = entries(&log, "session.sign_in_failed", "127.0.0.3");
    assert!(unknown
        .iter()
        .any(|e| e["actor"] == "user:nobody@herald.test"
            && e["after"]["outcome"] == "unknown_account"));

    // From a peer that is not a trusted proxy the forwarding headers count for nothing: ten
    // failures "from" ten addresses are ten failures of the peer.
    let peer = client_from([127, 0, 0, 4]);
    for i in 0..10 {
        let f = format!("198.51.100.{i}");
        let (status, _, _) = sign_in(&peer, &base, Some(&f), &format!("u{i}@x.test"), "x").await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = sign_in(&peer, &base, Some("198.51.100.99"), OWNER, PASSWORD).await;
    assert_eq!(status, 429);
    let log = audit(&owner, &base, &cookie).await;
    assert_eq!(
        entries(&log, "session.sign_in_failed", "127.0.0.4").len(),
        10
    );
    assert!(log.iter().all(|e| !e["after"]["address"]
        .as_str()
        .unwrap_or("")
        .starts_with("198.51.100.")));

    // The sign-in form refuses a POST without its token and cookie.
    let res = owner
        .post(format!("{base}/admin/login"))
        .form(&[("email", OWNER), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    assert!(res
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|v| !v.to_str().unwrap_or("").starts_with("herald_session=")));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let (_herald, base) = serve(&[("HERALD_SERVER_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let proxy = client_from([127, 0, 0, 1]);
    for i in 0..10 {
        let (status, body, _) = sign_in(
            &proxy,
            &base,
            Some("203.0.113.7"),
            OWNER,
            &format!("guess {i}"),
        )
        .await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    // Another client behind the same proxy signs in.
    let (status, body, cookie) = sign_in(&proxy, &base, Some("203.0.113.8"), OWNER, PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    let cookie = cookie.expect("cookie");
    // The forwarded attacker is held back.
    let (status, _, _) = sign_in(&proxy, &base, Some("203.0.113.7"), OWNER, PASSWORD).await;
    assert_eq!(status, 429);
    let log = audit(&proxy, &base, &cookie).await;
    assert_eq!(
        entries(&log, "session.sign_in_failed", "203.0.113.7").len(),
        5
    );
    assert_eq!(entries(&log, "session.lock", "203.0.113.7").len(), 2);
    assert_eq!(entries(&log, "session.sign_in", "203.0.113.8").len(), 1);
    assert!(entries(&log, "session.sign_in_failed", "127.0.0.1").is_empty());
}

// In-process, on the test clock.

/// A request to the router from client address `ip`.
async fn send_from(app: &App, ip: [u8; 4], mut req: Request<Body>) -> (StatusCode, Vec<u8>) {
    req.extensions_mut()
        .insert(ClientIp(IpAddr::V4(Ipv4Addr::from(ip))));
    let reply = app.request(req).await;
    (reply.status, reply.body)
}

fn json_post(path: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

async fn login(app: &App, ip: [u8; 4], email: &str, password: &str) -> StatusCode {
    let body = json!({"email": email, "password": password});
    send_from(app, ip, json_post("/api/herald/v1/session", body))
        .await
        .0
}

async fn app_with_owner() -> App {
    TestApp::new().with_user(OWNER, Role::Owner).build().await
}

#[tokio::test]
async fn locks_run_out_and_start_a_fresh_count() {
    let app = app_with_owner().await;
    let ip = [192, 0, 2, 1];
    for _ in 0..5 {
        assert_eq!(login(&app, ip, OWNER, "wrong").await, 401);
    }
    assert_eq!(login(&app, ip, OWNER, PASSWORD).await, 401, "locked out");
    app.clock.advance(15 * 60 + 1);
    // The first failure after the lock ran out does not lock again.
    assert_eq!(login(&app, ip, OWNER, "wrong").await, 401);
    assert_eq!(login(&app, ip, OWNER, PASSWORD).await, 201);

    // The address's own hold-back runs out too, and also starts afresh.
    let other = [192, 0, 2, 2];
    for i in 0..10 {
        assert_eq!(login(&app, other, &format!("n{i}@x.test"), "x").await, 401);
    }
    assert_eq!(login(&app, other, OWNER, PASSWORD).await, 429);
    app.clock.advance(61);
    assert_eq!(login(&app, other, "n0@x.test", "x").await, 401);
    assert_eq!(login(&app, other, OWNER, PASSWORD).await, 201);
}

#[tokio::test]
async fn refused_attempts_are_not_written_one_by_one() {
    let app = app_with_owner().await;
    let ip = [192, 0, 2, 9];
    let before = app.store.audit_log(1000).await.expect("audit").len();
    for i in 0..10 {
        login(&app, ip, &format!("n{i}@x.test"), "x").await;
    }
    for _ in 0..50 {
        assert_eq!(login(&app, ip, OWNER, "x").await, 429);
    }
    let log = app.store.audit_log(1000).await.expect("audit");
    let new: Vec<_> = log[..log.len() - before].iter().collect();
    assert_eq!(new.len(), 11, "ten failures and one lock: {new:?}");
    assert_eq!(new.iter().filter(|e| e.action == "session.lock").count(), 1);
    assert!(new.iter().all(|e| e
        .after
        .as_ref()
        .is_some_and(|a| a["address"] == "192.0.2.9")));
}

#[tokio::test]
async fn the_role_is_checked_before_the_body_is_read() {
    let app = common::app().await;
    let viewer = format!("OAuth {}", app.key(Role::Viewer).await);
    let editor = format!("OAuth {}", app.key(Role::Editor).await);
    let page_id = app
        .store
        .load()
        .await
        .expect("load")
        .expect("page")
        .page
        .id
        .to_string();
    let huge = "x".repeat(herald::http::BODY_LIMIT + 1024);
    let malformed = "{\"name\": [[[[[".to_string();
    let request = |path: &str, auth: Option<&str>, body: String, with_length: bool| {
        let mut r = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        if with_length {
            r = r.header("content-length", body.len());
            r.body(Body::from(body)).expect("request")
        } else {
            let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(
                axum::body::Bytes::from(body),
            )]);
            r.body(Body::from_stream(chunks)).expect("request")
        }
    };
    let v1 = format!("/v1/pages/{page_id}/incidents");
    for path in ["/api/herald/v1/incidents", v1.as_str()] {
        for body in [&huge, &malformed] {
            for with_length in [true, false] {
                let (status, json) = app
                    .send(request(path, Some(&viewer), body.clone(), with_length))
                    .await;
                assert_eq!(status, 403, "{path} viewer: {json}");
                assert!(json["error"].as_str().is_some(), "{json}");
                let (status, _) = app
                    .send(request(path, None, body.clone(), with_length))
                    .await;
                assert_eq!(status, 401, "{path} stranger");
            }
        }
    }
    // Owner-only routes refuse an editor the same way.
    for path in ["/api/herald/v1/api-keys", "/api/herald/v1/users"] {
        let (status, _) = app
            .send(request(path, Some(&editor), huge.clone(), true))
            .await;
        assert_eq!(status, 403, "{path}");
    }
    // A writer still gets the body's verdict.
    let (status, _) = app
        .send(request(
            "/api/herald/v1/incidents",
            Some(&editor),
            malformed,
            true,
        ))
        .await;
    assert!(status == 400 || status == 422, "{status}");

    // A viewer signs out, and cannot write through the admin forms either.
    app.user("viewer@herald.test", Role::Viewer).await;
    let res = app
        .request(json_post(
            "/api/herald/v1/session",
            json!({"email": "viewer@herald.test", "password": PASSWORD}),
        ))
        .await;
    assert_eq!(res.status, 201);
    let cookie = res.cookie("herald_session").expect("cookie");
    let opened = res.json();
    let csrf = opened["csrf_token"].as_str().expect("csrf").to_string();
    let admin_form = Request::builder()
        .method("POST")
        .uri("/admin/incidents")
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("%%%not a form"))
        .expect("request");
    assert_eq!(app.request(admin_form).await.status, 403);
    let out = Request::builder()
        .method("DELETE")
        .uri("/api/herald/v1/session")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.send(out).await.0, 204);
}

/// `POST /subscribe` as JSON and as the page's form, from a fresh address each time.
async fn subscribe_both(app: &App, n: u8, email: &str) -> [(StatusCode, Vec<u8>); 2] {
    let json = send_from(
        app,
        [198, 51, 100, n],
        json_post("/subscribe", json!({"email": email})),
    )
    .await;
    let form = Request::builder()
        .method("POST")
        .uri("/subscribe")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={}", email.replace('@', "%40"))))
        .expect("request");
    let form = send_from(app, [198, 51, 100, n.wrapping_add(100)], form).await;
    [json, form]
}

#[tokio::test]
async fn subscribing_answers_the_same_whether_or_not_the_address_was_subscribed() {
    let mut app = common::app().await;
    let (port, smtp) = sinks::smtp_sink(true).await;
    let smtp_config = herald::config::SmtpConfig {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        security: Some(herald::config::SmtpSecurity::None),
        from: Some("Status <status@herald.test>".into()),
        ..Default::default()
    };
    let mailer = herald::mail::Mailer::with_connections(&smtp_config, 2)
        .expect("smtp settings")
        .expect("mailer");
    app.state.notifier = herald::notify::Notifier::new(
        herald::notify::NotifyOptions::default(),
        Some(std::sync::Arc::new(mailer)),
    )
    .expect("notifier");
    let to = "reader@people.test";

    let new = subscribe_both(&app, 1, to).await;
    assert_eq!(new[0].0, 201, "{}", String::from_utf8_lossy(&new[0].1));
    assert_eq!(new[1].0, 201);
    app.drain().await;
    assert_eq!(smtp.to(to).len(), 1, "one confirmation");

    // Waiting for confirmation: the same answer; no second mail this soon.
    let waiting = subscribe_both(&app, 2, to).await;
    assert_eq!(waiting, new);
    app.drain().await;
    assert_eq!(smtp.to(to).len(), 1);

    // Later the confirmation goes again, once.
    app.clock.advance(16 * 60);
    assert_eq!(subscribe_both(&app, 3, to).await, new);
    app.drain().await;
    assert_eq!(smtp.to(to).len(), 2, "sent again");
    assert_eq!(subscribe_both(&app, 4, to).await, new);
    app.drain().await;
    assert_eq!(smtp.to(to).len(), 2, "not twice in a window");

    // Confirmed: the same answer, and nothing new is sent.
    let sub = app
        .store
        .list_subscribers(None, None)
        .await
        .expect("list")
        .into_iter()
        .find(|s| s.email.as_deref() == Some(to))
        .expect("subscriber");
    app.store
        .set_subscriber_state(
            &sub.id,
            herald_core::audience::SubscriberState::Active,
            &app.meta(),
        )
        .await
        .expect("confirm");
    app.clock.advance(16 * 60);
    assert_eq!(subscribe_both(&app, 5, to).await, new);
    app.drain().await;
    assert_eq!(smtp.to(to).len(), 2);
    let body: Value = serde_json::from_slice(&new[0].1).expect("json");
    assert!(body.get("id").is_none(), "{body}");
}
