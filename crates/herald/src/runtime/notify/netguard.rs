//! Where Herald may send requests on someone else's behalf. A subscriber's webhook URL is typed
//! by a stranger, a team channel's by any editor: posting to it must not reach the machine's own
//! services, the private network or a cloud metadata endpoint. An allow-list from configuration
//! lets a deployment (or a test) reach chosen private hosts on purpose.
//!
//! The check and the connection use the same addresses: [`Guard`] is the HTTP client's resolver,
//! so a name that answered a public address when the target was created and answers an internal
//! one later (DNS rebinding) is refused when connecting. URLs with a literal address never reach
//! a resolver, so [`Guard::check_literal`] judges them before each request.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a target was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("`{0}` is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("the host `{0}` could not be resolved")]
    Unresolved(String),
    #[error(
        "`{host}` resolves to {addr}, {range}; Herald sends only to public addresses \
         (`notify.allow_targets` lists exceptions)"
    )]
    Private {
        host: String,
        addr: IpAddr,
        range: String,
    },
}

impl GuardError {
    /// True when trying again later could give another verdict.
    pub fn is_transient(&self) -> bool {
        matches!(self, GuardError::Unresolved(_))
    }
}

/// IPv4 ranges that are not globally reachable (IANA IPv4 Special-Purpose Address Registry,
/// plus multicast and the reserved 240/4). The few special-purpose blocks the registry marks
/// globally reachable (AS112 192.31.196.0/24 and 192.175.48.0/24, AMT 192.52.193.0/24) pass;
/// the anycast /32s inside 192.0.0.0/24 do not, as no webhook lives there.
#[rustfmt::skip]
const REFUSED_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "a \"this network\" address"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "a private address"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "a shared (carrier NAT) address"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "a loopback address"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "a link-local (metadata) address"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "a private address"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "an IETF protocol address"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "a documentation address"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "a 6to4 relay address"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "a private address"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "a benchmarking address"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "a documentation address"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "a documentation address"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "a multicast address"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "a reserved or broadcast address"),
];

/// IPv6 ranges that are not globally reachable (IANA IPv6 Special-Purpose Address Registry).
/// All of 2001::/23 is refused, Teredo and the anycast and ORCHID blocks with it: none of them
/// is where a webhook lives. Anything outside 2000::/3 (global unicast) is refused as well.
/// The first two entries are judged before embedded IPv4 addresses are looked for.
#[rustfmt::skip]
const REFUSED_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "the unspecified address"),
    (Ipv6Addr::LOCALHOST, 128, "a loopback address"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "a discard-only address"),
    (Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0), 64, "a dummy address"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "an IETF protocol address"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "a documentation address"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "a documentation address"),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16, "a segment-routing address"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "a unique local (private) address"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "a link-local address"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "a site-local address"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "a multicast address"),
];

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IPv4 address an IPv6 address stands for, in the forms that carry one: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-compatible (`::/96`), NAT64 (`64:ff9b::/96`, and the local-use
/// `64:ff9b:1::/48` read as the /96 form DNS64 synthesises) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6];
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let local_nat64 = s[..3] == [0x64, 0xff9b, 1];
    if mapped || compatible || nat64 || local_nat64 {
        Some(low)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2])))
    } else {
        None
    }
}

/// What kind of non-public address `ip` is, or `None` when it is globally reachable.
pub fn refused_range(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => REFUSED_V4
            .iter()
            .find(|(net, len, _)| in_v4(v4, *net, *len))
            .map(|(_, _, what)| what.to_string()),
        IpAddr::V6(v6) => {
            if let Some((_, _, what)) = REFUSED_V6[..2]
                .iter()
                .find(|(net, len, _)| in_v6(v6, *net, *len))
            {
                return Some(what.to_string());
            }
            if let Some(v4) = embedded_v4(v6) {
                return refused_range(IpAddr::V4(v4)).map(|what| format!("{what} (embedded {v4})"));
            }
            if let Some((_, _, what)) = REFUSED_V6
                .iter()
                .find(|(net, len, _)| in_v6(v6, *net, *len))
            {
                return Some(what.to_string());
            }
            let global_unicast = in_v6(v6, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
            (!global_unicast).then(|| "a reserved address".to_string())
        }
    }
}

/// Addresses that belong to this machine, its private surroundings or any other range that
/// is not globally reachable.
pub fn is_internal(ip: IpAddr) -> bool {
    refused_range(ip).is_some()
}

/// The hosts and addresses configuration allows even though they are internal.
#[derive(Clone, Debug, Default)]
pub struct TargetPolicy {
    pub allow: Vec<String>,
}

impl TargetPolicy {
    pub fn new<S: Into<String>>(allow: impl IntoIterator<Item = S>) -> Self {
        TargetPolicy {
            allow: allow.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the host is allowed by name, whatever it resolves to.
    fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.allow
            .iter()
            .any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(host))
    }

    fn allows(&self, host: &str, addr: IpAddr) -> bool {
        self.allows_name(host)
            || self
                .allow
                .iter()
                .any(|a| a.parse::<IpAddr>().is_ok_and(|ip| ip == addr))
    }

    /// The addresses of `host` that may be reached; refused when none is left.
    pub fn judge(&self, host: &str, addrs: &[IpAddr]) -> Result<Vec<IpAddr>, GuardError> {
        let Some(first) = addrs.first() else {
            return Err(GuardError::Unresolved(host.to_string()));
        };
        let allowed: Vec<IpAddr> = addrs
            .iter()
            .copied()
            .filter(|ip| !is_internal(*ip) || self.allows(host, *ip))
            .collect();
        if allowed.is_empty() {
            return Err(GuardError::Private {
                host: host.to_string(),
                addr: *first,
                range: refused_range(*first).unwrap_or_default(),
            });
        }
        Ok(allowed)
    }
}

/// What a [`Lookup`] returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Where host names are resolved: the system's resolver in production, a map in tests.
pub trait Lookup: Send + Sync {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system's resolver (getaddrinfo, through tokio).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// Answers from a map, for tests. Each host's answers are given in turn and the last one
/// repeats, so a name can change its address between two lookups; unknown names fail.
#[derive(Default)]
pub struct OverrideLookup {
    answers: Mutex<HashMap<String, VecDeque<Vec<IpAddr>>>>,
}

impl OverrideLookup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next answer for `host`.
    pub fn then(self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.push(host, addrs);
        self
    }

    /// Adds the next answer for `host` to a lookup already in use.
    pub fn push(&self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push_back(addrs.into_iter().collect());
    }
}

impl Lookup for OverrideLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let answer = {
            let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            answers
                .get_mut(&host.to_ascii_lowercase())
                .and_then(|queue| match queue.len() {
                    0 => None,
                    1 => queue.front().cloned(),
                    _ => queue.pop_front(),
                })
        };
        Box::pin(async move {
            answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))
        })
    }
}

/// How long a host's checked addresses are reused.
pub const VERDICT_TTL: Duration = Duration::from_secs(30);

/// Hosts whose verdicts are kept at most.
const CACHED_HOSTS: usize = 4096;

struct Inner {
    policy: TargetPolicy,
    lookup: Arc<dyn Lookup>,
    ttl: Duration,
    /// Allowed addresses per host and when they were checked. The connection uses exactly
    /// these, so reusing them opens no rebinding window.
    verdicts: Mutex<HashMap<String, (Instant, Vec<IpAddr>)>>,
}

/// The target guard: the policy, and the resolver every client that sends on others' behalf
/// connects through. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.inner.policy)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard on the system's resolver.
    pub fn new(policy: TargetPolicy) -> Guard {
        Guard::with_lookup(policy, Arc::new(SystemLookup), VERDICT_TTL)
    }

    /// A guard on the given resolver; `ttl` zero resolves again for every connection.
    pub fn with_lookup(policy: TargetPolicy, lookup: Arc<dyn Lookup>, ttl: Duration) -> Guard {
        Guard {
            inner: Arc::new(Inner {
                policy,
                lookup,
                ttl,
                verdicts: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn policy(&self) -> &TargetPolicy {
        &self.inner.policy
    }

    /// Builds a client that connects only to addresses this guard allows: names resolve
    /// through it, redirects are never followed and no proxy is used (a proxy would resolve
    /// the target itself).
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::Result<reqwest::Client> {
        builder
            .dns_resolver(Arc::new(self.clone()))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
    }

    /// The addresses of `host` that may be reached, from the cache while it is fresh.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, GuardError> {
        let key = host.to_ascii_lowercase();
        let ttl = self.inner.ttl;
        if !ttl.is_zero() {
            let verdicts = self
                .inner
                .verdicts
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some((at, addrs)) = verdicts.get(&key) {
                if at.elapsed() < ttl {
                    return Ok(addrs.clone());
                }
            }
        }
        let found = self
            .inner
            .lookup
            .lookup(host)
            .await
            .map_err(|_| GuardError::Unresolved(host.to_string()))?;
        let allowed = self.inner.policy.judge(host, &found)?;
        if !ttl.is_zero() {
            let mut verdicts = self
                .inner
                .verdicts
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if verdicts.len() >= CACHED_HOSTS {
                verdicts.retain(|_, (at, _)| at.elapsed() < ttl);
                if verdicts.len() >= CACHED_HOSTS {
                    verdicts.clear();
                }
            }
            verdicts.insert(key, (Instant::now(), allowed.clone()));
        }
        Ok(allowed)
    }

    /// Judges the URL's scheme and, when its host is a literal address, that address: what
    /// must be checked before every request, since no resolver sees a literal address.
    pub fn check_literal(&self, url: &str) -> Result<(), GuardError> {
        match target(url)? {
            Target::Address(ip) => self.inner.policy.judge(&ip.to_string(), &[ip]).map(drop),
            Target::Name(_) => Ok(()),
        }
    }

    /// Judges a target when it is created: its scheme and every address its host has now.
    /// Returns the addresses that may be reached (none for a host allowed by name).
    pub async fn check(&self, url: &str) -> Result<Vec<IpAddr>, GuardError> {
        match target(url)? {
            Target::Address(ip) => self.inner.policy.judge(&ip.to_string(), &[ip]),
            Target::Name(host) if self.inner.policy.allows_name(&host) => Ok(Vec::new()),
            Target::Name(host) => self.addresses(&host).await,
        }
    }

    /// The guard's refusal inside a client error, if that is why a request failed.
    pub fn refusal<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e GuardError> {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(g) = e.downcast_ref::<GuardError>() {
                return Some(g);
            }
            cause = e.source();
        }
        None
    }
}

enum Target {
    Address(IpAddr),
    Name(String),
}

fn target(url: &str) -> Result<Target, GuardError> {
    let not_http = || GuardError::NotHttp(url.to_string());
    let parsed = reqwest::Url::parse(url).map_err(|_| not_http())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(not_http());
    }
    // The URL parser has already turned every IPv4 spelling (`2130706433`, `0x7f.1`) into
    // dotted form and bracketed IPv6, as the client will see them.
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(not_http)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Ok(match bare.parse::<IpAddr>() {
        Ok(ip) => Target::Address(ip),
        Err(_) => Target::Name(host.to_string()),
    })
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let allowed = guard.addresses(&host).await?;
            let addrs: reqwest::dns::Addrs =
                Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect(s)
    }

    /// Each refused range by its first and last address; the forms that embed IPv4 also by
    /// samples of the refused IPv4 ranges inside them.
    const REFUSED: &[(&str, &str)] = &[
        ("0.0.0.0", "0.255.255.255"),
        ("10.0.0.0", "10.255.255.255"),
        ("100.64.0.0", "100.127.255.255"),
        ("127.0.0.0", "127.255.255.255"),
        ("169.254.0.0", "169.254.255.255"),
        ("172.16.0.0", "172.31.255.255"),
        ("192.0.0.0", "192.0.0.255"),
        ("192.0.0.9", "192.0.0.10"),
        ("192.0.0.170", "192.0.0.171"),
        ("192.0.2.0", "192.0.2.255"),
        ("192.88.99.0", "192.88.99.255"),
        ("192.168.0.0", "192.168.255.255"),
        ("198.18.0.0", "198.19.255.255"),
        ("198.51.100.0", "198.51.100.255"),
        ("203.0.113.0", "203.0.113.255"),
        ("224.0.0.0", "239.255.255.255"),
        ("240.0.0.0", "255.255.255.255"),
        ("::", "::"),
        ("::1", "::1"),
        ("::ffff:0.0.0.0", "::ffff:0.255.255.255"),
        ("::ffff:127.0.0.1", "::ffff:169.254.169.254"),
        ("::ffff:10.0.0.0", "::ffff:10.255.255.255"),
        ("::0.0.0.2", "::0.255.255.255"),
        ("::127.0.0.1", "::169.254.169.254"),
        ("::10.0.0.1", "::192.168.255.255"),
        ("64:ff9b::", "64:ff9b::0.255.255.255"),
        ("64:ff9b::127.0.0.1", "64:ff9b::169.254.169.254"),
        ("64:ff9b::10.0.0.0", "64:ff9b::10.255.255.255"),
        ("64:ff9b::198.18.0.0", "64:ff9b::198.19.255.255"),
        ("64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:0.255.255.255"),
        ("64:ff9b:1::10.0.0.1", "64:ff9b:1:ffff::169.254.169.254"),
        ("2002::", "2002:00ff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2002:7f00:1::", "2002:a9fe:a9fe:ffff:ffff:ffff:ffff:ffff"),
        (
            "2002:0a00:0000::",
            "2002:0aff:ffff:ffff:ffff:ffff:ffff:ffff",
        ),
        ("2002:c0a8::", "2002:c0a8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("100::", "100::ffff:ffff:ffff:ffff"),
        ("100:0:0:1::", "100::1:ffff:ffff:ffff:ffff"),
        ("2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001::1", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001:1::1", "2001:1::3"),
        ("2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff"),
        ("2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff"),
        ("2001:10::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::2:0:0", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("4000::", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ];

    /// Public neighbours just outside the refused ranges, and globally reachable
    /// special-purpose blocks: all must pass.
    const PUBLIC: &[&str] = &[
        "1.0.0.0",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "191.255.255.255",
        "192.0.1.0",
        "192.0.1.255",
        "192.0.3.0",
        "192.31.196.1",
        "192.52.193.1",
        "192.88.98.255",
        "192.88.100.0",
        "192.167.255.255",
        "192.169.0.0",
        "192.175.48.1",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "198.51.101.0",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
        "93.184.216.34",
        "1.1.1.1",
        "::ffff:93.184.216.34",
        "::93.184.216.34",
        "64:ff9b::93.184.216.34",
        "64:ff9b::1.0.0.0",
        "64:ff9b:1::93.184.216.34",
        "2002:5db8:d822::",
        "2002:0100:0000::1",
        "2001:200::",
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db9::",
        "2000::",
        "2606:4700::1111",
        "2620:4f:8000::1",
        "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "3fff:1000::",
    ];

    #[test]
    fn every_special_purpose_range_is_refused_at_both_ends() {
        for (first, last) in REFUSED {
            for a in [first, last] {
                assert!(is_internal(ip(a)), "{a} (range {first} to {last})");
            }
        }
    }

    #[test]
    fn public_neighbours_pass() {
        for a in PUBLIC {
            assert_eq!(refused_range(ip(a)), None, "{a}");
        }
    }

    #[test]
    fn embedded_addresses_are_named_in_the_verdict() {
        let what = refused_range(ip("64:ff9b::a9fe:a9fe")).expect("refused");
        assert!(
            what.contains("link-local") && what.contains("169.254.169.254"),
            "{what}"
        );
        let policy = TargetPolicy::default();
        let e = policy
            .judge("hooks.example.com", &[ip("10.1.2.3")])
            .expect_err("refused");
        assert!(e.to_string().contains("10.1.2.3"), "{e}");
        assert!(e.to_string().contains("private"), "{e}");
    }

    #[tokio::test]
    async fn literal_and_named_targets_are_judged() {
        let lookup = OverrideLookup::new()
            .then("localhost", [ip("127.0.0.1"), ip("::1")])
            .then("mixed.test", [ip("10.0.0.1"), ip("93.184.216.34")])
            .then("metadata.test", [ip("169.254.169.254")]);
        let strict = Guard::with_lookup(TargetPolicy::default(), Arc::new(lookup), VERDICT_TTL);
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://[::1]:9/",
            "http://[::ffff:7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/latest",
            "http://[fec0::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "https://metadata.test/",
            "http://198.18.0.1/",
        ] {
            assert!(
                matches!(strict.check(url).await, Err(GuardError::Private { .. })),
                "{url}"
            );
        }
        assert_eq!(
            strict.check("https://mixed.test/x").await,
            Ok(vec![ip("93.184.216.34")]),
            "only the public address is kept"
        );
        assert!(matches!(
            strict.check("https://nowhere.test/").await,
            Err(GuardError::Unresolved(_))
        ));
        assert!(matches!(
            strict.check("ftp://127.0.0.1/").await,
            Err(GuardError::NotHttp(_))
        ));
        assert!(strict.check_literal("http://10.0.0.1/").is_err());
        assert!(strict.check_literal("http://metadata.test/").is_ok());

        let allowed = Guard::new(TargetPolicy::new(["127.0.0.1", "relay.internal"]));
        assert!(allowed.check("http://127.0.0.1:9/hook").await.is_ok());
        assert!(allowed.check("http://10.0.0.1:9/hook").await.is_err());
        assert!(
            allowed.check("http://relay.internal/hook").await.is_ok(),
            "a host allowed by name is not looked up when created"
        );
    }

    /// A plain HTTP server on `addr` that counts connections and answers 200; returns its port.
    async fn sink(addr: SocketAddr) -> std::io::Result<(u16, Arc<AtomicUsize>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    let answer =
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = sock.write_all(answer).await;
                });
            }
        });
        Ok((port, hits))
    }

    /// Sinks on 127.0.0.2 and 127.0.0.3 listening on one port.
    async fn two_sinks() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        for _ in 0..20 {
            let (port, allowed) = sink(SocketAddr::new(ip("127.0.0.2"), 0))
                .await
                .expect("bind");
            if let Ok((_, refused)) = sink(SocketAddr::new(ip("127.0.0.3"), port)).await {
                return (port, allowed, refused);
            }
        }
        panic!("no port free on both 127.0.0.2 and 127.0.0.3");
    }

    #[tokio::test]
    async fn a_name_that_rebinds_after_the_check_is_not_reached() {
        let (port, allowed_hits, refused_hits) = two_sinks().await;
        let url = format!("http://hooks.rebind.test:{port}/hook");
        let policy = TargetPolicy::new(["127.0.0.2"]);

        // Fresh lookups: checked at 127.0.0.2, then the name moves to 127.0.0.3.
        let lookup = OverrideLookup::new()
            .then("hooks.rebind.test", [ip("127.0.0.2")])
            .then("hooks.rebind.test", [ip("127.0.0.3")]);
        let guard = Guard::with_lookup(policy.clone(), Arc::new(lookup), Duration::ZERO);
        let client = guard
            .client(reqwest::Client::builder().timeout(Duration::from_secs(5)))
            .expect("client");
        assert_eq!(guard.check(&url).await, Ok(vec![ip("127.0.0.2")]));
        let err = client.post(&url).send().await.expect_err("refused");
        let refusal = Guard::refusal(&err).expect("the guard refused it");
        assert!(
            matches!(refusal, GuardError::Private { addr, .. } if *addr == ip("127.0.0.3")),
            "{refusal}"
        );
        assert!(refusal.to_string().contains("127.0.0.3"), "{refusal}");
        assert_eq!(refused_hits.load(Ordering::SeqCst), 0);
        assert_eq!(allowed_hits.load(Ordering::SeqCst), 0);

        // With the cache: the connection uses the checked address, never the new one.
        let lookup = Arc::new(OverrideLookup::new().then("hooks.rebind.test", [ip("127.0.0.2")]));
        let guard = Guard::with_lookup(policy, lookup.clone(), VERDICT_TTL);
        let client = guard
            .client(reqwest::Client::builder().timeout(Duration::from_secs(5)))
            .expect("client");
        guard.check(&url).await.expect("allowed");
        lookup.push("hooks.rebind.test", [ip("127.0.0.3")]);
        lookup.push("hooks.rebind.test", [ip("127.0.0.3")]);
        let resp = client.post(&url).send().await.expect("sent");
        assert!(resp.status().is_success());
        assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);
        assert_eq!(refused_hits.load(Ordering::SeqCst), 0);
    }
}
