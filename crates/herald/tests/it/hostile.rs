//! Hostile input against a real `herald serve` over TCP, once on SQLite and once on PostgreSQL:
//! every route of the router (taken from the source, so a new one is walked too) gets deeply
//! nested form keys and JSON, 100,000 keys, NUL and control characters in keys, values, paths
//! and queries, invalid UTF-8, wrong and missing content types, and oversized bodies with and
//! without a length — without credentials, with an owner's and a viewer's API key, and with an
//! admin session and its CSRF token. No answer may be a 5xx, and the same process must still
//! serve `/` afterwards (a crash or an abort shows as the process gone).

use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::testing::{free_port, shared_cluster};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::common;

use common::process::{meta, prepare, serve, wait_for};

/// Requests in flight at once.
const IN_FLIGHT: usize = 16;

/// One route: a method and a path with `{param}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    method: String,
    path: String,
}

/// The text between the parenthesis opening at `open` and its match.
fn balanced(s: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &s[open + 1..]
}

/// Every `.route("path", method(..).method(..))` of one source file, with `prefix` before it.
fn routes_in(source: &str, prefix: &str, out: &mut BTreeSet<Route>) {
    let mut from = 0;
    while let Some(at) = source[from..].find(".route(") {
        let open = from + at + ".route".len();
        let args = balanced(source, open);
        from = open + 1;
        let Some(q) = args.find('"') else { continue };
        let Some(len) = args[q + 1..].find('"') else {
            continue;
        };
        let path = &args[q + 1..q + 1 + len];
        let rest = &args[q + 1 + len..];
        for method in ["get", "post", "put", "patch", "delete", "any"] {
            let called = rest.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0
                    || !rest.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && rest.as_bytes()[i - 1] != b'_'
            });
            if called {
                let full = match (prefix, path) {
                    ("", p) => p.to_string(),
                    (pre, "/") => pre.to_string(),
                    (pre, p) => format!("{pre}{p}"),
                };
                let methods: &[&str] = if method == "any" {
                    &["GET", "POST", "PUT"]
                } else {
                    &[method]
                };
                for m in methods {
                    out.insert(Route {
                        method: m.to_ascii_uppercase(),
                        path: full.clone(),
                    });
                }
            }
        }
    }
}

/// The router's routes: the native API from its declared table, everything else read from the
/// `.route(` calls in `src/http`, each under the prefix its router is nested at.
fn all_routes() -> Vec<Route> {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = vec![];
    let mut dirs = vec![http.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read src/http") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut out = BTreeSet::new();
    for f in files {
        let rel = f.strip_prefix(&http).expect("under src/http");
        let rel = rel.to_string_lossy();
        let prefix = if rel.starts_with("admin") {
            "/admin"
        } else if rel == "v1.rs" || rel == "v1_metrics.rs" {
            "/v1"
        } else if rel == "prometheus.rs" || rel == "api.rs" {
            // Its own listener; the native table is read below.
            continue;
        } else {
            ""
        };
        let source = std::fs::read_to_string(&f).expect("read source");
        routes_in(&source, prefix, &mut out);
    }
    for (method, path) in herald::http::api::NATIVE_ROUTES {
        out.insert(Route {
            method: method.to_ascii_uppercase(),
            path: format!("{}{path}", herald::http::api::PREFIX),
        });
    }
    out.into_iter().collect()
}

/// Real ids from the example page, for path parameters.
struct Ids {
    page: String,
    component: String,
    group: String,
    incident: String,
    update: String,
    maintenance: String,
    other: String,
}

impl Ids {
    fn from_example() -> Ids {
        let f = DataFile::parse(herald::app::DEMO_FILE, Format::Toml).expect("example");
        let incident = f.incidents.first().expect("an incident");
        Ids {
            page: f.page.id.to_string(),
            component: f.components[0].id.to_string(),
            group: f
                .component_groups
                .first()
                .map(|g| g.id.to_string())
                .unwrap_or_else(|| "nosuchgroup1".into()),
            incident: incident.id.to_string(),
            update: incident.updates[0].id.to_string(),
            maintenance: f
                .maintenances
                .first()
                .map(|m| m.id.to_string())
                .unwrap_or_else(|| "nosuchmaint1".into()),
            other: f
                .monitors
                .first()
                .map(|m| m.id.to_string())
                .unwrap_or_else(|| "nosuchthing1".into()),
        }
    }

    /// The path with each `{param}` replaced: by a real id chosen from the parameter's name or
    /// the segment before it, or by `nul` when given.
    fn fill(&self, path: &str, nul: Option<&str>) -> String {
        let mut out = String::new();
        let mut previous = "";
        for seg in path.split('/').skip(1) {
            out.push('/');
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let value = match (nul, name) {
                    (Some(n), _) => n.to_string(),
                    (_, "page_id") => self.page.clone(),
                    (_, "component") => self.component.clone(),
                    (_, "update") => self.update.clone(),
                    (_, "kind") => "generic".into(),
                    (_, "token") => "no-such-heartbeat-token-0000".into(),
                    (_, "file") => format!("{}.svg", self.other),
                    _ => match previous {
                        "components" => self.component.clone(),
                        "groups" | "component-groups" => self.group.clone(),
                        "incidents" => self.incident.clone(),
                        "maintenance" | "maintenances" => self.maintenance.clone(),
                        _ => self.other.clone(),
                    },
                };
                out.push_str(&value);
            } else {
                out.push_str(seg);
            }
            previous = seg;
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    Owner,
    Viewer,
    Admin,
}

struct Creds {
    owner: String,
    viewer: String,
    session: String,
    csrf: String,
}

impl Creds {
    fn headers(&self, who: Who, path: &str) -> Vec<(String, String)> {
        let key = |k: &str| {
            let scheme = if path.starts_with("/v1/") {
                "OAuth"
            } else {
                "Bearer"
            };
            vec![("authorization".to_string(), format!("{scheme} {k}"))]
        };
        match who {
            Who::Nobody => vec![],
            Who::Owner => key(&self.owner),
            Who::Viewer => key(&self.viewer),
            Who::Admin => vec![
                ("cookie".into(), format!("herald_session={}", self.session)),
                ("x-csrf-token".into(), self.csrf.clone()),
            ],
        }
    }
}

/// How a request was sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length,
    Chunked,
}

/// One hostile body.
struct Payload {
    name: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    framing: Framing,
    /// Large: sent only without credentials and with the route's main credential.
    heavy: bool,
    /// So large the server may close the connection before answering.
    may_close: bool,
    /// Whether the body holds a `CSRF` placeholder for the sender's token.
    has_csrf: bool,
}

fn payloads() -> Vec<Payload> {
    let form = Some("application/x-www-form-urlencoded");
    let json = Some("application/json");
    let light = |name, content_type, body: Vec<u8>| Payload {
        name,
        content_type,
        body,
        framing: Framing::Length,
        heavy: false,
        may_close: false,
        has_csrf: false,
    };
    let heavy = |name, content_type, body: Vec<u8>| Payload {
        name,
        content_type,
        body,
        framing: Framing::Length,
        heavy: true,
        may_close: false,
        has_csrf: false,
    };
    let keys_form: Vec<String> = (0..100_000).map(|i| format!("k{i}=1")).collect();
    let keys_json = format!(
        "{{{}}}",
        (0..100_000)
            .map(|i| format!("\"k{i:x}\":0"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let big = 4 * 1024 * 1024 + 64 * 1024;
    let mut out = vec![
        light("form nested 5,000 deep", form, format!("a{}=1", "[]".repeat(5_000)).into_bytes()),
        light(
            "form named key nested 5,000 deep",
            form,
            format!("incident[name]{}=1&csrf_token=CSRF", "[x]".repeat(5_000)).into_bytes(),
        ),
        light(
            "form brackets only",
            form,
            format!("{}=1", "[".repeat(6_000)).into_bytes(),
        ),
        light(
            "json arrays 10,000 deep",
            json,
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        ),
        light(
            "json objects 5,000 deep",
            json,
            format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)).into_bytes(),
        ),
        heavy("form with 100,000 keys", form, keys_form.join("&").into_bytes()),
        heavy("json with 100,000 keys", json, keys_json.into_bytes()),
        light(
            "json array of 100,000",
            json,
            format!("[{}0]", "0,".repeat(99_999)).into_bytes(),
        ),
        light(
            "json with NUL",
            json,
            br#"{"name":"a\u0000b","email":"n\u0000@x.test","endpoint":"http://x\u0000.test","body":"x\u0000","title":"\u0000","status":"investigating","kind":"generic","target":"a\u0000@b.test","\u0000":"k"}"#.to_vec(),
        ),
        light(
            "form with NUL",
            form,
            b"name=a%00b&email=n%00%40x.test&endpoint=http%3A%2F%2Fx%00.test&body=x%00&password=p%00&%00=k&csrf_token=CSRF".to_vec(),
        ),
        light(
            "form with control characters",
            form,
            b"name=%1B%5B31mred%0D%0Ax&title=%07bell&body=%1B%5D0%3Bx%07&email=a%1B%40x.test&endpoint=http%3A%2F%2Fx%1B.test&password=%1B&status=investigating&incident_status=investigating&integration_kind=generic&integration_name=%1B%5B2J&metric_name=%1B&channel_name=%1B&channel_kind=webhook&channel_target=http%3A%2F%2Fx.test%2F%1B&csrf_token=CSRF".to_vec(),
        ),
        light(
            "json with control characters",
            json,
            br#"{"name":"\u001b[31mred\r\nx","title":"\u0007","body":"\u001b]0;x\u0007","description":"\u0085","email":"a\u001b@x.test","endpoint":"http://x\u001b.test","status":"investigating","kind":"webhook","target":"http://x.test/\u001b","suffix":"\u009b2J"}"#.to_vec(),
        ),
        light(
            "form with invalid UTF-8 (encoded)",
            form,
            b"name=%FF%FE%FD&email=%C3%28&csrf_token=CSRF".to_vec(),
        ),
        light(
            "form with invalid UTF-8 (raw)",
            form,
            b"name=\xff\xfe&csrf_token=CSRF".to_vec(),
        ),
        light(
            "json with invalid UTF-8",
            json,
            b"{\"name\":\"\xff\xfe\",\"body\":\"\xc3\x28\"}".to_vec(),
        ),
        light(
            "json sent as text/plain",
            Some("text/plain"),
            br#"{"name":"x","status":"investigating"}"#.to_vec(),
        ),
        light(
            "multipart body",
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--XyZ--\r\n".to_vec(),
        ),
        light("xml body", Some("application/xml"), b"<incident><name>x</name></incident>".to_vec()),
        light(
            "form body without a content type",
            None,
            b"name=x&csrf_token=CSRF".to_vec(),
        ),
        light("form body sent as JSON", json, b"name=x&csrf_token=CSRF".to_vec()),
        light(
            "json body sent as a form",
            form,
            br#"{"name":"x","status":"investigating"}"#.to_vec(),
        ),
        light(
            "garbage content type",
            Some("application/x-www-form-urlencoded;;;charset=\"%FF"),
            b"%%%&&&==&=%G0".to_vec(),
        ),
        heavy("2 MB JSON string", json, {
            let mut b = b"{\"name\":\"".to_vec();
            b.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
            b.extend(b"\"}");
            b
        }),
        Payload {
            name: "oversized with a length",
            content_type: json,
            body: vec![b' '; big],
            framing: Framing::Length,
            heavy: true,
            may_close: true,
            has_csrf: false,
        },
        Payload {
            name: "oversized chunked",
            content_type: form,
            body: vec![b'a'; big],
            framing: Framing::Chunked,
            heavy: true,
            may_close: true,
            has_csrf: false,
        },
        Payload {
            name: "chunked form nested 5,000 deep",
            content_type: form,
            body: format!("a{}=1", "[]".repeat(5_000)).into_bytes(),
            framing: Framing::Chunked,
            heavy: false,
            may_close: false,
            has_csrf: false,
        },
    ];
    out.shrink_to_fit();
    out
}

/// Hostile query strings, sent on every route.
fn queries() -> Vec<(&'static str, String)> {
    vec![
        (
            "query nested 5,000 deep",
            format!("a{}=1", "[]".repeat(5_000)),
        ),
        ("query with NUL", "token=a%00b&email=x%00".into()),
        (
            "query with control characters",
            "token=%1B%5B2J&q=%07".into(),
        ),
        (
            "query with invalid UTF-8",
            "token=%FF%FE&page=%C3%28".into(),
        ),
        (
            "query with 5,000 keys",
            (0..5_000)
                .map(|i| format!("k{i}=1"))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        (
            "query with 100,000 keys",
            (0..100_000)
                .map(|i| format!("k{i}=1"))
                .collect::<Vec<_>>()
                .join("&"),
        ),
    ]
}

/// What came back: a status, or the connection closed without one.
enum Outcome {
    Status(u16),
    Closed(String),
}

/// One HTTP/1.1 request over a fresh connection, written by hand so every byte (invalid
/// UTF-8, a missing content type, chunked framing, a very long query) goes out as given.
async fn send(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    content_type: Option<&str>,
    body: Option<(&[u8], Framing)>,
) -> Outcome {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n"
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(ct) = content_type {
            head.push_str(&format!("content-type: {ct}\r\n"));
        }
        match body {
            Some((b, Framing::Length)) => {
                head.push_str(&format!("content-length: {}\r\n", b.len()))
            }
            Some((_, Framing::Chunked)) => head.push_str("transfer-encoding: chunked\r\n"),
            None => {}
        }
        head.push_str("\r\n");
        // The server may answer (and close) before it has read everything: a failed write is
        // not an outcome by itself; what matters is whether a status line comes back.
        let write = async {
            stream.write_all(head.as_bytes()).await?;
            match body {
                Some((b, Framing::Length)) => stream.write_all(b).await?,
                Some((b, Framing::Chunked)) => {
                    for chunk in b.chunks(64 * 1024) {
                        stream
                            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                            .await?;
                        stream.write_all(chunk).await?;
                        stream.write_all(b"\r\n").await?;
                    }
                    stream.write_all(b"0\r\n\r\n").await?;
                }
                None => {}
            }
            std::io::Result::Ok(())
        };
        let write_error = write.await.err();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(2).any(|w| w == b"\r\n") {
                        break;
                    }
                }
                Err(e) => {
                    if answer.is_empty() {
                        return Err(format!("read: {e} (write: {write_error:?})"));
                    }
                    break;
                }
            }
        }
        let line = String::from_utf8_lossy(&answer);
        line.split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "no status line (write: {write_error:?}): {:?}",
                    line.chars().take(80).collect::<String>()
                )
            })
    };
    match tokio::time::timeout(Duration::from_secs(60), exchange).await {
        Ok(Ok(status)) => Outcome::Status(status),
        Ok(Err(e)) => Outcome::Closed(e),
        Err(_) => Outcome::Closed("no answer within 60 s".into()),
    }
}

/// Whether a route changes or ends things the rest of the walk relies on (deletes, revokes,
/// sign-outs): walked after everything else.
fn destructive(r: &Route) -> bool {
    r.method == "DELETE"
        || ["/delete", "/revoke", "/logout", "/session"]
            .iter()
            .any(|s| r.path.ends_with(s))
}

/// The body with its `CSRF` placeholder (if any) replaced by the sender's token, byte-wise so
/// the invalid UTF-8 around it stays as it is.
fn with_csrf(body: &Arc<Vec<u8>>, csrf: &str) -> Arc<Vec<u8>> {
    let Some(at) = body.windows(4).position(|w| w == b"CSRF") else {
        return body.clone();
    };
    let mut out = body[..at].to_vec();
    out.extend_from_slice(csrf.as_bytes());
    out.extend_from_slice(&body[at + 4..]);
    Arc::new(out)
}

struct Job {
    label: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    content_type: Option<&'static str>,
    body: Option<(Arc<Vec<u8>>, Framing)>,
    may_close: bool,
}

/// Runs `jobs` with at most [`IN_FLIGHT`] at once; returns every failure found.
async fn run(port: u16, jobs: Vec<Job>) -> Vec<String> {
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        set.spawn(async move {
            let body = job.body.as_ref().map(|(b, f)| (b.as_slice(), *f));
            let outcome = send(
                port,
                &job.method,
                &job.target,
                &job.headers,
                job.content_type,
                body,
            )
            .await;
            drop(permit);
            match outcome {
                Outcome::Status(s) if s >= 500 => Some(format!("{} → {s}", job.label)),
                Outcome::Status(_) => None,
                Outcome::Closed(_) if job.may_close => None,
                Outcome::Closed(why) => Some(format!("{} → closed: {why}", job.label)),
            }
        });
    }
    let mut failures = vec![];
    while let Some(r) = set.join_next().await {
        if let Some(f) = r.expect("request task") {
            failures.push(f);
        }
    }
    failures
}

/// One verdict: method, path, `Authorization`, content type, body, the status wanted and the
/// field the answer must name.
type Case<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    &'a str,
    Vec<u8>,
    u16,
    Option<&'a str>,
);

/// What some refusals say, the same on either engine: a 422 naming the field.
async fn verdicts(base: &str, creds: &Creds) {
    let ids = Ids::from_example();
    let client = reqwest::Client::new();
    let owner = format!("Bearer {}", creds.owner);
    let json = |v: &str| v.as_bytes().to_vec();
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/herald/v1/session".into(),
            None,
            "application/json",
            json(r#"{"email":"a\u0000@b.test","password":"x"}"#),
            422,
            Some("email"),
        ),
        (
            "POST",
            "/api/herald/v1/session".into(),
            None,
            "application/x-www-form-urlencoded",
            format!("email{}=1", "[]".repeat(5_000)).into_bytes(),
            422,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/components".into(),
            Some(&owner),
            "application/json",
            json(r#"{"name":"API\u001b[2J"}"#),
            422,
            Some("name"),
        ),
        (
            "POST",
            "/api/herald/v1/components".into(),
            Some(&owner),
            "application/json",
            json(r#"{"name":"two\nlines"}"#),
            422,
            Some("name"),
        ),
        (
            "POST",
            "/api/herald/v1/components".into(),
            Some(&owner),
            "application/json",
            json(r#"{"name":"fine","description":"a\u0000"}"#),
            422,
            Some("description"),
        ),
        (
            "PATCH",
            format!("/api/herald/v1/incidents/{}", ids.incident),
            Some(&owner),
            "application/json",
            json(r#"{"body":"bell \u0007"}"#),
            422,
            Some("body"),
        ),
        (
            "POST",
            "/api/herald/v1/incidents".into(),
            Some(&owner),
            "application/json",
            json(&format!("{}{}", "[".repeat(40), "]".repeat(40))),
            422,
            None,
        ),
        (
            "POST",
            "/api/herald/v1/incidents".into(),
            Some(&owner),
            "application/json",
            json(
                r#"{"name":"Textarea input","status":"investigating","body":"line one\r\nline two\n\tthree"}"#,
            ),
            201,
            None,
        ),
        (
            "GET",
            "/api/herald/v1/monitors?page=%FF".into(),
            Some(&owner),
            "application/json",
            vec![],
            422,
            None,
        ),
        (
            "GET",
            "/api/herald/v1/monitors/a%00b".into(),
            Some(&owner),
            "application/json",
            vec![],
            422,
            Some("path"),
        ),
    ];
    for (method, path, auth, content_type, body, want, field) in cases {
        let mut req = client
            .request(method.parse().expect("method"), format!("{base}{path}"))
            .header("content-type", content_type)
            .body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let answer: serde_json::Value = res.json().await.unwrap_or_default();
        assert_eq!(status, want, "{method} {path}: {answer}");
        if let Some(f) = field {
            assert_eq!(answer["field"], f, "{method} {path}: {answer}");
        }
        if want == 422 {
            assert!(
                answer["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{method} {path}: {answer}"
            );
        }
    }
    // The public subscribe form answers a browser with a page, refusing the same way.
    let res = client
        .post(format!("{base}/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=a%40b.test&component_ids{}=1",
            "[]".repeat(5_000)
        ))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(res.status().as_u16(), 422);
}

async fn hostile_walk(database_url: &str) {
    let port = free_port();
    let (store, owner) = prepare(database_url, Some(port)).await;
    let viewer = herald::auth::new_secret(20);
    store
        .create_api_key(
            "viewer",
            &herald::auth::secret_hash(&viewer),
            Role::Viewer,
            &meta(),
        )
        .await
        .expect("viewer key");
    let hash = herald::auth::hash_password("correct horse battery staple").expect("hash");
    let user = store
        .create_user("owner@hostile.test", &hash, Role::Owner, &meta())
        .await
        .expect("owner user");
    let session = herald::auth::new_secret(20);
    let csrf = herald::auth::new_secret(16);
    let now = chrono::Utc::now();
    store
        .create_session(
            &herald::auth::secret_hash(&session),
            &user,
            &csrf,
            now,
            now + chrono::Duration::days(1),
        )
        .await
        .expect("session");
    let creds = Creds {
        owner,
        viewer,
        session,
        csrf,
    };

    let dir = tempfile::tempdir().expect("dir");
    let mut process = serve(
        Path::new(env!("CARGO_BIN_EXE_herald")),
        dir.path(),
        port,
        &[("HERALD_DATABASE_URL", database_url)],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/readyz")).await;

    // The credentials work, so the walk below really reaches past authentication.
    for (who, path, want) in [
        (Who::Owner, "/api/herald/v1/audit", 200),
        (Who::Viewer, "/api/herald/v1/monitors", 200),
        (Who::Admin, "/admin", 200),
        (Who::Nobody, "/api/herald/v1/audit", 401),
    ] {
        match send(port, "GET", path, &creds.headers(who, path), None, None).await {
            Outcome::Status(s) => assert_eq!(s, want, "{who:?} GET {path}"),
            Outcome::Closed(why) => panic!("{who:?} GET {path}: {why}"),
        }
    }

    verdicts(&base, &creds).await;

    let routes = all_routes();
    assert!(
        routes.len() >= 120,
        "only {} routes found in the source; the route reader is broken",
        routes.len()
    );
    for must in [
        "/subscribe",
        "/subscriptions/manage",
        "/admin/login",
        "/api/herald/v1/session",
        "/v1/pages/{page_id}/incidents",
        "/api/integrations/{kind}",
        "/api/push/{token}",
    ] {
        assert!(routes.iter().any(|r| r.path == must), "{must} not found");
    }

    let ids = Ids::from_example();
    let payloads: Vec<(Payload, Arc<Vec<u8>>)> = payloads()
        .into_iter()
        .map(|mut p| {
            let body = std::mem::take(&mut p.body);
            p.has_csrf = body.len() < 64 * 1024 && body.windows(4).any(|w| w == b"CSRF");
            (p, Arc::new(body))
        })
        .collect();
    let queries = queries();
    let (first, last): (Vec<&Route>, Vec<&Route>) = routes.iter().partition(|r| !destructive(r));
    let mut total = 0;
    let mut seen_paths = BTreeSet::new();
    let started = std::time::Instant::now();
    let mut failures = vec![];
    for phase in [first, last] {
        let mut jobs = vec![];
        for r in phase {
            let main = if r.path.starts_with("/admin") {
                Who::Admin
            } else {
                Who::Owner
            };
            let has_body = r.method != "GET";
            // Who can mean anything to the route: an admin page knows only sessions, the
            // Statuspage API only keys, a public route nobody in particular.
            let senders: &[Who] = if r.path.starts_with("/admin") {
                &[Who::Nobody, Who::Admin]
            } else if r.path.starts_with("/api/herald/v1") {
                &[Who::Nobody, Who::Owner, Who::Viewer, Who::Admin]
            } else if r.path.starts_with("/v1/") {
                &[Who::Nobody, Who::Owner, Who::Viewer]
            } else {
                &[Who::Nobody, Who::Owner]
            };
            // Query strings and paths are judged before routing looks at the method: once
            // per path is enough.
            let first_of_path = seen_paths.insert(r.path.clone());
            for &who in senders {
                let target = ids.fill(&r.path, None);
                let headers = creds.headers(who, &r.path);
                let csrf = if who == Who::Admin {
                    creds.csrf.as_str()
                } else {
                    "none"
                };
                let label = |what: &str| format!("{who:?} {} {} [{what}]", r.method, r.path);
                let mut job = |label: String, target: String, content_type, body, may_close| {
                    jobs.push(Job {
                        label,
                        method: r.method.clone(),
                        target,
                        headers: headers.clone(),
                        content_type,
                        body,
                        may_close,
                    });
                };
                if has_body {
                    for (p, body) in &payloads {
                        if p.heavy && who != Who::Nobody && who != main {
                            continue;
                        }
                        let body = if p.has_csrf {
                            with_csrf(body, csrf)
                        } else {
                            body.clone()
                        };
                        job(
                            label(p.name),
                            target.clone(),
                            p.content_type,
                            Some((body, p.framing)),
                            p.may_close,
                        );
                    }
                }
                for (name, q) in queries.iter().filter(|_| first_of_path) {
                    job(label(name), format!("{target}?{q}"), None, None, false);
                }
                if r.path.contains('{') && first_of_path {
                    job(
                        label("NUL in the path"),
                        ids.fill(&r.path, Some("a%00b")),
                        None,
                        None,
                        false,
                    );
                    job(
                        label("invalid UTF-8 and escapes in the path"),
                        ids.fill(&r.path, Some("%FF%1B%5B2J")),
                        None,
                        None,
                        false,
                    );
                }
            }
        }
        total += jobs.len();
        failures.extend(run(port, jobs).await);
        assert!(
            process.0.try_wait().expect("process state").is_none(),
            "the server process died under hostile input"
        );
    }

    assert!(
        process.0.try_wait().expect("process state").is_none(),
        "the server process died under hostile input"
    );
    match send(port, "GET", "/", &[], None, None).await {
        Outcome::Status(s) => assert_eq!(s, 200, "GET / after the walk"),
        Outcome::Closed(why) => panic!("GET / after the walk: {why}"),
    }
    assert!(
        failures.is_empty(),
        "{} of {total} hostile requests failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{total} hostile requests over {} routes in {:.0?}, no 5xx",
        routes.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    hostile_walk(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_on_postgres() {
    let url = shared_cluster().create_database();
    hostile_walk(&url).await;
}

#[test]
fn the_route_reader_finds_every_kind_of_route() {
    let routes = all_routes();
    let has = |m: &str, p: &str| routes.iter().any(|r| r.method == m && r.path == p);
    assert!(has("POST", "/subscribe"));
    assert!(has("GET", "/subscribe"));
    assert!(has("POST", "/admin/login"));
    assert!(has("GET", "/admin"));
    assert!(has("POST", "/api/push/{token}"));
    assert!(has("PATCH", "/api/herald/v1/incidents/{id}"));
    assert!(has("POST", "/v1/pages/{page_id}/incidents"));
    assert!(has("GET", "/healthz"));
    let ids = Ids::from_example();
    let filled = ids.fill(
        "/v1/pages/{page_id}/incidents/{id}/incident_updates/{update}",
        None,
    );
    assert!(!filled.contains('{'), "{filled}");
    assert!(
        filled.contains(&ids.incident)
            && filled.contains(&ids.page)
            && filled.contains(&ids.update)
    );
}

/// Names stored before text hygiene existed (or written around it) reach a terminal escaped.
#[tokio::test]
async fn the_cli_escapes_control_characters_from_the_database() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let (store, _) = prepare(&url, None).await;
    store
        .create_api_key(
            "evil\u{1b}[2J\u{1b}]0;owned\u{7}",
            &herald::auth::secret_hash("x"),
            Role::Viewer,
            &meta(),
        )
        .await
        .expect("key");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["api-key", "list", "--database-url", &url])
        .env("HERALD_LOG", "warn")
        .output()
        .expect("herald runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}
