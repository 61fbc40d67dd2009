//! One ICMP (or ICMPv6) echo, from the program itself (piranha's pulse ran `/bin/ping`).

use std::io;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The Internet checksum.
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request with this identifier and sequence number.
pub fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = 8;
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..].copy_from_slice(b"piranha!");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether `dest` answers one echo request within `timeout` (needs CAP_NET_RAW). `scope` is
/// the device index for a link-local IPv6 address.
pub fn echo(dest: IpAddr, scope: u32, timeout: Duration) -> io::Result<bool> {
    let (sock, to) = match dest {
        IpAddr::V4(a) => (
            Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?,
            SockAddr::from(SocketAddrV4::new(a, 0)),
        ),
        IpAddr::V6(a) => (
            Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?,
            SockAddr::from(SocketAddrV6::new(a, 0, 0, scope)),
        ),
    };
    let id = (std::process::id() & 0xffff) as u16;
    let seq = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        & 0xffff) as u16;
    let mut req = echo_request(id, seq);
    if dest.is_ipv6() {
        // ICMPv6 echo request; the kernel computes the checksum over the pseudo-header.
        req[0] = 128;
        req[2..4].copy_from_slice(&[0, 0]);
    }
    sock.send_to(&req, &to)?;
    // std's socket reads into initialised bytes and returns the sender (a raw socket gives one
    // like any datagram socket).
    let sock = std::net::UdpSocket::from(sock);
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        sock.set_read_timeout(Some(left))?;
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let from_ip = Some(from.ip());
        // A raw ICMP socket hands over the IPv4 header too; ICMPv6 comes without it.
        let (icmp, reply) = match dest {
            IpAddr::V4(_) => (buf.get(usize::from(buf[0] & 0x0f) * 4..n), 0),
            IpAddr::V6(_) => (buf.get(..n), 129),
        };
        let Some(icmp) = icmp else { continue };
        if from_ip == Some(dest)
            && icmp.len() >= 8
            && icmp[0] == reply
            && icmp[4..6] == id.to_be_bytes()
            && icmp[6..8] == seq.to_be_bytes()
        {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksums_to_zero() {
        let p = echo_request(0x1234, 7);
        assert_eq!(p[0], 8);
        assert_eq!(checksum(&p), 0);
    }
}
