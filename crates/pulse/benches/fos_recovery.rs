//! FOS: client-observed time to recover the service after it dies on the active node, at
//! `timeout = 1` and `timeout = 5` (the monitor's interval), over real pulse, fos and nanny
//! processes and a busybox web server started by `start_cmd`, in network namespaces
//! (testkit's FOS LAN, the cluster of tests/tests/fos_cluster.rs). A trial's time runs from
//! the kill of the web server to the first page served by the other node.
//!
//! Then the same for `hot_standby` (issue 19), at `timeout = 1`, with and without it: the
//! service killed on the active node, and the active node killed (its port cut, then pulse,
//! its watchdog and every process of its namespace killed; it boots again as the standby
//! before the next trial). A trial's time runs from the kill to the first page served by the
//! other node.
//!
//! `cargo build --release --workspace && cargo bench -p pulse --bench fos_recovery`
//! (`FOS_TRIALS=n` for other than 10 trials per setting; `FOS_BENCH=recovery` or `hot` for
//! one table, `node` for the node-killed rows alone). Needs root.

mod common;

use std::time::{Duration, Instant};

use common::*;
use testkit::lan::fos::{hot_fos_config, httpd_alive, node_back, node_down};

const NAME: [&str; 2] = ["d1", "d2"];

fn available(p: &Pulse) -> usize {
    p.log()
        .matches("Remote service 10.7.0.50:8080 is available")
        .count()
}

fn setting(timeout: u32, trials: usize) -> Vec<Duration> {
    let lan: Lan = fos_lan();
    let cfg = fos_config(&lan, timeout, None);
    // Every trial is a takeover for a failed service: no hold-down here.
    let (d1, d2) = started(&lan, &cfg, &["--max-failovers", "0"]);
    let nodes = [d1, d2];
    let mut active = 0;
    let mut out = Vec::new();
    for _ in 0..trials {
        let other = 1 - active;
        // The other node's monitor has seen the service up (it counts only then).
        let t0 = Instant::now();
        while available(&nodes[other]) == 0
            || !nodes[other]
                .status()
                .is_some_and(|s| s.state == "inactive" && s.child.is_some())
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no monitor on {}",
                NAME[other]
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the kill fall anywhere in the monitor's check cycle.
        std::thread::sleep(Duration::from_millis(rand_ms(u64::from(timeout) * 1000)));
        let t0 = Instant::now();
        kill_service(&nodes[active]);
        let mut last = None;
        while last.as_deref() != Some(NAME[other]) {
            assert!(t0.elapsed() < Duration::from_secs(120), "not recovered");
            std::thread::sleep(Duration::from_millis(20));
            last = page(&lan);
        }
        let took = t0.elapsed();
        eprintln!(
            "  {} -> {}: {:.3} s",
            NAME[active],
            NAME[other],
            took.as_secs_f64()
        );
        out.push(took);
        // The old node is back to monitoring, and its monitor has seen the new service.
        let before = available(&nodes[active]);
        let t0 = Instant::now();
        while available(&nodes[active]) <= before
            && !nodes[active].log().ends_with("is available\n")
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{} does not monitor",
                NAME[active]
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        active = other;
    }
    out
}

/// How a trial breaks the active node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    ServiceKilled,
    NodeKilled,
}

/// The standby is ready for a trial: inactive with its monitor, which has seen the service
/// at the VIP since it started; with `hot`, its own copy runs and its check has seen it.
fn standby_ready(p: &Pulse, n: usize, hot: bool) -> bool {
    let log = p.log();
    let after = |seen: &str, since: &str| match (log.rfind(seen), log.rfind(since)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    };
    let own = format!("Remote service {}:8080 is available", NODES[n].1);
    p.status()
        .is_some_and(|s| s.state == "inactive" && s.child.is_some())
        && after(
            "Remote service 10.7.0.50:8080 is available",
            "create_monitor for 10.7.0.50:8080",
        )
        && (!hot
            || (httpd_alive(p).is_some()
                && after(&own, "create_monitor of the local standby copy")))
}

fn hot_setting(hot: bool, failure: Failure, trials: usize) -> Vec<Duration> {
    let lan: Lan = fos_lan();
    let cfg = if hot {
        hot_fos_config(&lan, 1)
    } else {
        fos_config(&lan, 1, None)
    };
    let extra = ["--max-failovers", "0"];
    let (d1, d2) = started(&lan, &cfg, &extra);
    let mut nodes = [Some(d1), Some(d2)];
    let mut active = 0;
    let mut out = Vec::new();
    for _ in 0..trials {
        let other = 1 - active;
        let t0 = Instant::now();
        while !nodes[other]
            .as_ref()
            .is_some_and(|p| standby_ready(p, other, hot))
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{} not ready: {:?}\n{}",
                NAME[other],
                nodes[other].as_ref().map(|p| p.status()),
                nodes[other].as_ref().map(|p| p.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(rand_ms(1000)));
        let t0 = Instant::now();
        match failure {
            Failure::ServiceKilled => kill_service(nodes[active].as_ref().expect("active node")),
            Failure::NodeKilled => node_down(&lan, nodes[active].take().expect("active node")),
        }
        while page(&lan).as_deref() != Some(NAME[other]) {
            assert!(t0.elapsed() < Duration::from_secs(120), "not recovered");
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = t0.elapsed();
        eprintln!(
            "  {} -> {}: {:.3} s",
            NAME[active],
            NAME[other],
            took.as_secs_f64()
        );
        out.push(took);
        if failure == Failure::NodeKilled {
            nodes[active] = Some(node_back(&lan, NAME[active], &cfg, &extra));
        }
        active = other;
    }
    out
}

/// A table row's statistics: trials, min, p50, mean, p90, max.
fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64;
    format!(
        "{} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        v.len(),
        v[0].as_secs_f64(),
        pct(&v, 0.5),
        mean,
        pct(&v, 0.9),
        v[v.len() - 1].as_secs_f64()
    )
}

fn main() {
    if !root_or_skip() {
        return;
    }
    let trials: usize = std::env::var("FOS_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let which = std::env::var("FOS_BENCH").unwrap_or_default();
    if which.is_empty() || which == "recovery" {
        let mut rows = Vec::new();
        for timeout in [1u32, 5] {
            eprintln!("timeout = {timeout}: {trials} trials");
            rows.push(format!(
                "| timeout = {timeout} | {}",
                stats(setting(timeout, trials))
            ));
        }
        println!("| setting | trials | min s | p50 s | mean s | p90 s | max s |");
        println!("|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    }
    if which.is_empty() || which == "hot" || which == "node" {
        let mut rows = Vec::new();
        for (failure, what) in [
            (Failure::ServiceKilled, "service killed"),
            (Failure::NodeKilled, "node killed"),
        ] {
            if which == "node" && failure == Failure::ServiceKilled {
                continue;
            }
            for hot in [false, true] {
                let h = u8::from(hot);
                eprintln!("hot_standby = {h}, {what}: {trials} trials");
                let v = hot_setting(hot, failure, trials);
                rows.push(format!("| hot_standby = {h} | {what} | {}", stats(v)));
            }
        }
        println!();
        println!("| setting | failure | trials | min s | p50 s | mean s | p90 s | max s |");
        println!("|---|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
    }
}
