//! Reload: go from the running configuration to a new one, touching only what the
//! [`diff::plan`] says differs.

use std::time::{Duration, Instant};

use ipvs::{Dest, IpvsTable, Service, ServiceId};

use super::{Effect, Engine};
use crate::desired::{Desired, Virtual};
use crate::diff::{self, Plan, VirtualChange};

impl Engine {
    /// Go to a new configuration, changing only what differs.
    pub fn reload(
        &mut self,
        table: &mut dyn IpvsTable,
        new: Desired,
        now: Instant,
    ) -> (Plan, Vec<Effect>) {
        let plan = diff::plan(&self.desired, &new);
        let mut fx = Vec::new();
        if plan.timeouts {
            Self::set_timeouts(table, new.timeouts, &mut fx);
        }
        for id in &plan.remove {
            self.stop_virtual(table, *id, &mut fx);
        }
        let old = std::mem::replace(&mut self.desired, new);
        for c in &plan.change {
            // One still out of the table gets the new configuration when it gets in.
            if self.in_table(c.id) {
                self.change_virtual(table, c, &old, &mut fx, now);
            }
        }
        for v in &plan.add {
            self.start_virtual(table, v, &mut fx, now);
        }
        self.prune_controls(table, &mut fx, now);
        self.retry_soon(now);
        (plan, fx)
    }

    /// Apply the planned change of a virtual service that is in both configurations; `old`
    /// is the configuration being left (`self.desired` is already the new one).
    fn change_virtual(
        &mut self,
        table: &mut dyn IpvsTable,
        c: &VirtualChange,
        old: &Desired,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let v = self
            .desired
            .virtual_by_id(c.id)
            .cloned()
            .expect("planned from new");
        let o = old.virtual_by_id(c.id).expect("planned from old");
        if c.edit_service {
            Self::log_ipvs(fx, &v.name, table.edit_service(&v.service));
        }
        self.remove_reals(table, c, &v, fx);
        if c.forward {
            self.reforward(table, c.id, &v, o, fx);
        }
        self.change_reals(table, c, &v, fx, now);
        for r in &c.add_reals {
            self.spawn(&v, r, None, fx, now);
        }
        if c.sorry || c.forward {
            // Take the old sorry destination out; `sorry` puts the right one back.
            if let Some(vs) = self.virtuals.get_mut(&c.id)
                && let Some(addr) = vs.sorry_on.take()
            {
                let res = table.del_dest(&Service::named(c.id), &Dest::new(addr, o.port));
                Self::log_ipvs(fx, &v.name, res);
            }
        }
        if !c.add_reals.is_empty()
            && let Some(vs) = self.virtuals.get_mut(&c.id)
        {
            vs.decide_by = vs
                .decide_by
                .max(now + Duration::from_secs(u64::from(v.timeout_secs) * 2 + 1));
        }
        self.sorry(table, c.id, fx, now);
    }

    /// Stop the nannies of the real servers the change removes, and take them out of the table.
    fn remove_reals(
        &mut self,
        table: &mut dyn IpvsTable,
        c: &VirtualChange,
        v: &Virtual,
        fx: &mut Vec<Effect>,
    ) {
        for (addr, port) in &c.remove_reals {
            let key = (c.id, *addr, *port);
            self.kill(&key, fx);
            if self.reals.remove(&key).is_some_and(|s| s.in_table) {
                let res = table.del_dest(&Service::named(c.id), &Dest::new(*addr, *port));
                Self::log_ipvs(fx, &v.name, res);
            }
        }
    }

    /// The forwarding method changed: edit it on the old real servers that are in the table.
    fn reforward(
        &self,
        table: &mut dyn IpvsTable,
        id: ServiceId,
        v: &Virtual,
        o: &Virtual,
        fx: &mut Vec<Effect>,
    ) {
        // IPVS edits the forwarding method of a destination in place.
        for r in &o.reals {
            let key = (id, r.addr, r.port);
            if let Some(st) = self.reals.get(&key).filter(|s| s.in_table) {
                let d = Dest::new(r.addr, r.port)
                    .forward(v.forward)
                    .weight(st.weight);
                Self::log_ipvs(fx, &v.name, table.edit_dest(&Service::named(id), &d));
            }
        }
    }

    /// New weights, and restarted nannies for real servers whose check changed.
    fn change_reals(
        &mut self,
        table: &mut dyn IpvsTable,
        c: &VirtualChange,
        v: &Virtual,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        for ch in &c.change_reals {
            let key = (c.id, ch.addr, ch.port);
            // Only a server that is up gets the new weight now; a quiesced or failed one
            // gets it from its nanny when it comes back. A control shapes it as usual.
            let serving = self.assume_up(&key).is_some();
            if let Some(w) = ch.weight
                && serving
            {
                if let Some(st) = self.reals.get_mut(&key) {
                    st.nanny = Some(w);
                }
                self.converge(table, key, false, fx);
            }
            if ch.restart {
                self.kill(&key, fx);
                let r = v.real(ch.addr, ch.port).cloned().expect("planned from new");
                let up = self.assume_up(&key);
                self.spawn(v, &r, up, fx, now);
            }
        }
    }
}
