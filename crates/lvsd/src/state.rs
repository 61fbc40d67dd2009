//! The state file: which IPVS services this lvsd created, so that a later start removes its
//! own leftovers and nothing else (piranha ran `ipvsadm -C`, wiping every entry), and the
//! administrators' server controls, so that they survive a restart.

use std::net::IpAddr;
use std::path::Path;

use ipvs::{Protocol, ServiceId};

use crate::engine::Admin;

/// What the state file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The services lvsd created.
    pub owned: Vec<ServiceId>,
    /// Server controls by `virtual/server` name.
    pub controls: Vec<(String, Admin)>,
}

/// One service per line, as ipvsadm prints it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`,
/// `FWM 7`, `FWM 7 IPv6`; then one line per control, its fields separated by tabs:
/// `control<TAB>drained<TAB>web/a`, `control<TAB>weight 5<TAB>web/b`. Older lvsd skip the
/// control lines, and a file without them (from an older lvsd) has no controls.
pub fn format(st: &State) -> String {
    let mut out: String = st.owned.iter().map(|id| format!("{id}\n")).collect();
    for (target, a) in &st.controls {
        out.push_str(&format!("control\t{a}\t{target}\n"));
    }
    out
}

/// Read the lines written by [`format()`]; unreadable lines are skipped.
pub fn parse(text: &str) -> State {
    let mut st = State::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("control\t") {
            if let Some((a, target)) = rest.split_once('\t')
                && let Ok(a) = a.parse::<Admin>()
                && !target.is_empty()
            {
                st.controls.push((target.to_owned(), a));
            }
        } else if let Some(id) = parse_line(line) {
            st.owned.push(id);
        }
    }
    st
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

/// Read the state file; a missing file is an empty state.
pub fn read(path: &Path) -> State {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// Write the state file atomically (temporary file, then rename).
pub fn write(path: &Path, st: &State) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format(st))?;
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
        let st = State {
            owned: ids,
            controls: vec![
                ("web/a".into(), Admin::Drained),
                ("web/b c".into(), Admin::Disabled),
                ("a/b/c".into(), Admin::Weight(5)),
            ],
        };
        assert_eq!(parse(&format(&st)), st);
        assert_eq!(
            parse("garbage\nTCP 1.2.3.4:x\ncontrol\tfrozen\tweb/a\n"),
            State::default()
        );
    }

    #[test]
    fn an_old_state_file_is_read() {
        let st = parse("TCP 10.0.0.1:80\nFWM 7\n");
        assert_eq!(st.owned.len(), 2);
        assert!(st.controls.is_empty());
    }
}
