//! Values as ipvsadm's C code reads them: `strtol`-style numbers, fwmarks, `atoi`, names cut
//! to C buffers, and `parse_service`'s `host[:port]` addresses with service-name ports.

use std::net::{IpAddr, Ipv6Addr};

use crate::names;

/// `string_to_number`: base-10 `strtol` of the whole word, within `min..=max`.
pub(super) fn number(s: &str, min: i64, max: i64) -> Option<i64> {
    let t = s.trim_start_matches(names::is_c_space);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = t.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// `parse_fwmark`: base-10 `strtoul`, 1..=UINT_MAX.
pub(super) fn fwmark(s: &str) -> Option<u32> {
    let t = s.trim_start_matches(names::is_c_space);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || neg {
        return None;
    }
    let v: u64 = digits.parse().ok()?;
    (1..=u64::from(u32::MAX)).contains(&v).then_some(v as u32)
}

/// What `parse_service` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedAddr {
    pub addr: IpAddr,
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service`: `host[:port]`, `[v6]:port` or a bare IPv6 address; an
/// all-digit word is refused; the port is a number or a service name of `protocol`.
pub fn parse_addr(buf: &str, protocol: u16) -> Option<ParsedAddr> {
    if buf.is_empty() || buf.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // As the C code: brackets must be followed by `:`; what is inside is an IPv6 address
    // (the port follows the brackets) or else is split at its own last `:` (so the port
    // after `[10.1.1.1]:` is ignored).
    let (inside, bracket_port) = match buf.strip_prefix('[') {
        Some(rest) => {
            let (h, after) = rest.split_once(']')?;
            (h, Some(after.strip_prefix(':')?))
        }
        None => (buf, None),
    };
    let (host, port) = if inside.parse::<Ipv6Addr>().is_ok() {
        (inside, bracket_port)
    } else {
        match inside.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (inside, None),
        }
    };
    let addr = if let Ok(v6) = host.parse::<Ipv6Addr>() {
        IpAddr::V6(v6)
    } else {
        IpAddr::V4(names::inet_aton(host).or_else(|| names::host_to_ipv4(host))?)
    };
    let port = match port {
        None => None,
        Some(p) => Some(match number(p, 0, 65535) {
            Some(n) => n as u16,
            None => names::service_to_port(p, protocol)?,
        }),
    };
    Some(ParsedAddr { addr, port })
}

/// A name copied into a 16-byte C buffer (`IP_VS_SCHEDNAME_MAXLEN`, `IP_VS_PENAME_MAXLEN`,
/// `IP_VS_IFNAME_MAXLEN`): at most 15 bytes, cut back to a whole UTF-8 character.
pub(super) fn c_name(v: &str) -> String {
    let mut end = v.len().min(15);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_string()
}

/// C `atoi`: leading blanks, optional sign, digits; anything after is ignored.
pub(super) fn atoi(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(names::is_c_space);
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(sign * digits.parse::<i64>().unwrap_or(0))
}
