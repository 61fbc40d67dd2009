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

/// `parse_fwmark`: base-10 `strtoul`, 1..=UINT_MAX. Unlike ipvsadm 1.31, a negative
/// number in the C `int` range (-2147483648..=-1) is read as the same 32-bit mark, because
/// 1.31's `-S` prints marks above 2^31 with `%d`: so a saved table restores. Anything else
/// negative (and `-0`) is refused, as 1.31 refuses it.
pub(super) fn fwmark(s: &str) -> Option<u32> {
    let t = s.trim_start_matches(names::is_c_space);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if neg {
        // `-` and the digits, as i32: -2147483648..=-1, the two's-complement of the mark.
        let v: i64 = digits.parse::<i64>().ok()?.checked_neg()?;
        let v = i32::try_from(v).ok().filter(|v| *v < 0)?;
        return Some(v as u32);
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

#[cfg(test)]
mod tests {
    use super::fwmark;

    #[test]
    fn fwmark_reads_unsigned_marks() {
        assert_eq!(fwmark("1"), Some(1));
        assert_eq!(fwmark("+7"), Some(7));
        assert_eq!(fwmark(" \t9"), Some(9));
        assert_eq!(fwmark("2147483648"), Some(0x8000_0000));
        assert_eq!(fwmark("4294967295"), Some(u32::MAX));
        for bad in [
            "0",
            "+0",
            "4294967296",
            "18446744073709551615",
            "",
            "+",
            "1x",
            "x1",
            "1 ",
        ] {
            assert_eq!(fwmark(bad), None, "{bad:?}");
        }
    }

    /// What ipvsadm 1.31's `-S` prints (`%d`) for a mark above 2^31 reads back as that mark.
    #[test]
    fn fwmark_reads_a_negative_int_as_its_32_bit_mark() {
        assert_eq!(fwmark("-1"), Some(u32::MAX));
        assert_eq!(fwmark("-2"), Some(4_294_967_294));
        assert_eq!(fwmark("-2147483648"), Some(0x8000_0000));
        assert_eq!(fwmark(" -5"), Some(4_294_967_291));
        for mark in [0x8000_0000u32, 0x8000_0001, 0xdead_beef, u32::MAX] {
            assert_eq!(fwmark(&(mark as i32).to_string()), Some(mark));
        }
    }

    #[test]
    fn fwmark_refuses_other_negatives() {
        for bad in [
            "-0",
            "-00",
            "-2147483649",
            "-4294967295",
            "-4294967296",
            "-99999999999999999999999",
            "-",
            "--1",
            "-+1",
            "+-1",
            "-1x",
        ] {
            assert_eq!(fwmark(bad), None, "{bad:?}");
        }
    }
}
