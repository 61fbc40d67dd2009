//! Whether this host is the one lvs.cf should be edited on: piranha warned when the GUI was
//! opened on a host whose addresses did not include `primary`.

use std::net::IpAddr;

/// The addresses of this host's interfaces (none when they cannot be listed).
pub fn addresses() -> Vec<IpAddr> {
    let Ok(list) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    list.filter_map(|i| {
        let a = i.address?;
        if let Some(v4) = a.as_sockaddr_in() {
            return Some(IpAddr::V4(v4.ip()));
        }
        a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
    })
    .collect()
}

/// Whether a host with `local` addresses is the primary `primary` (an IP, or `None` when
/// lvs.cf names none or names it by a host name: nothing to warn about then).
pub fn is_primary(primary: Option<IpAddr>, local: &[IpAddr]) -> bool {
    primary.is_none_or(|p| local.contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_is_one_of_our_addresses() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(addresses().contains(&lo));
        assert!(is_primary(Some(lo), &addresses()));
        assert!(!is_primary(Some("192.0.2.77".parse().unwrap()), &[lo]));
        assert!(is_primary(None, &[]));
    }
}
