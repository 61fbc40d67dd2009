//! The nannies' checks, counted per real server for the status report: how many, how many
//! failed, the sum of their durations and the last one's (the check lines of `nanny --report`).

use std::time::Duration;

use nanny::report::Check;

use super::Engine;

/// One real server's checks since lvsd started (they survive a restarted nanny and reloads
/// that keep the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckStats {
    pub count: u64,
    pub failed: u64,
    /// The sum of every check's duration.
    pub total: Duration,
    /// The last check's duration; `None` before the first.
    pub last: Option<Duration>,
}

impl CheckStats {
    /// Count one check.
    pub fn record(&mut self, c: Check) {
        self.count += 1;
        self.failed += u64::from(!c.ok);
        self.total = self.total.saturating_add(c.took);
        self.last = Some(c.took);
    }
}

impl Engine {
    /// A nanny's check line: count it for its real server (no change to the table).
    pub fn on_check(&mut self, instance: u64, c: Check) {
        if let Some(key) = self.instances.get(&instance)
            && let Some(st) = self.reals.get_mut(key)
        {
            st.checks.record(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ipvs::MemoryTable;

    use super::*;
    use crate::desired::{Desired, MonitorOptions};
    use crate::engine::Effect;

    fn check(ok: bool, ms: u64) -> Check {
        Check {
            ok,
            took: Duration::from_millis(ms),
        }
    }

    #[test]
    fn checks_are_counted_summed_and_the_last_kept() {
        let mut s = CheckStats::default();
        assert_eq!(s.last, None);
        s.record(check(true, 3));
        s.record(check(false, 1000));
        s.record(check(true, 5));
        assert_eq!(
            s,
            CheckStats {
                count: 3,
                failed: 1,
                total: Duration::from_millis(1008),
                last: Some(Duration::from_millis(5)),
            }
        );
    }

    #[test]
    fn a_nannys_checks_go_to_its_real_server_and_outlive_the_nanny() {
        let text = "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nhard_shutdown = 0\n\
                    virtual web {\n \
                    active = 1\n address = 192.0.2.10 eth0:1\n port = 80\n server a {\n  \
                    address = 10.0.1.1\n  active = 1\n }\n server b {\n  \
                    address = 10.0.1.2\n  active = 1\n }\n}\n";
        let p = lvscf::parse(text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        let d = Desired::build(&p.model, &MonitorOptions::default(), &|h| {
            h.ip().ok_or_else(|| std::io::Error::other("no dns"))
        })
        .unwrap();
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let mut e = Engine::new(d, true);
        let spawned: Vec<u64> = e
            .start(&mut t, &[], false, now)
            .into_iter()
            .filter_map(|f| match f {
                Effect::Spawn { instance, .. } => Some(instance),
                _ => None,
            })
            .collect();
        assert_eq!(spawned.len(), 2);
        e.on_check(spawned[0], check(true, 2));
        e.on_check(spawned[0], check(false, 7));
        e.on_check(999, check(true, 1));
        let stats = |e: &Engine, ip: &str| {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            e.reals.iter().find(|(k, _)| k.1 == ip).unwrap().1.checks
        };
        let a = stats(&e, "10.0.1.1");
        assert_eq!(
            (a.count, a.failed, a.last),
            (2, 1, Some(Duration::from_millis(7)))
        );
        assert_eq!(stats(&e, "10.0.1.2"), CheckStats::default());
        // a's nanny dies and is started again: its checks add to the same count.
        let fx = e.on_exit(&mut t, spawned[0], "signal 9", now);
        assert!(fx.iter().all(|f| !matches!(f, Effect::Exit(_))), "{fx:?}");
        e.on_check(spawned[0], check(true, 1));
        assert_eq!(
            stats(&e, "10.0.1.1").count,
            2,
            "a dead nanny's line is not counted"
        );
        let fx = e.on_tick(&mut t, now + Duration::from_secs(5));
        let again = fx
            .iter()
            .find_map(|f| match f {
                Effect::Spawn { instance, .. } => Some(*instance),
                _ => None,
            })
            .expect("a restarted");
        e.on_check(again, check(true, 4));
        let a = stats(&e, "10.0.1.1");
        assert_eq!((a.count, a.total), (3, Duration::from_millis(13)));
    }
}
