//! How fast a director leaves the router's multipath route, and what it costs the clients:
//! two active directors behind a BIRD router (`testkit::ecmp`: real BIRD 2, lvsd on the
//! userspace data plane, nanny, real servers, BGP hold time 3 s, keepalive 1 s), four client
//! threads asking both VIPs every 5 ms. Scenarios, 20 trials each:
//! (a) SIGTERM of one director's lvsd (`announce_drain = 2`): lvsd withdraws, then drains;
//! (b) a crash: the director's link goes silent and its lvsd and BIRD are killed (SIGKILL), so
//!     the router learns it only from the BGP hold time.
//! Measured: the time from the event to the router's kernel route to VIP A without that
//! director (polled every millisecond with `ip route`), the requests that failed (3 s
//! connect and read timeouts) and those served only after more than a second (a SYN that
//! reached the dead director, retransmitted after the route changed).
//!
//! `cargo bench -p announce --bench withdraw` (`WITHDRAW_TRIALS=n` for other than 20,
//! `WITHDRAW_ONLY=sigterm` or `crash` for one scenario).
//! Needs root and bird2.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testkit::ecmp::{DIRECTORS, Ecmp, Load, VIP_A, VIP_B};

const BOTH: [&str; 2] = [DIRECTORS[0], DIRECTORS[1]];

struct Trial {
    gone: Duration,
    requests: usize,
    failed: usize,
    /// Served, but only after more than a second (a SYN retransmitted to the other director).
    slow: usize,
    slowest: Duration,
}

/// Poll the route to VIP A until director 1 has left it.
fn time_until_gone(net: &Ecmp, t0: Instant) -> Duration {
    loop {
        if !net.next_hops(VIP_A).iter().any(|h| h == DIRECTORS[0]) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the route never changed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn trial(net: &Ecmp, crash: bool) -> Trial {
    let d1 = net.director(0, "2");
    net.wait_hops(VIP_A, &BOTH, Duration::from_secs(30));
    net.wait_hops(VIP_B, &BOTH, Duration::from_secs(30));
    let load = Load::start(net, 4);
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    if crash {
        net.directors[0].ip("link set eth0 down");
        d1.lvsd.signal(Signal::SIGKILL);
        d1.bird.proc.signal(Signal::SIGKILL);
    } else {
        d1.lvsd.signal(Signal::SIGTERM);
    }
    let gone = time_until_gone(net, t0);
    // The drain, and the requests under way, end.
    std::thread::sleep(Duration::from_secs(3));
    let (ok, failed) = load.finish();
    drop(d1);
    if crash {
        net.directors[0].ip("link set eth0 up");
    }
    Trial {
        gone,
        requests: ok.len() + failed.len(),
        failed: failed.len(),
        slow: ok
            .iter()
            .filter(|(_, t)| *t > Duration::from_secs(1))
            .count(),
        slowest: ok.iter().map(|(_, t)| *t).max().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, trials: &[Trial]) {
    let mut t: Vec<Duration> = trials.iter().map(|t| t.gone).collect();
    t.sort();
    let pct = |p: usize| t[(t.len() - 1) * p / 100];
    let requests: usize = trials.iter().map(|t| t.requests).sum();
    let failed: usize = trials.iter().map(|t| t.failed).sum();
    let worst = trials.iter().map(|t| t.failed).max().unwrap_or(0);
    let slow: usize = trials.iter().map(|t| t.slow).sum();
    let slowest = trials.iter().map(|t| t.slowest).max().unwrap_or_default();
    println!(
        "| {name} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {failed} of {requests} (at most {worst} in one trial) | {slow} (slowest {:.0} ms) |",
        t.len(),
        ms(t[0]),
        ms(pct(50)),
        ms(pct(90)),
        ms(t[t.len() - 1]),
        ms(slowest),
    );
}

fn main() {
    if !testkit::root_or_skip() || !testkit::bird::available() {
        return;
    }
    let n: usize = std::env::var("WITHDRAW_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let net = Ecmp::new();
    let _d2 = net.director(1, "2");
    let only = std::env::var("WITHDRAW_ONLY").unwrap_or_default();
    let mut rows = Vec::new();
    for (key, name, crash) in [
        ("sigterm", "SIGTERM of lvsd (withdraw, drain 2 s)", false),
        ("crash", "crash: link silent, kill -9 (hold time 3 s)", true),
    ] {
        if !only.is_empty() && only != key {
            continue;
        }
        let trials: Vec<Trial> = (0..n)
            .map(|i| {
                let t = trial(&net, crash);
                eprintln!(
                    "{name} #{}: gone after {:.0} ms, {} of {} requests failed, {} over 1 s (slowest {:.0} ms)",
                    i + 1,
                    ms(t.gone),
                    t.failed,
                    t.requests,
                    t.slow,
                    ms(t.slowest)
                );
                t
            })
            .collect();
        rows.push((name, trials));
    }
    println!(
        "| event | trials | min | median | p90 | max | requests failed | served after > 1 s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, trials) in &rows {
        report(name, trials);
    }
}
