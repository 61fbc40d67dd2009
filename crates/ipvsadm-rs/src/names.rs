//! Name service look-ups, done by the C library as ipvsadm does them (so /etc/hosts,
//! /etc/services and nsswitch.conf apply the same way).

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

pub use lvscf::value::inet_aton;

fn proto_name(protocol: u16) -> &'static CStr {
    match protocol {
        crate::opts::UDP => c"udp",
        crate::opts::SCTP => c"sctp",
        _ => c"tcp",
    }
}

/// `gethostbyname` for IPv4 (`host_to_addr`).
pub fn host_to_ipv4(host: &str) -> Option<Ipv4Addr> {
    (host, 0).to_socket_addrs().ok()?.find_map(|sa| match sa {
        SocketAddr::V4(v4) => Some(*v4.ip()),
        SocketAddr::V6(_) => None,
    })
}

/// `getservbyname(name, proto)`.
pub fn service_to_port(name: &str, protocol: u16) -> Option<u16> {
    let name = CString::new(name).ok()?;
    // SAFETY: both arguments are valid NUL-terminated strings; the result points to static
    // storage of the C library, read at once, before any other look-up in this process
    // (ipvsadm-rs is single-threaded).
    let ent = unsafe { libc::getservbyname(name.as_ptr(), proto_name(protocol).as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: `ent` is non-null and points to a `servent` filled by the C library.
    let port = unsafe { (*ent).s_port };
    Some(u16::from_be(port as u16))
}

/// `getservbyport(port, proto)`: the service name.
pub fn port_to_service(port: u16, protocol: u16) -> Option<String> {
    // SAFETY: the protocol name is a valid NUL-terminated string; see `service_to_port` for
    // the result's lifetime.
    let ent =
        unsafe { libc::getservbyport(i32::from(port.to_be()), proto_name(protocol).as_ptr()) };
    if ent.is_null() {
        return None;
    }
    // SAFETY: `ent` is non-null; `s_name` is a NUL-terminated string of the C library.
    let name = unsafe { CStr::from_ptr((*ent).s_name) };
    Some(name.to_string_lossy().into_owned())
}

/// `gethostbyaddr`: the host name of an address, if it has one.
pub fn addr_to_host(addr: IpAddr) -> Option<String> {
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
