//! lvsd's core: the table it owns, the nannies it runs, and what it does on each event.
//!
//! The [`Engine`] is driven by the shell with events (start, a nanny's report line, a nanny's
//! exit, a timer tick, reload, stop) and the current time. It changes the IPVS table through
//! the [`IpvsTable`] it is given (the kernel, or the in-memory table in tests) and returns the
//! [`Effect`]s the shell must carry out: start or stop a nanny process, log a line, exit. It
//! does no other I/O and reads no clock, so every rule is tested deterministically.
//!
//! [`Engine::on_check`] (in `checks`) counts a nanny's checks; [`Engine::on_plane_failure`]
//! (in `plane`) takes a server the userspace data plane could not connect to out of rotation.
//! [`Engine::reload`] (in `reload`) applies a new configuration; [`Engine::control`] (in
//! `controls`) applies an administrator's drain, disable, enable or weight to one real server.
//! [`Engine::announced`] (in `vips`) is the set of VIPs to announce through BIRD. A virtual
//! service the table refused (the userspace data plane cannot listen on a port another
//! process holds) is tried again on the timer (in `missing`).

mod checks;
mod controls;
mod missing;
mod plane;
mod reload;
mod vips;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipvs::{Dest, IpvsError, IpvsTable, Service, ServiceId, Timeouts};
use nanny::monitor::Op;
use nanny::report::Report;

use crate::desired::{Desired, Real, Virtual};

pub use checks::CheckStats;
pub use controls::{Admin, BadAdmin, Control, ControlError, label, scaled};

/// A nanny's identity: (service, real address, real port).
pub type RealKey = (ServiceId, IpAddr, u16);

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a nanny with this command line; its lines and exit come back tagged `instance`.
    Spawn {
        instance: u64,
        argv: Vec<String>,
        /// `virtual/server` names for the `create_monitor …` log line.
        label: String,
    },
    /// Stop this nanny (SIGTERM). Its later lines and exit are ignored.
    Kill {
        instance: u64,
    },
    Log(String),
    /// Shut down with this status (after [`Engine::stop`]).
    Exit(i32),
}

/// What lvsd knows about one real server.
#[derive(Debug, Clone, PartialEq)]
pub struct RealState {
    pub instance: Option<u64>,
    /// The destination is in the table (put there by a nanny's report).
    pub in_table: bool,
    pub weight: i32,
    /// The nanny's last verdict: in the table at this weight, or out. It is what the table
    /// holds unless an administrator's control says otherwise ([`Admin`]).
    pub nanny: Option<i32>,
    /// `None` until the nanny's first verdict.
    pub up: Option<bool>,
    pub last_change: Option<Instant>,
    pub last_reason: Option<String>,
    /// Restarts after a nanny died (`hard_shutdown = 0`).
    pub deaths: u32,
    /// When a dead nanny is due to be started again.
    pub restart_at: Option<Instant>,
    pub started: Option<Instant>,
    /// Its nannies' checks.
    pub checks: CheckStats,
    /// When the data plane reported it could not connect to it: out of rotation until a
    /// good check of its nanny that started later (`engine::plane`).
    pub plane_down: Option<Instant>,
    /// Connection failures the data plane reported.
    pub plane_failures: u64,
}

impl RealState {
    fn new() -> RealState {
        RealState {
            instance: None,
            in_table: false,
            weight: 0,
            nanny: None,
            up: None,
            last_change: None,
            last_reason: None,
            deaths: 0,
            restart_at: None,
            started: None,
            checks: CheckStats::default(),
            plane_down: None,
            plane_failures: 0,
        }
    }
}

/// What lvsd knows about one virtual service.
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualState {
    /// The sorry server's destination is in the table.
    pub sorry_on: Option<IpAddr>,
    /// When the sorry server may be decided even if some nanny has not reported yet.
    pub decide_by: Instant,
    /// The service is in the table. Until it is, its nannies do not run and it is tried
    /// again at `retry_at` (`engine::missing`).
    pub in_table: bool,
    /// Failed attempts to add it since the last success.
    pub failures: u32,
    pub retry_at: Option<Instant>,
}

/// The owner of the IPVS table at run time.
#[derive(Debug)]
pub struct Engine {
    pub desired: Desired,
    pub reals: HashMap<RealKey, RealState>,
    pub virtuals: HashMap<ServiceId, VirtualState>,
    /// Which real server each running nanny watches.
    instances: HashMap<u64, RealKey>,
    next_instance: u64,
    /// `--test-start`: no nannies.
    pub spawn_nannies: bool,
    stopping: bool,
    /// Administrators' controls, by `virtual/server` name.
    controls: BTreeMap<String, Admin>,
}

/// Back-off before restarting a dead nanny: 1, 2, 4 … 60 s.
pub fn backoff(deaths: u32) -> Duration {
    Duration::from_secs(1u64 << deaths.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// An operation whose target is already gone (ENOENT, ESRCH) has done what was wanted.
fn gone_is_fine(r: Result<(), IpvsError>, errno: i32) -> Result<(), IpvsError> {
    match r {
        Err(e) if e.errno() == Some(errno) => Ok(()),
        r => r,
    }
}

impl Engine {
    pub fn new(desired: Desired, spawn_nannies: bool) -> Engine {
        Engine {
            desired,
            reals: HashMap::new(),
            virtuals: HashMap::new(),
            instances: HashMap::new(),
            next_instance: 0,
            spawn_nannies,
            stopping: false,
            controls: BTreeMap::new(),
        }
    }

    /// Set the IPVS timeouts; a failure is logged as ipvsadm says it.
    fn set_timeouts(table: &mut dyn IpvsTable, t: Timeouts, fx: &mut Vec<Effect>) {
        if let Err(e) = table.set_timeouts(t) {
            fx.push(Effect::Log(format!(
                "ipvsadm failed to set timeouts ({} {} {}): {e}",
                t.tcp, t.tcp_fin, t.udp
            )));
        }
    }

    fn log_ipvs(fx: &mut Vec<Effect>, vs: &str, r: Result<(), IpvsError>) -> bool {
        match r {
            Ok(()) => true,
            Err(e) => {
                fx.push(Effect::Log(format!(
                    "ipvsadm failed for virtual server {vs}! ({e})"
                )));
                false
            }
        }
    }

    /// `--assume-up W` for a server its nanny has put in the table and that is up (a
    /// quiesced one is not); `W` is the nanny's weight, whatever a control made of it.
    fn assume_up(&self, key: &RealKey) -> Option<i32> {
        self.reals
            .get(key)
            .filter(|s| s.up == Some(true))
            .and_then(|s| s.nanny)
    }

    fn spawn(
        &mut self,
        v: &Virtual,
        r: &Real,
        assume_up: Option<i32>,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let key = (v.service.id, r.addr, r.port);
        let st = self.reals.entry(key).or_insert_with(RealState::new);
        if !self.spawn_nannies {
            return;
        }
        self.next_instance += 1;
        st.instance = Some(self.next_instance);
        self.instances.insert(self.next_instance, key);
        st.restart_at = None;
        st.started = Some(now);
        let mut argv = r.argv.clone();
        if let Some(w) = assume_up {
            argv.push("--assume-up".into());
            argv.push(w.to_string());
        }
        fx.push(Effect::Spawn {
            instance: self.next_instance,
            argv,
            label: format!("{}/{}", v.name, r.name),
        });
    }

    fn kill(&mut self, key: &RealKey, fx: &mut Vec<Effect>) {
        if let Some(st) = self.reals.get_mut(key)
            && let Some(i) = st.instance.take()
        {
            self.instances.remove(&i);
            fx.push(Effect::Kill { instance: i });
        }
    }

    fn start_virtual(
        &mut self,
        table: &mut dyn IpvsTable,
        v: &Virtual,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let port = match v.service.id {
            ServiceId::Addr { port, .. } => port,
            ServiceId::Fwmark { mark, .. } => u16::try_from(mark).unwrap_or(0),
        };
        fx.push(Effect::Log(format!(
            "starting virtual service {} active: {port}",
            v.name
        )));
        let added = Self::log_ipvs(fx, &v.name, table.add_service(&v.service));
        self.virtuals.insert(
            v.service.id,
            VirtualState {
                sorry_on: None,
                decide_by: now,
                in_table: false,
                failures: 0,
                retry_at: None,
            },
        );
        if added {
            self.serve_virtual(table, v, fx, now);
        } else {
            self.retry_later(v, fx, now);
        }
    }

    /// The service is in the table: start its nannies and decide its sorry server.
    fn serve_virtual(
        &mut self,
        table: &mut dyn IpvsTable,
        v: &Virtual,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        if let Some(vs) = self.virtuals.get_mut(&v.service.id) {
            vs.in_table = true;
            vs.failures = 0;
            vs.retry_at = None;
            vs.decide_by = now + Duration::from_secs(u64::from(v.timeout_secs) * 2 + 1);
        }
        for r in &v.reals {
            self.spawn(v, r, None, fx, now);
        }
        self.sorry(table, v.service.id, fx, now);
    }

    /// Build the table and start the nannies. `owned` lists services a previous lvsd recorded
    /// as its own; with `flush`, the whole table is emptied first (piranha's `ipvsadm -C`).
    pub fn start(
        &mut self,
        table: &mut dyn IpvsTable,
        owned: &[ServiceId],
        flush: bool,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        Self::set_timeouts(table, self.desired.timeouts, &mut fx);
        if flush {
            Self::log_ipvs(&mut fx, "(flush)", table.flush());
        } else {
            // Only our services: what this file defines and what we recorded last time.
            let existing: Vec<ServiceId> = table
                .services()
                .map(|s| s.into_iter().map(|s| s.id).collect())
                .unwrap_or_default();
            for id in existing {
                if self.desired.virtual_by_id(id).is_some() || owned.contains(&id) {
                    Self::log_ipvs(
                        &mut fx,
                        &id.to_string(),
                        table.del_service(&Service::named(id)),
                    );
                }
            }
        }
        let virtuals = self.desired.virtuals.clone();
        for v in &virtuals {
            self.start_virtual(table, v, &mut fx, now);
        }
        fx
    }

    /// Every virtual service is in the table and every real server's nanny has given its
    /// first verdict (none are waited for on a table without real servers). A service the
    /// table refused (`engine::missing`) keeps the table incomplete until it gets in.
    pub fn verdicts_in(&self) -> bool {
        self.virtuals.values().all(|v| v.in_table) && self.reals.values().all(|s| s.up.is_some())
    }

    /// Apply a nanny's report line.
    pub fn on_report(
        &mut self,
        table: &mut dyn IpvsTable,
        instance: u64,
        r: Report,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(&key) = self.instances.get(&instance) else {
            return fx;
        };
        if self.desired.virtual_by_id(key.0).is_none() {
            return fx;
        }
        let verdict = match r.op {
            Some(Op::Add(w) | Op::Edit(w)) => Some(Some(w)),
            Some(Op::Delete) => Some(None),
            None => None,
        };
        let st = self.reals.get_mut(&key).expect("found above");
        // The health first: a control's weight may depend on it.
        if st.up != Some(r.up) {
            st.last_change = Some(now);
        }
        st.up = Some(r.up);
        st.last_reason = Some(r.reason.to_string());
        if let Some(v) = verdict {
            // A new verdict supersedes the data plane's report.
            st.plane_down = None;
            st.nanny = v;
            self.converge(table, key, true, &mut fx);
        }
        self.sorry(table, key.0, &mut fx, now);
        fx
    }
    /// The sorry server of one virtual service (spec §3.6), decided only once every nanny has
    /// given a verdict or the first-verdict deadline has passed (no start-up blip).
    fn sorry(
        &mut self,
        table: &mut dyn IpvsTable,
        id: ServiceId,
        fx: &mut Vec<Effect>,
        now: Instant,
    ) {
        let Some(v) = self.desired.virtual_by_id(id) else {
            return;
        };
        let Some(vstate) = self.virtuals.get(&id).filter(|s| s.in_table) else {
            return;
        };
        let states: Vec<&RealState> = v
            .reals
            .iter()
            .filter_map(|r| self.reals.get(&(id, r.addr, r.port)))
            .collect();
        let up = v
            .reals
            .iter()
            .filter(|r| self.serving(&(id, r.addr, r.port)))
            .count();
        let all_known = states.iter().all(|s| s.up.is_some());
        let want = match v.sorry {
            Some(addr) if up == 0 && (all_known || now >= vstate.decide_by) => Some(addr),
            Some(_) if up == 0 => vstate.sorry_on, // undecided: keep as is
            _ => None,
        };
        if want == vstate.sorry_on {
            return;
        }
        let (name, forward, port) = (v.name.clone(), v.forward, v.port);
        let svc = Service::named(id);
        if let Some(old) = vstate.sorry_on {
            let res = gone_is_fine(
                table.del_dest(&svc, &Dest::new(old, port).forward(forward)),
                ipvs::error::errno::ENOENT,
            );
            Self::log_ipvs(fx, &name, res);
            fx.push(Effect::Log(format!(
                "Virtual Server {name}: {up} real servers; deactivate sorry_server {old}"
            )));
        }
        if let Some(new) = want {
            let res = table.add_dest(&svc, &Dest::new(new, port).forward(forward).weight(1));
            Self::log_ipvs(fx, &name, res);
            fx.push(Effect::Log(format!(
                "Virtual Server {name}: No real servers; activate sorry_server {new}"
            )));
        }
        if let Some(vs) = self.virtuals.get_mut(&id) {
            vs.sorry_on = want;
        }
    }

    /// A nanny exited.
    pub fn on_exit(
        &mut self,
        table: &mut dyn IpvsTable,
        instance: u64,
        status: &str,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(key) = self.instances.remove(&instance) else {
            return fx;
        };
        let label = self
            .desired
            .virtual_by_id(key.0)
            .and_then(|v| {
                v.real(key.1, key.2)
                    .map(|r| format!("{}/{}", v.name, r.name))
            })
            .unwrap_or_else(|| format!("{}/{}", key.0, key.1));
        if self.desired.hard_shutdown {
            fx.push(Effect::Log(format!(
                "nanny for child {label} died! shutting down lvs ({status})"
            )));
            fx.extend(self.stop(table));
            fx.push(Effect::Exit(1));
            return fx;
        }
        let st = self.reals.get_mut(&key).expect("found above");
        st.instance = None;
        // A nanny that ran a while before dying starts the back-off again.
        if st
            .started
            .is_some_and(|t| now.duration_since(t) > Duration::from_secs(300))
        {
            st.deaths = 0;
        }
        st.deaths += 1;
        let wait = backoff(st.deaths);
        st.restart_at = Some(now + wait);
        fx.push(Effect::Log(format!(
            "nanny for child {label} died! restarting it in {} s ({status})",
            wait.as_secs()
        )));
        fx
    }

    /// Timers: restarts of dead nannies and sorry-server deadlines.
    pub fn on_tick(&mut self, table: &mut dyn IpvsTable, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.stopping {
            return fx;
        }
        let due: Vec<RealKey> = self
            .reals
            .iter()
            .filter(|(_, s)| s.restart_at.is_some_and(|t| t <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(v) = self.desired.virtual_by_id(key.0).cloned() else {
                continue;
            };
            let Some(r) = v.real(key.1, key.2).cloned() else {
                continue;
            };
            let up = self.assume_up(&key);
            self.spawn(&v, &r, up, &mut fx, now);
        }
        self.retry_due(table, &mut fx, now);
        let ids: Vec<ServiceId> = self.desired.virtuals.iter().map(|v| v.service.id).collect();
        for id in ids {
            self.sorry(table, id, &mut fx, now);
        }
        fx
    }

    fn stop_virtual(&mut self, table: &mut dyn IpvsTable, id: ServiceId, fx: &mut Vec<Effect>) {
        let keys: Vec<RealKey> = self.reals.keys().filter(|k| k.0 == id).copied().collect();
        for k in &keys {
            self.kill(k, fx);
            self.reals.remove(k);
        }
        self.virtuals.remove(&id);
        let name = self
            .desired
            .virtual_by_id(id)
            .map(|v| v.name.clone())
            .unwrap_or_else(|| id.to_string());
        fx.push(Effect::Log(format!("shutting down virtual service {name}")));
        let res = gone_is_fine(
            table.del_service(&Service::named(id)),
            ipvs::error::errno::ESRCH,
        );
        Self::log_ipvs(fx, &name, res);
    }

    /// Stop every nanny and remove every service lvsd created (and nothing else).
    pub fn stop(&mut self, table: &mut dyn IpvsTable) -> Vec<Effect> {
        let mut fx = Vec::new();
        if std::mem::replace(&mut self.stopping, true) {
            return fx;
        }
        let ids: Vec<ServiceId> = self.desired.virtuals.iter().map(|v| v.service.id).collect();
        for id in ids {
            self.stop_virtual(table, id, &mut fx);
        }
        fx
    }

    /// Services this lvsd owns (for the state file).
    pub fn owned(&self) -> Vec<ServiceId> {
        self.desired.virtuals.iter().map(|v| v.service.id).collect()
    }
}
