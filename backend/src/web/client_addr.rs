//! Who the client is: the connection's peer, or, when the peer is one of the operator's
//! `--trusted-proxies`, the rightmost address in `X-Forwarded-For` that is not a trusted
//! proxy (the one the nearest trusted proxy saw). A client can write anything to the left of
//! that in the header, so nothing further left is believed. Without trusted proxies the
//! header is ignored.
//!
//! Limits per address count IPv6 clients per /64 ([`limit_key`]): one host usually holds a
//! whole /64 and could otherwise step past any per-address limit.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses or CIDR ranges, e.g. `127.0.0.1,10.0.0.0/8,::1`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("{item:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8)")
                })?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        // All X-Forwarded-For headers, in order, as one list of entries; read from the right.
        // Read as bytes and split on commas first, so that a bad entry (a byte that is not
        // ASCII, garbage) is only that entry: a proxy appends the real client to whatever line
        // the client sent, so dropping the whole line would give the client away.
        let forwarded: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .collect();
        let mut client = canonical(peer);
        for entry in forwarded.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                // Not an address (a proxy that writes something else): stop at the last
                // hop known.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry as an address (`None` for anything else).
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(entry).ok()?.parse().ok()
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The key an address is limited under: IPv4 as it is, IPv6 by its /64 network.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The client's address (IP only) for the audit log and the per-address limit, when the
/// server knows it: the peer, or behind `--trusted-proxies` the address they forwarded. The
/// HTTP extractor is in `extract.rs`.
#[derive(Debug, Clone, Default)]
pub struct ClientAddr(pub Option<IpAddr>, Option<String>);

impl ClientAddr {
    pub fn new(ip: Option<IpAddr>) -> Self {
        Self(ip, ip.map(|ip| ip.to_string()))
    }

    /// The address as text.
    pub fn as_deref(&self) -> Option<&str> {
        self.1.as_deref()
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("10.0.0.1"), &headers(&["192.0.2.7"])),
            ip("10.0.0.1")
        );
        let trusted: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &headers(&["192.0.2.7"])),
            ip("192.0.2.7")
        );
        assert_eq!(
            trusted.client_ip(ip("::1"), &headers(&["192.0.2.7"])),
            ip("192.0.2.7")
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            trusted.client_ip(ip("192.0.2.9"), &headers(&["192.0.2.7"])),
            ip("192.0.2.9")
        );
        // No header: the proxy itself.
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &headers(&[])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_address_wins_over_what_the_client_wrote() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // The client wrote 203.0.113.1 itself; the proxy appended the real 192.0.2.7; a
        // second trusted proxy appended the first.
        let forwarded = headers(&["203.0.113.1, 192.0.2.7", "10.0.0.2"]);
        assert_eq!(
            trusted.client_ip(ip("10.0.0.1"), &forwarded),
            ip("192.0.2.7")
        );
        let garbage = headers(&["203.0.113.1, not-an-ip"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
        let mapped = headers(&["::ffff:192.0.2.7"]);
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &mapped), ip("192.0.2.7"));
    }

    #[test]
    fn a_bad_entry_is_only_that_entry_not_the_whole_line() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let line = |bytes: &[u8]| {
            let mut map = HeaderMap::new();
            map.append(
                "x-forwarded-for",
                axum::http::HeaderValue::from_bytes(bytes).unwrap(),
            );
            map
        };
        // The client wrote a byte that is not ASCII; the proxy appended the real address.
        for written in [&b"\xff"[..], b"caf\xc3\xa9, 198.51.100.1", b"\x80garbage\t"] {
            let mut bytes = written.to_vec();
            bytes.extend_from_slice(b", 203.0.113.7");
            assert_eq!(
                trusted.client_ip(ip("10.0.0.1"), &line(&bytes)),
                ip("203.0.113.7"),
                "{bytes:?}"
            );
        }
        // Behind a second trusted proxy, on another line.
        let mut two = line(b"\xfe\xff, 203.0.113.7, 10.0.0.3");
        two.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &two), ip("203.0.113.7"));
        // A bad entry where the proxy's own entry should be still stops the walk there.
        let bad_last = line(b"203.0.113.7, \xff");
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &bad_last), ip("10.0.0.1"));
    }

    #[test]
    fn bad_settings_are_refused_with_the_item() {
        let error = "10.0.0.0/8,proxy.example"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(error.contains("proxy.example"), "{error}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }

    #[test]
    fn ipv6_is_limited_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:ffff::9")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(limit_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }
}
