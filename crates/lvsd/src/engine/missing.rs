//! A virtual service the table refused stays wanted: it is added again on the timer, after
//! 1, 2, 4 … 60 s, and at once after a reload. The kernel rarely refuses one; the userspace
//! data plane does whenever another process listens on the service's address and port (a web
//! server started on the director, a data plane left running). Until the service is in the
//! table its real servers' nannies do not run (there is nothing to add them to) and it has no
//! sorry server; when it gets in, they start as at start-up.

use std::time::Instant;

use ipvs::{IpvsTable, ServiceId};

use super::{Effect, Engine, backoff};
use crate::desired::Virtual;

impl Engine {
    /// `v` could not be added: count the failure and say when it is tried again.
    pub(super) fn retry_later(&mut self, v: &Virtual, fx: &mut Vec<Effect>, now: Instant) {
        let Some(vs) = self.virtuals.get_mut(&v.service.id) else {
            return;
        };
        vs.failures += 1;
        let wait = backoff(vs.failures);
        vs.retry_at = Some(now + wait);
        fx.push(Effect::Log(format!(
            "virtual service {} is not in the table: trying again in {} s",
            v.name,
            wait.as_secs()
        )));
    }

    /// Add again the services whose time has come.
    pub(super) fn retry_due(
        &mut self,
        table: &mut dyn IpvsTable,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let due: Vec<ServiceId> = self
            .desired
            .virtuals
            .iter()
            .map(|v| v.service.id)
            .filter(|id| {
                self.virtuals
                    .get(id)
                    .is_some_and(|s| !s.in_table && s.retry_at.is_some_and(|t| t <= now))
            })
            .collect();
        for id in due {
            let Some(v) = self.desired.virtual_by_id(id).cloned() else {
                continue;
            };
            if Self::log_ipvs(fx, &v.name, table.add_service(&v.service)) {
                fx.push(Effect::Log(format!(
                    "virtual service {} is in the table now",
                    v.name
                )));
                self.serve_virtual(table, &v, fx, now);
            } else {
                self.retry_later(&v, fx, now);
            }
        }
    }

    /// After a reload: the services still out of the table are tried at the next tick.
    pub(super) fn retry_soon(&mut self, now: Instant) {
        for vs in self.virtuals.values_mut().filter(|s| !s.in_table) {
            vs.retry_at = Some(now);
        }
    }

    /// The virtual service is in the table (not waiting to be added again).
    pub fn in_table(&self, id: ServiceId) -> bool {
        self.virtuals.get(&id).is_some_and(|s| s.in_table)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ipvs::{MemoryTable, Service};

    use super::*;
    use crate::desired::{Desired, MonitorOptions};

    fn desired(sorry: &str) -> Desired {
        let text = format!(
            "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nvirtual web {{\n active = 1\n \
             address = 192.0.2.10 eth0:1\n port = 80\n{sorry} server a {{\n  address = 10.0.1.1\n  \
             active = 1\n }}\n server b {{\n  address = 10.0.1.2\n  active = 1\n }}\n}}\n"
        );
        build(&text)
    }

    fn build(text: &str) -> Desired {
        let p = lvscf::parse(text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        Desired::build(&p.model, &MonitorOptions::default(), &|h| {
            h.ip().ok_or_else(|| std::io::Error::other("no dns"))
        })
        .unwrap()
    }

    /// An engine whose one service the table refuses: the table already holds a service
    /// with its identity (as a port another process holds refuses the userspace plane).
    fn refused(sorry: &str) -> (Engine, MemoryTable, Instant) {
        let d = desired(sorry);
        let v = d.virtuals[0].clone();
        let mut t = MemoryTable::new();
        t.add_service(&v.service).unwrap();
        let mut e = Engine::new(d, true);
        let now = Instant::now();
        let mut fx = Vec::new();
        e.start_virtual(&mut t, &v, &mut fx, now);
        assert!(
            fx.contains(&Effect::Log(
                "virtual service web is not in the table: trying again in 1 s".into()
            )),
            "{fx:?}"
        );
        assert!(
            fx.iter().all(|f| !matches!(f, Effect::Spawn { .. })),
            "{fx:?}"
        );
        (e, t, now)
    }

    fn spawned(fx: &[Effect]) -> Vec<String> {
        fx.iter()
            .filter_map(|f| match f {
                Effect::Spawn { label, .. } => Some(label.clone()),
                _ => None,
            })
            .collect()
    }

    fn free(t: &mut MemoryTable, e: &Engine) {
        t.del_service(&Service::named(e.desired.virtuals[0].service.id))
            .unwrap();
    }

    #[test]
    fn a_refused_service_is_tried_again_with_a_growing_wait_then_served() {
        let (mut e, mut t, t0) = refused(" sorry_server = 10.0.9.9\n");
        let id = e.desired.virtuals[0].service.id;
        assert!(!e.in_table(id));
        assert!(
            !e.verdicts_in(),
            "a refused service leaves the table incomplete"
        );
        // No nanny and no sorry server meanwhile: nothing to add them to.
        assert!(
            e.on_tick(&mut t, t0 + Duration::from_millis(500))
                .is_empty()
        );
        assert!(e.virtuals[&id].sorry_on.is_none());
        let (mut at, mut before) = (t0, 1);
        for wait in [2, 4, 8, 16, 32, 60, 60] {
            // Nothing until the time said in the last line.
            assert!(
                e.on_tick(
                    &mut t,
                    at + Duration::from_secs(before) - Duration::from_millis(1)
                )
                .is_empty()
            );
            at += Duration::from_secs(before);
            before = wait;
            let fx = e.on_tick(&mut t, at);
            let want = format!("virtual service web is not in the table: trying again in {wait} s");
            assert!(fx.contains(&Effect::Log(want)), "{fx:?}");
            assert!(spawned(&fx).is_empty());
        }
        free(&mut t, &e);
        // Not before its time.
        assert!(e.on_tick(&mut t, at + Duration::from_secs(59)).is_empty());
        let fx = e.on_tick(&mut t, at + Duration::from_secs(60));
        assert!(
            fx.contains(&Effect::Log(
                "virtual service web is in the table now".into()
            )),
            "{fx:?}"
        );
        assert_eq!(spawned(&fx), ["web/a", "web/b"]);
        assert!(e.in_table(id));
        assert_eq!(t.services().unwrap().len(), 1);
        // Served as at start-up: the sorry server waits for the first verdicts.
        assert!(e.virtuals[&id].sorry_on.is_none());
        assert_eq!(e.virtuals[&id].failures, 0);
    }

    #[test]
    fn a_reload_tries_a_refused_service_at_the_next_tick_with_its_new_configuration() {
        let (mut e, mut t, t0) = refused("");
        let id = e.desired.virtuals[0].service.id;
        // Three failures: the next attempt would be 8 s away.
        for s in [1, 3, 7] {
            e.on_tick(&mut t, t0 + Duration::from_secs(s));
        }
        free(&mut t, &e);
        let t1 = t0 + Duration::from_secs(8);
        assert!(e.on_tick(&mut t, t1).is_empty());
        // A reload that changes the service (a third server, another scheduler): nothing is
        // done to the service that is not there, but it is tried at the next tick.
        let text = "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nvirtual web {\n active = 1\n \
                    address = 192.0.2.10 eth0:1\n port = 80\n scheduler = rr\n server a {\n  \
                    address = 10.0.1.1\n  active = 1\n }\n server c {\n  address = 10.0.1.3\n  \
                    active = 1\n }\n}\n";
        let (plan, fx) = e.reload(&mut t, build(text), t1);
        assert_eq!(plan.change.len(), 1);
        assert!(spawned(&fx).is_empty(), "{fx:?}");
        let fx = e.on_tick(&mut t, t1 + Duration::from_secs(1));
        assert!(
            fx.contains(&Effect::Log(
                "virtual service web is in the table now".into()
            )),
            "{fx:?}"
        );
        assert_eq!(spawned(&fx), ["web/a", "web/c"]);
        assert_eq!(t.service(id).unwrap().scheduler, "rr");
    }
}
