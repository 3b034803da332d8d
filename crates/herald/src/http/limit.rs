//! Per-client rate limits for endpoints that strangers can hit (login, subscribing): a fixed
//! window of N attempts per client address, held in memory. Also who "the client" is: the
//! connection's peer, or, behind a trusted reverse proxy, the address the proxy names.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{HeaderMap, FORWARDED};
use axum::http::request::Parts;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The client's address: the one the server put in the request (the peer, or the address a
/// trusted proxy named), else the peer the connection shows, else 127.0.0.1 (a router driven
/// in-process without a connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(ClientIp(ip))
    }
}

/// The reverse proxies whose forwarding headers are believed (`server.trusted_proxies`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: impl IntoIterator<Item = IpNet>) -> Self {
        TrustedProxies(ranges.into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address counts as its IPv4 form) is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`. Only a trusted peer's `Forwarded` (RFC 7239) or
    /// `X-Forwarded-For` is read: the right-most hop that is not itself a trusted proxy is the
    /// client (each proxy appends the address it saw, so anything left of that hop was written
    /// by the client and proves nothing). With both headers present they must agree. A hop
    /// that cannot be read, a missing header or a disagreement gives the peer.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let forwarded = headers
            .contains_key(FORWARDED)
            .then(|| self.walk(headers.get_all(FORWARDED).iter(), forwarded_for));
        let xff = headers
            .contains_key(X_FORWARDED_FOR)
            .then(|| self.walk(headers.get_all(X_FORWARDED_FOR).iter(), xff_hop));
        match (forwarded, xff) {
            (None, None) => peer,
            (Some(one), None) | (None, Some(one)) => one.unwrap_or(peer),
            (Some(a), Some(b)) if a == b => a.unwrap_or(peer),
            (Some(_), Some(_)) => peer,
        }
    }

    /// Walks the hops of one header from the right (several header lines form one list, in
    /// order). `None` when the hop that decides cannot be read or there is none.
    fn walk<'a>(
        &self,
        lines: impl DoubleEndedIterator<Item = &'a axum::http::HeaderValue>,
        read: fn(&[u8]) -> Option<IpAddr>,
    ) -> Option<IpAddr> {
        let mut nearest = None;
        for line in lines.rev() {
            for hop in line.as_bytes().rsplit(|b| *b == b',') {
                let ip = read(hop.trim_ascii())?.to_canonical();
                if !self.contains(ip) {
                    return Some(ip);
                }
                nearest = Some(ip);
            }
        }
        // Every hop is a trusted proxy: the left-most one is where the request came from.
        nearest
    }
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// One `X-Forwarded-For` hop: an address, optionally with a port (`1.2.3.4:80`, `[::1]:80`).
fn xff_hop(hop: &[u8]) -> Option<IpAddr> {
    node(std::str::from_utf8(hop).ok()?)
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=…`). An element with
/// no `for`, two of them, or one naming `unknown` or an obfuscated node cannot be read.
fn forwarded_for(element: &[u8]) -> Option<IpAddr> {
    let element = std::str::from_utf8(element).ok()?;
    let mut found = None;
    for pair in element.split(';').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            continue;
        }
        if found.is_some() {
            return None;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(rest) => rest.strip_suffix('"')?,
            None => value,
        };
        if value.contains(['"', '\\']) {
            return None;
        }
        found = Some(node(value)?);
    }
    found
}

/// A node as proxies write it: `1.2.3.4`, `1.2.3.4:port`, `[v6]`, `[v6]:port`, or a bare
/// IPv6 address.
fn node(s: &str) -> Option<IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(port)) {
            return None;
        }
        return addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    let (addr, p) = s.rsplit_once(':')?;
    if !port(p) {
        return None;
    }
    addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// A port number, or an obfuscated port (`_abc`) as RFC 7239 allows.
fn port(p: &str) -> bool {
    p.parse::<u16>().is_ok()
        || (p.len() > 1
            && p.starts_with('_')
            && p[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-'))
}

/// At most `limit` attempts per key in each `window`.
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; false when the key is over its limit for this window.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() > 100_000 {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().expect("cidr")))
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_bytes(value).expect("value"),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_peer() {
        let t = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", b"203.0.113.9")]);
        assert_eq!(t.client(ip("10.1.2.3"), &h), ip("203.0.113.9"));
        assert_eq!(t.client(ip("192.0.2.1"), &h), ip("192.0.2.1"));
        let h = headers(&[("forwarded", b"for=203.0.113.9")]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        assert_eq!(t.client(ip("127.0.0.2"), &h), ip("127.0.0.2"));
        // No proxies configured: never.
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), &h),
            ip("10.1.2.3")
        );
        // A trusted peer without a header is itself the client.
        assert_eq!(t.client(ip("10.1.2.3"), &HeaderMap::new()), ip("10.1.2.3"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = proxies(&["10.0.0.0/8"]);
        // The client wrote the left part itself; only the proxy's append counts.
        let h = headers(&[("x-forwarded-for", b"1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Several header lines are one list, in order.
        let h = headers(&[
            ("x-forwarded-for", b"1.1.1.1"),
            ("x-forwarded-for", b"203.0.113.9 , 10.0.0.5"),
        ]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Junk left of the deciding hop does not matter.
        let h = headers(&[("x-forwarded-for", b"garbage, \xff\xfe, 203.0.113.9")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        // Every hop trusted: the left-most is where the request came from.
        let h = headers(&[("x-forwarded-for", b"10.9.9.9, 10.0.0.5")]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        let h = headers(&[(
            "forwarded",
            b"for=1.1.1.1, for=203.0.113.9;proto=https, for=10.0.0.5;by=10.0.0.1",
        )]);
        assert_eq!(t.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_node_forms() {
        let t = proxies(&["127.0.0.0/8", "::1/128"]);
        let cases: &[(&[u8], &str)] = &[
            (b"for=192.0.2.60", "192.0.2.60"),
            (b"For=\"192.0.2.60:4711\"", "192.0.2.60"),
            (b"for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            (b"for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            (b"proto=http;for=192.0.2.60;by=203.0.113.43", "192.0.2.60"),
            (b"for=\"192.0.2.60:_hidden\"", "192.0.2.60"),
            (b"for=\"[::ffff:192.0.2.60]\"", "192.0.2.60"),
            (b"for=192.0.2.60;", "192.0.2.60"),
        ];
        for (value, want) in cases {
            let h = headers(&[("forwarded", value)]);
            assert_eq!(
                t.client(ip("127.0.0.1"), &h),
                ip(want),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        let h = headers(&[("x-forwarded-for", b"[2001:db8::1]:443, 192.0.2.7:8080")]);
        assert_eq!(t.client(ip("::1"), &h), ip("192.0.2.7"));
        let h = headers(&[("x-forwarded-for", b"2001:db8::1")]);
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), &h), ip("2001:db8::1"));
    }

    #[test]
    fn malformed_headers_give_the_peer() {
        let t = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let bad: &[(&str, &[u8])] = &[
            ("x-forwarded-for", b""),
            ("x-forwarded-for", b"203.0.113.9, "),
            ("x-forwarded-for", b"not-an-address"),
            ("x-forwarded-for", b"203.0.113.9:99999"),
            ("x-forwarded-for", b"[2001:db8::1"),
            ("x-forwarded-for", b"\xff"),
            ("forwarded", b"for=unknown"),
            ("forwarded", b"for=_hidden"),
            ("forwarded", b"proto=https"),
            ("forwarded", b"for=1.2.3.4;for=5.6.7.8"),
            ("forwarded", b"for=\"192.0.2.60"),
            ("forwarded", b"for=\"[2001:db8::1]:x\""),
            ("forwarded", b"for"),
            ("forwarded", b"for=1.2.3.4, for=\"\\\"1.2.3.4\""),
        ];
        for (name, value) in bad {
            let h = headers(&[(name, value)]);
            assert_eq!(
                t.client(peer, &h),
                peer,
                "{name}: {}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn both_headers_must_agree() {
        let t = proxies(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let agree = headers(&[
            ("forwarded", b"for=203.0.113.9"),
            ("x-forwarded-for", b"203.0.113.9"),
        ]);
        assert_eq!(t.client(peer, &agree), ip("203.0.113.9"));
        // A proxy that keeps one header is fooled by nothing the client puts in the other.
        let spoofed = headers(&[
            ("forwarded", b"for=198.51.100.1"),
            ("x-forwarded-for", b"203.0.113.9"),
        ]);
        assert_eq!(t.client(peer, &spoofed), peer);
    }

    #[test]
    fn the_extractor_prefers_the_resolved_address() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let extract = |req: axum::http::Request<()>| {
            let (mut parts, ()) = req.into_parts();
            runtime
                .block_on(ClientIp::from_request_parts(&mut parts, &()))
                .expect("infallible")
                .0
        };
        assert_eq!(extract(axum::http::Request::new(())), ip("127.0.0.1"));
        let mut req = axum::http::Request::new(());
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 4], 5000))));
        assert_eq!(extract(req), ip("192.0.2.4"));
        let mut req = axum::http::Request::new(());
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 4], 5000))));
        req.extensions_mut().insert(ClientIp(ip("203.0.113.9")));
        assert_eq!(extract(req), ip("203.0.113.9"));
    }

    #[test]
    fn limits_per_key_within_the_window() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        assert!((0..3).all(|_| l.allow("a")));
        assert!(!l.allow("a"));
        assert!(l.allow("b"));
        let short = RateLimiter::new(1, Duration::from_millis(1));
        assert!(short.allow("a"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.allow("a"));
    }
}
