//! The FOS pair (pulse in FOS mode, fos, nanny; busybox httpd on port 8080 started by
//! `start_cmd`): kill -9 of fos and of pulse on the active node, the client probing the VIP
//! all along.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::fault::{Probe, gone, report, signal};
use testkit::lan::VIP;
use testkit::lan::fos::*;

use super::s;

/// The FOS pair's deadtime (`lan::fos`).
const FOS_DEADTIME: Duration = Duration::from_secs(2);

/// What the backup's monitor logs when it finds d1's service (once per nanny).
const AVAILABLE: &str = "Remote service 10.7.0.50:8080 is available";

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
    recovered_within(lan, d, probe, t0, want, s(15));
}

/// [`recovered`], the client served again within `served`.
fn recovered_within(
    lan: &Lan,
    d: [&Pulse; 2],
    probe: &Probe,
    t0: Instant,
    want: &str,
    served: Duration,
) {
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
    if let Err(e) = probe.wait_served(5, t0, served, |(srv, _)| srv == want) {
        panic!("{e}\n{}", logs());
    }
    let end = Instant::now() + FOS_DEADTIME * 2;
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
    d2.wait_log(s(10), AVAILABLE);
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

#[test]
fn fos_kill9_fos_on_the_backup() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let fos = d2.status().unwrap().child.unwrap().pid;
    let available = d2.proc.count(AVAILABLE);
    let t0 = Instant::now();
    signal(fos, Signal::SIGKILL);
    // A monitor killed by a signal is a local failure, not the partner's service failing
    // (which a monitor says by exiting 0): pulse starts another monitor, and nothing moves.
    d2.wait_for(s(10), "a new monitor fos", |st| {
        st.child.as_ref().is_some_and(|c| c.pid != fos)
    });
    d2.wait_log_after(s(10), AVAILABLE, available);
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!((b2.took_over, b1.gave_up), (0, 0), "{b1:?}\n{b2:?}");
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: kill -9 fos, backup (the monitor)", &seen);
}

/// The nanny of d2's monitor fos killed -9. A nanny says the partner's service failed by
/// exiting (0, or 1 when it never found it); killed by a signal it said nothing: fos starts
/// another (the same fos, no `failover condition`), and nothing moves.
#[test]
fn fos_kill9_monitor_nanny_on_the_backup() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let fos = d2.status().unwrap().child.unwrap().pid;
    let nanny = wait_nanny(fos, None, s(5));
    let available = d2.proc.count(AVAILABLE);
    let t0 = Instant::now();
    signal(nanny, Signal::SIGKILL);
    wait_nanny(fos, Some(nanny), s(10));
    d2.wait_log_after(s(10), AVAILABLE, available);
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!(
        b2.child.as_ref().map(|c| c.pid),
        Some(fos),
        "the monitor was replaced"
    );
    assert_eq!((b2.took_over, b1.gave_up), (0, 0), "{b1:?}\n{b2:?}");
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: kill -9 nanny, backup (the monitor's)", &seen);
}

/// d2's monitor fos stopped for three deadtimes, then woken. Its nanny goes on checking
/// meanwhile, and pulse does not watch fos's liveness (only its exit): nothing moves, and the
/// same fos and nanny monitor on.
#[test]
fn fos_sigstop_monitor_fos_on_the_backup() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let fos = d2.status().unwrap().child.unwrap().pid;
    let nanny = wait_nanny(fos, None, s(5));
    let t0 = Instant::now();
    signal(fos, Signal::SIGSTOP);
    std::thread::sleep(FOS_DEADTIME * 3);
    signal(fos, Signal::SIGCONT);
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!(
        b2.child.as_ref().map(|c| c.pid),
        Some(fos),
        "the monitor was replaced"
    );
    assert_eq!(nanny_of(fos), Some(nanny), "its nanny was replaced");
    assert_eq!((b2.took_over, b1.gave_up), (0, 0), "{b1:?}\n{b2:?}");
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: SIGSTOP/SIGCONT fos, backup (the monitor)", &seen);
}

#[test]
fn fos_sigstop_fos_on_the_active() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let fos = d1.status().unwrap().child.unwrap().pid;
    let httpd_pid = httpd(&d1);
    let t0 = Instant::now();
    signal(fos, Signal::SIGSTOP);
    // Stopped for two deadtimes (the fault's length): the service it started goes on
    // serving and d2's monitor finds it available, so nothing moves.
    std::thread::sleep(FOS_DEADTIME * 2);
    signal(fos, Signal::SIGCONT);
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!(b1.child.map(|c| c.pid), Some(fos), "fos was replaced");
    assert_eq!(httpd(&d1), httpd_pid, "the service was restarted");
    assert_eq!((b2.took_over, b1.gave_up), (0, 0), "{b2:?}");
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: SIGSTOP/SIGCONT fos, active", &seen);
}

/// The master's pulse stopped until d2 takes over, then woken. d1 stays active throughout
/// (its stall detector reads d2's heartbeats before judging the silence) and d2 yields to it;
/// and the master sends its gratuitous ARPs again (`partner active: resending arps`), in FOS
/// mode as in LVS mode. (It used to only log `partner active` in FOS mode, and the client
/// kept sending to d2's MAC for 15 to 45 s, until its neighbour entry went stale.)
#[test]
fn fos_sigstop_pulse_on_the_active() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let t0 = Instant::now();
    d1.signal(Signal::SIGSTOP);
    // d2 hears nothing for a deadtime and takes over: its fos runs start_cmd, pulse brings
    // up the VIP and sends gratuitous ARPs (d1's service and VIP stay: it cannot act).
    let took = testkit::wait::until(s(15), || d2.active());
    let served_by_d2 = testkit::wait::until(s(15), || page(&lan).as_deref() == Some("d2"));
    d1.signal(Signal::SIGCONT);
    assert!(took.is_some(), "d2 never took over\n{}", d2.log());
    assert!(served_by_d2.is_some(), "d2 never served\n{}", d2.log());
    // On waking d1 (the master, active all along) reads d2's heartbeats before judging the
    // silence, hears d2 active and stays active; d2 yields to it.
    d1.wait_log(
        s(10),
        "reading the partner's heartbeats before judging its silence",
    );
    d2.wait_log(s(10), "partner active: deactivating FOS");
    let arp_to = |n: &str| lan.neigh("c", VIP) == Some(lan.mac(n));
    let stale = arp_to("d2");
    d1.wait_log(s(10), "partner active: resending arps");
    recovered_within(&lan, [&d1, &d2], &probe, t0, "d1", s(15));
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!((b1.took_over, b1.gave_up), (1, 0), "{b1:?}");
    assert_eq!((b2.took_over, b2.gave_up), (1, 1), "{b2:?}");
    let seen = probe.since(t0);
    assert!(seen.longest_gap < s(5), "{seen}");
    eprintln!("FOS SIGCONT: the client sent to d2's MAC after d2 yielded: {stale}");
    report("FOS: SIGSTOP/SIGCONT pulse, active", &seen);
}

#[test]
fn fos_kill9_pulse_on_the_backup() {
    let Some((lan, cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let monitor = d2.status().unwrap().child.unwrap().pid;
    let t0 = Instant::now();
    d2.kill9();
    // Its monitor goes with it; d1 hears nothing more and stays active (it is already).
    testkit::wait::expect_until(
        s(10),
        || gone(monitor),
        || "the monitor outlived pulse".into(),
    );
    // Started again, d2 monitors: no fail-back, no takeover.
    let d2 = fos_pulse(&lan, "d2", &cfg, &[]);
    d2.wait_log(s(15), AVAILABLE);
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!(
        (b1.took_over, b1.gave_up, b2.took_over),
        (1, 0, 0),
        "{b1:?}\n{b2:?}"
    );
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: kill -9 pulse, backup", &seen);
}

#[test]
fn fos_sigstop_pulse_on_the_backup() {
    let Some((lan, _cfg, d1, d2, probe)) = fos_pair() else {
        return;
    };
    let t0 = Instant::now();
    d2.signal(Signal::SIGSTOP);
    // Stopped for three deadtimes (the fault's length); on waking it reads d1's heartbeats
    // before judging the silence: no false takeover.
    std::thread::sleep(FOS_DEADTIME * 3);
    d2.signal(Signal::SIGCONT);
    d2.wait_log(
        s(10),
        "reading the partner's heartbeats before judging its silence",
    );
    recovered(&lan, [&d1, &d2], &probe, t0, "d1");
    let (b1, b2) = (d1.status().unwrap(), d2.status().unwrap());
    assert_eq!(
        (b1.gave_up, b2.took_over),
        (0, 0),
        "{b1:?}\n{b2:?}\n{}",
        d2.log()
    );
    let seen = probe.since(t0);
    assert_eq!(seen.failed, 0, "{seen}");
    report("FOS: SIGSTOP/SIGCONT pulse, backup", &seen);
}
