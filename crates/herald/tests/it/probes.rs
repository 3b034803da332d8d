//! Probes against real servers on 127.0.0.1 that each test starts and stops: HTTP (axum and
//! misbehaving raw sockets), TCP, TLS with generated certificates, DNS over a hand-made UDP
//! responder, and a throw-away PostgreSQL cluster.

// A failed setup step should stop the test where it happened.
#![allow(clippy::unwrap_used)]

use axum::routing::get;
use axum::Router;
use chrono::{Datelike, Utc};
use herald::probe::Prober;
use herald_core::monitor::{ProbeOutcome, ProbeSpec};
use herald_store::testing::PgCluster;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::rustls;

const TIMEOUT: Duration = Duration::from_secs(2);

fn http(url: String) -> ProbeSpec {
    ProbeSpec::Http {
        url,
        method: "GET".into(),
        headers: vec![],
        body: None,
        expected_status: vec![],
        body_contains: None,
        body_regex: None,
        json_pointer: None,
        verify_tls: true,
        follow_redirects: true,
    }
}

fn is_up(outcome: &ProbeOutcome) -> bool {
    matches!(outcome, ProbeOutcome::Up { .. })
}

fn is_down(outcome: &ProbeOutcome) -> bool {
    matches!(outcome, ProbeOutcome::Down { .. })
}

fn is_degraded(outcome: &ProbeOutcome) -> bool {
    matches!(outcome, ProbeOutcome::Degraded { .. })
}

/// Serves `app` on a fresh loopback port until the handle is aborted.
async fn serve(app: Router) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, task)
}

fn web() -> Router {
    Router::new()
        .route("/ok", get(|| async { "all systems operational" }))
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "late"
            }),
        )
        .route(
            "/moved",
            get(|| async { axum::response::Redirect::temporary("/ok") }),
        )
        .route(
            "/json",
            get(|| async { r#"{"status":{"db":"ok","replicas":3}}"# }),
        )
        .route("/version", get(|| async { "herald v1.42.7 build 9" }))
}

#[tokio::test]
async fn http_status_body_and_latency() {
    let prober = Prober::new().unwrap();
    let (addr, server) = serve(web()).await;
    let url = |path: &str| format!("http://{addr}{path}");

    assert!(is_up(&prober.probe(&http(url("/ok")), TIMEOUT, None).await));
    let failed = prober.probe(&http(url("/fail")), TIMEOUT, None).await;
    assert!(is_down(&failed), "{failed:?}");
    // 500 accepted when listed.
    let mut accept_500 = http(url("/fail"));
    if let ProbeSpec::Http {
        expected_status, ..
    } = &mut accept_500
    {
        *expected_status = vec![500];
    }
    assert!(is_up(&prober.probe(&accept_500, TIMEOUT, None).await));

    let slow = prober.probe(&http(url("/slow")), TIMEOUT, Some(200)).await;
    assert!(is_degraded(&slow), "{slow:?}");
    assert!(is_up(
        &prober.probe(&http(url("/ok")), TIMEOUT, Some(200)).await
    ));

    // Redirects: followed to a 200, or seen as a 307 when not followed.
    assert!(is_up(
        &prober.probe(&http(url("/moved")), TIMEOUT, None).await
    ));
    let mut no_follow = http(url("/moved"));
    if let ProbeSpec::Http {
        follow_redirects, ..
    } = &mut no_follow
    {
        *follow_redirects = false;
    }
    assert!(is_down(&prober.probe(&no_follow, TIMEOUT, None).await));

    let with = |path: &str, set: &dyn Fn(&mut ProbeSpec)| {
        let mut spec = http(url(path));
        set(&mut spec);
        spec
    };
    let contains = |needle: &'static str| {
        move |spec: &mut ProbeSpec| {
            if let ProbeSpec::Http { body_contains, .. } = spec {
                *body_contains = Some(needle.into());
            }
        }
    };
    let regex = |pattern: &'static str| {
        move |spec: &mut ProbeSpec| {
            if let ProbeSpec::Http { body_regex, .. } = spec {
                *body_regex = Some(pattern.into());
            }
        }
    };
    let pointer = |pointer: &'static str, value: &'static str| {
        move |spec: &mut ProbeSpec| {
            if let ProbeSpec::Http { json_pointer, .. } = spec {
                *json_pointer = Some((pointer.into(), value.into()));
            }
        }
    };
    let probe = |spec: ProbeSpec| {
        let prober = &prober;
        async move { prober.probe(&spec, TIMEOUT, None).await }
    };
    assert!(is_up(&probe(with("/ok", &contains("operational"))).await));
    assert!(is_down(&probe(with("/ok", &contains("outage"))).await));
    assert!(is_up(
        &probe(with("/version", &regex(r"v1\.\d+\.\d+ build"))).await
    ));
    assert!(is_down(&probe(with("/version", &regex(r"v2\.\d+"))).await));
    assert!(is_up(
        &probe(with("/json", &pointer("/status/db", "\"ok\""))).await
    ));
    assert!(is_up(
        &probe(with("/json", &pointer("/status/replicas", "3"))).await
    ));
    assert!(is_down(
        &probe(with("/json", &pointer("/status/replicas", "2"))).await
    ));
    assert!(is_down(
        &probe(with("/json", &pointer("/status/cache", "1"))).await
    ));
    assert!(is_down(&probe(with("/ok", &pointer("/status", "1"))).await));

    server.abort();
    let _ = server.await;
    let gone = prober.probe(&http(url("/ok")), TIMEOUT, None).await;
    assert!(is_down(&gone), "{gone:?}");
}

/// A server that accepts connections and never answers.
async fn hanging_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (addr, task)
}

#[tokio::test]
async fn a_hanging_server_is_down_within_the_timeout_and_stalls_nobody() {
    let prober = Arc::new(Prober::new().unwrap());
    let (addr, server) = hanging_server().await;
    let timeout = Duration::from_millis(700);

    let started = Instant::now();
    let outcome = prober
        .probe(&http(format!("http://{addr}/")), timeout, None)
        .await;
    assert!(is_down(&outcome), "{outcome:?}");
    assert!(started.elapsed() < timeout + Duration::from_millis(300));

    let started = Instant::now();
    let mut probes = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let prober = prober.clone();
        probes.spawn(async move {
            prober
                .probe(&http(format!("http://{addr}/")), timeout, None)
                .await
        });
    }
    while let Some(outcome) = probes.join_next().await {
        assert!(is_down(&outcome.unwrap()));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < timeout * 2,
        "20 concurrent probes took {elapsed:?}"
    );
    server.abort();
}

#[tokio::test]
async fn reset_and_garbage_are_down() {
    let prober = Prober::new().unwrap();

    // Resets: closes without reading the request, which makes the kernel send RST.
    let reset = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reset_addr = reset.local_addr().unwrap();
    let reset_task = tokio::spawn(async move {
        while let Ok((socket, _)) = reset.accept().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(socket);
        }
    });
    let outcome = prober
        .probe(&http(format!("http://{reset_addr}/")), TIMEOUT, None)
        .await;
    assert!(is_down(&outcome), "{outcome:?}");

    let garbage = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = garbage.local_addr().unwrap();
    let garbage_task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = garbage.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"\x00\xffNOT HTTP AT ALL\r\n\xfe\xfe\r\n\r\n")
                .await;
            let _ = socket.shutdown().await;
        }
    });
    let outcome = prober
        .probe(&http(format!("http://{garbage_addr}/")), TIMEOUT, None)
        .await;
    assert!(is_down(&outcome), "{outcome:?}");

    reset_task.abort();
    garbage_task.abort();
}

#[tokio::test]
async fn tcp_open_and_closed() {
    let prober = Prober::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let spec = ProbeSpec::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    assert!(is_up(&prober.probe(&spec, TIMEOUT, None).await));
    drop(listener);
    let outcome = prober.probe(&spec, TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");
}

/// Serves TLS with a self-signed certificate valid from `from_days` to `to_days` from today.
async fn tls_server(from_days: i64, to_days: i64) -> (u16, JoinHandle<()>) {
    let day = |offset: i64| {
        let date = (Utc::now() + chrono::Duration::days(offset)).date_naive();
        rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
    };
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = day(from_days);
    params.not_after = day(to_days);
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf).await;
                }
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn tls_certificate_expiry() {
    let prober = Prober::new().unwrap();
    let spec = |port| ProbeSpec::TlsExpiry {
        host: "localhost".into(),
        port,
        warn_days: 14,
    };
    let (fresh, fresh_task) = tls_server(-1, 30).await;
    let outcome = prober.probe(&spec(fresh), TIMEOUT, None).await;
    assert!(is_up(&outcome), "{outcome:?}");

    let (soon, soon_task) = tls_server(-1, 7).await;
    let outcome = prober.probe(&spec(soon), TIMEOUT, None).await;
    assert!(is_degraded(&outcome), "{outcome:?}");

    let (expired, expired_task) = tls_server(-60, -2).await;
    let outcome = prober.probe(&spec(expired), TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");

    fresh_task.abort();
    soon_task.abort();
    expired_task.abort();
    let _ = fresh_task.await;
    let outcome = prober.probe(&spec(fresh), TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");
}

/// Answers every query with one A record, 127.0.0.9, for whatever name was asked.
async fn dns_server() -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((len, from)) = socket.recv_from(&mut buf).await {
            let query = &buf[..len];
            // The question: the name's labels up to the zero byte, then type and class.
            let mut end = 12;
            while end < len && query[end] != 0 {
                end += usize::from(query[end]) + 1;
            }
            let end = end + 5;
            if end > len {
                continue;
            }
            let mut answer = Vec::new();
            answer.extend_from_slice(&query[..2]); // id
            answer.extend_from_slice(&[0x81, 0x80]); // response, recursion desired and available
            answer.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]); // 1 question, 1 answer
            answer.extend_from_slice(&query[12..end]);
            answer.extend_from_slice(&[0xc0, 0x0c]); // the name, by pointer to the question
            answer.extend_from_slice(&[0, 1, 0, 1]); // A, IN
            answer.extend_from_slice(&[0, 0, 0, 60]); // TTL
            answer.extend_from_slice(&[0, 4, 127, 0, 0, 9]);
            let _ = socket.send_to(&answer, from).await;
        }
    });
    (addr, task)
}

#[tokio::test]
async fn dns_lookup_against_a_local_responder() {
    let prober = Prober::new().unwrap();
    let (addr, server) = dns_server().await;
    let spec = |expected: Option<&str>| ProbeSpec::Dns {
        name: "status.example.test.".into(),
        record_type: "A".into(),
        expected: expected.map(String::from),
        resolver: Some(addr.to_string()),
    };
    let outcome = prober.probe(&spec(Some("127.0.0.9")), TIMEOUT, None).await;
    assert!(is_up(&outcome), "{outcome:?}");
    assert!(is_up(&prober.probe(&spec(None), TIMEOUT, None).await));
    let outcome = prober.probe(&spec(Some("127.0.0.8")), TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");

    server.abort();
    let _ = server.await;
    let outcome = prober.probe(&spec(None), TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");
}

#[tokio::test]
async fn postgres_up_down_and_back() {
    let prober = Prober::new().unwrap();
    let cluster = PgCluster::start();
    let url = cluster.create_database();
    let spec = ProbeSpec::Postgres {
        url,
        query: "SELECT 1".into(),
        max_replica_lag_seconds: Some(30),
    };
    let outcome = prober.probe(&spec, TIMEOUT, None).await;
    assert!(is_up(&outcome), "{outcome:?}");

    cluster.stop();
    let outcome = prober.probe(&spec, TIMEOUT, None).await;
    assert!(is_down(&outcome), "{outcome:?}");

    cluster.start_server();
    let outcome = prober.probe(&spec, TIMEOUT, None).await;
    assert!(is_up(&outcome), "{outcome:?}");
    cluster.stop();
}

#[tokio::test]
async fn a_refused_mysql_is_down_and_heartbeats_are_not_probed() {
    let prober = Prober::new().unwrap();
    let port = herald_store::testing::free_port();
    let mysql = ProbeSpec::Mysql {
        url: format!("mysql://herald@127.0.0.1:{port}/app"),
        query: "SELECT 1".into(),
    };
    match prober.probe(&mysql, TIMEOUT, None).await {
        ProbeOutcome::Down { reason } => assert!(reason.contains("cannot connect"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let heartbeat = ProbeSpec::Heartbeat {
        token: "t".into(),
        grace_seconds: 0,
    };
    match prober.probe(&heartbeat, TIMEOUT, None).await {
        ProbeOutcome::Down { reason } => assert!(reason.contains("not probed here")),
        other => panic!("{other:?}"),
    }
}
