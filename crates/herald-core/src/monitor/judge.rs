//! Judging what a probe got back: the probe runner (in the `herald` crate) hands in the raw
//! answer and the current time, and these pure functions say up, degraded or down, and why.

use super::{ProbeOutcome, ProbeSpec};
use chrono::{DateTime, TimeDelta, Utc};

/// Up, or degraded when the answer took longer than `degraded_after_ms` (equal is still up).
pub fn judge_latency(latency_ms: u64, degraded_after_ms: Option<u32>) -> ProbeOutcome {
    match degraded_after_ms {
        Some(limit) if latency_ms > u64::from(limit) => ProbeOutcome::Degraded {
            latency_ms,
            reason: format!("slow: {latency_ms} ms, over {limit} ms"),
        },
        _ => ProbeOutcome::Up { latency_ms },
    }
}

/// Judges an HTTP answer against an HTTP probe's expectations: the status code (any 2xx when
/// none are listed), `body_contains`, `body_regex` and the JSON pointer's value, in that order;
/// then the latency. A probe that is not HTTP is down, as nothing can be checked.
pub fn judge_http(
    spec: &ProbeSpec,
    status: u16,
    body: &[u8],
    latency_ms: u64,
    degraded_after_ms: Option<u32>,
) -> ProbeOutcome {
    let ProbeSpec::Http {
        expected_status,
        body_contains,
        body_regex,
        json_pointer,
        ..
    } = spec
    else {
        return down("not an HTTP probe");
    };
    let status_ok = if expected_status.is_empty() {
        (200..=299).contains(&status)
    } else {
        expected_status.contains(&status)
    };
    if !status_ok {
        return down(format!("unexpected status {status}"));
    }
    let text = String::from_utf8_lossy(body);
    if let Some(needle) = body_contains {
        if !text.contains(needle.as_str()) {
            return down(format!("body does not contain `{needle}`"));
        }
    }
    if let Some(pattern) = body_regex {
        match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(&text) => {}
            Ok(_) => return down(format!("body does not match `{pattern}`")),
            Err(_) => return down(format!("body_regex `{pattern}` does not compile")),
        }
    }
    if let Some((pointer, expected)) = json_pointer {
        let Ok(expected) = serde_json::from_str::<serde_json::Value>(expected) else {
            return down(format!("expected value for `{pointer}` is not JSON"));
        };
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(body) else {
            return down("body is not JSON");
        };
        match document.pointer(pointer) {
            Some(found) if *found == expected => {}
            Some(found) => return down(format!("`{pointer}` is {found}, expected {expected}")),
            None => return down(format!("`{pointer}` is missing")),
        }
    }
    judge_latency(latency_ms, degraded_after_ms)
}

/// Judges a certificate's expiry: down once `not_after` is reached, degraded when it comes
/// within `warn_days` days (exactly `warn_days` left is degraded), up otherwise.
/// `latency_ms` is the handshake's duration, reported as it is.
pub fn judge_certificate(
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
    warn_days: u32,
    latency_ms: u64,
) -> ProbeOutcome {
    if now >= not_after {
        return down(format!("certificate expired at {}", not_after.to_rfc3339()));
    }
    let left = not_after - now;
    if left <= TimeDelta::days(i64::from(warn_days)) {
        return ProbeOutcome::Degraded {
            latency_ms,
            reason: format!(
                "certificate expires in {} days, at {}",
                left.num_days(),
                not_after.to_rfc3339()
            ),
        };
    }
    ProbeOutcome::Up { latency_ms }
}

/// Judges a heartbeat: up while the last push is at most `interval_seconds + grace_seconds`
/// old, down after that or when none has arrived yet. A push has no latency: up reports 0.
pub fn judge_heartbeat(
    last_push: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval_seconds: u32,
    grace_seconds: u32,
) -> ProbeOutcome {
    let Some(last) = last_push else {
        return down("no push received yet");
    };
    let allowed = TimeDelta::seconds(i64::from(interval_seconds) + i64::from(grace_seconds));
    let age = now - last;
    if age > allowed {
        return down(format!(
            "last push {} s ago, allowed {} s",
            age.num_seconds(),
            allowed.num_seconds()
        ));
    }
    ProbeOutcome::Up { latency_ms: 0 }
}

fn down(reason: impl Into<String>) -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn http(
        expected_status: Vec<u16>,
        body_contains: Option<&str>,
        body_regex: Option<&str>,
        json_pointer: Option<(&str, &str)>,
    ) -> ProbeSpec {
        ProbeSpec::Http {
            url: "https://example.com/health".into(),
            method: "GET".into(),
            headers: vec![],
            body: None,
            expected_status,
            body_contains: body_contains.map(String::from),
            body_regex: body_regex.map(String::from),
            json_pointer: json_pointer.map(|(p, v)| (p.to_string(), v.to_string())),
            verify_tls: true,
            follow_redirects: true,
        }
    }

    fn is_up(o: &ProbeOutcome) -> bool {
        matches!(o, ProbeOutcome::Up { .. })
    }
    fn is_degraded(o: &ProbeOutcome) -> bool {
        matches!(o, ProbeOutcome::Degraded { .. })
    }
    fn is_down(o: &ProbeOutcome) -> bool {
        matches!(o, ProbeOutcome::Down { .. })
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn latency_threshold_is_exclusive() {
        assert_eq!(
            judge_latency(500, Some(500)),
            ProbeOutcome::Up { latency_ms: 500 }
        );
        assert!(is_degraded(&judge_latency(501, Some(500))));
        assert!(is_up(&judge_latency(1_000_000, None)));
    }

    #[test]
    fn http_status_codes() {
        let any_2xx = http(vec![], None, None, None);
        assert!(is_up(&judge_http(&any_2xx, 200, b"", 10, None)));
        assert!(is_up(&judge_http(&any_2xx, 299, b"", 10, None)));
        assert!(is_down(&judge_http(&any_2xx, 301, b"", 10, None)));
        assert!(is_down(&judge_http(&any_2xx, 500, b"", 10, None)));
        let listed = http(vec![204, 401], None, None, None);
        assert!(is_up(&judge_http(&listed, 401, b"", 10, None)));
        assert!(is_down(&judge_http(&listed, 200, b"", 10, None)));
    }

    #[test]
    fn http_body_contains_and_regex() {
        let contains = http(vec![], Some("healthy"), None, None);
        assert!(is_up(&judge_http(&contains, 200, b"all healthy", 10, None)));
        assert!(is_down(&judge_http(&contains, 200, b"unwell", 10, None)));
        let re = http(vec![], None, Some(r"^ok \d+$"), None);
        assert!(is_up(&judge_http(&re, 200, b"ok 42", 10, None)));
        assert!(is_down(&judge_http(&re, 200, b"ok fine", 10, None)));
        let broken = http(vec![], None, Some("("), None);
        assert!(is_down(&judge_http(&broken, 200, b"(", 10, None)));
    }

    #[test]
    fn http_json_pointer_equality() {
        let spec = http(vec![], None, None, Some(("/checks/0/status", "\"pass\"")));
        let body = br#"{"checks":[{"status":"pass"},{"status":"fail"}]}"#;
        assert!(is_up(&judge_http(&spec, 200, body, 10, None)));
        let wrong = br#"{"checks":[{"status":"fail"}]}"#;
        assert!(is_down(&judge_http(&spec, 200, wrong, 10, None)));
        assert!(is_down(&judge_http(
            &spec,
            200,
            br#"{"checks":[]}"#,
            10,
            None
        )));
        assert!(is_down(&judge_http(&spec, 200, b"not json", 10, None)));
        // Numbers compare as JSON values, not as text.
        let number = http(vec![], None, None, Some(("/replicas", "3")));
        assert!(is_up(&judge_http(
            &number,
            200,
            br#"{"replicas":3}"#,
            10,
            None
        )));
        assert!(is_down(&judge_http(
            &number,
            200,
            br#"{"replicas":"3"}"#,
            10,
            None
        )));
    }

    #[test]
    fn http_checks_pass_then_latency_decides() {
        let spec = http(vec![], Some("ok"), None, None);
        assert!(is_degraded(&judge_http(&spec, 200, b"ok", 900, Some(800))));
        assert!(is_down(&judge_http(&spec, 500, b"ok", 900, Some(800))));
        let tcp = ProbeSpec::Tcp {
            host: "db".into(),
            port: 5432,
        };
        assert!(is_down(&judge_http(&tcp, 200, b"", 10, None)));
    }

    #[test]
    fn certificate_expiry_boundaries() {
        let now = at(0);
        let day = 86_400;
        assert!(is_up(&judge_certificate(at(14 * day + 1), now, 14, 5)));
        assert!(is_degraded(&judge_certificate(at(14 * day), now, 14, 5)));
        assert!(is_degraded(&judge_certificate(at(1), now, 14, 5)));
        assert!(is_down(&judge_certificate(now, now, 14, 5)));
        assert!(is_down(&judge_certificate(at(-day), now, 14, 5)));
        // warn_days 0: up until the moment of expiry.
        assert!(is_up(&judge_certificate(at(1), now, 0, 5)));
    }

    #[test]
    fn heartbeat_grace() {
        let now = at(1_000);
        assert!(is_down(&judge_heartbeat(None, now, 60, 30)));
        assert!(is_up(&judge_heartbeat(Some(at(1_000 - 90)), now, 60, 30)));
        assert!(is_down(&judge_heartbeat(Some(at(1_000 - 91)), now, 60, 30)));
        assert!(is_down(&judge_heartbeat(Some(at(1_000 - 61)), now, 60, 0)));
        assert!(is_up(&judge_heartbeat(Some(at(1_000 - 60)), now, 60, 0)));
    }
}
