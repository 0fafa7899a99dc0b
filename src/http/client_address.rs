//! Who the client is: the socket's peer, or, behind trusted proxies, the
//! address they say in `X-Forwarded-For` — believed only when the peer is
//! one of those proxies, so a client reaching the service directly cannot
//! choose its own rate-limit bucket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, Request};
use ipnet::IpNet;

/// `--trust-proxy N` and `--trusted-proxies`.
#[derive(Clone, Debug, Default)]
pub struct ProxyTrust {
    /// Proxies in front (0: none; the header is never read).
    hops: usize,
    /// The peers whose `X-Forwarded-For` is read.
    trusted: Vec<IpNet>,
}

impl ProxyTrust {
    /// `trusted` empty means loopback (a proxy on the same host).
    pub fn new(hops: usize, trusted: Vec<IpNet>) -> Self {
        let trusted = if trusted.is_empty() {
            ["127.0.0.0/8", "::1/128"]
                .into_iter()
                .filter_map(|network| network.parse().ok())
                .collect()
        } else {
            trusted
        };
        Self { hops, trusted }
    }

    /// The client's address: the socket's peer, or, when that peer is a
    /// trusted proxy and `hops` = N, the Nth address from the right of
    /// `X-Forwarded-For` (each proxy appends the address it saw), or its
    /// leftmost if it holds fewer. A hop that is not an address gives the
    /// peer: the client is never put in a bucket with strangers.
    pub fn client_address<B>(&self, request: &Request<B>) -> IpAddr {
        self.client_address_of(request.extensions(), request.headers())
    }

    /// [`ProxyTrust::client_address`] from a request's parts.
    pub fn client_address_of(&self, extensions: &Extensions, headers: &HeaderMap) -> IpAddr {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| {
                peer.ip()
            });
        if self.hops == 0 || !self.is_trusted(peer) {
            return peer;
        }
        forwarded_address(headers, self.hops).unwrap_or(peer)
    }

    fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            IpAddr::V4(_) => peer,
        };
        self.trusted.iter().any(|network| network.contains(&peer))
    }
}

fn forwarded_address(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let all: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let index = all.len().saturating_sub(hops);
    parse_hop(all.get(index)?)
}

/// An address as proxies write it: bare, or with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|address| address.ip()))
}

/// A request from `peer`, with `X-Forwarded-For: forwarded` when given.
#[cfg(test)]
pub(crate) fn test_request(peer: &str, forwarded: Option<&str>) -> Request<()> {
    let mut request = Request::new(());
    request
        .extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    if let Some(forwarded) = forwarded {
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> Request<()> {
        test_request(peer, forwarded)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusting(hops: usize, networks: &[&str]) -> ProxyTrust {
        ProxyTrust::new(hops, networks.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn the_socket_address_is_used_unless_proxies_are_trusted() {
        let spoofed = request("203.0.113.7:5000", Some("198.51.100.1"));
        assert_eq!(trusting(0, &[]).client_address(&spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn with_n_trusted_proxies_the_nth_address_from_the_right_is_the_client() {
        let through_two = request("10.0.0.2:5000", Some("198.51.100.1, 192.0.2.50, 10.0.0.1"));
        let trust = |hops| trusting(hops, &["10.0.0.0/8"]);
        assert_eq!(trust(1).client_address(&through_two), ip("10.0.0.1"));
        assert_eq!(trust(2).client_address(&through_two), ip("192.0.2.50"));
        assert_eq!(trust(5).client_address(&through_two), ip("198.51.100.1"));
        let without_header = request("10.0.0.2:5000", None);
        assert_eq!(trust(1).client_address(&without_header), ip("10.0.0.2"));
    }

    #[test]
    fn a_peer_outside_the_trusted_networks_is_the_client_whatever_it_forwards() {
        let forged = request("203.0.113.7:5000", Some("198.51.100.1"));
        assert_eq!(
            trusting(1, &["10.0.0.0/8"]).client_address(&forged),
            ip("203.0.113.7")
        );
        assert_eq!(trusting(1, &[]).client_address(&forged), ip("203.0.113.7"));
        let local = request("127.0.0.1:5000", Some("198.51.100.1"));
        assert_eq!(trusting(1, &[]).client_address(&local), ip("198.51.100.1"));
        let mapped = request("[::ffff:10.1.1.1]:5000", Some("198.51.100.1"));
        assert_eq!(
            trusting(1, &["10.0.0.0/8"]).client_address(&mapped),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_unparsable_hop_is_the_peer_and_a_hop_with_a_port_is_its_address() {
        let garbage = request("10.0.0.2:5000", Some("unknown"));
        let trust = trusting(1, &["10.0.0.0/8"]);
        assert_eq!(trust.client_address(&garbage), ip("10.0.0.2"));
        let with_port = request("10.0.0.2:5000", Some("[2001:db8::1]:4711"));
        assert_eq!(trust.client_address(&with_port), ip("2001:db8::1"));
        let v4_port = request("10.0.0.2:5000", Some("192.0.2.9:4711"));
        assert_eq!(trust.client_address(&v4_port), ip("192.0.2.9"));
    }
}
