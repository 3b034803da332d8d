//! Active probes: one [`Prober`] holds the HTTP clients and TLS settings, built once, and turns
//! a [`ProbeSpec`] into a [`ProbeOutcome`]. Every probe runs under one overall timeout, never
//! panics, and reports failures as [`ProbeOutcome::Down`] with the reason.
//!
//! The runtime sees probes only through the [`Probe`] trait, so its logic can be stepped with
//! outcomes a test scripts.

use futures_util::future::BoxFuture;
use herald_core::monitor::{MonitorSpec, ProbeOutcome, ProbeSpec};
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::Resolver;
use sqlx::Connection;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

/// The most of an HTTP body a probe reads.
const MAX_BODY: usize = 1024 * 1024;

/// What the monitoring runtime probes with: one outcome per call, for one monitor.
pub trait Probe: Send + Sync {
    /// Probes `monitor` once, within its timeout; never fails, a failure is a Down outcome.
    fn check<'a>(&'a self, monitor: &'a MonitorSpec) -> BoxFuture<'a, ProbeOutcome>;
}

impl Probe for Prober {
    fn check<'a>(&'a self, monitor: &'a MonitorSpec) -> BoxFuture<'a, ProbeOutcome> {
        let timeout = Duration::from_millis(u64::from(monitor.timeout_ms));
        Box::pin(self.probe(&monitor.probe, timeout, monitor.degraded_after_ms))
    }
}

/// Runs probes. Cheap to share: build one and keep it.
pub struct Prober {
    /// Verifies TLS, follows redirects.
    http: reqwest::Client,
    /// Verifies TLS, does not follow redirects.
    http_no_redirects: reqwest::Client,
    /// Skips TLS verification, follows redirects.
    http_insecure: reqwest::Client,
    /// Skips TLS verification, does not follow redirects.
    http_insecure_no_redirects: reqwest::Client,
    /// Client settings for certificate-expiry checks: any certificate is accepted.
    tls: Arc<rustls::ClientConfig>,
}

/// Why a probe failed: becomes the reason of a [`ProbeOutcome::Down`].
type Failure = String;

/// What a probe found before latency is judged: a warning turns it Degraded.
enum Found {
    Fine,
    Warning(String),
}

impl Prober {
    /// Builds the HTTP clients and TLS settings.
    pub fn new() -> Result<Prober, anyhow::Error> {
        let client = |verify: bool, redirects: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
                .danger_accept_invalid_certs(!verify)
                .redirect(if redirects {
                    reqwest::redirect::Policy::limited(10)
                } else {
                    reqwest::redirect::Policy::none()
                })
                .build()
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        Ok(Prober {
            http: client(true, true)?,
            http_no_redirects: client(true, false)?,
            http_insecure: client(false, true)?,
            http_insecure_no_redirects: client(false, false)?,
            tls: Arc::new(tls),
        })
    }

    /// Probes `spec`, within `timeout` overall. An answer slower than `degraded_after_ms` is
    /// Degraded.
    ///
    /// Heartbeats are passive (judged from the pushes they receive): probing one comes back
    /// Down with a reason that starts "not probed here".
    pub async fn probe(
        &self,
        spec: &ProbeSpec,
        timeout: Duration,
        degraded_after_ms: Option<u32>,
    ) -> ProbeOutcome {
        let started = Instant::now();
        let found = match tokio::time::timeout(timeout, self.run(spec, timeout)).await {
            Ok(found) => found,
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match found {
            Err(reason) => ProbeOutcome::Down { reason },
            Ok(Found::Warning(reason)) => ProbeOutcome::Degraded { latency_ms, reason },
            Ok(Found::Fine) => match degraded_after_ms {
                Some(limit) if latency_ms > u64::from(limit) => ProbeOutcome::Degraded {
                    latency_ms,
                    reason: format!("answered in {latency_ms} ms, over {limit} ms"),
                },
                _ => ProbeOutcome::Up { latency_ms },
            },
        }
    }

    async fn run(&self, spec: &ProbeSpec, timeout: Duration) -> Result<Found, Failure> {
        match spec {
            ProbeSpec::Http {
                url,
                method,
                headers,
                body,
                expected_status,
                body_contains,
                body_regex,
                json_pointer,
                verify_tls,
                follow_redirects,
            } => {
                let client = match (verify_tls, follow_redirects) {
                    (true, true) => &self.http,
                    (true, false) => &self.http_no_redirects,
                    (false, true) => &self.http_insecure,
                    (false, false) => &self.http_insecure_no_redirects,
                };
                let check = HttpCheck {
                    expected_status,
                    body_contains: body_contains.as_deref(),
                    body_regex: body_regex.as_deref(),
                    json_pointer: json_pointer.as_ref(),
                };
                http(client, url, method, headers, body.as_deref(), check).await
            }
            ProbeSpec::Tcp { host, port } => tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map(|_| Found::Fine)
                .map_err(|e| format!("cannot connect to {host}:{port}: {e}")),
            ProbeSpec::Dns {
                name,
                record_type,
                expected,
                resolver,
            } => {
                dns(
                    name,
                    record_type,
                    expected.as_deref(),
                    resolver.as_deref(),
                    timeout,
                )
                .await
            }
            ProbeSpec::TlsExpiry {
                host,
                port,
                warn_days,
            } => self.tls_expiry(host, *port, *warn_days).await,
            ProbeSpec::Postgres {
                url,
                query,
                max_replica_lag_seconds,
            } => postgres(url, query, *max_replica_lag_seconds).await,
            ProbeSpec::Mysql { url, query } => mysql(url, query).await,
            ProbeSpec::Heartbeat { .. } => {
                Err("not probed here: heartbeats are judged from the pushes they receive".into())
            }
        }
    }

    /// Connects, shakes hands, and judges the end-entity certificate's expiry.
    async fn tls_expiry(&self, host: &str, port: u16, warn_days: u32) -> Result<Found, Failure> {
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("{host} is not a valid server name: {e}"))?;
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
        let der = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .ok_or_else(|| format!("{host}:{port} sent no certificate"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| format!("cannot read the certificate of {host}:{port}: {e}"))?;
        let not_after = cert.validity().not_after.timestamp();
        let now = chrono::Utc::now().timestamp();
        let left = not_after - now;
        if left <= 0 {
            return Err(format!(
                "the certificate expired {} days ago",
                (-left) / 86_400
            ));
        }
        if left < i64::from(warn_days) * 86_400 {
            return Ok(Found::Warning(format!(
                "the certificate expires in {} days",
                left / 86_400
            )));
        }
        Ok(Found::Fine)
    }
}

/// What an HTTP answer must satisfy.
struct HttpCheck<'a> {
    expected_status: &'a [u16],
    body_contains: Option<&'a str>,
    body_regex: Option<&'a str>,
    json_pointer: Option<&'a (String, String)>,
}

async fn http(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    check: HttpCheck<'_>,
) -> Result<Found, Failure> {
    let method = reqwest::Method::from_str(&method.to_ascii_uppercase())
        .map_err(|_| format!("{method} is not an HTTP method"))?;
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let mut response = request
        .send()
        .await
        // Without the URL: it may hold credentials, and the reason is shown and sent on.
        .map_err(|e| format!("request failed: {}", error_chain(&e.without_url())))?;
    let status = response.status().as_u16();
    let accepted = if check.expected_status.is_empty() {
        (200..300).contains(&status)
    } else {
        check.expected_status.contains(&status)
    };
    if !accepted {
        return Err(format!("unexpected status {status}"));
    }
    let wants_body =
        check.body_contains.is_some() || check.body_regex.is_some() || check.json_pointer.is_some();
    if !wants_body {
        return Ok(Found::Fine);
    }
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                let e = e.without_url();
                return Err(format!("reading the body failed: {}", error_chain(&e)));
            }
        }
    }
    bytes.truncate(MAX_BODY);
    let text = String::from_utf8_lossy(&bytes);
    if let Some(needle) = check.body_contains {
        if !text.contains(needle) {
            return Err(format!("the body does not contain {needle:?}"));
        }
    }
    if let Some(pattern) = check.body_regex {
        let regex = regex::Regex::new(pattern)
            .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))?;
        if !regex.is_match(&text) {
            return Err(format!("the body does not match {pattern:?}"));
        }
    }
    if let Some((pointer, expected)) = check.json_pointer {
        let document: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON: {e}"))?;
        let expected: serde_json::Value = serde_json::from_str(expected)
            .map_err(|e| format!("the expected value {expected:?} is not JSON: {e}"))?;
        match document.pointer(pointer) {
            Some(found) if *found == expected => {}
            Some(found) => return Err(format!("{pointer} is {found}, expected {expected}")),
            None => return Err(format!("{pointer} is not in the body")),
        }
    }
    Ok(Found::Fine)
}

/// An error and its causes, joined, as reqwest's own message alone is terse.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn dns(
    name: &str,
    record_type: &str,
    expected: Option<&str>,
    resolver: Option<&str>,
    timeout: Duration,
) -> Result<Found, Failure> {
    let kind = match record_type.to_ascii_uppercase().as_str() {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "CNAME" => RecordType::CNAME,
        "MX" => RecordType::MX,
        "TXT" => RecordType::TXT,
        "NS" => RecordType::NS,
        other => return Err(format!("record type {other} is not supported")),
    };
    let mut builder = match resolver {
        Some(address) => {
            let address = SocketAddr::from_str(address)
                .map_err(|_| format!("resolver {address} is not IP:PORT"))?;
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(address, Protocol::Udp));
            Resolver::builder_with_config(config, TokioConnectionProvider::default())
        }
        None => Resolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's resolver settings: {e}"))?,
    };
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    let resolver = builder.build();
    let lookup = resolver
        .lookup(name, kind)
        .await
        .map_err(|e| format!("lookup of {name} {kind} failed: {e}"))?;
    let answers: Vec<String> = lookup
        .record_iter()
        .filter(|record| record.record_type() == kind)
        .map(|record| normalise(&record.data().to_string()))
        .collect();
    if answers.is_empty() {
        return Err(format!("no {kind} record for {name}"));
    }
    if let Some(expected) = expected {
        let expected = normalise(expected);
        if !answers.contains(&expected) {
            return Err(format!(
                "{name} {kind} is {}, not {expected}",
                answers.join(", ")
            ));
        }
    }
    Ok(Found::Fine)
}

/// DNS answer text for comparison: no surrounding quotes or spaces, no final dot, lower case.
fn normalise(text: &str) -> String {
    text.trim()
        .trim_matches('"')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

async fn postgres(url: &str, query: &str, max_lag: Option<u32>) -> Result<Found, Failure> {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    sqlx::Executor::execute(&mut connection, query)
        .await
        .map_err(|e| format!("the query failed: {e}"))?;
    if let Some(max_lag) = max_lag {
        let lag = sqlx::Executor::fetch_one(
            &mut connection,
            "SELECT (CASE WHEN pg_is_in_recovery() \
             THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) \
             ELSE 0 END)::float8",
        )
        .await
        .and_then(|row| sqlx::Row::try_get::<Option<f64>, _>(&row, 0))
        .map_err(|e| format!("cannot read the replica lag: {e}"))?;
        match lag {
            None => return Err("the replica has replayed nothing yet".into()),
            Some(lag) if lag > f64::from(max_lag) => {
                return Err(format!(
                    "the replica is {lag:.0} s behind, over {max_lag} s"
                ))
            }
            Some(_) => {}
        }
    }
    // A failed goodbye does not make the server down.
    let _ = connection.close().await;
    Ok(Found::Fine)
}

async fn mysql(url: &str, query: &str) -> Result<Found, Failure> {
    let mut connection = sqlx::MySqlConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    sqlx::Executor::execute(&mut connection, query)
        .await
        .map_err(|e| format!("the query failed: {e}"))?;
    let _ = connection.close().await;
    Ok(Found::Fine)
}

/// Accepts any server certificate: the expiry check wants the certificate's dates even when
/// it would not verify. Handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
