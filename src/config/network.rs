//! Value types of the network settings: the proxies trusted to say who the
//! client is, and the host names the service answers to.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// A network of trusted proxies: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNetwork(pub IpNet);

impl FromStr for ProxyNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(network) = text.parse::<IpNet>() {
            return Ok(Self(network.trunc()));
        }
        text.parse::<IpAddr>()
            .map(|address| Self(IpNet::from(address)))
            .map_err(|_| format!("{text:?} is not an address or a CIDR network (10.0.0.0/8)"))
    }
}

/// A `Host` the service answers to: a name or address, with an optional
/// port (`accounts.example.com`, `127.0.0.1:3000`, `[::1]`). Without a port
/// it matches any port; `*` matches every host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// Lower case; an IPv6 address in brackets.
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Whether a request's `Host` header value names this host.
    pub fn matches(&self, header: &str) -> bool {
        if self.host == "*" {
            return true;
        }
        match split_host(header) {
            Some((host, port)) => {
                host.eq_ignore_ascii_case(&self.host)
                    && self.port.is_none_or(|wanted| port == Some(wanted))
            }
            None => false,
        }
    }

    /// `host` with any port.
    pub fn any_port(host: &str) -> Self {
        Self {
            host: host.to_ascii_lowercase(),
            port: None,
        }
    }
}

impl FromStr for AllowedHost {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "*" {
            return Ok(Self::any_port("*"));
        }
        let refuse =
            || format!("{text:?} is not a host name or address with an optional port, or *");
        let (host, port) = split_host(text).ok_or_else(refuse)?;
        let valid_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.'));
        let valid_ipv6 = host.starts_with('[')
            && host.ends_with(']')
            && host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok();
        if !(valid_name || valid_ipv6) {
            return Err(refuse());
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// `host[:port]` or `[v6][:port]`; `None` when the port is not a number.
fn split_host(text: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let rest = &text[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return None,
        };
        (&text[..=end], port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_networks_are_cidrs_or_single_addresses() {
        assert_eq!(
            "10.1.2.3/8".parse::<ProxyNetwork>().unwrap().0,
            "10.0.0.0/8".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            "192.0.2.1".parse::<ProxyNetwork>().unwrap().0,
            "192.0.2.1/32".parse::<IpNet>().unwrap()
        );
        assert!("::1".parse::<ProxyNetwork>().is_ok());
        for bad in ["", "10.0.0.0/33", "proxy.internal", "10.0.0.0/8,"] {
            assert!(bad.parse::<ProxyNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_allowed_host_without_a_port_matches_any_port_and_ignores_case() {
        let host: AllowedHost = "Accounts.Example.com".parse().unwrap();
        assert!(host.matches("accounts.example.com"));
        assert!(host.matches("ACCOUNTS.example.com:8443"));
        assert!(!host.matches("evil.example.com"));
        assert!(!host.matches("accounts.example.com.evil.test"));
        let with_port: AllowedHost = "127.0.0.1:3000".parse().unwrap();
        assert!(with_port.matches("127.0.0.1:3000"));
        assert!(!with_port.matches("127.0.0.1:3001"));
        assert!(!with_port.matches("127.0.0.1"));
        let ipv6: AllowedHost = "[::1]".parse().unwrap();
        assert!(ipv6.matches("[::1]:3000"));
        assert!(!ipv6.matches("[::2]:3000"));
    }

    #[test]
    fn a_star_allows_every_host() {
        let any: AllowedHost = "*".parse().unwrap();
        assert!(any.matches("anything.example:1"));
    }

    #[test]
    fn malformed_allowed_hosts_are_refused() {
        for bad in [
            "",
            "a b",
            "host:port",
            "[::1",
            "[nonsense]",
            "x/y",
            "*.example.com",
        ] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad}");
        }
    }
}
