//! The state file: which IPVS services this lvsd created, so that a later start removes its
//! own leftovers and nothing else (piranha ran `ipvsadm -C`, wiping every entry).

use std::net::IpAddr;
use std::path::Path;

use ipvs::{Protocol, ServiceId};

/// One service per line, as ipvsadm prints it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`,
/// `FWM 7`, `FWM 7 IPv6`.
pub fn format(ids: &[ServiceId]) -> String {
    ids.iter().map(|id| format!("{id}\n")).collect()
}

/// Read the lines written by [`format()`]; unreadable lines are skipped.
pub fn parse(text: &str) -> Vec<ServiceId> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<ServiceId> {
    let mut w = line.split_whitespace();
    let kind = w.next()?;
    let rest = w.next()?;
    if kind == "FWM" {
        return Some(ServiceId::Fwmark {
            mark: rest.parse().ok()?,
            ipv6: w.next() == Some("IPv6"),
        });
    }
    let protocol = match kind {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        _ => return None,
    };
    let (addr, port) = rest.rsplit_once(':')?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    Some(ServiceId::Addr {
        protocol,
        addr: addr.parse::<IpAddr>().ok()?,
        port: port.parse().ok()?,
    })
}

/// Read the state file; a missing file is an empty list.
pub fn read(path: &Path) -> Vec<ServiceId> {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// Write the state file atomically (temporary file, then rename).
pub fn write(path: &Path, ids: &[ServiceId]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format(ids))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let ids = vec![
            ServiceId::tcp("10.0.0.1".parse().unwrap(), 80),
            ServiceId::udp("2001:db8::1".parse().unwrap(), 53),
            ServiceId::Fwmark {
                mark: 7,
                ipv6: false,
            },
            ServiceId::Fwmark {
                mark: 8,
                ipv6: true,
            },
        ];
        assert_eq!(parse(&format(&ids)), ids);
        assert_eq!(parse("garbage\nTCP 1.2.3.4:x\n"), vec![]);
    }
}
