//! Who a request came from, as far as the account history keeps it: the
//! client address truncated to its network (IPv4 /24, IPv6 /48), so the
//! user can tell "home" from "abroad" without the service keeping exact
//! addresses, and the first 256 characters of the `User-Agent`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Characters of a `User-Agent` that are kept.
pub const USER_AGENT_LIMIT: usize = 256;

/// The device and network a session or event came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOrigin {
    /// `203.0.113.0/24` or `2001:db8:1::/48`.
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientOrigin {
    pub fn new(address: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            address: address.map(truncated_network),
            user_agent: user_agent
                .map(|agent| {
                    agent
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(USER_AGENT_LIMIT)
                        .collect::<String>()
                })
                .filter(|agent| !agent.is_empty()),
        }
    }
}

/// The network of `address`: IPv4 (and IPv4-mapped IPv6) to /24, IPv6 to /48.
pub fn truncated_network(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4_network(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_network(v4),
            None => {
                let segments = v6.segments();
                let network = Ipv6Addr::new(segments[0], segments[1], segments[2], 0, 0, 0, 0, 0);
                format!("{network}/48")
            }
        },
    }
}

fn v4_network(address: Ipv4Addr) -> String {
    let [a, b, c, _] = address.octets();
    format!("{}/24", Ipv4Addr::new(a, b, c, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_as_their_network() {
        for (address, network) in [
            ("203.0.113.77", "203.0.113.0/24"),
            ("127.0.0.1", "127.0.0.0/24"),
            ("::ffff:198.51.100.9", "198.51.100.0/24"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"),
            ("::1", "::/48"),
        ] {
            let parsed: IpAddr = address.parse().unwrap();
            assert_eq!(truncated_network(parsed), network, "{address}");
        }
    }

    #[test]
    fn a_user_agent_is_cut_to_256_characters_without_control_characters() {
        let long = "é".repeat(300);
        let origin = ClientOrigin::new(None, Some(&long));
        assert_eq!(
            origin.user_agent.map(|agent| agent.chars().count()),
            Some(256)
        );
        let origin = ClientOrigin::new(None, Some("curl/8\n\u{7}x"));
        assert_eq!(origin.user_agent.as_deref(), Some("curl/8x"));
        assert_eq!(ClientOrigin::new(None, Some("")).user_agent, None);
    }
}
