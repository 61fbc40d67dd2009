//! LVS hot standby (`hot_standby = 1`) with real pulse, lvsd (userspace data plane) and nanny
//! processes in network namespaces: the backup runs lvsd and its nannies without the VIP;
//! a takeover (kill -9 of the active director, SIGTERM) moves only the address, with the same
//! lvsd serving; lvsd dying on the standby is a CHILDFAIL that its restart ends; a reload
//! turning hot standby off stops the standby's lvsd. The LAN is testkit's (`testkit::lan`).

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::fault::{children_named, stat};
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<Status>;
type Pulse = testkit::lan::Pulse<Status>;

const HOT: &str = "hot_standby = 1";

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// lvsd's pid while it is running and ready.
fn ready_lvsd(p: &Pulse) -> Option<u32> {
    let st = p.status()?;
    st.child
        .filter(|c| c.program == "lvsd" && c.state == "ready")
        .map(|c| c.pid)
}

/// A process's nice value (field 19 of `/proc/PID/stat`).
fn nice(pid: u32) -> Option<i32> {
    stat(pid)?.1.get(16)?.parse().ok()
}

/// Both directors up with hot standby: d1 active and serving, d2's table complete.
fn hot_cluster(lan: &mut Lan, ka: &str, dt: &str) -> (std::path::PathBuf, Pulse, Pulse) {
    let cfg = lan.config(ka, dt, HOT);
    let (d1, d2) = lan.serving_pair(&cfg);
    d2.wait_for(s(10), "d2's standby table", |s| {
        s.child
            .as_ref()
            .is_some_and(|c| c.state == "ready" && c.table_complete)
    });
    (cfg, d1, d2)
}

#[test]
fn the_standby_runs_lvsd_without_the_vip_and_takes_over_with_the_same_lvsd() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (cfg, d1, d2) = hot_cluster(&mut lan, "0.2", "1");
    let st2 = d2.status().unwrap();
    assert_eq!(
        (st2.state.as_str(), st2.hot_standby),
        ("inactive", true),
        "{st2:?}"
    );
    assert!(st2.vips.is_empty() && !lan.has_vip("d2"));
    let text = st2.render();
    assert!(
        text.contains("backup standby (hot)\nstandby table: ready (lvsd pid "),
        "{text}"
    );
    // The standby's lvsd checks both real servers with its nannies all along.
    let lvsd2 = ready_lvsd(&d2).unwrap();
    testkit::wait::expect_until(
        s(10),
        || children_named(lvsd2, "nanny").len() == 2,
        || {
            format!(
                "d2's lvsd runs {:?} nannies",
                children_named(lvsd2, "nanny")
            )
        },
    );
    // The nannies run 10 nice levels below lvsd.
    let base = nice(lvsd2).expect("lvsd's nice value");
    for n in &children_named(lvsd2, "nanny") {
        assert_eq!(nice(*n), Some((base + 10).min(19)), "nanny {n}");
    }
    d2.wait_log(s(5), "lvsd is ready (hot standby)");
    d2.wait_log(
        s(10),
        &format!("lvsd (pid {lvsd2}): every real server checked, the table is complete"),
    );
    assert!(d2.status().unwrap().child.unwrap().table_complete);
    // No traffic reaches the standby: the client's VIP is d1's.
    assert_eq!(lan.neigh("c", testkit::lan::VIP), Some(lan.mac("d1")));

    // kill -9 of the active director: d2 takes over with the lvsd it already runs.
    let t0 = Instant::now();
    d1.crash();
    d2.wait_for(s(10), "takeover", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    eprintln!("hot takeover after {:?}", t0.elapsed());
    assert_eq!(ready_lvsd(&d2), Some(lvsd2), "lvsd was started again");
    assert!(lan.served_within(s(10)).is_some(), "{}", d2.log());
    assert_eq!(lan.neigh("c", testkit::lan::VIP), Some(lan.mac("d2")));
    assert!(d2.status().unwrap().render().contains("backup active\n"));

    // d1 comes back as the hot standby: stale VIP removed, its lvsd ready, no VIP.
    let d1 = lan.pulse("d1", &cfg, &[]);
    d1.wait_log(s(5), "removing stale address");
    d1.wait_for(s(10), "d1's standby table", |s| {
        s.state == "inactive" && s.child.as_ref().is_some_and(|c| c.state == "ready")
    });
    assert!(!lan.has_vip("d1"));
    let lvsd1 = ready_lvsd(&d1).unwrap();

    // SIGTERM of the active director: d1 takes over at once, again without a new lvsd.
    let t0 = Instant::now();
    d2.signal(Signal::SIGTERM);
    d1.wait_for(s(5), "takeover after SIGTERM", |s| {
        s.state == "active" && !s.vips.is_empty()
    });
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(ready_lvsd(&d1), Some(lvsd1));
    let mut d2 = d2;
    assert_eq!(d2.proc.exit_code(s(10)), Some(0));
    assert!(!lan.has_vip("d2"));
    assert!(lan.served_within(s(10)).is_some());
}

#[test]
fn lvsd_dying_on_the_standby_is_a_childfail_until_it_runs_again() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    let (cfg, d1, d2) = hot_cluster(&mut lan, "0.2", "1");
    let old = ready_lvsd(&d2).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(old as i32), Signal::SIGKILL).unwrap();
    d2.wait_log(
        s(5),
        "CHILDFAIL: lvsd exited; inactive until it is started again and ready",
    );
    // Started again and ready: CHILDFAIL ends while d1 stays active.
    d2.wait_for(s(10), "a new lvsd", |s| {
        s.flags.is_empty()
            && s.child
                .as_ref()
                .is_some_and(|c| c.state == "ready" && c.pid != old)
    });
    d2.wait_log(s(3), "lvsd ready again: CHILDFAIL cleared");
    assert!(d1.active() && d2.status().unwrap().state == "inactive");
    assert!(lan.served_within(s(5)).is_some());

    // A reload turning hot standby off stops the standby's lvsd; the active one keeps its
    // own.
    let cold = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(HOT, "hot_standby = 0");
    std::fs::write(&cfg, cold).unwrap();
    d2.signal(Signal::SIGHUP);
    d1.signal(Signal::SIGHUP);
    d2.wait_for(s(10), "the standby's lvsd stopped", |s| {
        s.child.is_none() && !s.hot_standby
    });
    assert!(d1.status().unwrap().child.is_some());
    assert!(lan.served_within(s(5)).is_some());
    // And on again: started for the standby table.
    let hot = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("hot_standby = 0", HOT);
    std::fs::write(&cfg, hot).unwrap();
    d2.signal(Signal::SIGHUP);
    d2.wait_for(s(10), "the standby's lvsd again", |s| {
        s.hot_standby && s.child.as_ref().is_some_and(|c| c.state == "ready")
    });
    assert_eq!(d2.stop(), Some(0));
    assert_eq!(d1.stop(), Some(0));
}
