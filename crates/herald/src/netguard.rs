//! Where Herald may send requests on someone else's behalf. A subscriber's webhook URL is typed
//! by a stranger: posting to it must not reach the machine's own services, the private network
//! or a cloud metadata endpoint. Every address the host resolves to is checked; an allow-list
//! from configuration lets a deployment (or a test) reach chosen private hosts on purpose.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a target was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("`{0}` is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("the host `{0}` could not be resolved")]
    Unresolved(String),
    #[error("`{host}` resolves to {addr}, a loopback, private, link-local or metadata address")]
    Private { host: String, addr: IpAddr },
}

/// Addresses that belong to this machine or its private surroundings.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, cloud metadata among them
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
}

/// The hosts and addresses configuration allows even though they are internal.
#[derive(Clone, Debug, Default)]
pub struct TargetPolicy {
    pub allow: Vec<String>,
}

impl TargetPolicy {
    fn allows(&self, host: &str, addr: IpAddr) -> bool {
        self.allow
            .iter()
            .any(|a| a.eq_ignore_ascii_case(host) || a.parse::<IpAddr>().is_ok_and(|ip| ip == addr))
    }

    /// Resolves the URL's host and returns its addresses when every one may be reached.
    pub async fn check(&self, url: &str) -> Result<Vec<SocketAddr>, GuardError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| GuardError::NotHttp(url.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GuardError::NotHttp(url.to_string()));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| GuardError::NotHttp(url.to_string()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| GuardError::Unresolved(host.clone()))?
            .collect();
        if addrs.is_empty() {
            return Err(GuardError::Unresolved(host));
        }
        if let Some(bad) = addrs
            .iter()
            .find(|a| is_internal(a.ip()) && !self.allows(&host, a.ip()))
        {
            return Err(GuardError::Private {
                host,
                addr: bad.ip(),
            });
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_targets_are_refused_unless_allowed() {
        let strict = TargetPolicy::default();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://[::1]:9/",
        ] {
            assert!(
                matches!(strict.check(url).await, Err(GuardError::Private { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            strict.check("ftp://127.0.0.1/").await,
            Err(GuardError::NotHttp(_))
        ));
        let allowed = TargetPolicy {
            allow: vec!["127.0.0.1".into()],
        };
        assert!(allowed.check("http://127.0.0.1:9/hook").await.is_ok());
        assert!(allowed.check("http://10.0.0.1:9/hook").await.is_err());
    }
}
