//! The state the table and the forwarders share: the services with their destinations,
//! schedulers and persistence templates, and the live counters. [`table`](crate::table)
//! changes it, [`tcp`](crate::tcp) and [`udp`](crate::udp) schedule and count through it;
//! it depends on neither.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipvs::{Dest, Service, ServiceId, Stats, Timeouts};
use tokio::sync::{mpsc, watch};

use crate::retry::{ConnectFailure, RetryPolicy};
use crate::sched::{DestLoad, FlowKey, Scheduler};

/// A real server the forwarder could not connect to, reported to the table's owner (lvsd),
/// which decides what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub service: ServiceId,
    pub dest: SocketAddr,
    pub cause: ConnectFailure,
}

/// Live counters of one destination (or one service), shared with its connections.
#[derive(Debug, Default)]
pub struct Counters {
    pub active: AtomicU32,
    pub inactive: AtomicU32,
    pub conns: AtomicU64,
    pub inpkts: AtomicU64,
    pub outpkts: AtomicU64,
    pub inbytes: AtomicU64,
    pub outbytes: AtomicU64,
}

impl Counters {
    /// The counters as IPVS statistics (rates are not kept).
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            conns: self.conns.load(Ordering::Relaxed),
            inpkts: self.inpkts.load(Ordering::Relaxed),
            outpkts: self.outpkts.load(Ordering::Relaxed),
            inbytes: self.inbytes.load(Ordering::Relaxed),
            outbytes: self.outbytes.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }
}

/// What a destination shares with its connections: counters and the drain-over switch.
#[derive(Debug)]
pub struct DestShared {
    pub counters: Counters,
    /// Becomes true when the destination's connections must close (drain over, or the
    /// service was deleted).
    pub kill: watch::Sender<bool>,
    /// A failure was reported since the destination was added or last edited (one report
    /// per failure, not one per client connection that met it).
    pub reported: AtomicBool,
}

/// A destination in the table.
#[derive(Debug)]
pub struct DestEntry {
    pub dest: Dest,
    pub shared: Arc<DestShared>,
    /// The latest weight other than 0 (the weight it was added with until then): IPVS's
    /// `last_weight`, for mh.
    pub last_weight: i32,
}

impl DestEntry {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.dest.addr, self.dest.port)
    }
}

/// A scheduled connection's destination.
#[derive(Debug, Clone)]
pub struct Picked {
    pub addr: SocketAddr,
    pub shared: Arc<DestShared>,
}

/// A service and what its forwarder needs.
#[derive(Debug)]
pub struct ServiceEntry {
    pub service: Service,
    pub dests: Vec<DestEntry>,
    pub(crate) sched: Box<dyn Scheduler>,
    /// Persistence templates: masked client address → destination, until the instant.
    pub(crate) templates: HashMap<IpAddr, (SocketAddr, Instant)>,
    pub counters: Arc<Counters>,
    /// Dropping it (or sending true) stops the service's listener.
    pub(crate) stop: watch::Sender<bool>,
}

/// What the forwarders share with the control side.
#[derive(Debug, Default)]
pub struct State {
    pub services: Vec<ServiceEntry>,
    pub timeouts: Timeouts,
    /// Each service's retry policy (the default for a service not listed).
    pub policies: HashMap<ServiceId, RetryPolicy>,
    /// Where connection failures go; none: they are only retried.
    pub reports: Option<mpsc::UnboundedSender<Failure>>,
}

impl State {
    /// The index of service `id`.
    pub(crate) fn find(&self, id: ServiceId) -> Option<usize> {
        self.services.iter().position(|s| s.service.id == id)
    }

    /// Choose a destination for a new connection to `id` from `client`.
    pub fn schedule(&mut self, id: ServiceId, client: SocketAddr, now: Instant) -> Option<Picked> {
        self.schedule_except(id, client, now, &[])
    }

    /// As [`State::schedule`], leaving out the destinations in `except` (as if they were
    /// quiesced): the next server for a connection whose first choices failed. A persistence
    /// template pointing at a left-out server is replaced by the new choice.
    pub fn schedule_except(
        &mut self,
        id: ServiceId,
        client: SocketAddr,
        now: Instant,
        except: &[SocketAddr],
    ) -> Option<Picked> {
        let i = self.find(id)?;
        let e = &mut self.services[i];
        let (vip, vport) = match id {
            ServiceId::Addr { addr, port, .. } => (addr, port),
            ServiceId::Fwmark { .. } => return None,
        };
        let persistent = e.service.is_persistent();
        let key = masked(client.ip(), e.service.netmask);
        if persistent
            && let Some((to, until)) = e.templates.get(&key).copied()
            && until > now
            && !except.contains(&to)
            && let Some(d) = e.dests.iter().find(|d| d.addr() == to)
        {
            let picked = Picked {
                addr: to,
                shared: d.shared.clone(),
            };
            e.templates.insert(
                key,
                (to, now + Duration::from_secs(u64::from(e.service.timeout))),
            );
            return Some(picked);
        }
        let loads: Vec<DestLoad> = e
            .dests
            .iter()
            .map(|d| DestLoad {
                addr: d.addr(),
                last_weight: d.last_weight,
                weight: if except.contains(&d.addr()) {
                    0
                } else {
                    d.dest.weight
                },
                active: d.shared.counters.active.load(Ordering::Relaxed),
                inactive: d.shared.counters.inactive.load(Ordering::Relaxed),
            })
            .collect();
        let flow = FlowKey {
            client: client.ip(),
            client_port: client.port(),
            vip,
            vport,
            now,
        };
        let d = e.dests.get(e.sched.pick(&loads, &flow)?)?;
        let picked = Picked {
            addr: d.addr(),
            shared: d.shared.clone(),
        };
        if persistent {
            e.templates.insert(
                key,
                (
                    picked.addr,
                    now + Duration::from_secs(u64::from(e.service.timeout)),
                ),
            );
        }
        Some(picked)
    }

    /// The service's retry policy.
    pub fn policy(&self, id: ServiceId) -> RetryPolicy {
        self.policies.get(&id).copied().unwrap_or_default()
    }

    /// Tell the table's owner that `dest` failed, once until the owner changes it.
    pub fn report(&self, id: ServiceId, dest: &Picked, cause: ConnectFailure) {
        if !cause.blames_server() || dest.shared.reported.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(tx) = &self.reports {
            let _ = tx.send(Failure {
                service: id,
                dest: dest.addr,
                cause,
            });
        }
    }

    /// The service's counters (for its forwarder).
    pub fn service_counters(&self, id: ServiceId) -> Option<Arc<Counters>> {
        self.find(id).map(|i| self.services[i].counters.clone())
    }
}

/// Lock the shared state; a panicked forwarder does not make the table unusable.
pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client address reduced to its persistence granularity.
fn masked(ip: IpAddr, netmask: u32) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::from((u32::from(a) & netmask).to_be_bytes()),
        IpAddr::V6(a) => {
            let bits = netmask.min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            IpAddr::from((u128::from(a) & mask).to_be_bytes())
        }
    }
}
