//! A monitor's configuration and the checks that keep a bad one out: every error names the field
//! the way the API caller wrote it (`probe.url`, `interval_seconds`, …).

use super::ProbeSpec;
use crate::Id;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Shortest probe interval accepted, in seconds.
pub const MIN_INTERVAL_SECONDS: u32 = 10;
/// Longest probe interval accepted, in seconds (a day).
pub const MAX_INTERVAL_SECONDS: u32 = 86_400;
/// HTTP methods a probe may use.
pub const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// DNS record types a probe may ask for.
pub const DNS_RECORD_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT", "NS"];

/// A monitor: what to probe, how often, and how results become a status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorSpec {
    /// The monitor's public identifier.
    pub id: Id,
    /// Shown in the admin UI and in notifications.
    pub name: String,
    /// The component whose status this monitor drives, if any.
    #[serde(default)]
    pub component_id: Option<Id>,
    /// What to probe and how to judge the answer.
    pub probe: ProbeSpec,
    /// Seconds between probes (and, for heartbeats, the longest gap between pushes).
    pub interval_seconds: u32,
    /// How long one probe may take; must be shorter than the interval.
    pub timeout_ms: u32,
    /// An answer slower than this is degraded.
    #[serde(default)]
    pub degraded_after_ms: Option<u32>,
    /// Consecutive failed probes before the monitor is down.
    #[serde(default = "three")]
    pub failures_to_down: u32,
    /// Consecutive good probes before a down or degraded monitor is up again.
    #[serde(default = "two")]
    pub successes_to_up: u32,
    /// How soon to probe again when an answer disagrees with the monitor's status (a failure
    /// while up, a success while down), to confirm the change; a fifth of the interval by
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval_seconds: Option<u32>,
    /// At most one public status change per this many seconds (0 turns the guard off).
    #[serde(default = "five_minutes")]
    pub flap_window_seconds: u32,
    /// A disabled monitor is not probed and drives nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}
fn five_minutes() -> u32 {
    300
}
fn yes() -> bool {
    true
}

/// Why a monitor's configuration was refused; `field` names the offending field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MonitorError {
    /// The field, as the API caller wrote it (`probe.url`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<crate::text::TextError> for MonitorError {
    fn from(e: crate::text::TextError) -> Self {
        MonitorError {
            field: e.field,
            message: e.message,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> MonitorError {
    MonitorError {
        field: field.to_string(),
        message: message.into(),
    }
}

impl MonitorSpec {
    /// Seconds before a confirming probe: the configured retry interval, or a fifth of the
    /// interval (at least one second).
    pub fn retry_interval_seconds(&self) -> u32 {
        self.retry_interval_seconds
            .unwrap_or((self.interval_seconds / 5).max(1))
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), MonitorError> {
        crate::text::line("name", &self.name)?;
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if self.name.chars().count() > 255 {
            return Err(invalid("name", "must be at most 255 characters"));
        }
        if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&self.interval_seconds) {
            return Err(invalid(
                "interval_seconds",
                format!("must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}"),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(invalid("timeout_ms", "must be at least 1"));
        }
        if u64::from(self.timeout_ms) >= u64::from(self.interval_seconds) * 1000 {
            return Err(invalid("timeout_ms", "must be shorter than the interval"));
        }
        if let Some(ms) = self.degraded_after_ms {
            if ms == 0 || ms >= self.timeout_ms {
                return Err(invalid(
                    "degraded_after_ms",
                    "must be at least 1 and shorter than the timeout",
                ));
            }
        }
        if let Some(retry) = self.retry_interval_seconds {
            if retry == 0 || retry > self.interval_seconds {
                return Err(invalid(
                    "retry_interval_seconds",
                    "must be at least 1 and at most the interval",
                ));
            }
        }
        if self.failures_to_down == 0 {
            return Err(invalid("failures_to_down", "must be at least 1"));
        }
        if self.successes_to_up == 0 {
            return Err(invalid("successes_to_up", "must be at least 1"));
        }
        validate_probe(&self.probe)
    }
}

fn validate_probe(probe: &ProbeSpec) -> Result<(), MonitorError> {
    match probe {
        ProbeSpec::Http {
            url,
            method,
            headers,
            expected_status,
            body_regex,
            json_pointer,
            ..
        } => {
            check_url("probe.url", url, &["http", "https"])?;
            if !HTTP_METHODS.contains(&method.as_str()) {
                return Err(invalid(
                    "probe.method",
                    format!("must be one of {}", HTTP_METHODS.join(", ")),
                ));
            }
            for (name, value) in headers {
                if name.is_empty() || !name.bytes().all(is_token_byte) {
                    return Err(invalid(
                        "probe.headers",
                        format!("`{name}` is not a header name"),
                    ));
                }
                if value.contains(['\r', '\n']) {
                    return Err(invalid(
                        "probe.headers",
                        "values must not contain line breaks",
                    ));
                }
                crate::text::line("probe.headers", value)?;
            }
            if let Some(code) = expected_status.iter().find(|c| !(100..=599).contains(*c)) {
                return Err(invalid(
                    "probe.expected_status",
                    format!("{code} is not an HTTP status code (100 to 599)"),
                ));
            }
            if let Some(pattern) = body_regex {
                if let Err(e) = regex::Regex::new(pattern) {
                    return Err(invalid(
                        "probe.body_regex",
                        format!("does not compile: {e}"),
                    ));
                }
            }
            if let Some((pointer, expected)) = json_pointer {
                if !pointer.starts_with('/') {
                    return Err(invalid(
                        "probe.json_pointer",
                        "the pointer must start with `/`",
                    ));
                }
                if serde_json::from_str::<serde_json::Value>(expected).is_err() {
                    return Err(invalid(
                        "probe.json_pointer",
                        "the expected value must be JSON text (quote strings)",
                    ));
                }
            }
            Ok(())
        }
        ProbeSpec::Tcp { host, port } => {
            check_host("probe.host", host)?;
            check_port(*port)
        }
        ProbeSpec::Dns {
            name,
            record_type,
            resolver,
            ..
        } => {
            check_host("probe.name", name)?;
            if !DNS_RECORD_TYPES.contains(&record_type.as_str()) {
                return Err(invalid(
                    "probe.record_type",
                    format!("must be one of {}", DNS_RECORD_TYPES.join(", ")),
                ));
            }
            if let Some(resolver) = resolver {
                if resolver.parse::<SocketAddr>().is_err() {
                    return Err(invalid("probe.resolver", "must be IP:PORT"));
                }
            }
            Ok(())
        }
        ProbeSpec::TlsExpiry { host, port, .. } => {
            check_host("probe.host", host)?;
            check_port(*port)
        }
        ProbeSpec::Heartbeat { token, .. } => {
            let url_safe = token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !(16..=64).contains(&token.len()) || !url_safe {
                return Err(invalid(
                    "probe.token",
                    "must be 16 to 64 characters of A-Z, a-z, 0-9, `-` and `_`",
                ));
            }
            Ok(())
        }
        ProbeSpec::Postgres { url, query, .. } => {
            check_url("probe.url", url, &["postgres", "postgresql"])?;
            check_query(query)
        }
        ProbeSpec::Mysql { url, query } => {
            check_url("probe.url", url, &["mysql"])?;
            check_query(query)
        }
    }
}

/// `scheme://host…` with one of `schemes`, a non-empty host and no whitespace.
fn check_url(field: &str, url: &str, schemes: &[&str]) -> Result<(), MonitorError> {
    let wanted = || {
        let list: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
        format!("must be a URL starting with {}", list.join(" or "))
    };
    crate::text::line(field, url)?;
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(field, wanted()));
    };
    if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
        return Err(invalid(field, wanted()));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(invalid(field, "must not contain spaces"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid(field, "must name a host"));
    }
    Ok(())
}

fn check_host(field: &str, host: &str) -> Result<(), MonitorError> {
    crate::text::line(field, host)?;
    if host.trim().is_empty() || host.chars().any(char::is_whitespace) {
        return Err(invalid(field, "must be a host name or address"));
    }
    Ok(())
}

fn check_port(port: u16) -> Result<(), MonitorError> {
    if port == 0 {
        return Err(invalid("probe.port", "must not be 0"));
    }
    Ok(())
}

fn check_query(query: &str) -> Result<(), MonitorError> {
    crate::text::multiline("probe.query", query)?;
    if query.trim().is_empty() {
        return Err(invalid("probe.query", "must not be empty"));
    }
    Ok(())
}

/// A character allowed in an HTTP header name (RFC 9110 `tchar`).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(url: &str) -> ProbeSpec {
        ProbeSpec::Http {
            url: url.into(),
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

    fn monitor(probe: ProbeSpec) -> MonitorSpec {
        MonitorSpec {
            id: Id::derive("monitor:api"),
            name: "API".into(),
            component_id: None,
            probe,
            interval_seconds: 60,
            timeout_ms: 10_000,
            degraded_after_ms: Some(2_000),
            failures_to_down: 3,
            successes_to_up: 2,
            flap_window_seconds: 300,
            retry_interval_seconds: None,
            enabled: true,
        }
    }

    /// The field named by the error, or `None` when the spec is valid.
    fn field(spec: &MonitorSpec) -> Option<String> {
        spec.validate().err().map(|e| e.field)
    }

    #[test]
    fn retry_interval_defaults_to_a_fifth_and_is_bounded() {
        let mut spec = monitor(ProbeSpec::Tcp {
            host: "db".into(),
            port: 5432,
        });
        assert_eq!(spec.retry_interval_seconds(), 12);
        spec.retry_interval_seconds = Some(0);
        assert_eq!(field(&spec).as_deref(), Some("retry_interval_seconds"));
        spec.retry_interval_seconds = Some(61);
        assert_eq!(field(&spec).as_deref(), Some("retry_interval_seconds"));
        spec.retry_interval_seconds = Some(5);
        assert_eq!(field(&spec), None);
        assert_eq!(spec.retry_interval_seconds(), 5);
    }

    fn probe_field(probe: ProbeSpec) -> Option<String> {
        field(&monitor(probe))
    }

    #[test]
    fn serde_fills_defaults() {
        let json = r#"{"id":"abcdefabcdef","name":"API","interval_seconds":60,"timeout_ms":5000,
            "probe":{"type":"http","url":"https://example.com/health"}}"#;
        let spec: MonitorSpec = serde_json::from_str(json).expect("parse");
        assert_eq!(spec.failures_to_down, 3);
        assert_eq!(spec.successes_to_up, 2);
        assert_eq!(spec.flap_window_seconds, 300);
        assert!(spec.enabled);
        assert_eq!(spec.component_id, None);
        assert_eq!(spec.degraded_after_ms, None);
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn a_good_monitor_passes() {
        assert_eq!(field(&monitor(http("https://example.com/health"))), None);
        assert_eq!(field(&monitor(http("http://user@10.0.0.1:8080"))), None);
    }

    /// A change made to a valid monitor to break one field.
    type Edit = fn(&mut MonitorSpec);

    #[test]
    fn top_level_fields_are_named() {
        let base = monitor(http("https://example.com"));
        let cases: Vec<(&str, Edit)> = vec![
            ("name", |m| m.name = "  ".into()),
            ("name", |m| m.name = "x".repeat(256)),
            ("interval_seconds", |m| m.interval_seconds = 9),
            ("interval_seconds", |m| m.interval_seconds = 86_401),
            ("timeout_ms", |m| m.timeout_ms = 0),
            ("timeout_ms", |m| m.timeout_ms = 60_000),
            ("degraded_after_ms", |m| m.degraded_after_ms = Some(0)),
            ("degraded_after_ms", |m| m.degraded_after_ms = Some(10_000)),
            ("failures_to_down", |m| m.failures_to_down = 0),
            ("successes_to_up", |m| m.successes_to_up = 0),
        ];
        for (want, change) in cases {
            let mut spec = base.clone();
            change(&mut spec);
            assert_eq!(field(&spec).as_deref(), Some(want), "{spec:?}");
        }
        // The edges themselves are accepted.
        let mut spec = base.clone();
        spec.interval_seconds = 10;
        spec.timeout_ms = 9_999;
        assert_eq!(field(&spec), None);
        spec.interval_seconds = 86_400;
        assert_eq!(field(&spec), None);
        spec.failures_to_down = 1;
        spec.successes_to_up = 1;
        assert_eq!(field(&spec), None);
    }

    /// The HTTP probe fields validation looks at, for building test probes.
    struct Http {
        method: &'static str,
        header: Option<(&'static str, &'static str)>,
        expected_status: Vec<u16>,
        body_regex: Option<&'static str>,
        json_pointer: Option<(&'static str, &'static str)>,
    }

    impl Http {
        fn ok() -> Self {
            Http {
                method: "GET",
                header: None,
                expected_status: vec![],
                body_regex: None,
                json_pointer: None,
            }
        }

        /// The field the error names for this probe, `None` when valid.
        fn field(self) -> Option<String> {
            let mut probe = http("https://example.com");
            if let ProbeSpec::Http {
                method,
                headers,
                expected_status,
                body_regex,
                json_pointer,
                ..
            } = &mut probe
            {
                *method = self.method.into();
                *headers = self
                    .header
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .into_iter()
                    .collect();
                *expected_status = self.expected_status;
                *body_regex = self.body_regex.map(String::from);
                *json_pointer = self
                    .json_pointer
                    .map(|(p, v)| (p.to_string(), v.to_string()));
            }
            probe_field(probe)
        }
    }

    #[test]
    fn http_fields_are_named() {
        for url in [
            "example.com",
            "ftp://example.com",
            "https://",
            "https://:80/x",
            "https://a b",
        ] {
            assert_eq!(
                probe_field(http(url)).as_deref(),
                Some("probe.url"),
                "{url}"
            );
        }
        let cases: Vec<(Http, Option<&str>)> = vec![
            (
                Http {
                    method: "FETCH",
                    ..Http::ok()
                },
                Some("probe.method"),
            ),
            (
                Http {
                    method: "get",
                    ..Http::ok()
                },
                Some("probe.method"),
            ),
            (
                Http {
                    method: "HEAD",
                    ..Http::ok()
                },
                None,
            ),
            (
                Http {
                    header: Some(("Bad Name", "x")),
                    ..Http::ok()
                },
                Some("probe.headers"),
            ),
            (
                Http {
                    header: Some(("X-A", "a\r\nb")),
                    ..Http::ok()
                },
                Some("probe.headers"),
            ),
            (
                Http {
                    header: Some(("X-A", "b")),
                    ..Http::ok()
                },
                None,
            ),
            (
                Http {
                    expected_status: vec![200, 99],
                    ..Http::ok()
                },
                Some("probe.expected_status"),
            ),
            (
                Http {
                    expected_status: vec![600],
                    ..Http::ok()
                },
                Some("probe.expected_status"),
            ),
            (
                Http {
                    expected_status: vec![100, 599],
                    ..Http::ok()
                },
                None,
            ),
            (
                Http {
                    body_regex: Some("ok("),
                    ..Http::ok()
                },
                Some("probe.body_regex"),
            ),
            (
                Http {
                    body_regex: Some(r"^ok\s*$"),
                    ..Http::ok()
                },
                None,
            ),
            (
                Http {
                    json_pointer: Some(("status", "\"ok\"")),
                    ..Http::ok()
                },
                Some("probe.json_pointer"),
            ),
            (
                Http {
                    json_pointer: Some(("/status", "ok")),
                    ..Http::ok()
                },
                Some("probe.json_pointer"),
            ),
            (
                Http {
                    json_pointer: Some(("/status", "\"ok\"")),
                    ..Http::ok()
                },
                None,
            ),
        ];
        for (i, (probe, want)) in cases.into_iter().enumerate() {
            assert_eq!(probe.field().as_deref(), want, "case {i}");
        }
    }

    #[test]
    fn tcp_dns_and_tls_fields_are_named() {
        let tcp = |host: &str, port| ProbeSpec::Tcp {
            host: host.into(),
            port,
        };
        assert_eq!(probe_field(tcp("db.internal", 5432)), None);
        assert_eq!(
            probe_field(tcp("db.internal", 0)).as_deref(),
            Some("probe.port")
        );
        assert_eq!(probe_field(tcp("", 5432)).as_deref(), Some("probe.host"));

        let dns = |name: &str, record_type: &str, resolver: Option<&str>| ProbeSpec::Dns {
            name: name.into(),
            record_type: record_type.into(),
            expected: None,
            resolver: resolver.map(String::from),
        };
        for rt in DNS_RECORD_TYPES {
            assert_eq!(probe_field(dns("example.com", rt, None)), None);
        }
        assert_eq!(
            probe_field(dns("example.com", "SRV", None)).as_deref(),
            Some("probe.record_type")
        );
        assert_eq!(
            probe_field(dns("example.com", "a", None)).as_deref(),
            Some("probe.record_type")
        );
        assert_eq!(
            probe_field(dns(" ", "A", None)).as_deref(),
            Some("probe.name")
        );
        assert_eq!(
            probe_field(dns("example.com", "A", Some("1.1.1.1:53"))),
            None
        );
        assert_eq!(probe_field(dns("example.com", "A", Some("[::1]:53"))), None);
        assert_eq!(
            probe_field(dns("example.com", "A", Some("1.1.1.1"))).as_deref(),
            Some("probe.resolver")
        );

        let tls = |host: &str, port| ProbeSpec::TlsExpiry {
            host: host.into(),
            port,
            warn_days: 14,
        };
        assert_eq!(probe_field(tls("example.com", 443)), None);
        assert_eq!(
            probe_field(tls("example.com", 0)).as_deref(),
            Some("probe.port")
        );
        assert_eq!(probe_field(tls("", 443)).as_deref(), Some("probe.host"));
    }

    #[test]
    fn heartbeat_token_shape() {
        let hb = |token: &str| ProbeSpec::Heartbeat {
            token: token.into(),
            grace_seconds: 0,
        };
        assert_eq!(probe_field(hb(&"a".repeat(16))), None);
        assert_eq!(probe_field(hb(&"Z9-_".repeat(16))), None);
        for bad in [
            "a".repeat(15),
            "a".repeat(65),
            format!("{}/", "a".repeat(16)),
        ] {
            assert_eq!(
                probe_field(hb(&bad)).as_deref(),
                Some("probe.token"),
                "{bad}"
            );
        }
    }

    #[test]
    fn database_url_schemes() {
        let pg = |url: &str, query: &str| ProbeSpec::Postgres {
            url: url.into(),
            query: query.into(),
            max_replica_lag_seconds: None,
        };
        assert_eq!(probe_field(pg("postgres://u@db/app", "SELECT 1")), None);
        assert_eq!(
            probe_field(pg("postgresql://db:5432/app", "SELECT 1")),
            None
        );
        assert_eq!(
            probe_field(pg("mysql://db/app", "SELECT 1")).as_deref(),
            Some("probe.url")
        );
        assert_eq!(
            probe_field(pg("postgres://db/app", " ")).as_deref(),
            Some("probe.query")
        );
        let my = |url: &str| ProbeSpec::Mysql {
            url: url.into(),
            query: "SELECT 1".into(),
        };
        assert_eq!(probe_field(my("mysql://db/app")), None);
        assert_eq!(
            probe_field(my("postgres://db/app")).as_deref(),
            Some("probe.url")
        );
    }
}
