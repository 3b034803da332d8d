//! Connection hygiene seen from outside, against a real `herald serve --demo`: one client
//! address holding thousands of idle and slow-header sockets does not keep another client from
//! the page, the time limits close those sockets, the per-address and total caps refuse the
//! excess at once, and the client address the handlers see is the real peer (or, behind a
//! trusted proxy only, the address it forwards).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::common;

use common::process::{Running, Serve};

/// `herald serve --demo` with `env`; returns the process (with its port and data folder).
fn demo(env: &[(&str, &str)]) -> Running {
    Serve::new().demo().envs(env).spawn()
}

/// Raises this process's own open-files soft limit (it holds thousands of sockets too).
fn raise_own_limit(needed: u64) {
    let limits = herald::http::server::raise_open_files_limit().expect("open-files limit");
    assert!(
        limits.soft >= needed,
        "the open-files limit is too low for this test: {limits:?}, need {needed}"
    );
}

/// A connection to Herald on `port` from the loopback address `from`.
async fn connect_from(from: [u8; 4], port: u16) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

/// Reads one response (head and a `content-length` body); its status.
async fn read_response(stream: &mut TcpStream) -> io::Result<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not a response: {head}")))?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no content-length: {head}")))?;
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

/// `GET path` from `from` on a connection of its own, read until the server closes it; the
/// status, or the error.
async fn get(from: [u8; 4], port: u16, path: &str) -> io::Result<u16> {
    let exchange = async {
        let mut s = connect_from(from, port).await?;
        let request = format!("GET {path} HTTP/1.1\r\nhost: herald\r\nconnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await?;
        let status = read_response(&mut s).await?;
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await?;
        Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

/// Waits until Herald answers `/readyz`, asking from 127.0.0.4 (so that no address a test
/// counts connections of has one still closing).
async fn ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(get([127, 0, 0, 4], port, "/readyz").await, Ok(200)) {
        assert!(Instant::now() < deadline, "herald never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a held socket ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    /// Closed by the server, this long after the reference instant.
    Closed(Duration),
    /// Answered with the 503 of a refused connection.
    Refused,
    /// Still open when the watch gave up.
    Open,
    Other,
}

/// Waits for the server to close `stream` (a socket that sends nothing more).
fn watch(mut stream: TcpStream, since: Instant, give_up: Duration) -> JoinHandle<End> {
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(give_up, stream.read(&mut buf)).await {
            Err(_) => End::Open,
            Ok(Ok(0)) | Ok(Err(_)) => End::Closed(since.elapsed()),
            Ok(Ok(n)) if buf[..n].starts_with(b"HTTP/1.1 503") => End::Refused,
            Ok(Ok(_)) => End::Other,
        }
    })
}

/// A client that sends a request head one byte every 300 ms and never finishes it.
fn slow_header(mut stream: TcpStream, since: Instant, give_up: Duration) -> JoinHandle<End> {
    tokio::spawn(async move {
        let head = b"GET / HTTP/1.1\r\nhost: herald\r\nx-slow: ";
        let mut sent = 0usize;
        let mut tick = tokio::time::interval(Duration::from_millis(300));
        let mut buf = [0u8; 512];
        let deadline = tokio::time::sleep(give_up);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let byte = head.get(sent).copied().unwrap_or(b'a');
                    if stream.write_all(&[byte]).await.is_err() {
                        return End::Closed(since.elapsed());
                    }
                    sent += 1;
                }
                read = stream.read(&mut buf) => return match read {
                    Ok(0) | Err(_) => End::Closed(since.elapsed()),
                    Ok(n) if buf[..n].starts_with(b"HTTP/1.1 503") => End::Refused,
                    Ok(_) => End::Other,
                },
                () = &mut deadline => return End::Open,
            }
        }
    })
}

/// Opens `n` connections from `from`, `batch` at a time; with `request`, each first gets
/// `/healthz` and is then kept alive. Each comes with the instant its time limit started.
async fn open_many(
    from: [u8; 4],
    port: u16,
    n: usize,
    request: bool,
) -> Vec<(TcpStream, Instant, bool)> {
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(100) {
        let batch = (start..n.min(start + 100)).map(|_| async move {
            let mut s = connect_from(from, port).await.expect("connect");
            if !request {
                return (s, Instant::now(), false);
            }
            s.write_all(b"GET /healthz HTTP/1.1\r\nhost: herald\r\n\r\n")
                .await
                .expect("send");
            let status = read_response(&mut s).await;
            let refused = matches!(status, Ok(503));
            assert!(refused || matches!(status, Ok(200)), "{status:?}");
            (s, Instant::now(), refused)
        });
        out.extend(futures_util::future::join_all(batch).await);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holding_thousands_of_sockets_does_not_starve_another() {
    raise_own_limit(5_000);
    let (header, idle) = (5u64, 7u64);
    let (header_s, idle_s) = (header.to_string(), idle.to_string());
    let herald = demo(&[
        ("HERALD_SERVER_HEADER_TIMEOUT_SECONDS", &header_s),
        ("HERALD_SERVER_IDLE_TIMEOUT_SECONDS", &idle_s),
        ("HERALD_SERVER_MAX_CONNECTIONS_PER_CLIENT", "3000"),
    ]);
    let port = herald.port;
    ready(port).await;
    let give_up = Duration::from_secs(idle + 15);
    let setup = Instant::now();

    // 1,000 kept alive after one request, 1,000 that never send a byte, 200 slow heads; all
    // from 127.0.0.1.
    let kept = open_many([127, 0, 0, 1], port, 1000, true).await;
    let silent = open_many([127, 0, 0, 1], port, 1000, false).await;
    let slow = open_many([127, 0, 0, 1], port, 200, false).await;
    let refused_at_open = kept.iter().filter(|(_, _, refused)| *refused).count();
    let watched: Vec<(&str, JoinHandle<End>)> = kept
        .into_iter()
        .filter(|(_, _, refused)| !refused)
        .map(|(s, at, _)| ("idle", watch(s, at, give_up)))
        .chain(
            silent
                .into_iter()
                .map(|(s, at, _)| ("silent", watch(s, at, give_up))),
        )
        .chain(
            slow.into_iter()
                .map(|(s, at, _)| ("slow", slow_header(s, at, give_up))),
        )
        .collect();
    let opened_in = setup.elapsed();

    // Another client address is served at once, the page and the health check alike.
    let started = Instant::now();
    assert_eq!(get([127, 0, 0, 2], port, "/").await.expect("/"), 200);
    let page_in = started.elapsed();
    let started = Instant::now();
    assert_eq!(
        get([127, 0, 0, 2], port, "/healthz")
            .await
            .expect("/healthz"),
        200
    );
    let health_in = started.elapsed();
    let gone_early = watched.iter().filter(|(_, h)| h.is_finished()).count();
    println!(
        "opened 2,200 sockets from 127.0.0.1 in {}; from 127.0.0.2: / in {}, /healthz in {}; \
         {gone_early} sockets had ended by then",
        secs(opened_in),
        secs(page_in),
        secs(health_in),
    );
    assert_eq!(
        gone_early, 0,
        "opening took so long that time limits ran out before the check"
    );
    assert!(page_in < Duration::from_secs(1), "/ took {page_in:?}");
    assert!(
        health_in < Duration::from_secs(1),
        "/healthz took {health_in:?}"
    );

    // Then the time limits close every one of them, on time.
    let mut refused = refused_at_open;
    let mut closed = 0;
    let mut worst: std::collections::BTreeMap<&str, (Duration, Duration)> = Default::default();
    for (kind, handle) in watched {
        let end = handle.await.expect("watcher");
        let limit = Duration::from_secs(if kind == "idle" { idle } else { header });
        match end {
            End::Closed(after) => {
                closed += 1;
                let w = worst.entry(kind).or_insert((after, after));
                w.0 = w.0.min(after);
                w.1 = w.1.max(after);
                assert!(
                    after + Duration::from_millis(500) >= limit
                        && after <= limit + Duration::from_secs(3),
                    "a {kind} socket was closed after {after:?}; its limit is {limit:?}"
                );
            }
            End::Refused => refused += 1,
            other => panic!("a {kind} socket ended as {other:?}"),
        }
    }
    for (kind, (first, last)) in &worst {
        println!(
            "{kind} sockets closed by the server between {} and {}",
            secs(*first),
            secs(*last)
        );
    }
    println!("{closed} closed by the time limits, {refused} refused");
    assert_eq!(
        refused, 0,
        "the per-client cap was set above what was opened"
    );
    assert_eq!(closed, 2200);
}

/// Opens `n` silent connections from `from`; how many were held and how many refused.
async fn hold(from: [u8; 4], port: u16, n: usize) -> (Vec<TcpStream>, usize) {
    let opened = open_many(from, port, n, false).await;
    let looked = opened.into_iter().map(|(mut s, _, _)| async move {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(700), s.read(&mut buf)).await {
            Err(_) => Some(s),
            Ok(Ok(0)) | Ok(Err(_)) => None,
            Ok(Ok(k)) => {
                assert!(
                    buf[..k].starts_with(b"HTTP/1.1 503"),
                    "{}",
                    String::from_utf8_lossy(&buf[..k])
                );
                None
            }
        }
    });
    let looked = futures_util::future::join_all(looked).await;
    let refused = looked.iter().filter(|s| s.is_none()).count();
    (looked.into_iter().flatten().collect(), refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_caps_refuse_the_excess_at_once() {
    let herald = demo(&[
        ("HERALD_SERVER_MAX_CONNECTIONS_PER_CLIENT", "20"),
        ("HERALD_SERVER_MAX_CONNECTIONS", "30"),
        ("HERALD_SERVER_HEADER_TIMEOUT_SECONDS", "60"),
    ]);
    let port = herald.port;
    ready(port).await;

    // One address gets its 20 and no more...
    let started = Instant::now();
    let (mut held, refused) = hold([127, 0, 0, 1], port, 30).await;
    println!(
        "127.0.0.1: {} held, {refused} refused in {}",
        held.len(),
        secs(started.elapsed())
    );
    assert_eq!((held.len(), refused), (20, 10));
    let own = get([127, 0, 0, 1], port, "/healthz").await;
    assert!(!matches!(own, Ok(200)), "over its cap, yet served: {own:?}");
    // ...while another is served.
    assert_eq!(get([127, 0, 0, 2], port, "/").await.expect("/"), 200);
    let own = get([127, 0, 0, 1], port, "/").await;
    assert!(!matches!(own, Ok(200)), "over its cap, yet served: {own:?}");

    // The total cap: a third address fills what is left, then nobody new gets in.
    let (third, refused) = hold([127, 0, 0, 3], port, 15).await;
    println!("127.0.0.3: {} held, {refused} refused", third.len());
    assert_eq!((third.len(), refused), (10, 5));
    let other = get([127, 0, 0, 2], port, "/").await;
    assert!(
        !matches!(other, Ok(200)),
        "over the total, yet served: {other:?}"
    );

    // Closed connections give their places back.
    held.truncate(10);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let a = get([127, 0, 0, 1], port, "/healthz").await;
        let b = get([127, 0, 0, 2], port, "/").await;
        if matches!((&a, &b), (Ok(200), Ok(200))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "places never came back: {a:?} {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(third);
}

/// `POST /subscribe` from `from` with extra headers; the status.
async fn subscribe(from: [u8; 4], port: u16, email: &str, headers: &[(&str, &str)]) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(from))
        .build()
        .expect("client");
    let mut req = client
        .post(format!("http://127.0.0.1:{port}/subscribe"))
        .header("accept", "application/json")
        .json(&serde_json::json!({ "email": email }));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("subscribe").status().as_u16()
}

#[tokio::test]
async fn handlers_see_the_real_client_address() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["api-key", "create", "--name", "test", "--role", "owner"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("HERALD_LOG", "warn")
        .output()
        .expect("api-key create");
    assert!(out.status.success(), "{out:?}");
    let key = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let herald = Serve::new()
        .demo()
        .data_dir(dir.path())
        .env("HERALD_SERVER_TRUSTED_PROXIES", "127.0.0.3/32")
        .spawn();
    let port = herald.port;
    ready(port).await;

    // The subscribe limit (10 per client address) is spent from 127.0.0.1...
    for i in 0..10 {
        let status = subscribe([127, 0, 0, 1], port, &format!("one{i}@example.com"), &[]).await;
        assert_ne!(status, 429, "attempt {i}");
    }
    assert_eq!(
        subscribe([127, 0, 0, 1], port, "one10@example.com", &[]).await,
        429
    );
    // ...forwarding headers from an untrusted peer change nothing...
    let forged = [
        ("x-forwarded-for", "198.51.100.7"),
        ("forwarded", "for=198.51.100.7"),
    ];
    assert_eq!(
        subscribe([127, 0, 0, 1], port, "one11@example.com", &forged).await,
        429
    );
    // ...another address has its own allowance...
    assert_ne!(
        subscribe([127, 0, 0, 2], port, "two@example.com", &[]).await,
        429
    );
    // ...and behind the trusted proxy the forwarded address counts, not the proxy's.
    let spent = [("x-forwarded-for", "127.0.0.1")];
    assert_eq!(
        subscribe([127, 0, 0, 3], port, "three0@example.com", &spent).await,
        429
    );
    let chain = [("x-forwarded-for", "203.0.113.50, 198.51.100.7")];
    assert_ne!(
        subscribe([127, 0, 0, 3], port, "three1@example.com", &chain).await,
        429
    );
    let quoted = [("forwarded", "for=\"198.51.100.8:4711\";proto=https")];
    assert_ne!(
        subscribe([127, 0, 0, 3], port, "three2@example.com", &quoted).await,
        429
    );

    // The audit log names each of them by the same address.
    let audit: serde_json::Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/herald/v1/audit"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let actors: Vec<&str> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .filter(|a| a.starts_with("public:"))
        .collect();
    println!("public actors in the audit log: {actors:?}");
    for want in [
        "public:127.0.0.1",
        "public:127.0.0.2",
        "public:198.51.100.7",
        "public:198.51.100.8",
    ] {
        assert!(actors.contains(&want), "{want} missing from {actors:?}");
    }
    for never in ["public:127.0.0.3", "public:203.0.113.50"] {
        assert!(!actors.contains(&never), "{never} in {actors:?}");
    }
}

#[tokio::test]
async fn serve_raises_its_open_files_limit_and_says_so() {
    // Started with a low soft limit, as many systems give.
    let mut herald = Serve::new()
        .demo()
        .through_shell("ulimit -S -n 256")
        .env("HERALD_LOG", "info")
        .env("HERALD_LOG_FORMAT", "json")
        .stderr_piped()
        .spawn();
    let stderr = herald.process.0.stderr.take().expect("stderr");
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("open-files limit"))
    })
    .await
    .expect("reader")
    .expect("the open-files line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("json log line");
    let figure = |k: &str| {
        v["fields"][k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {line}"))
    };
    println!("{line}");
    assert_eq!(figure("was"), 256);
    assert_eq!(figure("soft"), figure("hard"));
    assert!(figure("soft") >= 256);
}
