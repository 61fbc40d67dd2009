//! Long heartbeat faults, for `bench/heartbeat-soak.sh` (ignored in the normal run): the LVS
//! pair of the fault matrix (testkit's `fault` harness) under 30 % random heartbeat loss in
//! both directions (nftables `numgen random`) at keepalive 0.1 / deadtime 0.3, and under a
//! heartbeat link cut and restored every second. Each prints one `SOAK-ROW` line: how often
//! the backup took over for a master that never stopped (false takeovers), whether the master
//! gave up, and what the client saw. `SOAK_SECS` and `FLAP_SECS` set the lengths.

use std::time::{Duration, Instant};

use pulse::status::Status;
use testkit::fault::{LvsPair, Want, lvs_cf};

type Pair = LvsPair<Status>;

const BOTH: [Want; 2] = [Want::In(1), Want::In(1)];

fn secs(var: &str, default: u64) -> Duration {
    let n = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_secs(n)
}

/// `rule` on the input hook of both directors' heartbeat port (a table named `hb`).
fn heartbeats(p: &Pair, rule: &str) {
    for n in ["d1", "d2"] {
        p.lan.on(
            n,
            &format!(
                "nft 'add table inet hb ; add chain inet hb in {{ type filter hook input priority 0 ; }} ; \
                 add rule inet hb in udp dport 539 {rule}'"
            ),
        );
    }
}

fn heal(p: &Pair) {
    for n in ["d1", "d2"] {
        p.lan.on(n, "nft delete table inet hb");
    }
}

/// Count the heartbeats the directors' rule dropped (d1, d2).
fn dropped(p: &Pair) -> [u64; 2] {
    ["d1", "d2"].map(|n| {
        let out = p.lan.on(n, "nft list table inet hb");
        out.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

/// Run the fault for `length`, heal it, wait until the pair is sound with d1 active, and
/// print the row.
fn finish(p: &Pair, name: &str, t0: Instant, extra: &str) {
    let seen = p.recovered(t0, 0, BOTH, Duration::from_secs(30));
    let (b1, b2) = (p.brief(0).unwrap(), p.brief(1).unwrap());
    let takeovers = p.d(1).log().matches("partner dead: activating lvs").count();
    eprintln!(
        "SOAK-ROW {name} | {:.0} s | backup took over {} times ({} logged) | master gave up {} | {} failed of {} requests | longest gap {} ms | {extra}",
        t0.elapsed().as_secs_f64(),
        b2.took_over,
        takeovers,
        b1.gave_up,
        seen.failed,
        seen.requests,
        seen.longest_gap.as_millis()
    );
    // The master never gives up for the partner's silence, and the pair ends sound.
    assert_eq!(b1.gave_up, 0, "{b1:?}");
}

#[test]
#[ignore = "a soak of minutes: bench/heartbeat-soak.sh"]
fn heartbeat_loss_30_percent() {
    if !testkit::root_or_skip() || !testkit::have("nft", "nftables") {
        return;
    }
    let deadtime = std::env::var("SOAK_DEADTIME").unwrap_or_else(|_| "0.3".into());
    let text = lvs_cf(1, 1)
        .replace("keepalive = 0.2\n", "keepalive = 0.1\n")
        .replace("deadtime = 1\n", &format!("deadtime = {deadtime}\n"));
    assert!(text.contains("keepalive = 0.1\n"), "{text}");
    let p = Pair::start_with(&text);
    let length = secs("SOAK_SECS", 300);
    let t0 = Instant::now();
    heartbeats(&p, "numgen random mod 100 < 30 counter drop");
    // Sample who is active every 50 ms: how long both were.
    let mut both = Duration::ZERO;
    let mut last = Instant::now();
    while t0.elapsed() < length {
        std::thread::sleep(Duration::from_millis(50));
        let now = Instant::now();
        let active = |i| p.brief(i).is_some_and(|b| b.state == "active");
        if active(0) && active(1) {
            both += now - last;
        }
        last = now;
    }
    let [x, y] = dropped(&p);
    heal(&p);
    let extra = format!(
        "both active {:.1} s in all | dropped {x} + {y} heartbeats",
        both.as_secs_f64()
    );
    let name = format!("30% heartbeat loss, keepalive 0.1, deadtime {deadtime}");
    finish(&p, &name, t0, &extra);
}

#[test]
#[ignore = "a minute of flapping: bench/heartbeat-soak.sh"]
fn heartbeat_link_flapping() {
    if !testkit::root_or_skip() || !testkit::have("nft", "nftables") {
        return;
    }
    let p = Pair::start();
    let length = secs("FLAP_SECS", 60);
    let t0 = Instant::now();
    let mut cuts = 0;
    while t0.elapsed() < length {
        heartbeats(&p, "drop");
        std::thread::sleep(Duration::from_secs(1));
        heal(&p);
        std::thread::sleep(Duration::from_secs(1));
        cuts += 1;
    }
    let extra = format!("{cuts} cuts of 1 s");
    finish(
        &p,
        "link cut 1 s / restored 1 s, keepalive 0.2, deadtime 1",
        t0,
        &extra,
    );
}
