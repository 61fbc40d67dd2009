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
    pub nanny_pid: Option<u32>,
    /// What the nanny last reported (`check`, `ramp`, `load`, `override`, `shutdown`).
    pub last_reason: Option<String>,
    /// Seconds since the health last changed.
    pub since_secs: Option<f64>,
    /// Restarts after the nanny died (`hard_shutdown = 0`).
    pub nanny_restarts: u32,
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
    pub real_servers: Vec<RealStatus>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub config: String,
    pub reloads: u64,
    pub test_start: bool,
    pub virtual_servers: Vec<VirtualStatus>,
}

/// Build the report; `pid_of` maps a nanny instance to its process id.
pub fn build(
    engine: &Engine,
    config: &str,
    reloads: u64,
    now: Instant,
    pid_of: &dyn Fn(u64) -> Option<u32>,
) -> Status {
    let virtual_servers = engine
        .desired
        .virtuals
        .iter()
        .map(|v| {
            let vs = engine.virtuals.get(&v.service.id);
            VirtualStatus {
                name: v.name.clone(),
                service: v.service.id.to_string(),
                scheduler: v.service.scheduler.clone(),
                persistent: v.service.is_persistent().then_some(v.service.timeout),
                sorry_server: v.sorry.map(|a| a.to_string()),
                sorry_active: vs.is_some_and(|s| s.sorry_on.is_some()),
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
                            nanny_pid: st.and_then(|s| s.instance).and_then(pid_of),
                            last_reason: st.and_then(|s| s.last_reason.clone()),
                            since_secs: st
                                .and_then(|s| s.last_change)
                                .map(|t| now.duration_since(t).as_secs_f64()),
                            nanny_restarts: st.map_or(0, |s| s.deaths),
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
        test_start: !engine.spawn_nannies,
        virtual_servers,
    }
}

/// The report for people: one block per virtual service, one row per real server.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lvsd pid {}, config {}, {} reload(s){}",
        s.pid,
        s.config,
        s.reloads,
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
        out.push('\n');
        let _ = writeln!(
            out,
            "  {:<16} {:<24} {:<7} {:<8} {:>6} {:>6} {:>8} {:>9}",
            "server", "address", "health", "table", "weight", "config", "nanny", "since"
        );
        for r in &v.real_servers {
            let addr = if r.address.contains(':') {
                format!("[{}]:{}", r.address, r.port)
            } else {
                format!("{}:{}", r.address, r.port)
            };
            let _ = writeln!(
                out,
                "  {:<16} {:<24} {:<7} {:<8} {:>6} {:>6} {:>8} {:>9}",
                r.name,
                addr,
                r.health,
                if r.in_table { "in" } else { "out" },
                r.weight,
                r.configured_weight,
                r.nanny_pid.map_or("-".into(), |p| p.to_string()),
                r.since_secs.map_or("-".into(), |t| format!("{t:.0}s")),
            );
        }
    }
    out
}
