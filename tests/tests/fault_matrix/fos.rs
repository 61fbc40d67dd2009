//! The FOS pair (pulse in FOS mode, fos, nanny; busybox httpd on port 8080 started by
//! `start_cmd`): kill -9 of fos and of pulse on the active node, the client probing the VIP
//! all along.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::fault::{DEADTIME, Probe, gone, report, signal};
use testkit::lan::VIP;
use testkit::lan::fos::*;

use super::s;

type Lan = testkit::lan::Lan<Status>;
type Pulse = testkit::lan::Pulse<Status>;

/// Why the FOS pair is not sound now (`None`: it is): exactly one node active, the VIP on it
/// alone, fos running on both (`--active` there, the monitor on the other), both pulses
/// alive; returns the active one's name.
fn broken(lan: &Lan, d: [&Pulse; 2]) -> Result<String, String> {
    let st: Vec<Status> = d
        .iter()
        .map(|p| p.status().ok_or(format!("{} does not answer", p.name)))
        .collect::<Result<_, _>>()?;
    let active: Vec<usize> = (0..2).filter(|&i| st[i].state == "active").collect();
    let [a] = active[..] else {
        return Err(format!("not one active: {st:?}"));
    };
    let (an, on) = (&d[a].name, &d[1 - a].name);
    if st[a].vips.is_empty() || !st[1 - a].vips.is_empty() || !lan.has_vip(an) || lan.has_vip(on) {
        return Err(format!("the VIP is not on {an} alone: {st:?}"));
    }
    for (p, s) in d.iter().zip(&st) {
        match &s.child {
            Some(c) if c.program == "fos" && !gone(c.pid) => {}
            c => return Err(format!("no fos on {}: {c:?}", p.name)),
        }
        if gone(p.proc.pid()) {
            return Err(format!("pulse on {} is dead", p.name));
        }
    }
    Ok(an.clone())
}

/// Wait until the pair is sound with `want` active and the client served by it (five
/// answers in a row), then check it stays so for two deadtimes.
fn recovered(lan: &Lan, d: [&Pulse; 2], probe: &Probe, t0: Instant, want: &str) {
    let logs = || format!("--- d1:\n{}--- d2:\n{}", d[0].log(), d[1].log());
    let mut why = String::new();
    let ok = testkit::wait::until(s(30), || match broken(lan, d) {
        Ok(a) if a == want => true,
        Ok(a) => {
            why = format!("{a} is active");
            false
        }
        Err(e) => {
            why = e;
            false
        }
    });
    assert!(ok.is_some(), "{why}\n{}", logs());
    if let Err(e) = probe.wait_served(5, t0, s(15), |(srv, _)| srv == want) {
        panic!("{e}\n{}", logs());
    }
    let end = Instant::now() + DEADTIME * 2;
    while Instant::now() < end {
        assert_eq!(broken(lan, d).as_deref(), Ok(want), "{}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fos_pair() -> Option<(Lan, std::path::PathBuf, Pulse, Pulse, Probe)> {
    if !testkit::root_or_skip() || !testkit::have("busybox", "busybox-static") {
        return None;
    }
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg, &[]);
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    let target: SocketAddr = format!("{VIP}:8080").parse().unwrap();
    let probe = Probe::start(&lan.ns("c"), target);
    let t0 = Instant::now();
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    Some((lan, cfg, d1, d2, probe))
}

#[test]
fn fos_kill9_fos_on_the_active() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let fos = d1.status().unwrap().child.unwrap().pid;
    let t0 = Instant::now();
    signal(fos, Signal::SIGKILL);
    // pulse starts fos again on d1 (its stop_cmd, then its start_cmd); the service stays on
    // d1 and d2 goes on monitoring.
    d1.wait_for(s(10), "a new fos", |st| {
        st.child.as_ref().is_some_and(|c| c.pid != fos)
    });
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let seen = probe.since(t0);
    assert!(seen.longest_gap < s(5), "{seen}");
    report("FOS: kill -9 fos, active", &seen);
}

#[test]
fn fos_kill9_pulse_on_the_active() {
    let Some((lan, cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let t0 = Instant::now();
    d1.kill9();
    // The watchdog takes the VIP down and tells d2, which takes over and starts the service.
    let d1 = fos_pulse(&lan, "d1", &cfg, &[]);
    recovered(&lan, [&d1, &d2], &probe, t0, "d2");
    let seen = probe.since(t0);
    assert!(seen.longest_gap < s(5), "{seen}");
    report("FOS: kill -9 pulse, active", &seen);
}
