//! Where a webhook may be sent (SSRF rules): `https` only unless plain `http` is allowed, and
//! only to public addresses unless private ones are allowed. The adapter resolves the host and
//! asks [`public`] of every address, at creation and again when it connects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is an address on the public internet: not loopback, private, link-local
/// (cloud metadata, 169.254.169.254, lives there), unique-local, shared (CGNAT, 100.64.0.0/10,
/// which also holds a metadata address), unspecified, broadcast, multicast, documentation,
/// benchmarking or reserved. An IPv4 address inside IPv6 (mapped, compatible, NAT64, 6to4) is
/// judged as the IPv4 address.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !refused
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, _, _] = ip.segments();
    let octets = ip.octets();
    let embedded = |at: usize| {
        let bytes = octets.get(at..at + 4)?;
        Some(Ipv4Addr::new(
            *bytes.first()?,
            *bytes.get(1)?,
            *bytes.get(2)?,
            *bytes.get(3)?,
        ))
    };
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that is reached.
    if s0 == 0x64 && s1 == 0xff9b {
        return embedded(12).is_some_and(public_v4);
    }
    if s0 == 0x2002 {
        return embedded(2).is_some_and(public_v4);
    }
    let refused = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s0 & 0xfe00) == 0xfc00 // unique local fc00::/7 (holds fd00:ec2::254)
        || (s0 & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s0 & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s0 == 0x2001 && s1 == 0x0db8) // documentation
        || [s0, s1, s2, s3, s4, s5] == [0; 6]; // IPv4-compatible and the like
    !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn refuses_loopback_private_link_local_unique_local_cgnat_and_metadata() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(!public(ip(refused)), "{refused} must be refused");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for allowed in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(public(ip(allowed)), "{allowed} must be allowed");
        }
    }
}
