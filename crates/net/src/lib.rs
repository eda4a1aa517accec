//! How newspipe downloads from the web: which IP addresses it may connect to, the DNS resolver that
//! enforces it, and the HTTP client ([`http::HttpFetcher`], with its [`settings::FetcherSettings`]) that the
//! fetcher and the renderer both use, so that every request either makes meets the same guard and limits.
//!
//! Only globally routable unicast addresses are allowed. Everything else (loopback, private,
//! link-local incl. the cloud metadata address 169.254.169.254, shared/CGN, unique-local,
//! multicast, unspecified, documentation, benchmarking and reserved ranges) is refused, for IPv4
//! and IPv6 alike; IPv6 forms that embed an IPv4 address (IPv4-mapped, IPv4-translated, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they carry.
//!
//! The resolver ([`GuardedResolver`]) performs the one and only DNS lookup of a connection and
//! hands reqwest only the addresses that passed, so the connection goes to a checked address (no
//! second lookup that a rebinding attacker could answer differently). IP-literal hosts never
//! reach a resolver: the fetcher checks them with [`check_ip`] before every hop.

pub mod http;
pub mod settings;

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address is refused: the name of the special-purpose range it falls in.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// True when the address is not a globally routable unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    forbidden_range(ip).is_some()
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> (Ipv4Addr, u8) {
    (Ipv4Addr::new(a, b, c, d), len)
}

/// IANA IPv4 special-purpose ranges that are not globally reachable (plus multicast and the
/// reserved class E), with a name for each.
const V4_RANGES: &[((Ipv4Addr, u8), &str)] = &[
    (v4(0, 0, 0, 0, 8), "this network (0.0.0.0/8)"),
    (v4(10, 0, 0, 0, 8), "private (10.0.0.0/8)"),
    (v4(100, 64, 0, 0, 10), "shared address space (100.64.0.0/10)"),
    (v4(127, 0, 0, 0, 8), "loopback (127.0.0.0/8)"),
    (v4(169, 254, 0, 0, 16), "link-local (169.254.0.0/16)"),
    (v4(172, 16, 0, 0, 12), "private (172.16.0.0/12)"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments (192.0.0.0/24)"),
    (v4(192, 0, 2, 0, 24), "documentation (192.0.2.0/24)"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast (192.88.99.0/24)"),
    (v4(192, 168, 0, 0, 16), "private (192.168.0.0/16)"),
    (v4(198, 18, 0, 0, 15), "benchmarking (198.18.0.0/15)"),
    (v4(198, 51, 100, 0, 24), "documentation (198.51.100.0/24)"),
    (v4(203, 0, 113, 0, 24), "documentation (203.0.113.0/24)"),
    (v4(224, 0, 0, 0, 4), "multicast (224.0.0.0/4)"),
    (v4(240, 0, 0, 0, 4), "reserved (240.0.0.0/4, incl. broadcast)"),
];

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    Ipv4Net::new(net, len).map(|n| n.contains(&ip)).unwrap_or(false)
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_RANGES.iter().find(|(range, _)| in_v4(ip, *range)).map(|(_, name)| *name)
}

fn in_v6(ip: Ipv6Addr, net: &str) -> bool {
    net.parse::<Ipv6Net>().map(|n| n.contains(&ip)).unwrap_or(false)
}

fn embedded_v4(ip: Ipv6Addr, first_octet: usize) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[first_octet], o[first_octet + 1], o[first_octet + 2], o[first_octet + 3])
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    // Forms that carry an IPv4 address are judged by it.
    if in_v6(ip, "::ffff:0:0/96") {
        return forbidden_v4(embedded_v4(ip, 12));
    }
    if in_v6(ip, "::ffff:0:0:0/96") {
        return forbidden_v4(embedded_v4(ip, 12));
    }
    if in_v6(ip, "64:ff9b::/96") {
        return forbidden_v4(embedded_v4(ip, 12));
    }
    if in_v6(ip, "2002::/16") {
        return forbidden_v4(embedded_v4(ip, 2));
    }
    const V6_RANGES: &[(&str, &str)] = &[
        ("::/96", "IPv4-compatible (::/96, deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"),
        ("100::/64", "discard-only (100::/64)"),
        ("2001::/23", "IETF protocol assignments incl. Teredo (2001::/23)"),
        ("2001:db8::/32", "documentation (2001:db8::/32)"),
        ("3fff::/20", "documentation (3fff::/20)"),
        ("5f00::/16", "segment routing (5f00::/16)"),
        ("fc00::/7", "unique-local (fc00::/7)"),
        ("fe80::/10", "link-local (fe80::/10)"),
        ("fec0::/10", "site-local (fec0::/10, deprecated)"),
        ("ff00::/8", "multicast (ff00::/8)"),
    ];
    if let Some((_, name)) = V6_RANGES.iter().find(|(net, _)| in_v6(ip, net)) {
        return Some(name);
    }
    // Global unicast is 2000::/3; everything else is unassigned or reserved by IANA.
    if !in_v6(ip, "2000::/3") {
        return Some("reserved (outside 2000::/3)");
    }
    None
}

/// Which addresses may be connected to: the forbidden ranges unless private addresses are
/// allowed, minus an allow-list of networks.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Allow every address (tests and local demos only).
    pub allow_private: bool,
    /// Networks allowed even though they are in a forbidden range (e.g. an internal mirror).
    pub allowed_networks: Vec<IpNet>,
}

impl AddressPolicy {
    /// `Err(reason)` when the address must not be connected to.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        if self.allow_private {
            return Ok(());
        }
        let ip = canonical(ip);
        match forbidden_range(ip) {
            None => Ok(()),
            Some(_) if self.allowed_networks.iter().any(|n| n.contains(&ip)) => Ok(()),
            Some(range) => Err(range),
        }
    }
}

/// Checks one address against the policy (used for IP-literal hosts, which bypass DNS).
pub fn check_ip(policy: &AddressPolicy, ip: IpAddr) -> Result<(), &'static str> {
    policy.check(ip)
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are (for allow-list matching).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// A failed resolution, recognised by the fetcher in reqwest's error chain.
#[derive(Debug, Clone)]
pub enum ResolveError {
    /// The name resolved only to addresses the policy refuses.
    Forbidden { host: String, address: IpAddr, range: &'static str },
    /// The lookup failed (or returned nothing).
    Lookup { host: String, message: String, temporary: bool },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forbidden { host, address, range } => {
                write!(f, "{host} resolves to {address}, a forbidden address ({range})")
            }
            Self::Lookup { host, message, .. } => write!(f, "cannot resolve {host}: {message}"),
        }
    }
}

impl StdError for ResolveError {}

/// Whether a lookup failure may go away by itself (getaddrinfo's EAI_AGAIN, a timeout).
fn is_temporary_lookup_failure(err: &std::io::Error) -> bool {
    let msg = err.to_string().to_ascii_lowercase();
    msg.contains("temporary failure") || msg.contains("try again") || msg.contains("timed out")
}

/// The system resolver (getaddrinfo through tokio), keeping only the addresses the policy
/// allows. Its answer is what reqwest connects to.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy`.
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }

    /// Keeps the allowed addresses; refuses when none remain.
    pub fn filter(
        policy: &AddressPolicy,
        host: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let mut allowed = Vec::new();
        let mut refused = None;
        for addr in addrs {
            match policy.check(addr.ip()) {
                Ok(()) => allowed.push(addr),
                Err(range) => refused = refused.or(Some((addr.ip(), range))),
            }
        }
        match (allowed.is_empty(), refused) {
            (false, _) => Ok(allowed),
            (true, Some((address, range))) => {
                Err(ResolveError::Forbidden { host: host.to_owned(), address, range })
            }
            (true, None) => Err(ResolveError::Lookup {
                host: host.to_owned(),
                message: "no addresses".to_owned(),
                temporary: false,
            }),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found =
                tokio::net::lookup_host((host.as_str(), 0)).await.map_err(|e| ResolveError::Lookup {
                    host: host.clone(),
                    message: e.to_string(),
                    temporary: is_temporary_lookup_failure(&e),
                })?;
            let allowed = Self::filter(&policy, &host, found)?;
            tracing::trace!(%host, ?allowed, "resolved");
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        is_forbidden(s.parse().unwrap())
    }

    #[test]
    fn every_forbidden_ipv4_range_is_refused_at_both_ends() {
        let cases = [
            ("0.0.0.0", "0.255.255.255"),
            ("10.0.0.0", "10.255.255.255"),
            ("100.64.0.0", "100.127.255.255"),
            ("127.0.0.0", "127.255.255.255"),
            ("169.254.0.0", "169.254.255.255"),
            ("172.16.0.0", "172.31.255.255"),
            ("192.0.0.0", "192.0.0.255"),
            ("192.0.2.0", "192.0.2.255"),
            ("192.88.99.0", "192.88.99.255"),
            ("192.168.0.0", "192.168.255.255"),
            ("198.18.0.0", "198.19.255.255"),
            ("198.51.100.0", "198.51.100.255"),
            ("203.0.113.0", "203.0.113.255"),
            ("224.0.0.0", "239.255.255.255"),
            ("240.0.0.0", "255.255.255.255"),
        ];
        for (first, last) in cases {
            assert!(refused(first), "{first} must be refused");
            assert!(refused(last), "{last} must be refused");
        }
        for named in ["127.0.0.1", "169.254.169.254", "0.0.0.0", "255.255.255.255", "192.0.0.170"] {
            assert!(refused(named), "{named} must be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_next_to_the_forbidden_ranges_are_allowed() {
        for ok in [
            "1.1.1.1",
            "8.8.8.8",
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
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!refused(ok), "{ok} must be allowed");
        }
    }

    #[test]
    fn every_forbidden_ipv6_range_is_refused() {
        for bad in [
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "4000::1",
            "e000::1",
            "1::1",
        ] {
            assert!(refused(bad), "{bad} must be refused");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
        for bad in [
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:192.168.1.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
        ] {
            assert!(refused(bad), "{bad} must be refused");
        }
        for ok in ["::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "2606:4700::1111", "2a00:1450::1"]
        {
            assert!(!refused(ok), "{ok} must be allowed");
        }
    }

    #[test]
    fn the_policy_allows_everything_when_private_addresses_are_allowed() {
        let open = AddressPolicy { allow_private: true, allowed_networks: vec![] };
        assert!(open.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(open.check("fe80::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_allow_list_admits_only_its_networks() {
        let policy =
            AddressPolicy { allow_private: false, allowed_networks: vec!["127.0.0.1/32".parse().unwrap()] };
        assert!(policy.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert_eq!(policy.check("127.0.0.2".parse().unwrap()), Err("loopback (127.0.0.0/8)"));
        assert!(policy.check("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn the_resolver_filter_keeps_public_addresses_and_refuses_names_with_none() {
        let policy = AddressPolicy::default();
        let mixed: Vec<SocketAddr> = vec!["127.0.0.1:0".parse().unwrap(), "93.184.215.14:0".parse().unwrap()];
        let kept = GuardedResolver::filter(&policy, "mixed.example", mixed).unwrap();
        assert_eq!(kept, vec!["93.184.215.14:0".parse::<SocketAddr>().unwrap()]);

        let private: Vec<SocketAddr> = vec!["10.1.2.3:0".parse().unwrap(), "[fd00::1]:0".parse().unwrap()];
        let err = GuardedResolver::filter(&policy, "internal.example", private).unwrap_err();
        assert!(matches!(err, ResolveError::Forbidden { .. }), "{err}");
    }

    #[tokio::test]
    async fn the_resolver_refuses_localhost() {
        let resolver = GuardedResolver::new(Arc::new(AddressPolicy::default()));
        let err = match resolver.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let err = err.downcast_ref::<ResolveError>().expect("a ResolveError");
        assert!(matches!(err, ResolveError::Forbidden { .. }), "{err}");
    }
}
