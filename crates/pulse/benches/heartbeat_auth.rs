//! CPU cost of authenticated heartbeats: signing one (HMAC-SHA256 over 38 bytes) and
//! checking one (tag, then the replay checks), against the plain 4-byte format; the pure
//! code of `pulse::auth`, without sockets.
//!
//! `cargo bench -p pulse --bench heartbeat_auth` (`HB_ROUNDS=n` for other than 200000
//! heartbeats per measure). Needs nothing special.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pulse::auth::{AuthSettings, Authenticator, keys};
use pulse::wire::{self, Magic, Mode};

const KEYS: &str = "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

fn node(sender: u64, challenge: u64) -> Authenticator {
    let keys = keys::parse(KEYS, "bench").expect("valid key");
    Authenticator::new(
        AuthSettings {
            keys,
            permissive: false,
        },
        sender,
        challenge,
    )
}

/// Best of 5 runs of `f` over `n` rounds, in nanoseconds per round.
fn measure(n: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..n {
                f();
            }
            t0.elapsed()
        })
        .min()
        .unwrap_or(Duration::ZERO)
        .as_nanos() as f64
        / f64::from(n)
}

fn main() {
    let n: u32 = std::env::var("HB_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    // Two nodes that have accepted each other.
    let (mut a, mut b) = (node(1, 10), node(2, 20));
    for _ in 0..2 {
        let _ = b.accept(&a.sign(Magic::Running), Mode::Lvs, || 21);
        let _ = a.accept(&b.sign(Magic::Stopped), Mode::Lvs, || 11);
    }
    let plain = measure(n, || {
        let d = black_box(Magic::Running.encode());
        black_box(wire::decode(&d, Mode::Lvs).ok());
    });
    let sign = measure(n, || {
        black_box(a.sign(Magic::Running));
    });
    let both = measure(n, || {
        let d = a.sign(Magic::Running);
        let ok = b.accept(black_box(&d), Mode::Lvs, || 0).is_ok();
        assert!(ok);
    });
    let mut forged = a.sign(Magic::Running);
    forged[40] ^= 1;
    let reject = measure(n, || {
        black_box(b.accept(black_box(&forged), Mode::Lvs, || 0).is_err());
    });
    println!("heartbeat cost, ns per heartbeat (best of 5 runs of {n}):");
    println!("  plain encode+decode          {plain:>8.0}");
    println!("  authenticated sign           {sign:>8.0}");
    println!("  authenticated sign+verify    {both:>8.0}");
    println!("  forged datagram refused      {reject:>8.0}");
    println!(
        "  at keepalive 0.1 s, 2 networks: {:.4} % of one core for sign+verify",
        both * 2.0 * 10.0 / 1e9 * 100.0
    );
}
