//! Hardening seen from outside: security headers on public and admin answers, HSTS only behind
//! TLS, the request body limit, Prometheus metrics on their own listener (and not on the public
//! one), and JSON logs.

use herald_store::testing::free_port;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use crate::common;

use common::process::{wait_for, Running, Serve};

/// `herald serve --demo` logging at `info` to a pipe, with the extra variables `env`.
fn demo(env: &[(&str, &str)]) -> Running {
    Serve::new()
        .demo()
        .env("HERALD_LOG", "info")
        .envs(env)
        .stderr_piped()
        .spawn()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn security_headers_limits_metrics_and_json_logs() {
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let mut herald = demo(&[
        ("HERALD_METRICS_LISTEN", &metrics_addr),
        ("HERALD_LOG_FORMAT", "json"),
    ]);
    wait_for(&herald.url("/readyz")).await;
    let base = herald.base.clone();
    let client = reqwest::Client::new();

    // Public answers: a CSP without inline script, nosniff, a referrer policy; embeddable.
    for path in ["/", "/api/v2/summary.json", "/history.atom", "/nowhere"] {
        let r = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("get");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("frame-ancestors"), "{path}: {csp}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert!(!header(&r, "referrer-policy").is_empty(), "{path}");
        assert_eq!(
            header(&r, "strict-transport-security"),
            "",
            "{path}: no TLS, no HSTS"
        );
    }
    // The pages really carry no inline script or style for that policy to break.
    let home = client
        .get(format!("{base}/"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(!home.contains("<script>") && !home.contains(" style=") && !home.contains("<style"));

    // Admin pages may not be framed.
    let r = client
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .expect("get");
    assert!(header(&r, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(&r, "x-frame-options"), "DENY");

    // Behind a TLS-terminating proxy, HSTS.
    let r = client
        .get(format!("{base}/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("get");
    assert!(header(&r, "strict-transport-security").starts_with("max-age="));

    // A body announced above the limit is refused before it is read.
    let status_line = tokio::task::spawn_blocking({
        let addr = base.trim_start_matches("http://").to_string();
        move || {
            use std::io::{Read, Write};
            let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
            tcp.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let head = format!(
                "POST /subscribe HTTP/1.1\r\nHost: status\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{{\"email\":",
                herald::http::BODY_LIMIT + 1024
            );
            tcp.write_all(head.as_bytes()).expect("write");
            let mut answer = [0u8; 64];
            let n = tcp.read(&mut answer).expect("read");
            String::from_utf8_lossy(&answer[..n]).into_owned()
        }
    })
    .await
    .expect("raw request");
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    // Metrics on their own listener, counting what was served; none on the public one.
    let text = client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(text.contains("herald_http_requests_total"), "{text}");
    assert!(text.contains("herald_snapshot_rebuilds_total"), "{text}");
    let r = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);

    // JSON logs: every line on standard error is a JSON object.
    let stderr = herald.process.0.stderr.take().expect("stderr");
    let _ = herald.process.0.kill();
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.starts_with('{'))
        .collect();
    assert!(!lines.is_empty(), "no JSON log lines");
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}
