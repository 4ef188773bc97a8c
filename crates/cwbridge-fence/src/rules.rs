//! Which addresses are not public: a pure function over every special-purpose range of the
//! IANA IPv4 and IPv6 registries, with IPv6 forms that carry an IPv4 address judged by that
//! address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not one the bridge connects to for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reserved {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8` ("this network").
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`) and unique-local IPv6 (`fc00::/7`).
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedAddressSpace,
    /// `169.254.0.0/16` (where clouds serve instance metadata) and `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Everything else set aside: `240.0.0.0/4`, IETF protocol assignments, 6to4 relays,
    /// Teredo, ORCHID, discard-only, deprecated site-local and IPv4-compatible IPv6, and any
    /// IPv6 address outside global unicast (`2000::/3`).
    Reserved,
}

impl Reserved {
    /// The range's name as a sentence uses it: "a loopback address".
    pub fn describe(self) -> &'static str {
        match self {
            Reserved::Unspecified => "the unspecified address",
            Reserved::ThisNetwork => "a \"this network\" address",
            Reserved::Loopback => "a loopback address",
            Reserved::Private => "a private address",
            Reserved::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Reserved::LinkLocal => "a link-local address (where clouds serve instance metadata)",
            Reserved::Multicast => "a multicast address",
            Reserved::Broadcast => "the broadcast address",
            Reserved::Documentation => "a documentation address",
            Reserved::Benchmarking => "a benchmarking address",
            Reserved::Reserved => "a reserved address",
        }
    }
}

/// IPv4 special-purpose ranges: network, prefix length, why.
const V4: &[(u32, u8, Reserved)] = &[
    (0x0000_0000, 8, Reserved::ThisNetwork),
    (0x0a00_0000, 8, Reserved::Private),
    (0x6440_0000, 10, Reserved::SharedAddressSpace),
    (0x7f00_0000, 8, Reserved::Loopback),
    (0xa9fe_0000, 16, Reserved::LinkLocal),
    (0xac10_0000, 12, Reserved::Private),
    (0xc000_0000, 24, Reserved::Reserved), // IETF protocol assignments
    (0xc000_0200, 24, Reserved::Documentation),
    (0xc058_6300, 24, Reserved::Reserved), // 6to4 relay anycast
    (0xc0a8_0000, 16, Reserved::Private),
    (0xc612_0000, 15, Reserved::Benchmarking),
    (0xc633_6400, 24, Reserved::Documentation),
    (0xcb00_7100, 24, Reserved::Documentation),
    (0xe000_0000, 4, Reserved::Multicast),
    (0xf000_0000, 4, Reserved::Reserved),
];

/// Why an IPv4 address is not public, or `None` when it is.
pub fn classify_v4(ip: Ipv4Addr) -> Option<Reserved> {
    let n = u32::from(ip);
    if n == 0 {
        return Some(Reserved::Unspecified);
    }
    if n == u32::MAX {
        return Some(Reserved::Broadcast);
    }
    V4.iter()
        .find(|(net, len, _)| n >> (32 - len) == net >> (32 - len))
        .map(|&(_, _, why)| why)
}

/// Why an IP address is not public, or `None` when it is. IPv6 forms that carry an IPv4
/// address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by
/// the IPv4 address they carry.
pub fn classify(ip: IpAddr) -> Option<Reserved> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The IPv4 address an IPv6 form carries: mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`), NAT64's well-known prefix (`64:ff9b::/96`) or 6to4 (`2002::/16`).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let n = u128::from(ip);
    let in_net = |net: u128, len: u32| n >> (128 - len) == net >> (128 - len);
    if in_net(0xffff_0000_0000, 96)
        || in_net(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96)
        || (in_net(0, 96) && n > 1)
    {
        return Some(Ipv4Addr::from(n as u32));
    }
    if in_net(0x2002 << 112, 16) {
        return Some(Ipv4Addr::from((n >> 80) as u32));
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> Option<Reserved> {
    let n = u128::from(ip);
    let in_net = |net: u128, len: u32| n >> (128 - len) == net >> (128 - len);
    let low32 = Ipv4Addr::from(n as u32);
    if n == 0 {
        return Some(Reserved::Unspecified);
    }
    if n == 1 {
        return Some(Reserved::Loopback);
    }
    // ::ffff:a.b.c.d — the IPv4 address itself, as sockets treat it.
    if in_net(0xffff_0000_0000, 96) {
        return classify_v4(low32);
    }
    // NAT64's well-known prefix reaches the IPv4 address it carries.
    if in_net(0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return classify_v4(low32);
    }
    // 6to4 carries an IPv4 address in bits 16..48.
    if in_net(0x2002 << 112, 16) {
        let v4 = Ipv4Addr::from((n >> 80) as u32);
        return classify_v4(v4).or(Some(Reserved::Reserved));
    }
    const V6: &[(u128, u32, Reserved)] = &[
        (0x0064_ff9b_0001 << 80, 48, Reserved::Private), // local-use NAT64
        // ::a.b.c.d (deprecated IPv4-compatible), ::ffff:0:0:0/96 (SIIT) and the rest of ::/8.
        (0, 8, Reserved::Reserved),
        (0x0100 << 112, 64, Reserved::Reserved), // discard-only
        (0x2001_0db8 << 96, 32, Reserved::Documentation),
        (0x2001_0002 << 96, 48, Reserved::Benchmarking),
        (0x2001 << 112, 23, Reserved::Reserved), // IETF protocol assignments, Teredo, ORCHID
        (0x3fff << 112, 20, Reserved::Documentation),
        (0xfc00 << 112, 7, Reserved::Private),
        (0xfe80 << 112, 10, Reserved::LinkLocal),
        (0xfec0 << 112, 10, Reserved::Reserved), // deprecated site-local
        (0xff00 << 112, 8, Reserved::Multicast),
    ];
    if let Some(&(_, _, why)) = V6.iter().find(|(net, len, _)| in_net(*net, *len)) {
        return Some(why);
    }
    // Only global unicast is routed on the Internet.
    if !in_net(0x2000 << 112, 3) {
        return Some(Reserved::Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(s: &str) -> Option<Reserved> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn every_ipv4_range_is_named() {
        for (ip, expected) in [
            ("0.0.0.0", Reserved::Unspecified),
            ("0.1.2.3", Reserved::ThisNetwork),
            ("10.0.0.1", Reserved::Private),
            ("10.255.255.255", Reserved::Private),
            ("100.64.0.1", Reserved::SharedAddressSpace),
            ("100.127.255.255", Reserved::SharedAddressSpace),
            ("127.0.0.1", Reserved::Loopback),
            ("127.255.255.254", Reserved::Loopback),
            ("169.254.169.254", Reserved::LinkLocal),
            ("172.16.0.1", Reserved::Private),
            ("172.31.255.255", Reserved::Private),
            ("192.0.0.8", Reserved::Reserved),
            ("192.0.2.1", Reserved::Documentation),
            ("192.88.99.1", Reserved::Reserved),
            ("192.168.1.1", Reserved::Private),
            ("198.18.0.1", Reserved::Benchmarking),
            ("198.19.255.255", Reserved::Benchmarking),
            ("198.51.100.7", Reserved::Documentation),
            ("203.0.113.9", Reserved::Documentation),
            ("224.0.0.1", Reserved::Multicast),
            ("239.255.255.250", Reserved::Multicast),
            ("240.0.0.1", Reserved::Reserved),
            ("255.255.255.254", Reserved::Reserved),
            ("255.255.255.255", Reserved::Broadcast),
        ] {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_and_range_edges_pass() {
        for ip in [
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
            "192.0.1.255",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_ipv6_range_is_named() {
        for (ip, expected) in [
            ("::", Reserved::Unspecified),
            ("::1", Reserved::Loopback),
            ("fc00::1", Reserved::Private),
            ("fd12:3456::1", Reserved::Private),
            ("fe80::1", Reserved::LinkLocal),
            ("febf::1", Reserved::LinkLocal),
            ("fec0::1", Reserved::Reserved),
            ("ff02::1", Reserved::Multicast),
            ("2001:db8::1", Reserved::Documentation),
            ("3fff::1", Reserved::Documentation),
            ("2001:2::1", Reserved::Benchmarking),
            ("2001::1", Reserved::Reserved),
            ("2001:10::1", Reserved::Reserved),
            ("100::1", Reserved::Reserved),
            ("64:ff9b:1::1", Reserved::Private),
            ("4000::1", Reserved::Reserved),
            ("::2", Reserved::Reserved),
        ] {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Some(Reserved::Loopback)),
            ("::ffff:7f00:1", Some(Reserved::Loopback)),
            ("::ffff:169.254.169.254", Some(Reserved::LinkLocal)),
            ("::ffff:10.1.2.3", Some(Reserved::Private)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(Reserved::Reserved)),
            ("::8.8.8.8", Some(Reserved::Reserved)),
            ("64:ff9b::127.0.0.1", Some(Reserved::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(Reserved::LinkLocal)),
            ("64:ff9b::8.8.8.8", None),
            ("2002:7f00:1::", Some(Reserved::Loopback)),
            ("2002:c0a8:101::1", Some(Reserved::Private)),
        ] {
            assert_eq!(why(ip), expected, "{ip}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_mapped_address_is_judged_as_its_ipv4_address(n: u32) {
            let v4 = Ipv4Addr::from(n);
            proptest::prop_assert_eq!(
                classify(IpAddr::V6(v4.to_ipv6_mapped())),
                classify(IpAddr::V4(v4))
            );
        }

        #[test]
        fn std_agrees_where_it_has_an_opinion(n: u32) {
            let v4 = Ipv4Addr::from(n);
            let named = classify_v4(v4);
            if v4.is_private() { proptest::prop_assert_eq!(named, Some(Reserved::Private)); }
            if v4.is_loopback() { proptest::prop_assert_eq!(named, Some(Reserved::Loopback)); }
            if v4.is_link_local() { proptest::prop_assert_eq!(named, Some(Reserved::LinkLocal)); }
            if v4.is_multicast() { proptest::prop_assert_eq!(named, Some(Reserved::Multicast)); }
            if v4.is_documentation() { proptest::prop_assert_eq!(named, Some(Reserved::Documentation)); }
        }
    }
}
