//! The BIRD configuration fragment of a set of VIPs (pure).
//!
//! A BIRD 2 static protocol has exactly one channel, so the IPv4 VIPs go to
//! `protocol static piranha_vips` (channel `ipv4`, routes `/32`) and the IPv6 ones to
//! `protocol static piranha_vips6` (channel `ipv6`, routes `/128`). Both are always written,
//! empty when there is nothing to announce, so the admin's filters (`proto = "piranha_vips"`)
//! always name existing protocols. The routes are `blackhole`: they exist to be exported to
//! BGP; the director itself holds the VIPs on its loopback device.

use crate::plan::Vips;
use std::fmt::Write as _;

/// The IPv4 protocol's name.
pub const PROTOCOL_V4: &str = "piranha_vips";
/// The IPv6 protocol's name.
pub const PROTOCOL_V6: &str = "piranha_vips6";

/// The fragment announcing exactly `vips`.
pub fn render(vips: &Vips) -> String {
    let mut out = String::from(
        "# Written by lvsd (lvs.cf: announce = bird); replaced on every change.\n\
         # The VIPs this director can serve now.\n",
    );
    for (name, channel, v6) in [(PROTOCOL_V4, "ipv4", false), (PROTOCOL_V6, "ipv6", true)] {
        let _ = writeln!(out, "protocol static {name} {{\n    {channel};");
        for vip in vips.iter().filter(|v| v.is_ipv6() == v6) {
            let len = if v6 { 128 } else { 32 };
            let _ = writeln!(out, "    route {vip}/{len} blackhole;");
        }
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_protocols_when_nothing_is_announced() {
        let text = render(&Vips::new());
        assert!(
            text.ends_with(
                "protocol static piranha_vips {\n    ipv4;\n}\n\
                 protocol static piranha_vips6 {\n    ipv6;\n}\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn one_route_per_vip_in_its_familys_protocol() {
        let vips: Vips = ["10.9.0.2", "2001:db8::80", "10.9.0.1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let text = render(&vips);
        assert!(
            text.ends_with(
                "protocol static piranha_vips {\n    ipv4;\n    route 10.9.0.1/32 blackhole;\n    \
                 route 10.9.0.2/32 blackhole;\n}\nprotocol static piranha_vips6 {\n    ipv6;\n    \
                 route 2001:db8::80/128 blackhole;\n}\n"
            ),
            "{text}"
        );
        assert!(text.lines().take(2).all(|l| l.starts_with('#')));
    }
}
