//! Telling the neighbours that an address has moved here.
//!
//! IPv4: a gratuitous ARP in the form piranha's `send_arp` used (an ARP reply whose sender and
//! target are both the moved address and this host's MAC, to the Ethernet broadcast), sent
//! through a packet socket that receives nothing. IPv6: an unsolicited neighbour
//! advertisement with the Override flag to all nodes (`ff02::1`), through a raw ICMPv6 socket
//! that lets the kernel build the IPv6 header and the checksum.

#![allow(unsafe_code)]

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

/// The 60-byte frame (42 bytes of Ethernet and ARP, padded to the Ethernet minimum).
pub fn garp_frame(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // htype Ethernet, ptype IPv4, hlen 6, plen 4, op 2 (reply).
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[32..38].copy_from_slice(&mac);
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// Send one gratuitous ARP for `ip` out of device `ifindex`.
pub fn send_garp(ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
    GarpSender::new()?.send(ifindex, mac, ip)
}

/// A packet socket for gratuitous ARPs, opened once for a whole announcement: closing a
/// packet socket waits for an RCU grace period (`synchronize_net`, milliseconds to tens of
/// milliseconds on a busy host), so a socket per frame made announcing 51 addresses block its
/// caller for half a second. Drop it where blocking does not matter (off an event loop).
#[derive(Debug)]
pub struct GarpSender {
    sock: Socket,
}

impl GarpSender {
    pub fn new() -> io::Result<GarpSender> {
        // Protocol 0: the socket is for sending only; it never queues a received frame.
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(0)))?;
        Ok(GarpSender { sock })
    }

    /// Broadcast one gratuitous ARP for `ip` at `mac` on interface `ifindex`.
    pub fn send(&self, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
        send_on(&self.sock, ifindex, mac, ip)
    }
}

fn send_on(sock: &Socket, ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is one of this platform's sockaddr types and fits in the storage
    // (view_as asserts the size); every field we do not set stays zero, which is valid.
    let sll: &mut libc::sockaddr_ll = unsafe { storage.view_as() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = 0x0806u16.to_be();
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the first `len` bytes of the storage hold the sockaddr_ll written above.
    let addr = unsafe { SockAddr::new(storage, len) };
    sock.send_to(&garp_frame(mac, ip), &addr)?;
    Ok(())
}

/// The ICMPv6 part of an unsolicited neighbour advertisement (the kernel fills the checksum).
pub fn na_message(mac: [u8; 6], ip: Ipv6Addr) -> [u8; 32] {
    let mut m = [0u8; 32];
    m[0] = 136; // neighbour advertisement
    m[4] = 0x20; // Override; not Router, not Solicited
    m[8..24].copy_from_slice(&ip.octets());
    m[24] = 2; // target link-layer address option, 8 bytes
    m[25] = 1;
    m[26..32].copy_from_slice(&mac);
    m
}

/// Send one unsolicited neighbour advertisement for `ip` (already on device `ifindex`).
pub fn send_unsolicited_na(ifindex: u32, mac: [u8; 6], ip: Ipv6Addr) -> io::Result<()> {
    let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    // Receivers drop neighbour discovery packets whose hop limit is not 255.
    sock.set_multicast_hops_v6(255)?;
    sock.set_multicast_if_v6(ifindex)?;
    let scope = if ip.is_unicast_link_local() {
        ifindex
    } else {
        0
    };
    sock.bind(&SockAddr::from(SocketAddrV6::new(ip, 0, 0, scope)))?;
    let all_nodes = SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0, 0, ifindex);
    sock.send_to(&na_message(mac, ip), &SockAddr::from(all_nodes))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_is_send_arps_frame() {
        let mac = [0x00, 0x10, 0x5a, 0x83, 0x9c, 0xbe];
        let f = garp_frame(mac, Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &mac);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 2], "op reply");
        assert_eq!(&f[22..28], &mac);
        assert_eq!(&f[28..32], &[192, 168, 10, 1]);
        assert_eq!(&f[32..42], &f[22..32], "target repeats sender");
        assert!(f[42..].iter().all(|b| *b == 0));
    }

    #[test]
    fn na_has_override_and_the_mac() {
        let ip: Ipv6Addr = "fd00::50".parse().unwrap();
        let m = na_message([2, 0, 0, 0, 0, 1], ip);
        assert_eq!(m[0], 136);
        assert_eq!(m[4] & 0xe0, 0x20);
        assert_eq!(&m[8..24], &ip.octets());
        assert_eq!(&m[24..26], &[2, 1]);
        assert_eq!(&m[26..], &[2, 0, 0, 0, 0, 1]);
    }
}
