//! Runtime server controls: an administrator drains, disables, re-enables or re-weights one
//! real server while lvsd runs (`lvsd --drain web/a`, or the web service through the status
//! socket).
//!
//! A control is kept by name (`virtual/server`), so it follows the server through a reload
//! that changes its address, and it is written to the state file so that it survives a
//! restart of lvsd. The nanny keeps checking a controlled server: its verdicts are recorded
//! (`RealState::nanny`) and the table shows what the control makes of them:
//!
//! | control     | the server is up (nanny: in the table at `w`) | down (nanny: out) |
//! |-------------|-----------------------------------------------|-------------------|
//! | none        | in, weight `w`                                | out               |
//! | `drained`   | in, weight 0 (existing connections go on)     | out               |
//! | `disabled`  | out                                           | out               |
//! | `weight N`  | in, weight `w × N / configured` (see [`scaled`]) | out            |
//!
//! `enable` removes the control: the nanny's verdicts apply again. A drained or disabled
//! server (or one at admin weight 0) takes no new clients, so it does not count as serving
//! for the sorry server.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use ipvs::{Dest, IpvsTable, Service};

use super::{Effect, Engine, RealKey, gone_is_fine};

/// What an administrator imposes on one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admin {
    /// Weight 0 in the table; existing connections are kept.
    Drained,
    /// Out of the table; the nanny keeps checking.
    Disabled,
    /// This weight replaces the configured weight while the server is up.
    Weight(u16),
}

impl fmt::Display for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Admin::Drained => f.write_str("drained"),
            Admin::Disabled => f.write_str("disabled"),
            Admin::Weight(w) => write!(f, "weight {w}"),
        }
    }
}

/// The text of an [`Admin`] is not `drained`, `disabled` or `weight N` (N from 0 to 65535).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a server control: {0}")]
pub struct BadAdmin(pub String);

impl FromStr for Admin {
    type Err = BadAdmin;

    fn from_str(s: &str) -> Result<Admin, BadAdmin> {
        let mut w = s.split_whitespace();
        let a = match (w.next(), w.next()) {
            (Some("drained"), None) => Admin::Drained,
            (Some("disabled"), None) => Admin::Disabled,
            (Some("weight"), Some(n)) => n
                .parse()
                .map(Admin::Weight)
                .map_err(|_| BadAdmin(s.to_owned()))?,
            _ => return Err(BadAdmin(s.to_owned())),
        };
        if w.next().is_some() {
            return Err(BadAdmin(s.to_owned()));
        }
        Ok(a)
    }
}

impl Admin {
    /// Whether a server under this control takes new clients (when up).
    fn takes_new_clients(self) -> bool {
        !matches!(self, Admin::Drained | Admin::Disabled | Admin::Weight(0))
    }
}

/// A request about one real server, named `virtual/server` as in lvs.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Drain(String),
    Disable(String),
    /// Back to health-driven control.
    Enable(String),
    Weight(String, u16),
}

impl Control {
    /// The `virtual/server` name the control is about.
    pub fn target(&self) -> &str {
        match self {
            Control::Drain(t)
            | Control::Disable(t)
            | Control::Enable(t)
            | Control::Weight(t, _) => t,
        }
    }

    /// The control it sets (`None`: it clears it).
    pub fn admin(&self) -> Option<Admin> {
        match self {
            Control::Drain(_) => Some(Admin::Drained),
            Control::Disable(_) => Some(Admin::Disabled),
            Control::Enable(_) => None,
            Control::Weight(_, w) => Some(Admin::Weight(*w)),
        }
    }
}

/// Why a control cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No active real server has this `virtual/server` name.
    #[error("no real server {0}")]
    NoServer(String),
}

/// The table weight of a server under `weight N` whose nanny asks for `nanny` with
/// `configured` as the configured weight: the admin weight replaces the configured one as the
/// base of the nanny's ramp and load adjustments (`nanny × N / configured`, rounded, at least
/// 1 while the nanny's weight is above 0). With a configured weight of 0 (the nanny always
/// says 0), the server gets `N` while up.
pub fn scaled(nanny: i32, configured: i32, n: u16, up: bool) -> i32 {
    let n = i64::from(n);
    if configured <= 0 {
        return if up { n as i32 } else { 0 };
    }
    if nanny <= 0 || n == 0 {
        return 0;
    }
    let c = i64::from(configured);
    let w = (i64::from(nanny) * n + c / 2) / c;
    w.clamp(1, i64::from(i32::MAX)) as i32
}

/// `virtual/server`.
pub fn label(virtual_: &str, server: &str) -> String {
    format!("{virtual_}/{server}")
}

impl Engine {
    /// The controls in force, by `virtual/server` name (for the state file and the status).
    pub fn controls(&self) -> &BTreeMap<String, Admin> {
        &self.controls
    }

    /// The control on the real server `key`, if any.
    pub fn admin_of(&self, key: &RealKey) -> Option<Admin> {
        self.label_of(key)
            .and_then(|l| self.controls.get(&l).copied())
    }

    pub(super) fn label_of(&self, key: &RealKey) -> Option<String> {
        let v = self.desired.virtual_by_id(key.0)?;
        let r = v.real(key.1, key.2)?;
        Some(label(&v.name, &r.name))
    }

    fn key_of(&self, target: &str) -> Option<RealKey> {
        self.desired.virtuals.iter().find_map(|v| {
            v.reals
                .iter()
                .find(|r| label(&v.name, &r.name) == target)
                .map(|r| (v.service.id, r.addr, r.port))
        })
    }

    /// Whether the real server `key` counts as serving for the sorry server.
    pub(super) fn serving(&self, key: &RealKey) -> bool {
        self.reals
            .get(key)
            .is_some_and(|s| s.up == Some(true) && s.plane_down.is_none())
            && self.admin_of(key).is_none_or(Admin::takes_new_clients)
    }

    /// Apply an administrator's control to one real server.
    pub fn control(
        &mut self,
        table: &mut dyn IpvsTable,
        c: Control,
        now: Instant,
    ) -> Result<Vec<Effect>, ControlError> {
        let target = c.target().to_owned();
        let key = self
            .key_of(&target)
            .ok_or_else(|| ControlError::NoServer(target.clone()))?;
        let mut fx = Vec::new();
        match c.admin() {
            Some(a) => {
                self.controls.insert(target.clone(), a);
                fx.push(Effect::Log(format!("{target}: {a} by request")));
            }
            None => {
                self.controls.remove(&target);
                fx.push(Effect::Log(format!(
                    "{target}: enabled by request (health-driven again)"
                )));
            }
        }
        self.converge(table, key, false, &mut fx);
        self.sorry(table, key.0, &mut fx, now);
        Ok(fx)
    }

    /// Take the controls kept by an earlier lvsd (its state file), before [`Engine::start`];
    /// controls of servers that no longer exist are dropped.
    pub fn restore_controls(
        &mut self,
        kept: impl IntoIterator<Item = (String, Admin)>,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        for (target, a) in kept {
            if self.key_of(&target).is_some() {
                fx.push(Effect::Log(format!("{target}: {a} (kept from before)")));
                self.controls.insert(target, a);
            } else {
                fx.push(Effect::Log(format!(
                    "{target}: no such real server any more: control {a} dropped"
                )));
            }
        }
        fx
    }

    /// After a reload: drop the controls of servers that are gone (by name), and bring the
    /// table in line where that changes what a server gets.
    pub(super) fn prune_controls(
        &mut self,
        table: &mut dyn IpvsTable,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let gone: Vec<String> = self
            .controls
            .keys()
            .filter(|t| self.key_of(t).is_none())
            .cloned()
            .collect();
        if gone.is_empty() {
            return;
        }
        for t in gone {
            if let Some(a) = self.controls.remove(&t) {
                fx.push(Effect::Log(format!(
                    "{t}: no such real server any more: control {a} dropped"
                )));
            }
        }
        // A renamed server keeps its state but loses its control.
        let keys: Vec<RealKey> = self.reals.keys().copied().collect();
        for k in &keys {
            self.converge(table, *k, false, fx);
        }
        let ids: Vec<_> = self.desired.virtuals.iter().map(|v| v.service.id).collect();
        for id in ids {
            self.sorry(table, id, fx, now);
        }
    }

    /// What the table should hold for `key`: the nanny's verdict as its control shapes it.
    fn target(&self, key: &RealKey) -> Option<i32> {
        let st = self.reals.get(key)?;
        let nanny = st.nanny?;
        match self.admin_of(key) {
            None => Some(nanny),
            Some(Admin::Disabled) => None,
            Some(Admin::Drained) => Some(0),
            Some(Admin::Weight(n)) => {
                let configured = self
                    .desired
                    .virtual_by_id(key.0)
                    .and_then(|v| v.real(key.1, key.2))
                    .map_or(0, |r| r.weight);
                Some(scaled(nanny, configured, n, st.up == Some(true)))
            }
        }
    }

    /// Make the table hold [`Engine::target`] for `key`. With `always`, a destination that
    /// should stay is edited even when its weight is already right (a nanny's report is
    /// applied as it comes). Without a control, the nanny's verdict is what the table holds
    /// afterwards (a failed operation leaves both where the table is).
    pub(super) fn converge(
        &mut self,
        table: &mut dyn IpvsTable,
        key: RealKey,
        always: bool,
        fx: &mut Vec<Effect>,
    ) {
        let Some(v) = self.desired.virtual_by_id(key.0) else {
            return;
        };
        let (name, forward) = (v.name.clone(), v.forward);
        let want = self.plane_target(&key, self.target(&key));
        let controlled = self.admin_of(&key).is_some();
        let Some(st) = self.reals.get_mut(&key) else {
            return;
        };
        let svc = Service::named(key.0);
        let dest = |w: i32| Dest::new(key.1, key.2).forward(forward).weight(w);
        match want {
            Some(w) if st.in_table && st.weight == w && !always => {}
            Some(w) => {
                let res = if st.in_table {
                    table.edit_dest(&svc, &dest(w))
                } else {
                    // A destination already there (left by a killed lvsd) is taken over.
                    match table.add_dest(&svc, &dest(w)) {
                        Err(e) if e.errno() == Some(ipvs::error::errno::EEXIST) => {
                            table.edit_dest(&svc, &dest(w))
                        }
                        r => r,
                    }
                };
                if Self::log_ipvs(fx, &name, res) {
                    st.in_table = true;
                    st.weight = w;
                }
            }
            None => {
                if st.in_table {
                    let res =
                        gone_is_fine(table.del_dest(&svc, &dest(0)), ipvs::error::errno::ENOENT);
                    Self::log_ipvs(fx, &name, res);
                }
                st.in_table = false;
                st.weight = 0;
            }
        }
        if !controlled && st.plane_down.is_none() {
            st.nanny = st.in_table.then_some(st.weight);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Desired, MonitorOptions};
    use ipvs::MemoryTable;
    use nanny::monitor::{Op, Reason};
    use nanny::report::Report;

    fn desired(servers: &str, sorry: &str) -> Desired {
        let text = format!(
            "primary = 10.0.0.1\nservice = lvs\nnetwork = nat\nvirtual web {{\n active = 1\n \
             address = 192.0.2.10 eth0:1\n port = 80\n{sorry}{servers}}}\n"
        );
        let p = lvscf::parse(&text);
        assert!(!p.has_errors(), "{text}\n{:?}", p.diagnostics);
        Desired::build(&p.model, &MonitorOptions::default(), &|h| {
            h.ip().ok_or_else(|| std::io::Error::other("no dns"))
        })
        .unwrap()
    }

    fn server(name: &str, ip: &str, weight: u32) -> String {
        format!(" server {name} {{\n  address = {ip}\n  active = 1\n  weight = {weight}\n }}\n")
    }

    fn report(op: Op, up: bool) -> Report {
        Report {
            op: Some(op),
            up,
            reason: Reason::Check,
        }
    }

    /// The destinations of the one service: `addr weight`, sorted.
    fn dests(t: &mut MemoryTable) -> Vec<String> {
        let id = t.services().unwrap()[0].id;
        let mut d: Vec<String> = t
            .dests(id)
            .unwrap()
            .iter()
            .map(|d| format!("{} w{}", d.addr, d.weight))
            .collect();
        d.sort();
        d
    }

    fn logs(fx: &[Effect]) -> Vec<String> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Log(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    /// An engine on `d` whose nannies (instances 1, 2, …) have reported their servers up at
    /// their configured weights.
    fn running(d: Desired, t: &mut MemoryTable, now: Instant) -> Engine {
        let mut e = Engine::new(d, true);
        let fx = e.start(t, &[], false, now);
        for f in fx {
            if let Effect::Spawn { instance, argv, .. } = f {
                let w = argv[argv.iter().position(|a| a == "-w").unwrap() + 1]
                    .parse()
                    .unwrap();
                e.on_report(t, instance, report(Op::Add(w), true), now);
            }
        }
        e
    }

    #[test]
    fn drain_disable_enable_and_weight() {
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let d = desired(
            &(server("a", "10.0.1.1", 4) + &server("b", "10.0.1.2", 3)),
            "",
        );
        let mut e = running(d, &mut t, now);
        assert_eq!(dests(&mut t), ["10.0.1.1 w4", "10.0.1.2 w3"]);

        let fx = e
            .control(&mut t, Control::Drain("web/a".into()), now)
            .unwrap();
        assert_eq!(logs(&fx), ["web/a: drained by request"]);
        assert_eq!(dests(&mut t), ["10.0.1.1 w0", "10.0.1.2 w3"]);
        // The nanny's ramp goes on underneath: still 0 in the table.
        e.on_report(&mut t, 1, report(Op::Edit(4), true), now);
        assert_eq!(dests(&mut t), ["10.0.1.1 w0", "10.0.1.2 w3"]);

        e.control(&mut t, Control::Disable("web/a".into()), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.2 w3"]);
        // Its nanny still reports; nothing enters the table.
        e.on_report(&mut t, 1, report(Op::Edit(4), true), now);
        assert_eq!(dests(&mut t), ["10.0.1.2 w3"]);
        assert_eq!(
            e.admin_of(&e.key_of("web/a").unwrap()),
            Some(Admin::Disabled)
        );

        let fx = e
            .control(&mut t, Control::Enable("web/a".into()), now)
            .unwrap();
        assert_eq!(
            logs(&fx),
            ["web/a: enabled by request (health-driven again)"]
        );
        assert_eq!(dests(&mut t), ["10.0.1.1 w4", "10.0.1.2 w3"]);
        assert!(e.controls().is_empty());

        e.control(&mut t, Control::Weight("web/b".into(), 9), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.1 w4", "10.0.1.2 w9"]);
        // b fails: out; back at a ramp step (1 of 3): a third of 9.
        e.on_report(&mut t, 2, report(Op::Delete, false), now);
        assert_eq!(dests(&mut t), ["10.0.1.1 w4"]);
        e.on_report(&mut t, 2, report(Op::Add(1), true), now);
        assert_eq!(dests(&mut t), ["10.0.1.1 w4", "10.0.1.2 w3"]);

        assert_eq!(
            e.control(&mut t, Control::Drain("web/zz".into()), now),
            Err(ControlError::NoServer("web/zz".into()))
        );
        assert_eq!(
            ControlError::NoServer("web/r9".into()).to_string(),
            "no real server web/r9"
        );
    }

    #[test]
    fn a_disabled_down_server_stays_out_and_enable_follows_the_nanny() {
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let d = desired(
            &(server("a", "10.0.1.1", 2) + &server("b", "10.0.1.2", 2)),
            "",
        );
        let mut e = running(d, &mut t, now);
        e.control(&mut t, Control::Disable("web/a".into()), now)
            .unwrap();
        e.on_report(&mut t, 1, report(Op::Delete, false), now);
        e.control(&mut t, Control::Enable("web/a".into()), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.2 w2"], "down: stays out");
        e.on_report(&mut t, 1, report(Op::Add(1), true), now);
        assert_eq!(dests(&mut t), ["10.0.1.1 w1", "10.0.1.2 w2"]);
    }

    #[test]
    fn all_servers_drained_or_disabled_bring_the_sorry_server() {
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let d = desired(
            &(server("a", "10.0.1.1", 2) + &server("b", "10.0.1.2", 2)),
            " sorry_server = 10.0.9.9\n",
        );
        let mut e = running(d, &mut t, now);
        e.control(&mut t, Control::Drain("web/a".into()), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.1 w0", "10.0.1.2 w2"]);
        e.control(&mut t, Control::Disable("web/b".into()), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.1 w0", "10.0.9.9 w1"]);
        e.control(&mut t, Control::Enable("web/b".into()), now)
            .unwrap();
        assert_eq!(dests(&mut t), ["10.0.1.1 w0", "10.0.1.2 w2"]);
    }

    #[test]
    fn controls_follow_names_through_reloads_and_restarts() {
        let now = Instant::now();
        let mut t = MemoryTable::new();
        let d = desired(
            &(server("a", "10.0.1.1", 2) + &server("b", "10.0.1.2", 2)),
            "",
        );
        let mut e = running(d, &mut t, now);
        e.control(&mut t, Control::Disable("web/a".into()), now)
            .unwrap();
        e.control(&mut t, Control::Weight("web/b".into(), 6), now)
            .unwrap();
        // Reload: b's weight changes; a is renamed c (same address): a's control goes.
        let d2 = desired(
            &(server("c", "10.0.1.1", 2) + &server("b", "10.0.1.2", 4)),
            "",
        );
        let (_, fx) = e.reload(&mut t, d2, now);
        assert!(
            logs(&fx)
                .contains(&"web/a: no such real server any more: control disabled dropped".into()),
            "{fx:?}"
        );
        assert_eq!(e.controls().len(), 1);
        // c follows its nanny again (in at 2); b: its nanny at 4 of 4 → 6.
        assert_eq!(dests(&mut t), ["10.0.1.1 w2", "10.0.1.2 w6"]);

        // A restart: the kept controls come back before the table is built.
        let kept: Vec<(String, Admin)> = vec![
            ("web/b".into(), Admin::Drained),
            ("web/gone".into(), Admin::Disabled),
        ];
        let d3 = desired(
            &(server("c", "10.0.1.1", 2) + &server("b", "10.0.1.2", 4)),
            "",
        );
        let mut e = Engine::new(d3, true);
        let fx = e.restore_controls(kept);
        assert_eq!(
            logs(&fx),
            [
                "web/b: drained (kept from before)",
                "web/gone: no such real server any more: control disabled dropped"
            ]
        );
        let mut t = MemoryTable::new();
        let fx = e.start(&mut t, &[], false, now);
        for f in fx {
            if let Effect::Spawn { instance, .. } = f {
                e.on_report(&mut t, instance, report(Op::Add(4), true), now);
            }
        }
        assert_eq!(dests(&mut t), ["10.0.1.1 w4", "10.0.1.2 w0"]);
    }

    #[test]
    fn admin_text_round_trips() {
        for a in [
            Admin::Drained,
            Admin::Disabled,
            Admin::Weight(0),
            Admin::Weight(65535),
        ] {
            assert_eq!(a.to_string().parse::<Admin>(), Ok(a));
        }
        for bad in ["", "weight", "weight 65536", "weight -1", "drained x", "up"] {
            assert!(bad.parse::<Admin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_weight_replaces_the_configured_weight_as_base() {
        // Fully ramped: exactly N.
        assert_eq!(scaled(10, 10, 5, true), 5);
        // Ramping (nanny at 1 of 100): a share of N, at least 1.
        assert_eq!(scaled(1, 100, 5, true), 1);
        assert_eq!(scaled(50, 100, 30, true), 15);
        // Load-adjusted above the configured weight.
        assert_eq!(scaled(20, 10, 7, true), 14);
        // Quiesced (the nanny says 0) stays 0; admin weight 0 is 0.
        assert_eq!(scaled(0, 10, 7, false), 0);
        assert_eq!(scaled(10, 10, 0, true), 0);
        // Configured weight 0: N while up.
        assert_eq!(scaled(0, 0, 9, true), 9);
        assert_eq!(scaled(0, 0, 9, false), 0);
        assert_eq!(scaled(i32::MAX, 1, 65535, true), i32::MAX);
    }
}
