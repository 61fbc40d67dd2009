//! The status report: what `lvsd --status` prints, built from the engine's state.

use std::fmt::Write as _;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;

/// One real server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealStatus {
    pub name: String,
    pub address: String,
    pub port: u16,
    /// `up`, `down`, or `unknown` before the nanny's first verdict.
    pub health: String,
    pub in_table: bool,
    pub weight: i32,
    pub configured_weight: i32,
    /// An administrator's control: `drained`, `disabled`, `weight N`, or none (health-driven).
    #[serde(default)]
    pub admin: Option<String>,
    pub nanny_pid: Option<u32>,
    /// What the nanny last reported (`check`, `ramp`, `load`, `override`, `shutdown`).
    pub last_reason: Option<String>,
    /// Seconds since the health last changed.
    pub since_secs: Option<f64>,
    /// Restarts after the nanny died (`hard_shutdown = 0`).
    pub nanny_restarts: u32,
    /// The nannies' completed checks since lvsd started, and how many of them failed.
    #[serde(default)]
    pub checks: u64,
    #[serde(default)]
    pub checks_failed: u64,
    /// The sum of those checks' durations, in microseconds.
    #[serde(default)]
    pub check_duration_us_sum: u64,
    /// The last check's duration in microseconds; absent before the first.
    #[serde(default)]
    pub last_check_duration_us: Option<u64>,
    /// The userspace data plane could not connect to it: out of rotation until its
    /// nanny's next good check.
    #[serde(default)]
    pub plane_down: bool,
    /// Connection failures the userspace data plane reported.
    #[serde(default)]
    pub plane_failures: u64,
    /// Counters of the destination as the data plane (kernel or userspace) reports them;
    /// absent when it is not in the table.
    pub traffic: Option<Traffic>,
}

/// Connection and byte counters of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Traffic {
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub conns: u64,
    pub inbytes: u64,
    pub outbytes: u64,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualStatus {
    pub name: String,
    /// As ipvsadm prints it: `TCP 10.0.0.1:80`, `FWM 7`.
    pub service: String,
    pub scheduler: String,
    pub persistent: Option<u32>,
    pub sorry_server: Option<String>,
    pub sorry_active: bool,
    /// The service is in the table; false while the table refuses it and lvsd tries again
    /// (`engine::missing`).
    #[serde(default = "yes")]
    pub in_table: bool,
    /// The service's counters from the data plane.
    pub traffic: Option<Traffic>,
    pub real_servers: Vec<RealStatus>,
}

fn yes() -> bool {
    true
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub config: String,
    /// Configurations read after SIGHUP (or `reload`) and applied.
    pub reloads: u64,
    /// Configurations read after SIGHUP (or `reload`) and refused: the file unreadable or
    /// invalid, or a host name that does not resolve.
    #[serde(default)]
    pub reloads_failed: u64,
    pub test_start: bool,
    /// `ipvs`, `userspace` or `memory` (test start and `--memory-table`).
    pub dataplane: String,
    /// `announce = bird`: the VIPs wanted and what BIRD accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<crate::announcer::AnnounceStatus>,
    pub virtual_servers: Vec<VirtualStatus>,
}

/// What the data plane reports, per service: the service's counters and its destinations'.
pub type TableCounters =
    std::collections::HashMap<ipvs::ServiceId, (Traffic, Vec<(std::net::IpAddr, u16, Traffic)>)>;

/// Read the counters of every service lvsd owns from its table.
pub fn table_counters(engine: &Engine, table: &mut dyn ipvs::IpvsTable) -> TableCounters {
    let mut out = TableCounters::new();
    for v in &engine.desired.virtuals {
        let id = v.service.id;
        let Ok(svc) = table.service(id) else { continue };
        let t = |s: &ipvs::Stats, a: u32, i: u32| Traffic {
            active_conns: a,
            inactive_conns: i,
            conns: s.conns,
            inbytes: s.inbytes,
            outbytes: s.outbytes,
        };
        let dests = table
            .dests(id)
            .unwrap_or_default()
            .iter()
            .map(|d| (d.addr, d.port, t(&d.stats, d.active_conns, d.inact_conns)))
            .collect();
        out.insert(id, (t(&svc.stats, 0, 0), dests));
    }
    out
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Build the report; `pid_of` maps a nanny instance to its process id.
pub fn build(
    engine: &Engine,
    config: &str,
    (reloads, reloads_failed): (u64, u64),
    now: Instant,
    pid_of: &dyn Fn(u64) -> Option<u32>,
    counters: &TableCounters,
    dataplane: &str,
) -> Status {
    let virtual_servers = engine
        .desired
        .virtuals
        .iter()
        .map(|v| {
            let vs = engine.virtuals.get(&v.service.id);
            let c = counters.get(&v.service.id);
            VirtualStatus {
                traffic: c.map(|c| c.0),
                name: v.name.clone(),
                service: v.service.id.to_string(),
                scheduler: v.service.scheduler.clone(),
                persistent: v.service.is_persistent().then_some(v.service.timeout),
                sorry_server: v.sorry.map(|a| a.to_string()),
                sorry_active: vs.is_some_and(|s| s.sorry_on.is_some()),
                in_table: vs.is_some_and(|s| s.in_table),
                real_servers: v
                    .reals
                    .iter()
                    .map(|r| {
                        let st = engine.reals.get(&(v.service.id, r.addr, r.port));
                        RealStatus {
                            name: r.name.clone(),
                            address: r.addr.to_string(),
                            port: r.port,
                            health: match st.and_then(|s| s.up) {
                                Some(true) => "up",
                                Some(false) => "down",
                                None => "unknown",
                            }
                            .into(),
                            in_table: st.is_some_and(|s| s.in_table),
                            weight: st.map_or(0, |s| s.weight),
                            configured_weight: r.weight,
                            admin: engine
                                .controls()
                                .get(&crate::engine::label(&v.name, &r.name))
                                .map(ToString::to_string),
                            nanny_pid: st.and_then(|s| s.instance).and_then(pid_of),
                            last_reason: st.and_then(|s| s.last_reason.clone()),
                            since_secs: st
                                .and_then(|s| s.last_change)
                                .map(|t| now.duration_since(t).as_secs_f64()),
                            nanny_restarts: st.map_or(0, |s| s.deaths),
                            checks: st.map_or(0, |s| s.checks.count),
                            checks_failed: st.map_or(0, |s| s.checks.failed),
                            check_duration_us_sum: st.map_or(0, |s| micros(s.checks.total)),
                            last_check_duration_us: st.and_then(|s| s.checks.last).map(micros),
                            plane_down: st.is_some_and(|s| s.plane_down.is_some()),
                            plane_failures: st.map_or(0, |s| s.plane_failures),
                            traffic: c.and_then(|c| {
                                c.1.iter()
                                    .find(|(a, p, _)| *a == r.addr && *p == r.port)
                                    .map(|(_, _, t)| *t)
                            }),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Status {
        pid: std::process::id(),
        config: config.to_owned(),
        reloads,
        reloads_failed,
        test_start: !engine.spawn_nannies,
        dataplane: dataplane.to_owned(),
        announce: None,
        virtual_servers,
    }
}

/// The report for people: one block per virtual service, one row per real server.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lvsd pid {}, config {}, data plane {}, {} reload(s), {} failed{}",
        s.pid,
        s.config,
        s.dataplane,
        s.reloads,
        s.reloads_failed,
        if s.test_start {
            ", test start (no nannies)"
        } else {
            ""
        }
    );
    for v in &s.virtual_servers {
        let _ = write!(out, "\n{} {} {}", v.name, v.service, v.scheduler);
        if let Some(p) = v.persistent {
            let _ = write!(out, " persistent {p}");
        }
        if let Some(sorry) = &v.sorry_server {
            let state = if v.sorry_active { "active" } else { "standby" };
            let _ = write!(out, " sorry {sorry} ({state})");
        }
        if !v.in_table {
            out.push_str(", not in the table (trying again)");
        }
        if let Some(t) = v.traffic {
            let _ = write!(
                out,
                ", {} conns, {} B in, {} B out",
                t.conns, t.inbytes, t.outbytes
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "  {:<16} {:<24} {:<7} {:<8} {:>6} {:>6} {:>8} {:>9} {:>7} {:>7}  admin",
            "server",
            "address",
            "health",
            "table",
            "weight",
            "config",
            "nanny",
            "since",
            "active",
            "conns"
        );
        for r in &v.real_servers {
            let addr = if r.address.contains(':') {
                format!("[{}]:{}", r.address, r.port)
            } else {
                format!("{}:{}", r.address, r.port)
            };
            let _ = writeln!(
                out,
                "  {:<16} {:<24} {:<7} {:<8} {:>6} {:>6} {:>8} {:>9} {:>7} {:>7}  {}",
                r.name,
                addr,
                if r.plane_down { "failed" } else { &r.health },
                if r.in_table { "in" } else { "out" },
                r.weight,
                r.configured_weight,
                r.nanny_pid.map_or("-".into(), |p| p.to_string()),
                r.since_secs.map_or("-".into(), |t| format!("{t:.0}s")),
                r.traffic.map_or("-".into(), |t| t.active_conns.to_string()),
                r.traffic.map_or("-".into(), |t| t.conns.to_string()),
                r.admin.as_deref().unwrap_or("-"),
            );
        }
    }
    out
}
