//! Receivers for what Herald sends, on 127.0.0.1: an HTTP sink for webhooks and chat messages,
//! and an SMTP sink speaking enough of RFC 5321 for lettre to deliver. Both count deliveries by
//! their idempotency id (the `X-Herald-Delivery` header; the recipient and `Message-ID` for
//! mail) so a test or benchmark can tell missing deliveries from duplicates. Shared by the
//! tests and by the fan-out benchmark driver (`examples/fanout.rs`).

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request the HTTP sink took.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// How the HTTP sink answers.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Answer 500 to the first N tries of each delivery.
    pub fail_times: u32,
    /// Hang (longer than any client timeout) on the first N tries of each delivery.
    pub hang_times: u32,
    /// Keep every request (tests); a benchmark keeps counts only.
    pub keep: bool,
    /// Paths answered 500 forever.
    pub broken_paths: Vec<String>,
    /// Time taken over each answer, as a slow receiver would.
    pub delay: Duration,
}

#[derive(Default)]
pub struct HttpRecord {
    pub requests: Mutex<Vec<Received>>,
    /// Tries per delivery id.
    pub tries: Mutex<HashMap<String, u32>>,
    /// Successful answers per delivery id.
    pub accepted: Mutex<HashMap<String, u32>>,
    pub total: AtomicU64,
    /// Deliveries accepted again under an id already seen.
    pub repeats: AtomicU64,
    pub last_at: Mutex<Option<std::time::Instant>>,
}

impl HttpRecord {
    pub fn distinct(&self) -> usize {
        self.accepted.lock().expect("lock").len()
    }
    pub fn duplicates(&self) -> u64 {
        self.repeats.load(Ordering::Relaxed)
    }
    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().expect("lock").clone()
    }
}

/// Starts the HTTP sink; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn http_sink(behaviour: Behaviour) -> (String, Arc<HttpRecord>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let record = Arc::new(HttpRecord::default());
    let app = Router::new()
        .route("/{*path}", post(take))
        .with_state((record.clone(), Arc::new(behaviour)));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, record)
}

async fn take(
    State((record, behaviour)): State<(Arc<HttpRecord>, Arc<Behaviour>)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    record.total.fetch_add(1, Ordering::Relaxed);
    let id = headers
        .get("x-herald-delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let try_no = {
        let mut tries = record.tries.lock().expect("lock");
        let n = tries.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    if behaviour.keep {
        record.requests.lock().expect("lock").push(Received {
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: body.to_vec(),
        });
    }
    if !behaviour.delay.is_zero() {
        tokio::time::sleep(behaviour.delay).await;
    }
    if behaviour.broken_paths.iter().any(|p| p == uri.path()) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    if try_no <= behaviour.hang_times {
        tokio::time::sleep(Duration::from_secs(120)).await;
    }
    if try_no <= behaviour.hang_times + behaviour.fail_times {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    {
        let mut accepted = record.accepted.lock().expect("lock");
        let n = accepted.entry(id).or_insert(0);
        *n += 1;
        if *n > 1 {
            record.repeats.fetch_add(1, Ordering::Relaxed);
        }
    }
    *record.last_at.lock().expect("lock") = Some(std::time::Instant::now());
    StatusCode::OK
}

/// One message the SMTP sink took.
#[derive(Clone, Debug)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub text: String,
}

impl Mail {
    /// A header's value (first occurrence, unfolded), e.g. `header("Message-ID")`.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut lines = self.text.lines().peekable();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        while let Some(line) = lines.next() {
            if line.is_empty() {
                return None;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                let mut value = line[prefix.len()..].trim().to_string();
                while lines
                    .peek()
                    .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
                {
                    value.push(' ');
                    value.push_str(lines.next().unwrap_or_default().trim());
                }
                return Some(value);
            }
        }
        None
    }

    /// The message text with quoted-printable soft breaks and escapes undone (good enough to
    /// find links and phrases in either part).
    pub fn decoded(&self) -> String {
        let joined = self.text.replace("=\n", "");
        let mut out = String::with_capacity(joined.len());
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b as char);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i] as char);
            i += 1;
        }
        out
    }
}

#[derive(Default)]
pub struct SmtpRecord {
    pub mail: Mutex<Vec<Mail>>,
    /// Messages per (recipient, Message-ID).
    pub accepted: Mutex<HashMap<String, u32>>,
    /// Distinct recipients.
    pub recipients: Mutex<HashMap<String, u32>>,
    pub total: AtomicU64,
    pub repeats: AtomicU64,
    pub last_at: Mutex<Option<std::time::Instant>>,
}

impl SmtpRecord {
    pub fn mail(&self) -> Vec<Mail> {
        self.mail.lock().expect("lock").clone()
    }
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.mail()
            .into_iter()
            .filter(|m| m.rcpt.iter().any(|r| r == address))
            .collect()
    }
    pub fn distinct(&self) -> usize {
        self.recipients.lock().expect("lock").len()
    }
    pub fn duplicates(&self) -> u64 {
        self.repeats.load(Ordering::Relaxed)
    }
}

/// Starts the SMTP sink; returns its port. With `keep`, every message's text is kept.
pub async fn smtp_sink(keep: bool) -> (u16, Arc<SmtpRecord>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let record = Arc::new(SmtpRecord::default());
    let r = record.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let r = r.clone();
            tokio::spawn(async move {
                let (read, write) = socket.into_split();
                let mut write = tokio::io::BufWriter::new(write);
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                let _ = write.flush().await;
                let mut rcpt = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match upper.as_str() {
                        "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                        "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "RCPT" => {
                            let addr = line.get(8..).unwrap_or("").trim();
                            rcpt.push(addr.trim_matches(['<', '>', ':', ' ']).to_string());
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let _ = write.flush().await;
                            let mut text = String::new();
                            let mut message_id = String::new();
                            let mut in_headers = true;
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                if in_headers {
                                    if l.is_empty() {
                                        in_headers = false;
                                    } else if l.len() > 11
                                        && l[..11].eq_ignore_ascii_case("message-id:")
                                    {
                                        message_id = l[11..].trim().to_string();
                                    }
                                }
                                if keep {
                                    text.push_str(l.strip_prefix('.').unwrap_or(&l));
                                    text.push('\n');
                                }
                            }
                            let to = std::mem::take(&mut rcpt);
                            r.total.fetch_add(1, Ordering::Relaxed);
                            for t in &to {
                                let mut accepted = r.accepted.lock().expect("lock");
                                let n = accepted.entry(format!("{t} {message_id}")).or_insert(0);
                                *n += 1;
                                if *n > 1 {
                                    r.repeats.fetch_add(1, Ordering::Relaxed);
                                }
                                drop(accepted);
                                *r.recipients
                                    .lock()
                                    .expect("lock")
                                    .entry(t.clone())
                                    .or_insert(0) += 1;
                            }
                            if keep {
                                r.mail.lock().expect("lock").push(Mail { rcpt: to, text });
                            }
                            *r.last_at.lock().expect("lock") = Some(std::time::Instant::now());
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            let _ = write.flush().await;
                            break;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    if write.write_all(reply).await.is_err() || write.flush().await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, record)
}
