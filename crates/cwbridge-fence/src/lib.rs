#![doc = include_str!("../README.md")]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub use ipnet::IpNet;
pub use reqwest::Url;

// Which addresses are not public.
pub mod rules;

pub use rules::{Reserved, classify};

/// Which addresses and schemes a fenced client may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    open: bool,
    allow: Vec<IpNet>,
    allow_http: bool,
    ports: Vec<u16>,
}

/// The ports a tenant's site may use unless the operator allows more: https's (and http's,
/// where plain http is allowed). Hosts written as addresses inside an allowed network may use
/// any port.
pub const DEFAULT_PORTS: [u16; 2] = [443, 80];

impl Default for Fence {
    fn default() -> Self {
        Fence::public_only()
    }
}

/// Why the fence refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The address is not public and no allowed network holds it.
    #[error(
        "{ip} is {}; cwbridge connects only to public addresses unless the operator allows this network",
        .reserved.describe()
    )]
    Address {
        /// The address.
        ip: IpAddr,
        /// Its range.
        reserved: Reserved,
    },
    /// The host name resolves only to refused addresses. The address itself is not said:
    /// what an internal name resolves to is the operator's to know, not a tenant's.
    #[error(
        "{host} resolves only to addresses that are not public ({}); cwbridge connects only to public addresses unless the operator allows this network",
        .reserved.describe()
    )]
    Resolved {
        /// The name.
        host: String,
        /// The first refused address it resolved to (kept for logs, never in the message).
        ip: IpAddr,
        /// Its range.
        reserved: Reserved,
    },
    /// A port the operator has not allowed, on a host outside the allowed networks: without
    /// this rule any tenant could probe every port of every public host from the vendor's
    /// address.
    #[error(
        "port {port} is not one cwbridge connects to (ConnectWise answers on 443); the operator can allow it (--allow-port)"
    )]
    Port {
        /// The port given.
        port: u16,
    },
    /// Plain `http` where the operator has not allowed it.
    #[error(
        "ConnectWise is reached over https; `{scheme}://` is used only where the operator allows plain http"
    )]
    Scheme {
        /// The scheme given.
        scheme: String,
    },
}

impl Fence {
    /// Public addresses over https only: the default for tenants.
    pub fn public_only() -> Fence {
        Fence {
            open: false,
            allow: Vec::new(),
            allow_http: false,
            ports: Vec::new(),
        }
    }

    /// No fence at all: for a person's own calls (`cwbridge api`), never for a tenant's.
    pub fn open() -> Fence {
        Fence {
            open: true,
            allow: Vec::new(),
            allow_http: true,
            ports: Vec::new(),
        }
    }

    /// Also allows addresses in `network` (an on-premise ConnectWise over a private link).
    pub fn allow_network(mut self, network: IpNet) -> Fence {
        self.allow.push(network.trunc());
        self
    }

    /// Also allows this port on any host (an on-premise ConnectWise published on 8443, say).
    pub fn allow_port(mut self, port: u16) -> Fence {
        self.ports.push(port);
        self
    }

    /// Allows plain `http` sites too.
    pub fn allow_http(mut self, yes: bool) -> Fence {
        self.allow_http = yes;
        self
    }

    /// The networks allowed beyond public addresses.
    pub fn allowed_networks(&self) -> &[IpNet] {
        &self.allow
    }

    /// Whether plain `http` is allowed.
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// Whether this fence lets everything through.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether the fence lets a connection to `ip` through.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.open {
            return Ok(());
        }
        let canonical = ip.to_canonical();
        // An IPv6 form carrying an IPv4 address (NAT64, 6to4, IPv4-compatible) is also
        // judged by that address, even inside an allowed IPv6 network: allowing
        // 64:ff9b::/96 does not allow 64:ff9b::127.0.0.1.
        if let IpAddr::V6(v6) = canonical
            && let Some(v4) = rules::embedded_ipv4(v6)
            && !self.allow.iter().any(|net| net.contains(&IpAddr::V4(v4)))
            && let Some(reserved) = rules::classify_v4(v4)
        {
            return Err(Refused::Address {
                ip: canonical,
                reserved,
            });
        }
        if self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(reserved) => Err(Refused::Address {
                ip: canonical,
                reserved,
            }),
        }
    }

    /// Checks a URL's scheme and, when its host is written as an address, that address.
    /// A host name is checked when it is resolved ([`Fence::resolver`], [`Fence::check_host`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if self.open {
            return Ok(());
        }
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(Refused::Scheme {
                    scheme: other.to_owned(),
                });
            }
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            self.check_ip(ip)?;
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let default = match url.scheme() {
            "https" => port == DEFAULT_PORTS[0],
            _ => port == DEFAULT_PORTS[1],
        };
        let in_allowed_network = literal.is_some_and(|ip| {
            let canonical = ip.to_canonical();
            self.allow
                .iter()
                .any(|net| net.contains(&ip) || net.contains(&canonical))
        });
        if default || in_allowed_network || self.ports.contains(&port) {
            Ok(())
        } else {
            Err(Refused::Port { port })
        }
    }

    /// Resolves `host` and checks its addresses, for telling a person at once that the site
    /// they typed is refused. A name that does not resolve is not refused here: reaching it
    /// fails later with its own message.
    pub async fn check_host(&self, host: &str) -> Result<(), Refused> {
        if self.open {
            return Ok(());
        }
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self.check_ip(ip);
        }
        match self.resolve(host).await {
            Ok(_) | Err(Lookup::Failed(_)) => Ok(()),
            Err(Lookup::Refused(r)) => Err(r),
        }
    }

    /// The addresses of `host` the fence lets through; refused when there are none.
    async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, Lookup> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(Lookup::Failed)?
            .collect();
        let mut refused = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| match self.check_ip(a.ip()) {
                Ok(()) => true,
                Err(r) => {
                    refused.get_or_insert(r);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), refused) {
            (true, Some(Refused::Address { ip, reserved })) => {
                Err(Lookup::Refused(Refused::Resolved {
                    host: host.to_owned(),
                    ip,
                    reserved,
                }))
            }
            _ => Ok(allowed),
        }
    }

    /// A resolver for `reqwest::ClientBuilder::dns_resolver` that answers only addresses
    /// this fence lets through.
    pub fn resolver(&self) -> Arc<FencedResolver> {
        Arc::new(FencedResolver {
            fence: self.clone(),
        })
    }

    /// Parses a URL the way the HTTP client will, so a check sees the host it connects to.
    pub fn parse_url(text: &str) -> Result<Url, url::ParseError> {
        Url::parse(text)
    }

    /// Parses an allowed network as an operator writes it: `10.20.0.0/16`, `192.0.2.7`
    /// (one address), `fd00::/8`.
    pub fn parse_network(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                format!("`{text}` is not a network: write it as 10.20.0.0/16, or one address")
            })
    }
}

enum Lookup {
    Failed(std::io::Error),
    Refused(Refused),
}

/// The HTTP client's resolver behind a [`Fence`]: connects only to what it checked.
#[derive(Debug)]
pub struct FencedResolver {
    fence: Fence,
}

impl reqwest::dns::Resolve for FencedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let fence = self.fence.clone();
        Box::pin(async move {
            match fence.resolve(name.as_str()).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(Lookup::Failed(e)) => Err(Box::new(e) as _),
                Err(Lookup::Refused(r)) => Err(Box::new(r) as _),
            }
        })
    }
}

/// The fence's refusal somewhere in an error's chain of causes (a request refused by the
/// resolver surfaces inside the HTTP client's error).
pub fn refusal_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
    let mut cur: Option<&'e (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn every_spelling_of_loopback_gets_the_same_answer() {
        let fence = Fence::public_only();
        for site in [
            "https://127.0.0.1:8443",
            "https://0x7f.0.0.1:8443",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://017700000001/",
            "https://127.1/",
            "https://[::ffff:127.0.0.1]:8443",
            "https://[::ffff:7f00:1]/",
        ] {
            let refused = fence.check_url(&url(site)).unwrap_err();
            assert_eq!(
                refused.to_string(),
                "127.0.0.1 is a loopback address; cwbridge connects only to public addresses unless the operator allows this network",
                "{site}"
            );
        }
        assert!(
            fence
                .check_url(&url("https://[::1]/"))
                .unwrap_err()
                .to_string()
                .starts_with("::1 is a loopback address")
        );
        assert!(
            fence
                .check_url(&url("https://169.254.169.254/"))
                .unwrap_err()
                .to_string()
                .contains("link-local")
        );
    }

    #[test]
    fn only_https_port_unless_allowed_or_inside_an_allowed_network() {
        let fence = Fence::public_only();
        assert!(fence.check_url(&url("https://8.8.8.8/")).is_ok());
        assert!(fence.check_url(&url("https://cw.example.com:443/")).is_ok());
        assert_eq!(
            fence.check_url(&url("https://cw.example.com:22/")),
            Err(Refused::Port { port: 22 })
        );
        assert!(matches!(
            fence.check_url(&url("https://8.8.8.8:6379/")),
            Err(Refused::Port { port: 6379 })
        ));
        let allowed = fence
            .clone()
            .allow_port(8443)
            .allow_network("10.0.0.0/8".parse().unwrap());
        assert!(
            allowed
                .check_url(&url("https://cw.example.com:8443/"))
                .is_ok()
        );
        assert!(allowed.check_url(&url("https://10.1.2.3:9000/")).is_ok());
        assert!(
            allowed
                .check_url(&url("https://cw.example.com:9000/"))
                .is_err()
        );
        // A refused address is named before its port.
        assert!(matches!(
            fence.check_url(&url("https://127.0.0.2:8443/")),
            Err(Refused::Address { .. })
        ));
    }

    #[test]
    fn http_needs_the_operator_and_other_schemes_never_pass() {
        let fence = Fence::public_only();
        assert!(fence.check_url(&url("https://8.8.8.8/")).is_ok());
        assert!(matches!(
            fence.check_url(&url("http://8.8.8.8/")),
            Err(Refused::Scheme { .. })
        ));
        assert!(
            fence
                .clone()
                .allow_http(true)
                .check_url(&url("http://8.8.8.8/"))
                .is_ok()
        );
        assert!(
            fence
                .allow_http(true)
                .check_url(&url("ftp://8.8.8.8/"))
                .is_err()
        );
    }

    #[test]
    fn an_allowed_network_lets_exactly_its_addresses_through() {
        let fence = Fence::public_only().allow_network(Fence::parse_network("127.0.0.1").unwrap());
        assert!(fence.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(fence.check_ip("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(fence.check_ip("127.0.0.2".parse().unwrap()).is_err());
        let wide =
            Fence::public_only().allow_network(Fence::parse_network("10.20.0.0/16").unwrap());
        assert!(wide.check_ip("10.20.3.4".parse().unwrap()).is_ok());
        assert!(wide.check_ip("10.21.0.1".parse().unwrap()).is_err());
        assert!(Fence::parse_network("10.0.0.0/33").is_err());
        assert!(Fence::parse_network("example.com").is_err());
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let fence = Fence::public_only();
        let refused = fence.check_host("localhost").await.unwrap_err();
        assert!(
            refused.to_string().starts_with(
                "localhost resolves only to addresses that are not public (a loopback address)"
            ),
            "{refused}"
        );
        assert!(!refused.to_string().contains("127.0.0.1"), "{refused}");
        assert!(fence.check_host("[::1]").await.is_err());
        // A name that does not resolve is left to fail when it is reached.
        assert!(fence.check_host("no-such-host.invalid").await.is_ok());
        let allowed = fence
            .clone()
            .allow_network("127.0.0.0/8".parse().unwrap())
            .allow_network("::1/128".parse().unwrap());
        assert!(allowed.check_host("localhost").await.is_ok());
        assert!(Fence::open().check_host("localhost").await.is_ok());
    }
}
