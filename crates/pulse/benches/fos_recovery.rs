//! FOS: client-observed time to recover the service after it dies on the active node, at
//! `timeout = 1` and `timeout = 5` (the monitor's interval), over real pulse, fos and nanny
//! processes and a busybox web server started by `start_cmd`, in network namespaces
//! (testkit's FOS LAN, the cluster of tests/tests/fos_cluster.rs). A trial's time runs from
//! the kill of the web server to the first page served by the other node.
//!
//! `cargo build --release --workspace && cargo bench -p pulse --bench fos_recovery`
//! (`FOS_TRIALS=n` for other than 10 trials per setting). Needs root.

mod common;

use std::time::{Duration, Instant};

use common::*;

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

fn main() {
    if !root_or_skip() {
        return;
    }
    let trials: usize = std::env::var("FOS_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut rows = Vec::new();
    for timeout in [1u32, 5] {
        eprintln!("timeout = {timeout}: {trials} trials");
        let mut v = setting(timeout, trials);
        v.sort();
        let mean = v.iter().map(|d| d.as_secs_f64()).sum::<f64>() / v.len() as f64;
        rows.push(format!(
            "| timeout = {timeout} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            v.len(),
            v[0].as_secs_f64(),
            pct(&v, 0.5),
            mean,
            pct(&v, 0.9),
            v[v.len() - 1].as_secs_f64()
        ));
    }
    println!("| setting | trials | min s | p50 s | mean s | p90 s | max s |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
}
