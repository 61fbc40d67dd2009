//! Name service look-ups, done by the C library as ipvsadm does them (so /etc/hosts,
//! /etc/services and nsswitch.conf apply the same way).

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// glibc's `inet_aton`: the address may be followed by white space and anything at all
/// (`"10.1.1.1 junk"` is 10.1.1.1).
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let end = s.find(is_c_space).unwrap_or(s.len());
    lvscf::value::inet_aton(&s[..end])
}

/// An address as glibc's `inet_ntop` writes it. Rust agrees except for IPv4-compatible
/// IPv6 addresses (`::10.1.1.1`), which glibc still prints with a dotted quad.
pub fn ntop(addr: IpAddr) -> String {
    match addr {
        IpAddr::V6(v6) => {
            let w = v6.segments();
            if w[..6] == [0; 6] && w[6] != 0 {
                let o = v6.octets();
                format!("::{}.{}.{}.{}", o[12], o[13], o[14], o[15])
            } else {
                v6.to_string()
            }
        }
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// C `isspace` in the C locale.
pub fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Set by [`go_offline`]: no look-ups at all.
static OFFLINE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, in this process, ask the name service nothing: every host and service name
/// is unknown and every address and port is printed as a number. For the fuzz targets, which
/// run millions of inputs and must neither wait on a resolver nor depend on this host's
/// /etc/hosts and /etc/services.
pub fn go_offline() {
    OFFLINE.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn offline() -> bool {
    OFFLINE.load(std::sync::atomic::Ordering::Relaxed)
}

/// The C library's service database keeps its answer in static storage: one look-up at a
/// time in this process.
static SERVICES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// ipvsadm looks names up for TCP, UDP and SCTP only; any other protocol has no names.
fn proto_name(protocol: u16) -> Option<&'static CStr> {
    match protocol {
        ipvs::consts::IPPROTO_TCP => Some(c"tcp"),
        ipvs::consts::IPPROTO_UDP => Some(c"udp"),
        ipvs::consts::IPPROTO_SCTP => Some(c"sctp"),
        _ => None,
    }
}

/// The host's IPv4 address by name, as ipvsadm's `host_to_addr` (first IPv4 answer).
pub fn host_to_ipv4(host: &str) -> Option<Ipv4Addr> {
    if offline() {
        return None;
    }
    (host, 0).to_socket_addrs().ok()?.find_map(|sa| match sa {
        SocketAddr::V4(v4) => Some(*v4.ip()),
        SocketAddr::V6(_) => None,
    })
}

/// `getservbyname(name, proto)`.
pub fn service_to_port(name: &str, protocol: u16) -> Option<u16> {
    if offline() {
        return None;
    }
    let proto = proto_name(protocol)?;
    let name = CString::new(name).ok()?;
    let _one = SERVICES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: both arguments are valid NUL-terminated strings; the result points to static
    // storage of the C library, read at once while `SERVICES` is held.
    let ent = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: `ent` is non-null and points to a `servent` filled by the C library.
    let port = unsafe { (*ent).s_port };
    Some(u16::from_be(port as u16))
}

/// `getservbyport(port, proto)`: the service name.
pub fn port_to_service(port: u16, protocol: u16) -> Option<String> {
    if offline() {
        return None;
    }
    let proto = proto_name(protocol)?;
    let _one = SERVICES.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the protocol name is a valid NUL-terminated string; the result is read at
    // once while `SERVICES` is held.
    let ent = unsafe { libc::getservbyport(i32::from(port.to_be()), proto.as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: `ent` is non-null; `s_name` is a NUL-terminated string of the C library.
    let name = unsafe { CStr::from_ptr((*ent).s_name) };
    Some(name.to_string_lossy().into_owned())
}

/// `gethostbyaddr`: the host name of an address, if it has one.
pub fn addr_to_host(addr: IpAddr) -> Option<String> {
    if offline() {
        return None;
    }
    let sa = raw_sockaddr(addr);
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sa` is a correctly sized sockaddr of the address family it claims; `host` is
    // a writable buffer of the length passed; no service buffer is requested.
    let rc = unsafe {
        libc::getnameinfo(
            sa.as_ptr(),
            sa.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

/// A `sockaddr_in`/`sockaddr_in6` for an address, as bytes with its length.
struct RawSockaddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawSockaddr {
    fn as_ptr(&self) -> *const libc::sockaddr {
        std::ptr::from_ref(&self.storage).cast()
    }

    fn len(&self) -> libc::socklen_t {
        self.len
    }
}

fn raw_sockaddr(addr: IpAddr) -> RawSockaddr {
    // SAFETY: an all-zero sockaddr_storage is a valid value of the type.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write(std::ptr::from_mut(&mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    RawSockaddr {
        storage,
        len: len as libc::socklen_t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_ignores_what_follows_white_space() {
        let a = Some(Ipv4Addr::new(10, 1, 1, 1));
        assert_eq!(inet_aton("10.1.1.1"), a);
        assert_eq!(inet_aton("10.1.1.1 junk"), a);
        assert_eq!(inet_aton("10.1.1.1\x0bjunk"), a);
        assert_eq!(inet_aton("10.1.1.1junk"), None);
        assert_eq!(inet_aton(" 10.1.1.1"), None);
    }

    #[test]
    fn ntop_like_glibc() {
        for (a, want) in [
            ("::10.1.1.1", "::10.1.1.1"),
            ("::0.1.0.1", "::0.1.0.1"),
            ("::1", "::1"),
            ("::", "::"),
            ("::1:0:0", "::1:0:0"),
            ("::ffff:10.1.1.1", "::ffff:10.1.1.1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(ntop(a.parse().unwrap()), want, "{a}");
        }
    }

    #[test]
    fn names_only_for_tcp_udp_sctp() {
        // Protocol 0 (no -t/-u/--sctp-service yet) has no service names, as in ipvsadm.
        assert_eq!(service_to_port("http", 0), None);
        assert_eq!(port_to_service(80, 0), None);
    }
}
