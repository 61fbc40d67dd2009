//! The userspace data plane's reports: a real server it could not connect to leaves rotation
//! at once (as its nanny's down verdict would take it out), instead of at the nanny's next
//! failed check; the first good check its nanny starts after that, or any new verdict of the
//! nanny, brings it back to what the nanny says. The plane only reports; this decides.

use std::net::SocketAddr;
use std::time::Instant;

use ipvs::{IpvsTable, ServiceId};
use nanny::report::Check;

use super::{Effect, Engine, RealKey};

impl Engine {
    /// The data plane could not connect to `dest` of service `id` (`cause`: refused,
    /// unreachable, timeout). A server not in rotation, or already out for this, is left
    /// alone.
    pub fn on_plane_failure(
        &mut self,
        table: &mut dyn IpvsTable,
        id: ServiceId,
        dest: SocketAddr,
        cause: &str,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let key: RealKey = (id, dest.ip(), dest.port());
        let Some(label) = self.label_of(&key) else {
            return fx;
        };
        let Some(st) = self.reals.get_mut(&key) else {
            return fx;
        };
        st.plane_failures += 1;
        if st.plane_down.is_some() || st.nanny.is_none() {
            return fx;
        }
        st.plane_down = Some(now);
        fx.push(Effect::Log(format!(
            "{label}: connecting failed ({cause}): out of rotation until its next good check"
        )));
        self.converge(table, key, false, &mut fx);
        self.sorry(table, id, &mut fx, now);
        fx
    }

    /// A nanny's check line: counted, and a good check that started after the data plane's
    /// failure report puts the server back as its nanny's verdict says.
    pub fn on_check_line(
        &mut self,
        table: &mut dyn IpvsTable,
        instance: u64,
        c: Check,
        now: Instant,
    ) -> Vec<Effect> {
        self.on_check(instance, c);
        let mut fx = Vec::new();
        let Some(&key) = self.instances.get(&instance) else {
            return fx;
        };
        let Some(st) = self.reals.get_mut(&key) else {
            return fx;
        };
        let started = now.checked_sub(c.took);
        let Some(down) = st.plane_down else {
            return fx;
        };
        if !c.ok || started.is_none_or(|s| s < down) {
            return fx;
        }
        self.plane_back(table, key, &mut fx, now);
        fx
    }

    /// The nanny vouches for `key` again: the data plane's report is over.
    pub(super) fn plane_back(
        &mut self,
        table: &mut dyn IpvsTable,
        key: RealKey,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let Some(st) = self.reals.get_mut(&key) else {
            return;
        };
        if st.plane_down.take().is_none() {
            return;
        }
        if let Some(label) = self.label_of(&key) {
            fx.push(Effect::Log(format!(
                "{label}: a good check after the connection failure: back in rotation"
            )));
        }
        self.converge(table, key, false, fx);
        self.sorry(table, key.0, fx, now);
    }

    /// What the table holds for a server the data plane reported, given the `target` it
    /// would otherwise hold: out, or weight 0 with `quiesce_server`, as a down verdict.
    pub(super) fn plane_target(&self, key: &RealKey, target: Option<i32>) -> Option<i32> {
        let down = self.reals.get(key).is_some_and(|s| s.plane_down.is_some());
        if !down {
            return target;
        }
        // A drained server (weight 0) keeps its connections either way.
        let quiesce =
            target == Some(0) || self.desired.virtual_by_id(key.0).is_some_and(|v| v.quiesce);
        target.filter(|_| quiesce).map(|_| 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ipvs::{MemoryTable, Service};
    use nanny::monitor::{Op, Reason};
    use nanny::report::Report;

    use super::*;
    use crate::desired::{Desired, MonitorOptions};

    fn engine(quiesce: bool) -> (Engine, MemoryTable, Vec<u64>, Instant) {
        let text = format!(
            "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nvirtual web {{\n active = 1\n \
             address = 192.0.2.10 eth0:1\n port = 80\n quiesce_server = {}\n \
             sorry_server = 10.0.9.9\n server a {{\n  address = 10.0.1.1\n  active = 1\n }}\n \
             server b {{\n  address = 10.0.1.2\n  active = 1\n }}\n}}\n",
            u8::from(quiesce)
        );
        let p = lvscf::parse(&text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        let d = Desired::build(&p.model, &MonitorOptions::default(), &|h| {
            h.ip().ok_or_else(|| std::io::Error::other("no dns"))
        })
        .unwrap();
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let mut e = Engine::new(d, true);
        let ids: Vec<u64> = e
            .start(&mut t, &[], false, now)
            .into_iter()
            .filter_map(|f| match f {
                Effect::Spawn { instance, .. } => Some(instance),
                _ => None,
            })
            .collect();
        for &i in &ids {
            let up = Report {
                op: Some(Op::Add(1)),
                up: true,
                reason: Reason::Check,
            };
            e.on_report(&mut t, i, up, now);
        }
        (e, t, ids, now)
    }

    fn dests(e: &Engine, t: &mut MemoryTable) -> Vec<(String, i32)> {
        let id = e.desired.virtuals[0].service.id;
        let mut v: Vec<(String, i32)> = t
            .dests(id)
            .unwrap()
            .into_iter()
            .map(|d| (d.addr.to_string(), d.weight))
            .collect();
        v.sort();
        v
    }

    fn a() -> SocketAddr {
        "10.0.1.1:80".parse().unwrap()
    }

    fn check(ok: bool, ms: u64) -> Check {
        Check {
            ok,
            took: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_reported_server_leaves_at_once_and_a_later_good_check_brings_it_back() {
        let (mut e, mut t, ids, t0) = engine(false);
        let id = e.desired.virtuals[0].service.id;
        let both = vec![("10.0.1.1".into(), 1), ("10.0.1.2".into(), 1)];
        assert_eq!(dests(&e, &mut t), both);
        let t1 = t0 + Duration::from_secs(10);
        let fx = e.on_plane_failure(&mut t, id, a(), "refused", t1);
        assert!(
            fx.contains(&Effect::Log(
                "web/a: connecting failed (refused): out of rotation until its next good check"
                    .into()
            )),
            "{fx:?}"
        );
        assert_eq!(dests(&e, &mut t), [("10.0.1.2".into(), 1)]);
        // Reported again (connections already under way): nothing more.
        assert!(
            e.on_plane_failure(&mut t, id, a(), "refused", t1)
                .is_empty()
        );
        // A check that started before the failure does not count, a failed one neither.
        let t2 = t1 + Duration::from_secs(1);
        assert!(
            e.on_check_line(&mut t, ids[0], check(true, 1500), t2)
                .is_empty()
        );
        assert!(
            e.on_check_line(&mut t, ids[0], check(false, 5), t2)
                .is_empty()
        );
        assert_eq!(dests(&e, &mut t).len(), 1);
        // Another server's good check does not either.
        assert!(
            e.on_check_line(&mut t, ids[1], check(true, 5), t2)
                .is_empty()
        );
        // Its own next good check does.
        let fx = e.on_check_line(&mut t, ids[0], check(true, 5), t2);
        assert!(!fx.is_empty());
        assert_eq!(dests(&e, &mut t), both);
        assert_eq!(e.reals[&(id, a().ip(), 80)].plane_failures, 2);
    }

    #[test]
    fn with_quiesce_server_it_stays_at_weight_0_and_a_new_verdict_ends_the_report() {
        let (mut e, mut t, ids, t0) = engine(true);
        let id = e.desired.virtuals[0].service.id;
        e.on_plane_failure(&mut t, id, a(), "timeout", t0);
        assert_eq!(
            dests(&e, &mut t),
            [("10.0.1.1".into(), 0), ("10.0.1.2".into(), 1)]
        );
        let up = Report {
            op: Some(Op::Edit(1)),
            up: true,
            reason: Reason::Check,
        };
        e.on_report(&mut t, ids[0], up, t0);
        assert_eq!(
            dests(&e, &mut t),
            [("10.0.1.1".into(), 1), ("10.0.1.2".into(), 1)]
        );
    }

    #[test]
    fn every_server_reported_brings_the_sorry_server_and_unknown_ones_are_ignored() {
        let (mut e, mut t, _, t0) = engine(false);
        let id = e.desired.virtuals[0].service.id;
        assert!(
            e.on_plane_failure(&mut t, id, "10.0.7.7:80".parse().unwrap(), "refused", t0)
                .is_empty()
        );
        let other = Service::named(ipvs::ServiceId::tcp("192.0.2.99".parse().unwrap(), 80)).id;
        assert!(
            e.on_plane_failure(&mut t, other, a(), "refused", t0)
                .is_empty()
        );
        e.on_plane_failure(&mut t, id, a(), "refused", t0);
        e.on_plane_failure(&mut t, id, "10.0.1.2:80".parse().unwrap(), "refused", t0);
        assert_eq!(dests(&e, &mut t), [("10.0.9.9".into(), 1)]);
    }
}
