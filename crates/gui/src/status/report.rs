//! The fields of pulse's and lvsd's JSON status reports that the web service uses.
//!
//! Our own structs, not the daemons' (the service does not depend on their crates): every field
//! has a default and unknown fields are ignored, so a daemon that reports more, or less, is
//! still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// pulse's report (`pulse --status --json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PulseReport {
    /// `lvs` or `fos`.
    pub mode: String,
    /// `master` or `backup`.
    pub role: String,
    /// `active` or `inactive`.
    pub state: String,
    pub flags: Vec<String>,
    pub partner: Option<String>,
    pub partner_last_heard_ms: Option<u64>,
    pub partner_state: Option<String>,
    /// Addresses held, as `IP/PREFIX DEVICE`.
    pub vips: Vec<String>,
    pub heartbeats_sent: u64,
    pub heartbeats_received: u64,
    /// Every cause together.
    pub heartbeats_rejected: u64,
    /// By cause (`too_short`, `bad_magic`, `unexpected_source`, …); empty from a pulse that
    /// does not report causes.
    pub heartbeats_rejected_by_cause: BTreeMap<String, u64>,
    /// Reloads applied, and refused.
    pub reloads: u64,
    pub reloads_failed: u64,
    /// Times this node became active, and stopped being active.
    pub took_over: u64,
    pub gave_up: u64,
    pub child: Option<ChildReport>,
}

/// The program pulse supervises.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChildReport {
    pub program: String,
    pub pid: u32,
    pub state: String,
}

/// lvsd's report (`lvsd --status --json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LvsdReport {
    /// Reloads applied, and refused.
    pub reloads: u64,
    pub reloads_failed: u64,
    /// `ipvs`, `userspace` or `memory`.
    pub dataplane: String,
    pub virtual_servers: Vec<VirtualReport>,
}

/// One virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualReport {
    pub name: String,
    /// As ipvsadm prints it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7`.
    pub service: String,
    pub scheduler: String,
    pub sorry_active: bool,
    /// The service is in the table (false while the table refuses it and lvsd tries again;
    /// a report without the field is from an lvsd that does not say: in).
    #[serde(default = "yes")]
    pub in_table: bool,
    pub traffic: Option<Traffic>,
    pub real_servers: Vec<RealReport>,
}

fn yes() -> bool {
    true
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RealReport {
    pub name: String,
    pub address: String,
    pub port: u16,
    /// `up`, `down` or `unknown`.
    pub health: String,
    /// In the data plane's table.
    pub in_table: bool,
    pub weight: i32,
    pub configured_weight: i32,
    /// An administrator's control (`drained`, `disabled`, `weight N`), or none.
    pub admin: Option<String>,
    /// Seconds since the health last changed (a number, fractional).
    pub since_secs: Option<serde_json::Number>,
    /// Absent when the server is not in the table.
    pub traffic: Option<Traffic>,
    /// The nannies' checks: how many, how many failed, their durations' sum and the last
    /// one's, in microseconds.
    pub checks: u64,
    pub checks_failed: u64,
    pub check_duration_us_sum: u64,
    pub last_check_duration_us: Option<u64>,
}

/// Connection and byte counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Traffic {
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub conns: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// A service's protocol, address and port from lvsd's `service` text: `("TCP", "10.0.0.1",
/// "80")`, `("UDP", "2001:db8::1", "53")`; a firewall mark has the mark as its address and no
/// port: `("FWM", "7", "")`.
pub fn split_service(service: &str) -> (&str, &str, &str) {
    let (proto, rest) = service.split_once(' ').unwrap_or((service, ""));
    let rest = rest.trim();
    if let Some((addr, port)) = rest.rsplit_once(':')
        && !addr.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        let addr = addr
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .unwrap_or(addr);
        return (proto, addr, port);
    }
    (proto, rest, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_split() {
        assert_eq!(split_service("TCP 10.0.0.1:80"), ("TCP", "10.0.0.1", "80"));
        assert_eq!(
            split_service("UDP [2001:db8::1]:53"),
            ("UDP", "2001:db8::1", "53")
        );
        assert_eq!(split_service("FWM 7"), ("FWM", "7", ""));
        assert_eq!(split_service(""), ("", "", ""));
    }

    #[test]
    fn reports_tolerate_unknown_and_missing_fields() {
        let p: PulseReport =
            serde_json::from_str(r#"{"role":"master","state":"active","new_field":[1,2]}"#)
                .unwrap();
        assert_eq!((p.role.as_str(), p.state.as_str()), ("master", "active"));
        assert_eq!(p.heartbeats_sent, 0);
        assert!(p.heartbeats_rejected_by_cause.is_empty());
        assert_eq!((p.reloads_failed, p.took_over, p.gave_up), (0, 0, 0));
        let l: LvsdReport = serde_json::from_str(
            r#"{"pid":1,"virtual_servers":[{"name":"web","service":"TCP 10.0.0.1:80",
            "real_servers":[{"name":"a","address":"10.1.0.1","port":80,"health":"up",
            "nanny_pid":9,"traffic":{"active_conns":3,"conns":10}}]}]}"#,
        )
        .unwrap();
        let r = &l.virtual_servers[0].real_servers[0];
        assert_eq!(r.health, "up");
        assert_eq!(r.traffic.unwrap().active_conns, 3);
        assert_eq!(r.traffic.unwrap().conns, 10);
        assert_eq!((r.checks, r.last_check_duration_us), (0, None));
        assert_eq!(l.reloads_failed, 0);
    }
}
