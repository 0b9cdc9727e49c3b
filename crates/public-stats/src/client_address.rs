//! Who is asking: the address of the client behind a request, for per-address limits.
//!
//! It is the socket peer, unless the peer is one of the operator's own proxies
//! (`TRUSTED_PROXIES`, CIDR blocks): then the address those proxies recorded in `Forwarded`
//! (RFC 7239) or `X-Forwarded-For` is used, read from the right — the nearest hop first — and the
//! first address that is not itself a trusted proxy is the client. Anything a client wrote further
//! left is its own claim and is ignored, so a client cannot choose its address by sending the
//! header itself.
//!
//! The two headers are parsed here by hand: the job is a few lines (split on commas, take `for=`
//! or the bare address), and the crates that do it also decide whom to trust in ways that do not
//! match "trust only these networks".

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed. Empty: none, the peer is the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// Whether `peer` is one of the proxies, whose headers (forwarding, request id) are believed.
    pub fn is_proxy(&self, peer: SocketAddr) -> bool {
        self.trusts(peer.ip())
    }

    /// The client's address for a request that arrived from `peer` with `headers`.
    pub fn client_address(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer.ip());
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        // Nearest hop first; a trusted proxy's own entry means "ask further left".
        hops.into_iter()
            .rev()
            .find(|hop| !self.trusts(*hop))
            .unwrap_or(peer)
    }
}

/// `::ffff:1.2.3.4` is 1.2.3.4: the same client, whichever socket family it came through.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The addresses of every hop the proxies recorded, leftmost (farthest) first. `Forwarded` wins
/// when present, since it is the standard; unparseable entries (`unknown`, obfuscated ids) end
/// the list there, as nothing left of them can be tied to a proxy we trust.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        let elements = forwarded.iter().flat_map(|value| value.split(','));
        return rightmost_parsed(elements.map(forwarded_element_for).collect());
    }
    let entries: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| parse_address(entry.trim()))
        .collect();
    rightmost_parsed(entries)
}

/// The addresses right of the last entry that could not be read, in order.
fn rightmost_parsed(entries: Vec<Option<IpAddr>>) -> Vec<IpAddr> {
    let start = entries
        .iter()
        .rposition(Option::is_none)
        .map_or(0, |unreadable| unreadable + 1);
    entries[start..]
        .iter()
        .flatten()
        .map(|a| canonical(*a))
        .collect()
}

/// The `for=` of one `Forwarded` element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
fn forwarded_element_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_address(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:80`.
fn parse_address(text: &str) -> Option<IpAddr> {
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::new(cidrs.iter().map(|c| c.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let claims = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(peer("198.51.100.7"), &claims),
            ip("198.51.100.7")
        );
        let other = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            other.client_address(peer("198.51.100.7"), &claims),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client forged the leftmost entry; the proxy appended the real one.
        let forged = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        assert_eq!(
            trusted.client_address(peer("10.1.2.3"), &forged),
            ip("203.0.113.9")
        );
        // Two trusted proxies in a row.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.9.9.9")]);
        assert_eq!(
            trusted.client_address(peer("10.1.2.3"), &chain),
            ip("203.0.113.9")
        );
        // No header: the proxy itself is all we know.
        assert_eq!(
            trusted.client_address(peer("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn forwarded_is_read_with_ports_brackets_and_quotes_and_wins() {
        let trusted = proxies(&["10.0.0.0/8", "::1/128"]);
        let both = headers(&[
            (
                "forwarded",
                "for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            trusted.client_address(peer("::1"), &both),
            ip("2001:db8:cafe::17")
        );
        let unknown_right = headers(&[("forwarded", "for=192.0.2.43, for=unknown")]);
        assert_eq!(
            trusted.client_address(peer("10.0.0.1"), &unknown_right),
            ip("10.0.0.1"),
            "nothing readable right of an unknown hop"
        );
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_networks() {
        let trusted = proxies(&["127.0.0.0/8"]);
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client_address(peer("::ffff:127.0.0.1"), &forwarded),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client_address(peer("::ffff:198.51.100.7"), &forwarded),
            ip("198.51.100.7")
        );
    }
}
