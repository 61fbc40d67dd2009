//! Parsers for the value types of lvs.cf: piranha's base-0 integers and booleans,
//! `inet_aton` addresses, host names, netmasks and (extension) fractional seconds.

use std::net::{IpAddr, Ipv4Addr};

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_while, take_while1};
use nom::character::complete::{char, one_of};
use nom::combinator::{all_consuming, opt};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use crate::model::{Host, Netmask, Seconds};

/// `strtol(s, &end, 0)` with the whole token consumed, as piranha's `getNum`: optional sign,
/// then `0x`/`0X` hex, `0` octal, or decimal. `None` on anything else or on overflow.
pub fn parse_int(s: &str) -> Option<i64> {
    // Fast path for the common case: a plain decimal without sign or leading zero.
    if s.len() < 19 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
        return s.parse().ok();
    }
    fn digits(i: &str) -> IResult<&str, (u32, &str)> {
        alt((
            preceded(
                tag_no_case("0x"),
                take_while1(|c: char| c.is_ascii_hexdigit()),
            )
            .map(|d| (16, d)),
            preceded(char('0'), take_while(|c: char| c.is_digit(8))).map(|d| (8, d)),
            take_while1(|c: char| c.is_ascii_digit()).map(|d| (10, d)),
        ))
        .parse(i)
    }
    let (_, (sign, (radix, body))) = all_consuming((opt(one_of("+-")), digits)).parse(s).ok()?;
    let magnitude = if body.is_empty() {
        0 // a lone "0"
    } else {
        i64::from_str_radix(body, radix).ok()?
    };
    Some(if sign == Some('-') {
        -magnitude
    } else {
        magnitude
    })
}

/// glibc `inet_aton`: one to four base-0 parts, the last filling the remaining bytes
/// (`10.1` is 10.0.0.1, `0x7f.1` is 127.0.0.1). Kept because piranha accepted these forms.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    // The strict dotted quad (no leading zeros) means the same in both; it is the common case.
    if let Ok(ip) = s.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4
        || parts
            .iter()
            .any(|p| p.is_empty() || p.starts_with(['+', '-']))
    {
        return None;
    }
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| parse_int(p).and_then(|v| u64::try_from(v).ok()))
        .collect::<Option<_>>()?;
    let (last, head) = nums.split_last()?;
    if head.iter().any(|&b| b > 255) {
        return None;
    }
    let rest_bits = 8 * (4 - head.len() as u32);
    if rest_bits < 64 && *last >= 1u64 << rest_bits {
        return None;
    }
    let mut v: u32 = 0;
    for (i, b) in head.iter().enumerate() {
        v |= (*b as u32) << (24 - 8 * i as u32);
    }
    v |= *last as u32;
    Some(Ipv4Addr::from(v))
}

/// An IPv4 address (`inet_aton` forms included) or an IPv6 address (extension).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<IpAddr>().ok();
    }
    inet_aton(s).map(IpAddr::V4)
}

/// A syntactically valid host name (letters, digits, `-`, `_`, dot-separated labels). A name
/// made only of digits and dots is a malformed address, not a name.
pub fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = s.trim_end_matches('.').split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    labels.iter().all(label_ok) && !labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit()))
}

/// An address or a host name (resolved later, by the daemon that uses it).
pub fn parse_host(s: &str) -> Option<Host> {
    match parse_ip(s) {
        Some(ip) => Some(Host::Ip(ip)),
        None if is_hostname(s) && !s.contains(':') => Some(Host::Name(s.to_string())),
        None => None,
    }
}

/// Outcome of reading a netmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskValue {
    /// `0`, `0.0.0.0`: no mask.
    None,
    Mask(Netmask),
    /// A dotted mask whose one-bits are not contiguous (`255.0.255.0`).
    NonContiguous(Ipv4Addr),
}

/// A netmask: dotted (`inet_aton`), or a prefix length `0`..`128` (extension, for IPv6).
pub fn parse_netmask(s: &str) -> Option<MaskValue> {
    // A decimal 1..=128 without a leading zero is a prefix length (extension). Anything else
    // is read as inet_aton did, so `4294967040` is still 255.255.255.0 and `010` is octal.
    if let Ok(n @ 1..=128) = s.parse::<u8>()
        && !s.starts_with(['0', '+'])
    {
        return Some(MaskValue::Mask(Netmask::Prefix(n)));
    }
    let ip = inet_aton(s)?;
    let v = u32::from(ip);
    if v == 0 {
        return Some(MaskValue::None);
    }
    if v.leading_ones() + v.trailing_zeros() != 32 {
        return Some(MaskValue::NonContiguous(ip));
    }
    Some(MaskValue::Mask(Netmask::V4(ip)))
}

/// Seconds: a base-0 integer as piranha, or a decimal with up to three places (extension).
pub fn parse_seconds(s: &str) -> Option<Seconds> {
    if let Some(v) = parse_int(s) {
        return u64::try_from(v)
            .ok()?
            .checked_mul(1000)
            .map(Seconds::from_millis);
    }
    let (whole, frac) = s.split_once('.')?;
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if frac.is_empty() || frac.len() > 3 || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac_ms: u64 = format!("{frac:0<3}").parse().ok()?;
    whole
        .checked_mul(1000)?
        .checked_add(frac_ms)
        .map(Seconds::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_zero_integers() {
        assert_eq!(parse_int("10"), Some(10));
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("0X1f"), Some(31));
        assert_eq!(parse_int("010"), Some(8));
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("+7"), Some(7));
        for bad in [
            "",
            "08",
            "0x",
            "1a",
            "yes",
            " 1",
            "1.5",
            "--1",
            "99999999999999999999",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(
            inet_aton("192.168.10.2"),
            Some(Ipv4Addr::new(192, 168, 10, 2))
        );
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(inet_aton("127.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(
            inet_aton("3232238082"),
            Some(Ipv4Addr::new(192, 168, 10, 2))
        );
        for bad in [
            "256.1.1.1",
            "1.2.3.4.5",
            "1..2",
            "a.b.c.d",
            "1.2.3.256",
            "-1.2.3.4",
        ] {
            assert_eq!(inet_aton(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(parse_host("::1"), Some(Host::Ip("::1".parse().unwrap())));
        assert_eq!(
            parse_host("lvs-1.example.com"),
            Some(Host::Name("lvs-1.example.com".into()))
        );
        // inet_aton reads three parts as a.b.0.c
        assert_eq!(
            parse_host("1.2.3"),
            Some(Host::Ip("1.2.0.3".parse().unwrap()))
        );
        for bad in ["300.1.1.1", "a b", "-x", "fe80::zz", "x..y", "1.2.3.4.5"] {
            assert_eq!(parse_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn netmasks() {
        assert_eq!(
            parse_netmask("255.255.255.0"),
            Some(MaskValue::Mask(Netmask::V4(Ipv4Addr::new(
                255, 255, 255, 0
            ))))
        );
        assert_eq!(parse_netmask("0"), Some(MaskValue::None));
        assert_eq!(parse_netmask("0.0.0.0"), Some(MaskValue::None));
        assert_eq!(
            parse_netmask("64"),
            Some(MaskValue::Mask(Netmask::Prefix(64)))
        );
        assert_eq!(
            parse_netmask("255.0.255.0"),
            Some(MaskValue::NonContiguous(Ipv4Addr::new(255, 0, 255, 0)))
        );
        assert_eq!(
            parse_netmask("4294967040"),
            Some(MaskValue::Mask(Netmask::V4(Ipv4Addr::new(
                255, 255, 255, 0
            ))))
        );
        assert_eq!(
            parse_netmask("010"),
            Some(MaskValue::NonContiguous(Ipv4Addr::new(0, 0, 0, 8))),
            "octal, as inet_aton"
        );
        assert_eq!(
            parse_netmask("129"),
            Some(MaskValue::NonContiguous(Ipv4Addr::new(0, 0, 0, 129)))
        );
        assert_eq!(parse_netmask("mask"), None);
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2"), Some(Seconds::from_millis(2000)));
        assert_eq!(parse_seconds("010"), Some(Seconds::from_millis(8000)));
        assert_eq!(parse_seconds("0.1"), Some(Seconds::from_millis(100)));
        assert_eq!(parse_seconds(".25"), Some(Seconds::from_millis(250)));
        assert_eq!(parse_seconds("1.5"), Some(Seconds::from_millis(1500)));
        for bad in ["-1", "1.", "0.0001", "1e3", "x"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }
}
