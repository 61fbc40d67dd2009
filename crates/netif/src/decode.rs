//! What this crate reads out of the kernel's routing netlink messages, as pure functions: the
//! link, address and route replies and the link events of [`LinkWatch`](crate::LinkWatch)
//! go through here, and so does [`message`], which decodes one raw datagram the same way (the
//! entry point of the `netif` fuzz target: a reply or event the kernel, or a hostile peer on
//! the netlink socket, sends must never panic a daemon).

use std::net::IpAddr;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};

use crate::{Address, Link};

/// One device from an `RTM_NEWLINK` message.
pub fn link(m: &LinkMessage) -> Link {
    let mut name = String::new();
    let mut mac = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = n.clone(),
            LinkAttribute::Address(b) if b.len() == 6 => {
                mac = Some([b[0], b[1], b[2], b[3], b[4], b[5]]);
            }
            _ => {}
        }
    }
    let f = m.header.flags;
    Link {
        index: m.header.index,
        name,
        admin_up: f.contains(LinkFlags::Up),
        carrier: f.contains(LinkFlags::LowerUp),
        // IFF_SLAVE has no name in netlink-packet-route's flag set.
        slave: f.bits() & (libc::IFF_SLAVE as u32) != 0,
        mac,
    }
}

/// The link a link event is about: a new or changed device as it is, a removed one with
/// `admin_up` and `carrier` false. `None` for every other message.
pub fn link_event(m: &RouteNetlinkMessage) -> Option<Link> {
    match m {
        RouteNetlinkMessage::NewLink(m) => Some(link(m)),
        RouteNetlinkMessage::DelLink(m) => {
            let mut l = link(m);
            l.admin_up = false;
            l.carrier = false;
            Some(l)
        }
        _ => None,
    }
}

/// One address from an `RTM_NEWADDR` message; its label is empty when the address has none
/// of its own (the caller names it after its device). `None` without an address.
pub fn address(m: &AddressMessage) -> Option<Address> {
    let mut ip = None;
    let mut local = None;
    let mut label = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Address(x) => ip = Some(*x),
            AddressAttribute::Local(x) => local = Some(*x),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
    local.or(ip).map(|ip| Address {
        index: m.header.index,
        label: label.unwrap_or_default(),
        ip,
        prefix: m.header.prefix_len,
    })
}

/// The gateway and output device of a default route of the main table (unicast only: not a
/// VRF's or a policy table's, not an unreachable or blackhole default). An ECMP default names
/// its gateways in its next hops: the first one with a gateway counts.
pub fn default_gateway(r: &RouteMessage) -> Option<(IpAddr, u32)> {
    let table = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(r.header.table));
    if r.header.destination_prefix_length != 0
        || table != u32::from(libc::RT_TABLE_MAIN)
        || r.header.kind != RouteType::Unicast
    {
        return None;
    }
    let oif = r
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        })
        .unwrap_or(0);
    if let Some(g) = gateway(&r.attributes) {
        return Some((g, oif));
    }
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(hops) => hops
            .iter()
            .find_map(|h| gateway(&h.attributes).map(|g| (g, h.interface_index))),
        _ => None,
    })
}

fn gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(IpAddr::V4(*g)),
        RouteAttribute::Gateway(RouteAddress::Inet6(g)) => Some(IpAddr::V6(*g)),
        _ => None,
    })
}

/// What one routing netlink message tells this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A link event or a link reply.
    Link(Link),
    /// An address reply or event.
    Address(Address),
    /// A default route of the main table: gateway and output device.
    Gateway(IpAddr, u32),
    /// Any other message (other routes included), an ACK, an error or a no-op.
    Other,
}

/// Decode one raw routing netlink message (header and payload) as the daemons read it.
/// Malformed bytes give an error, never a panic.
pub fn message(bytes: &[u8]) -> Result<Decoded, String> {
    let msg =
        NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).map_err(|e| e.to_string())?;
    let NetlinkPayload::InnerMessage(inner) = msg.payload else {
        return Ok(Decoded::Other);
    };
    if let Some(l) = link_event(&inner) {
        return Ok(Decoded::Link(l));
    }
    Ok(match &inner {
        RouteNetlinkMessage::NewAddress(m) => address(m).map_or(Decoded::Other, Decoded::Address),
        RouteNetlinkMessage::NewRoute(r) => {
            default_gateway(r).map_or(Decoded::Other, |(g, oif)| Decoded::Gateway(g, oif))
        }
        _ => Decoded::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkHeader;
    use netlink_packet_route::route::RouteHeader;
    use rtnetlink::packet_core::NetlinkHeader;
    use std::net::Ipv4Addr;

    fn bytes(inner: RouteNetlinkMessage) -> Vec<u8> {
        let mut nl = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(inner),
        );
        nl.finalize();
        let mut buf = vec![0u8; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }

    #[test]
    fn link_events_round_trip_through_bytes() {
        let mut m = LinkMessage::default();
        m.header = LinkHeader {
            index: 7,
            flags: LinkFlags::Up | LinkFlags::LowerUp,
            ..LinkHeader::default()
        };
        m.attributes.push(LinkAttribute::IfName("eth1".into()));
        m.attributes
            .push(LinkAttribute::Address(vec![2, 0, 0, 0, 0, 9]));
        let up = message(&bytes(RouteNetlinkMessage::NewLink(m.clone()))).unwrap();
        let Decoded::Link(l) = up else {
            panic!("{up:?}")
        };
        assert_eq!((l.index, l.name.as_str(), l.is_up()), (7, "eth1", true));
        assert_eq!(l.mac, Some([2, 0, 0, 0, 0, 9]));
        let gone = message(&bytes(RouteNetlinkMessage::DelLink(m))).unwrap();
        let Decoded::Link(l) = gone else {
            panic!("{gone:?}")
        };
        assert!(!l.admin_up && !l.carrier);
    }

    #[test]
    fn only_main_table_unicast_defaults_are_gateways() {
        let mut r = RouteMessage::default();
        r.header = RouteHeader {
            address_family: netlink_packet_route::AddressFamily::Inet,
            table: libc::RT_TABLE_MAIN,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        r.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(
                10, 0, 0, 1,
            ))));
        r.attributes.push(RouteAttribute::Oif(3));
        assert_eq!(
            message(&bytes(RouteNetlinkMessage::NewRoute(r.clone()))).unwrap(),
            Decoded::Gateway(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 3)
        );
        r.header.kind = RouteType::BlackHole;
        assert_eq!(default_gateway(&r), None);
        r.header.kind = RouteType::Unicast;
        r.header.destination_prefix_length = 8;
        assert_eq!(default_gateway(&r), None);
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        assert!(message(&[]).is_err());
        assert!(message(&[0xff; 3]).is_err());
        let mut b = bytes(RouteNetlinkMessage::NewLink(LinkMessage::default()));
        b.truncate(b.len() - 1);
        assert!(message(&b).is_err());
    }
}
