//! pulse in FOS mode with real fos and nanny processes: two nodes in network namespaces, a
//! client that is also their default gateway, and a web service (busybox httpd) that
//! `start_cmd`/`stop_cmd` scripts start and stop in each node's private /run. The LAN and
//! the processes are testkit's (`testkit::lan::fos`).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::lan::fos::*;
use testkit::{must as sh, root_or_skip};

type Lan = testkit::lan::Lan<Status>;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn service_failure_and_node_failure_move_the_service() {
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg, &[]);
    let st = d1.status().unwrap();
    assert_eq!((st.mode.as_str(), st.role.as_str()), ("fos", "master"));
    assert_eq!(st.child.as_ref().map(|c| c.program.as_str()), Some("fos"));
    // The service runs on the active node only; the other monitors it.
    d2.wait_for(s(5), "monitor", |s| {
        s.state == "inactive" && s.child.is_some()
    });
    assert!(httpd(&d2).is_none() && !lan.has_vip("d2"));
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");

    // The service dies on d1: d2's monitor sees it, d2 checks its gateway, takes over with
    // STOPME, and d1 goes back to monitoring.
    let t0 = Instant::now();
    kill_service(&d1);
    let took = wait_page(&lan, "d2", s(20));
    assert!(took < s(10), "took {took:?}");
    d2.wait_log(s(2), "fos process exited -- checking network connectivity");
    d2.wait_log(
        s(2),
        "seems like a remote network fault; performing service failover",
    );
    d2.wait_log(s(2), "Notifying partner WE are taking control!");
    d1.wait_log(s(5), "PARTNER HAS TOLD US TO GO INACTIVE!");
    d1.wait_for(s(10), "d1 monitoring", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    assert!(httpd(&d1).is_none(), "the old node stopped its copy");
    assert!(lan.has_vip("d2") && !lan.has_vip("d1"));
    eprintln!(
        "service failure: served by d2 {:?} after the kill",
        t0.elapsed()
    );
    // STOPME stops once d1 says STOPPED.
    d2.wait_for(s(5), "FAILPARTNER cleared", |s| {
        !s.flags.contains(&"FAILPARTNER".to_owned())
    });

    // kill -9 of pulse on the active node: fos dies with it and stops the service; d1 takes
    // over (its monitor sees the service go, or deadtime passes, whichever comes first).
    d2.kill9();
    wait_page(&lan, "d1", s(15));
    assert!(d1.active());
    assert_eq!(d1.stop(), Some(0));
}

#[test]
fn no_takeover_without_the_gateway_and_recovery_when_it_returns() {
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg, &[]);
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    // d2 cannot reach its gateway (its pings are dropped; heartbeats still flow).
    lan.on(
        "d2",
        "nft 'add table inet gw ; add chain inet gw out { type filter hook output priority 0 ; } ; \
         add rule inet gw out icmp type echo-request drop'",
    );
    kill_service(&d1);
    d2.wait_log(s(15), "I SEEM TO HAVE A NETWORK FAULT!");
    d2.wait_for(s(2), "fault flag", |s| {
        s.flags.contains(&"NETWORKFAULT".to_owned())
    });
    std::thread::sleep(s(3));
    assert_eq!(
        d2.status().unwrap().state,
        "inactive",
        "took over without a gateway"
    );
    assert!(!lan.has_vip("d2"));
    // The network comes back: d2 notices by itself, restarts its monitor, and takes over.
    lan.on("d2", "nft delete table inet gw");
    d2.wait_log(s(10), "Network fault seems to be fixed");
    wait_page(&lan, "d2", s(30));
    assert!(d2.active());
}

#[test]
fn hold_down_ends_the_ping_pong_of_a_service_that_never_starts() {
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, 1, Some("exit 1\n"));
    let d1 = fos_pulse(&lan, "d1", &cfg, &["--max-failovers", "1"]);
    let d2 = fos_pulse(&lan, "d2", &cfg, &["--max-failovers", "1"]);
    // The service moves back and forth until one node refuses to take it again.
    testkit::wait::expect_until(
        s(60),
        || {
            [&d1, &d2].iter().any(|p| {
                p.status()
                    .is_some_and(|s| s.flags.contains(&"HOLDDOWN".to_owned()))
            })
        },
        || format!("no hold-down\nd1:\n{}\nd2:\n{}", d1.log(), d2.log()),
    );
    let held = if d1.status().unwrap().flags.contains(&"HOLDDOWN".to_owned()) {
        &d1
    } else {
        &d2
    };
    held.wait_log(
        s(3),
        "HOLD-DOWN: 1 takeovers for failed services within 600 s",
    );
    let log = d1.log() + &d2.log();
    // The starts failed (fos may be stopped before its last attempt: the service moved).
    assert!(
        log.contains("Failed to start service 10.7.0.50:8080!"),
        "{log}"
    );
    // From then on nothing moves.
    let states = || {
        (
            d1.status().unwrap().state,
            d2.status().unwrap().state,
            lan.has_vip("d1"),
            lan.has_vip("d2"),
        )
    };
    let before = states();
    assert!(before.0 != before.1, "exactly one active: {before:?}");
    std::thread::sleep(s(8));
    assert_eq!(states(), before, "the cluster still moves");
}

#[test]
fn sighup_moves_nothing_and_changed_blocks_restart_fos_in_place() {
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, 1, None);
    let (d1, d2) = started(&lan, &cfg, &[]);
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    let fos1 = d1.status().unwrap().child.unwrap().pid;
    let fos2 = d2.status().unwrap().child.unwrap().pid;
    // The same file: pulse re-reads it; fos is neither signalled nor restarted.
    d1.signal(Signal::SIGHUP);
    d2.signal(Signal::SIGHUP);
    d1.wait_for(s(5), "reload", |s| s.reloads == 1);
    d2.wait_for(s(5), "reload", |s| s.reloads == 1);
    std::thread::sleep(s(2));
    assert_eq!(
        d1.status().unwrap().child.unwrap().pid,
        fos1,
        "{}",
        d1.log()
    );
    assert_eq!(d2.status().unwrap().child.unwrap().pid, fos2);
    assert!(
        !d2.log().contains("checking network connectivity"),
        "{}",
        d2.log()
    );
    assert_eq!(page(&lan).as_deref(), Some("d1"));
    // A changed block: fos starts again in its role on both nodes; nothing fails over.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("timeout = 1", "timeout = 2")).unwrap();
    d1.signal(Signal::SIGHUP);
    d2.signal(Signal::SIGHUP);
    d1.wait_for(s(10), "new fos", |s| {
        s.child.as_ref().is_some_and(|c| c.pid != fos1)
    });
    d2.wait_for(s(10), "new monitor", |s| {
        s.child.as_ref().is_some_and(|c| c.pid != fos2)
    });
    d1.wait_log(s(2), "the failover services changed: starting fos again");
    wait_page(&lan, "d1", s(10));
    std::thread::sleep(s(3));
    assert!(d1.active() && !d2.active());
    assert!(
        !d2.log().contains("checking network connectivity"),
        "{}",
        d2.log()
    );
    // The new monitor runs with the new interval.
    let cmdlines = sh(&format!(
        "for p in $(ip netns pids {}); do tr '\\0' ' ' < /proc/$p/cmdline; echo; done",
        lan.ns("d2")
    ));
    let monitor = cmdlines.lines().find(|l| {
        // The program itself is nanny (pulse's command line names nanny's directory too
        // when the target directory's path contains "nanny").
        let prog = l.split_whitespace().next().unwrap_or("");
        prog.rsplit('/').next() == Some("nanny") && l.contains(" --fos")
    });
    assert!(monitor.is_some_and(|l| l.contains(" -t 2 ")), "{cmdlines}");
}

#[test]
fn a_fos_that_cannot_start_is_retried_slowly_and_moves_nothing() {
    if !root_or_skip() {
        return;
    }
    // A fos that cannot be started, and one that fails at once (exit status 1): both are this
    // node's problem, not the partner's service failing.
    for (fos, line) in [
        ("/nonexistent/fos", "cannot start /nonexistent/fos"),
        ("/bin/false", "exited with status 1"),
    ] {
        let lan: Lan = fos_lan();
        let cfg = fos_config(&lan, 1, None);
        // No partner: after deadtime this node activates; fos fails in either role.
        let d2 = lan.pulse("d2", &cfg, &["--fos", fos]);
        std::thread::sleep(s(6));
        let log = d2.log();
        let attempts = log.matches(line).count();
        assert!(
            (2..=8).contains(&attempts),
            "{fos}: {attempts} attempts in 6 s:\n{log}"
        );
        assert!(
            log.contains("fos keeps exiting: starting it again in"),
            "{log}"
        );
        assert!(!log.contains("checking network connectivity"), "{log}");
    }
}

#[test]
fn hot_standby_runs_the_service_on_both_nodes_and_moves_only_the_vip() {
    if !root_or_skip() {
        return;
    }
    let lan: Lan = fos_lan();
    let cfg = hot_fos_config(&lan, 1);
    let (d1, d2) = started(&lan, &cfg, &[]);
    // Before any failover the service runs on both nodes; only d1 has the VIP.
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    let p1 = wait_httpd(&d1, None, s(10));
    let p2 = wait_httpd(&d2, None, s(10));
    assert!(lan.has_vip("d1") && !lan.has_vip("d2"));
    d2.wait_log(
        s(5),
        "create_monitor of the local standby copy for 10.7.0.50:8080",
    );

    // The service dies on d1: d2 takes over with the copy it runs, not a new one.
    kill_service(&d1);
    wait_page(&lan, "d2", s(20));
    d2.wait_log(
        s(5),
        "Local service 10.7.0.50:8080 already runs (hot standby): not started again",
    );
    assert_eq!(httpd_alive(&d2), Some(p2), "d2 started its service again");
    // Started once, when d2 stood by.
    assert_eq!(
        d2.log().matches("Starting local service").count(),
        1,
        "{}",
        d2.log()
    );
    // d1 stands by: its own check finds its copy dead and starts it again.
    d1.wait_for(s(10), "d1 monitoring", |s| {
        s.state == "inactive" && s.vips.is_empty()
    });
    d1.wait_log(
        s(15),
        "The local standby copy of 10.7.0.50:8080 failed its check: starting it again",
    );
    let p1b = wait_httpd(&d1, Some(p1), s(15));

    // d2's machine dies: d1 serves with the copy it already runs.
    node_down(&lan, d2);
    wait_page(&lan, "d1", s(20));
    assert_eq!(httpd_alive(&d1), Some(p1b), "d1 started its service again");
    d1.wait_log(s(2), "already runs (hot standby): not started again");

    // d2 boots: its pulse stands by with a hot copy of its own (no takeover).
    let d2 = node_back(&lan, "d2", &cfg, &[]);
    let p2b = wait_httpd(&d2, None, s(15));
    d2.wait_log(s(10), "Remote service 10.7.0.50:8080 is available");
    assert!(d1.active() && !d2.active());
    // pulse stopped with SIGTERM stops the node's hot copy, inactive or active.
    let gone = |pid: i32| testkit::wait::until(s(5), || testkit::fault::gone(pid as u32));
    assert_eq!(d2.stop(), Some(0));
    assert!(gone(p2b).is_some(), "d2's copy still runs");
    assert!(!testkit::fault::gone(p1b as u32), "d1's copy stopped");
    let log = d1.log();
    assert_eq!(d1.stop(), Some(0));
    assert!(gone(p1b).is_some(), "d1's copy still runs\n{log}");
}
