//! Secrets inside Herald's configuration: probe headers and request bodies, credentials inside
//! URLs (a password, a `?token=`), heartbeat tokens, and the webhook URLs of team alert channels
//! and subscribers, which carry their secret in the path.
//!
//! Those who only look (the viewer role) and every audit entry see them redacted: [`MASK`] and
//! the last four characters, or the mask alone when the secret is too short to give any of it
//! away. Writers see the values where they edit them. The rules live here, next to the types
//! they read, so every answer that shows a monitor, a channel or a subscriber redacts the same
//! fields the same way.

use crate::audience::Subscriber;
use crate::monitor::{
    AlertChannel, ChannelKind, MonitorSpec, ProbeOutcome, ProbeResult, ProbeSpec,
};
use serde_json::Value;
use std::fmt;

/// What stands for the hidden part of a secret.
pub const MASK: &str = "••••";
/// A secret shorter than this (in characters) shows nothing of itself.
pub const SHORTEST_SHOWN: usize = 12;
/// How many trailing characters of a longer secret stay visible, so people can tell two apart.
const SHOWN: usize = 4;
/// Shorter secrets are not searched for in free text: they would match ordinary words.
const SHORTEST_SCRUBBED: usize = 4;

/// A secret value. `Debug` and `Display` print the redacted form, so a secret that reaches a log
/// line or a message by accident does not leak; [`Secret::expose`] is the one way to the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the places that use it (a request, an edit form for writers).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as others may see it.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A secret as others may see it: `••••` and its last four characters, the mask alone when it is
/// shorter than [`SHORTEST_SHOWN`], and nothing for an empty value (there is nothing to hide).
/// Redacting a redacted value changes nothing, so the rules can be applied twice.
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let already = secret.starts_with(MASK) && n <= MASK.chars().count() + SHOWN;
    if secret.is_empty() || already {
        return secret.to_string();
    }
    if n < SHORTEST_SHOWN {
        return MASK.to_string();
    }
    let tail: String = secret.chars().skip(n - SHOWN).collect();
    format!("{MASK}{tail}")
}

/// Whether a header or URL parameter of this name carries a secret. Generous on purpose: hiding
/// a harmless value from a viewer costs little.
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "token",
        "secret",
        "pass",
        "pwd",
        "key",
        "auth",
        "signature",
        "cookie",
        "session",
        "credential",
        "private",
    ];
    let n = name.to_ascii_lowercase();
    n == "sig" || WORDS.iter().any(|w| n.contains(w))
}

/// Whether a field of a JSON object (an audit entry's before or after) holds a secret. Narrower
/// than [`is_secret_name`]: audit entries also hold prose such as `author` or `body`.
fn is_secret_field(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "token",
        "secret",
        "password",
        "passwd",
        "signature",
        "credential",
        "cookie",
        "authorization",
        "api_key",
        "apikey",
    ];
    let n = name.to_ascii_lowercase();
    n == "key" || WORDS.iter().any(|w| n.contains(w))
}

/// Fields of a JSON object that hold a webhook URL with its secret in the path.
fn is_webhook_field(name: &str) -> bool {
    matches!(name, "target" | "endpoint" | "webhook" | "webhook_url")
}

/// A URL cut where its secrets can sit: `scheme://user:password@host` and the rest.
struct UrlParts<'a> {
    scheme: &'a str,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: &'a str,
    /// Path, query and fragment, as written.
    rest: &'a str,
}

fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || url.contains(char::is_whitespace) {
        return None;
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
        Some(Ok((user, password))) => (Some(user), Some(password)),
        Some(Err(user)) => (Some(user), None),
        None => (None, None),
    };
    Some(UrlParts {
        scheme,
        user,
        password,
        host,
        rest,
    })
}

/// `name=value&…` with the values of secret-named parameters redacted; other text as it is.
fn redact_pairs(s: &str) -> String {
    s.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret_name(&decoded(name)) => {
                format!("{name}={}", redact(value))
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The values of secret-named parameters in `name=value&…`.
fn pair_secrets(s: &str, into: &mut Vec<String>) {
    for pair in s.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if is_secret_name(&decoded(name)) {
                push_secret(into, value);
            }
        }
    }
}

/// Path, query and fragment: (path, query, fragment).
fn split_rest(rest: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before, fragment) = match rest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (rest, None),
    };
    match before.split_once('?') {
        Some((path, query)) => (path, Some(query), fragment),
        None => (before, None, fragment),
    }
}

/// A URL with its credentials redacted: the password (or a user name that stands alone, as
/// tokens often do) and the values of parameters named like `token`, `key`, `secret`,
/// `password` or `signature`, in the query and in the fragment. Host and path stay readable,
/// so a viewer still sees what is probed. Text that is not a URL comes back as it is.
pub fn redact_url(url: &str) -> String {
    let Some(p) = split_url(url) else {
        return url.to_string();
    };
    let mut out = format!("{}://", p.scheme);
    match (p.user, p.password) {
        (Some(user), Some(password)) => {
            out.push_str(&format!("{user}:{}@", redact(password)));
        }
        (Some(user), None) => out.push_str(&format!("{}@", redact(user))),
        _ => {}
    }
    out.push_str(p.host);
    let (path, query, fragment) = split_rest(p.rest);
    out.push_str(path);
    if let Some(q) = query {
        out.push('?');
        out.push_str(&redact_pairs(q));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&redact_pairs(f));
    }
    out
}

/// The secret parts of a URL, as [`redact_url`] hides them.
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some(p) = split_url(url) else {
        return found;
    };
    match (p.user, p.password) {
        (_, Some(password)) => push_secret(&mut found, password),
        (Some(user), None) => push_secret(&mut found, user),
        _ => {}
    }
    let (_, query, fragment) = split_rest(p.rest);
    for part in [query, fragment].into_iter().flatten() {
        pair_secrets(part, &mut found);
    }
    found
}

/// A webhook URL as others may see it: scheme and host, then the whole path and query as one
/// redacted secret (`https://hooks.slack.com/••••AbCd`); credentials before the host are dropped.
/// Text that is not a URL is redacted whole.
pub fn redact_webhook_url(url: &str) -> String {
    let Some(p) = split_url(url) else {
        return redact(url);
    };
    let rest = p.rest.trim_start_matches('/');
    if rest.is_empty() {
        return format!("{}://{}", p.scheme, p.host);
    }
    format!("{}://{}/{}", p.scheme, p.host, redact(rest))
}

/// The secret parts of a webhook URL, as [`redact_webhook_url`] hides them.
pub fn webhook_secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    match split_url(url) {
        Some(p) => {
            for part in [p.user, p.password].into_iter().flatten() {
                push_secret(&mut found, part);
            }
            push_secret(&mut found, p.rest.trim_start_matches('/'));
        }
        None => push_secret(&mut found, url),
    }
    found
}

/// Adds a secret and, when it differs, its percent-decoded form (messages may quote either).
fn push_secret(into: &mut Vec<String>, secret: &str) {
    if secret.is_empty() {
        return;
    }
    into.push(secret.to_string());
    let plain = decoded(secret);
    if plain != secret && !plain.is_empty() {
        into.push(plain);
    }
}

/// Percent-decoding (and `+` as a space), or the text as it is when that is not UTF-8.
fn decoded(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Free text (a probe's failure reason, an error message) with every occurrence of the given
/// secrets redacted, longest first so a secret inside another is not half-replaced.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut list: Vec<&String> = secrets
        .iter()
        .filter(|s| s.chars().count() >= SHORTEST_SCRUBBED)
        .collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    list.dedup();
    let mut out = text.to_string();
    for s in list {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), &redact(s));
        }
    }
    out
}

/// A probe result whose reason is scrubbed of the monitor's secrets (an error message may quote
/// the URL it failed on).
pub fn scrub_result(result: &ProbeResult, secrets: &[String]) -> ProbeResult {
    let outcome = match &result.outcome {
        ProbeOutcome::Up { latency_ms } => ProbeOutcome::Up {
            latency_ms: *latency_ms,
        },
        ProbeOutcome::Degraded { latency_ms, reason } => ProbeOutcome::Degraded {
            latency_ms: *latency_ms,
            reason: scrub(reason, secrets),
        },
        ProbeOutcome::Down { reason } => ProbeOutcome::Down {
            reason: scrub(reason, secrets),
        },
    };
    ProbeResult {
        outcome,
        ..result.clone()
    }
}

/// A value with secret parts, shown redacted to those who may not see them.
pub trait Redact {
    /// The same value with every secret part redacted.
    fn redacted(&self) -> Self;
    /// The secrets it holds, for [`scrub`]bing free text that may quote them.
    fn secrets(&self) -> Vec<String>;
}

/// Secret in a probe: the URL's credentials, every header value and the request body of an HTTP
/// probe; a heartbeat's token (who knows it can push); a database URL's credentials.
impl Redact for ProbeSpec {
    fn redacted(&self) -> Self {
        let mut p = self.clone();
        match &mut p {
            ProbeSpec::Http {
                url, headers, body, ..
            } => {
                *url = redact_url(url);
                for (_, value) in headers.iter_mut() {
                    *value = redact(value);
                }
                if let Some(b) = body {
                    *b = redact(b);
                }
            }
            ProbeSpec::Heartbeat { token, .. } => *token = redact(token),
            ProbeSpec::Postgres { url, .. } | ProbeSpec::Mysql { url, .. } => {
                *url = redact_url(url);
            }
            ProbeSpec::Tcp { .. } | ProbeSpec::Dns { .. } | ProbeSpec::TlsExpiry { .. } => {}
        }
        p
    }

    fn secrets(&self) -> Vec<String> {
        let mut found = Vec::new();
        match self {
            ProbeSpec::Http {
                url, headers, body, ..
            } => {
                found.extend(url_secrets(url));
                for (_, value) in headers {
                    push_secret(&mut found, value);
                }
                if let Some(b) = body {
                    push_secret(&mut found, b);
                }
            }
            ProbeSpec::Heartbeat { token, .. } => push_secret(&mut found, token),
            ProbeSpec::Postgres { url, .. } | ProbeSpec::Mysql { url, .. } => {
                found.extend(url_secrets(url));
            }
            ProbeSpec::Tcp { .. } | ProbeSpec::Dns { .. } | ProbeSpec::TlsExpiry { .. } => {}
        }
        found
    }
}

impl Redact for MonitorSpec {
    fn redacted(&self) -> Self {
        MonitorSpec {
            probe: self.probe.redacted(),
            ..self.clone()
        }
    }

    fn secrets(&self) -> Vec<String> {
        self.probe.secrets()
    }
}

/// Secret in a team alert channel: a webhook URL (Slack, Discord and Teams keep their secret in
/// the path). An email address is not.
impl Redact for AlertChannel {
    fn redacted(&self) -> Self {
        let mut c = self.clone();
        if c.kind != ChannelKind::Email {
            c.target = redact_webhook_url(&c.target);
        }
        c
    }

    fn secrets(&self) -> Vec<String> {
        match self.kind {
            ChannelKind::Email => Vec::new(),
            _ => webhook_secrets(&self.target),
        }
    }
}

/// Secret in a subscriber: its webhook or chat URL. (Its signing secret is not part of the
/// value; the answers that show it show it to writers only.)
impl Redact for Subscriber {
    fn redacted(&self) -> Self {
        let mut s = self.clone();
        s.endpoint = s.endpoint.as_deref().map(redact_webhook_url);
        s
    }

    fn secrets(&self) -> Vec<String> {
        self.endpoint
            .as_deref()
            .map(webhook_secrets)
            .unwrap_or_default()
    }
}

/// An audit entry's before or after with its secrets redacted, whatever its age: a monitor or a
/// channel is redacted field by field when it reads as one, and every entry then goes through
/// [`redact_json`].
pub fn redact_audit(action: &str, value: &mut Value) {
    let typed = if action.starts_with("monitor.") {
        serde_json::from_value::<MonitorSpec>(value.clone())
            .ok()
            .and_then(|m| serde_json::to_value(m.redacted()).ok())
    } else if action.starts_with("alert_channel.") {
        serde_json::from_value::<AlertChannel>(value.clone())
            .ok()
            .and_then(|c| serde_json::to_value(c.redacted()).ok())
    } else {
        None
    };
    if let Some(v) = typed {
        *value = v;
    }
    redact_json(value);
}

/// Redacts the secrets JSON of any shape may hold: fields named like secrets, header values,
/// webhook targets, and credentials in any string that is a URL. The values come from the
/// store (serde_json reads at most 128 levels deep), so the recursion is bounded.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                if name == "headers" {
                    redact_headers_json(v);
                } else if is_secret_field(name) {
                    redact_leaves(v);
                } else if is_webhook_field(name) {
                    match v {
                        Value::String(s) if split_url(s).is_some() => {
                            *s = redact_webhook_url(s);
                        }
                        other => redact_json(other),
                    }
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(s) if split_url(s).is_some() => *s = redact_url(s),
        _ => {}
    }
}

/// Headers as `[[name, value], …]` or `{name: value}`: every value redacted, names kept.
fn redact_headers_json(value: &mut Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Array(pair) if pair.len() == 2 => redact_leaves(&mut pair[1]),
                    other => redact_leaves(other),
                }
            }
        }
        Value::Object(map) => map.values_mut().for_each(redact_leaves),
        other => redact_leaves(other),
    }
}

/// Every string inside, redacted whole.
fn redact_leaves(value: &mut Value) {
    match value {
        Value::String(s) => *s = redact(s),
        Value::Array(items) => items.iter_mut().for_each(redact_leaves),
        Value::Object(map) => map.values_mut().for_each(redact_leaves),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Id;
    use serde_json::json;

    #[test]
    fn short_secrets_show_nothing_long_ones_their_last_four() {
        assert_eq!(redact(""), "");
        assert_eq!(redact("hunter2"), MASK);
        assert_eq!(redact("elevenchars"), MASK);
        assert_eq!(redact("twelve-chars"), "••••hars");
        assert_eq!(redact("Bearer abcdefghijklmnop"), "••••mnop");
        assert_eq!(redact("••••mnop"), "••••mnop");
        assert_eq!(redact(MASK), MASK);
        assert_eq!(redact("••••a-longer-tail"), "••••tail");
        // Characters, not bytes: a multi-byte secret is not cut inside a character.
        assert_eq!(redact("ééééééééééééé9ü"), "••••éé9ü");
        let s = Secret::new("sk_live_0123456789abcdef");
        assert_eq!(format!("{s}"), "••••cdef");
        assert_eq!(format!("{s:?}"), "Secret(••••cdef)");
        assert_eq!(s.expose(), "sk_live_0123456789abcdef");
    }

    #[test]
    fn urls_lose_passwords_and_secret_parameters() {
        assert_eq!(
            redact_url("postgres://herald:correct-horse-battery@db:5432/app?sslmode=require"),
            "postgres://herald:••••tery@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_url("mysql://root:pw@db/app"),
            "mysql://root:••••@db/app"
        );
        assert_eq!(
            redact_url("https://ghp_0123456789abcdef@example.com/x"),
            "https://••••cdef@example.com/x"
        );
        assert_eq!(
            redact_url("https://api.example.com/health?region=eu&token=0123456789abcdef&API_KEY=k#sig=0123456789abcdef"),
            "https://api.example.com/health?region=eu&token=••••cdef&API_KEY=••••#sig=••••cdef"
        );
        assert_eq!(
            redact_url("https://example.com/health"),
            "https://example.com/health"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        let found = url_secrets("postgres://u:p%40ssw0rd-long-one@db/app?password=abcd");
        assert!(found.contains(&"p%40ssw0rd-long-one".to_string()));
        assert!(found.contains(&"p@ssw0rd-long-one".to_string()));
        assert!(found.contains(&"abcd".to_string()));
    }

    #[test]
    fn webhook_urls_keep_only_scheme_and_host() {
        let slack = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXabcd";
        assert_eq!(
            redact_webhook_url(slack),
            "https://hooks.slack.com/••••abcd"
        );
        assert_eq!(
            redact_webhook_url("https://user:pw@example.com/hook?key=1"),
            "https://example.com/••••"
        );
        assert_eq!(
            redact_webhook_url("https://example.com"),
            "https://example.com"
        );
        assert_eq!(redact_webhook_url("garbage-but-secret-xyz"), "••••-xyz");
        assert!(webhook_secrets(slack)
            .contains(&"services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXabcd".to_string()));
    }

    fn http_probe() -> ProbeSpec {
        ProbeSpec::Http {
            url: "https://ops:probe-password-1@api.example.com/health?token=tok_0123456789".into(),
            method: "POST".into(),
            headers: vec![
                ("Authorization".into(), "Bearer sk_0123456789abcdef".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some("{\"password\":\"body-secret-value\"}".into()),
            expected_status: vec![],
            body_contains: None,
            body_regex: None,
            json_pointer: None,
            verify_tls: true,
            follow_redirects: true,
        }
    }

    #[test]
    fn probes_redact_their_secret_fields() {
        let ProbeSpec::Http {
            url, headers, body, ..
        } = http_probe().redacted()
        else {
            panic!("still an HTTP probe");
        };
        assert_eq!(
            url,
            "https://ops:••••rd-1@api.example.com/health?token=••••6789"
        );
        assert_eq!(headers[0], ("Authorization".into(), "••••cdef".into()));
        assert_eq!(headers[1].1, "••••json");
        assert_eq!(body.as_deref(), Some("••••ue\"}"));
        let hb = ProbeSpec::Heartbeat {
            token: "hb_token_0123456789".into(),
            grace_seconds: 0,
        };
        assert_eq!(
            hb.redacted(),
            ProbeSpec::Heartbeat {
                token: "••••6789".into(),
                grace_seconds: 0
            }
        );
        let tcp = ProbeSpec::Tcp {
            host: "db".into(),
            port: 5432,
        };
        assert_eq!(tcp.redacted(), tcp);
        assert!(tcp.secrets().is_empty());
    }

    #[test]
    fn free_text_is_scrubbed_of_known_secrets() {
        let secrets = http_probe().secrets();
        let reason = "request failed: error sending request for url \
            (https://ops:probe-password-1@api.example.com/health?token=tok_0123456789)";
        let clean = scrub(reason, &secrets);
        assert!(!clean.contains("probe-password-1"), "{clean}");
        assert!(!clean.contains("tok_0123456789"), "{clean}");
        assert!(clean.contains("api.example.com"), "{clean}");
        // Too short to look for: left alone rather than mangling ordinary words.
        assert_eq!(scrub("a pw here", &["pw".into()]), "a pw here");
    }

    #[test]
    fn channels_and_subscribers_hide_webhook_paths() {
        let c = AlertChannel {
            id: Id::derive("channel:ops"),
            name: "Ops".into(),
            kind: ChannelKind::Slack,
            target: "https://hooks.slack.com/services/T1/B2/secretsecret9z".into(),
            enabled: true,
        };
        assert_eq!(c.redacted().target, "https://hooks.slack.com/••••et9z");
        let mail = AlertChannel {
            kind: ChannelKind::Email,
            target: "ops@example.com".into(),
            ..c
        };
        assert_eq!(mail.redacted(), mail);
        assert!(mail.secrets().is_empty());
    }

    #[test]
    fn audit_entries_are_redacted_whatever_their_shape() {
        let spec = MonitorSpec {
            id: Id::derive("monitor:api"),
            name: "API".into(),
            component_id: None,
            probe: http_probe(),
            interval_seconds: 60,
            timeout_ms: 5_000,
            degraded_after_ms: None,
            failures_to_down: 3,
            successes_to_up: 2,
            retry_interval_seconds: None,
            flap_window_seconds: 300,
            enabled: true,
        };
        let mut v = serde_json::to_value(&spec).expect("json");
        redact_audit("monitor.save", &mut v);
        let text = v.to_string();
        for s in spec.secrets() {
            assert!(!text.contains(&s), "{s} in {text}");
        }
        assert!(text.contains("••••cdef"));
        // An entry of no known shape still loses what looks secret.
        let mut v = json!({
            "name": "x", "token": "tok_0123456789",
            "headers": {"Cookie": "session=0123456789abcdef"},
            "endpoint": "https://hooks.example.com/a/very/secret/path",
            "nested": [{"url": "https://u:long-password@h/x"}],
            "body": "prose stays",
        });
        redact_audit("something.else", &mut v);
        let text = v.to_string();
        for s in [
            "tok_0123456789",
            "0123456789abcdef",
            "very/secret",
            "long-password",
        ] {
            assert!(!text.contains(s), "{s} in {text}");
        }
        assert!(text.contains("prose stays"));
    }
}
