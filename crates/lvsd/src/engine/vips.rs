//! Which virtual servers can serve, for the VIPs announced through BIRD (`announce = bird`).

use announce::Candidate;

use super::Engine;

impl Engine {
    /// Each active virtual server's VIP and whether it can take new clients now: a real
    /// server in the table with a weight above 0, or its sorry server in the table.
    pub fn vip_candidates(&self) -> Vec<Candidate> {
        self.desired
            .virtuals
            .iter()
            .map(|v| {
                let id = v.service.id;
                let sorry = self.virtuals.get(&id).is_some_and(|s| s.sorry_on.is_some());
                let real = v.reals.iter().any(|r| {
                    self.reals
                        .get(&(id, r.addr, r.port))
                        .is_some_and(|s| s.in_table && s.weight > 0)
                });
                Candidate {
                    vip: v.vip,
                    serving: sorry || real,
                }
            })
            .collect()
    }

    /// The VIPs to announce now (none once lvsd is stopping).
    pub fn announced(&self) -> announce::Vips {
        if self.stopping {
            return announce::Vips::new();
        }
        announce::announced(self.vip_candidates())
    }
}

impl Engine {
    /// [`Engine::stop`] has run: the table is gone.
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }
}
