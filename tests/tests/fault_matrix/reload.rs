//! A reload storm: 100 SIGHUPs in 10 s to both pulses and to lvsd (pulse passes on to lvsd
//! only a file it took), the file replaced before each, alternately valid (r1's weight 1 or 2)
//! and broken.

use std::time::Instant;

use nix::sys::signal::Signal;
use testkit::fault::{Want, lvs_cf, replace, report, signal};

use super::*;

#[test]
fn reload_storm() {
    let Some(p) = pair() else { return };
    let pulses = [p.d(D1).proc.pid(), p.d(D2).proc.pid()];
    let lvsd = p.lvsd_pid(D1);
    let r2_nanny = p.nanny_pid(D1, "r2");
    let t0 = Instant::now();
    for i in 0..100u32 {
        let text = if i % 2 == 0 {
            lvs_cf(i + 2, 1 + (i / 2) % 2)
        } else {
            lvs_cf(i + 2, 1).replace("port = 80", "port = 80 80")
        };
        replace(&p.cfg, &text);
        // Both pulses (which pass a file they took on to lvsd), and lvsd itself.
        for pid in [pulses[0], pulses[1], lvsd] {
            signal(pid, Signal::SIGHUP);
        }
        std::thread::sleep(testkit::MS(100));
    }
    // The last file is valid: r1 with weight 2.
    replace(&p.cfg, &lvs_cf(200, 2));
    for pid in pulses {
        signal(pid, Signal::SIGHUP);
    }
    let seen = p.recovered(t0, D1, [Want::In(2), Want::In(1)], s(20));
    // Nobody died or was restarted (but r1's nanny, whose weight changed: its command line
    // carries the weight).
    assert_eq!([p.d(D1).proc.pid(), p.d(D2).proc.pid()], pulses);
    assert_eq!(p.lvsd_pid(D1), lvsd);
    assert_eq!(p.nanny_pid(D1, "r2"), r2_nanny);
    let (b, l) = (p.brief(D1).unwrap(), p.lvsd(D1).unwrap());
    assert!(b.reloads >= 1 && b.reloads_failed >= 1, "{b:?}");
    assert!(l.reloads >= 1 && l.reloads_failed >= 1, "{l:?}");
    eprintln!(
        "reload storm: pulse took {} and refused {}, lvsd took {} and refused {}",
        b.reloads, b.reloads_failed, l.reloads, l.reloads_failed
    );
    assert_eq!(seen.failed, 0, "{seen}");
    report("reload storm", &seen);
}
