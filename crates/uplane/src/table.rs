//! [`Userspace`]: an [`IpvsTable`] whose services are TCP and UDP forwarders in this process.
//!
//! The table is shared between the control side (lvsd's engine calling the trait's methods)
//! and the forwarding tasks, behind one mutex that is held only to pick a destination or
//! change the table. Byte and connection counters are atomics updated by the forwarders.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ipvs::error::errno;
use ipvs::{
    Daemon, Dest, Info, IpvsError, IpvsTable, Op, Protocol, Service, ServiceId, Stats, Timeouts,
};
use tokio::sync::{mpsc, watch};

use crate::retry::RetryPolicy;
use crate::sched::{self, Scheduler};
use crate::state::{Counters, DestEntry, DestShared, Failure, ServiceEntry, State, lock};
use crate::workers::Workers;

/// How long a removed destination's connections may go on before they are closed.
pub const DRAIN: Duration = Duration::from_secs(60);

/// The userspace data plane.
#[derive(Debug, Clone)]
pub struct Userspace {
    state: Arc<Mutex<State>>,
    rt: tokio::runtime::Handle,
    /// The TCP forwarding threads, started with the first TCP service.
    workers: Arc<Mutex<Option<Arc<Workers>>>>,
    drain: Duration,
}

fn err(op: Op, e: i32) -> IpvsError {
    IpvsError::Kernel { op, errno: e }
}

impl Userspace {
    /// A table whose forwarders run on `rt`.
    pub fn new(rt: tokio::runtime::Handle) -> Userspace {
        Userspace {
            state: Arc::new(Mutex::new(State {
                services: Vec::new(),
                timeouts: Timeouts {
                    tcp: 900,
                    tcp_fin: 120,
                    udp: 300,
                },
                policies: HashMap::new(),
                reports: None,
            })),
            rt,
            workers: Arc::default(),
            drain: DRAIN,
        }
    }

    /// How long a removed destination's connections may go on ([`DRAIN`] by default).
    pub fn with_drain(mut self, drain: Duration) -> Userspace {
        self.drain = drain;
        self
    }

    /// Send every connection failure that blames a real server to `tx` (lvsd takes the
    /// server out of rotation; the plane itself never changes the table).
    pub fn with_reports(self, tx: mpsc::UnboundedSender<Failure>) -> Userspace {
        self.state().reports = Some(tx);
        self
    }

    /// Set the retry policy of service `id` (kept across the service's deletion and
    /// re-creation; [`RetryPolicy::default`] for a service never set).
    pub fn set_policy(&self, id: ServiceId, p: RetryPolicy) {
        self.state().policies.insert(id, p);
    }

    /// The shared state (for forwarders and tests).
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The forwarding threads, started on first use: one per core, at most 8.
    fn workers(&self) -> std::io::Result<Arc<Workers>> {
        let mut w = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = &*w {
            return Ok(w.clone());
        }
        let started = Arc::new(Workers::per_core(8)?);
        *w = Some(started.clone());
        Ok(started)
    }

    fn start(&self, service: &Service, stop: watch::Receiver<bool>) -> Result<(), IpvsError> {
        let ServiceId::Addr {
            protocol,
            addr,
            port,
        } = service.id
        else {
            return Err(IpvsError::Unsupported(
                "firewall-mark services need the kernel's IPVS: the userspace data plane forwards TCP and UDP services only"
                    .into(),
            ));
        };
        let at = SocketAddr::new(addr, port);
        let _guard = self.rt.enter();
        match protocol {
            Protocol::Tcp => {
                let l = crate::tcp::listen(at).map_err(IpvsError::System)?;
                let workers = self.workers().map_err(IpvsError::System)?;
                crate::tcp::serve(workers.threads(), l, service.id, &self.state, &stop)
                    .map_err(IpvsError::System)?;
            }
            Protocol::Udp => {
                let s = crate::udp::bind(at).map_err(IpvsError::System)?;
                let workers = self.workers().map_err(IpvsError::System)?;
                let t = workers.threads();
                t.handles()[t.pick(0)].spawn(crate::udp::serve(
                    s,
                    service.id,
                    self.state.clone(),
                    stop,
                ));
            }
            _ => {
                return Err(IpvsError::Unsupported(format!(
                    "{} services need the kernel's IPVS: the userspace data plane forwards TCP and UDP only",
                    service.id
                )));
            }
        }
        Ok(())
    }
}

/// The service's scheduler, with its flags; twos's random choices are seeded from the
/// process's random hashing keys (std's `RandomState`), so no two services draw alike.
fn check_scheduler(op: Op, s: &Service) -> Result<Box<dyn Scheduler>, IpvsError> {
    use std::hash::{BuildHasher, Hasher};
    let seed = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    sched::build(&s.scheduler, s.flags, seed).ok_or_else(|| {
        if s.scheduler.is_empty() {
            err(op, errno::ENOENT)
        } else {
            IpvsError::Unsupported(format!(
                "scheduler {} is not implemented by the userspace data plane (it has {})",
                s.scheduler,
                sched::NAMES.join(", ")
            ))
        }
    })
}

impl IpvsTable for Userspace {
    fn info(&mut self) -> Result<Info, IpvsError> {
        Ok(Info {
            version: 0x010201,
            conn_tab_size: 4096,
        })
    }

    fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        let st = self.state();
        Ok(st
            .services
            .iter()
            .map(|e| Service {
                stats: e.counters.stats(),
                ..e.service.clone()
            })
            .collect())
    }

    fn service(&mut self, id: ServiceId) -> Result<Service, IpvsError> {
        let st = self.state();
        let i = st.find(id).ok_or(err(Op::GetService, errno::ESRCH))?;
        let e = &st.services[i];
        Ok(Service {
            stats: e.counters.stats(),
            ..e.service.clone()
        })
    }

    fn add_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        if self.state().find(s.id).is_some() {
            return Err(err(Op::AddService, errno::EEXIST));
        }
        let sched = check_scheduler(Op::AddService, s)?;
        let (stop, rx) = watch::channel(false);
        self.start(s, rx)?;
        let mut service = s.clone();
        service.stats = Stats::default();
        self.state().services.push(ServiceEntry {
            service,
            dests: Vec::new(),
            sched,
            templates: HashMap::new(),
            counters: Arc::default(),
            stop,
        });
        Ok(())
    }

    fn edit_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let mut st = self.state();
        let i = st.find(s.id).ok_or(err(Op::EditService, errno::ESRCH))?;
        let e = &mut st.services[i];
        let flags = sched::flags_of(&s.scheduler);
        if e.service.scheduler != s.scheduler || (e.service.flags ^ s.flags) & flags != 0 {
            e.sched = check_scheduler(Op::EditService, s)?;
        }
        if !s.is_persistent() {
            e.templates.clear();
        }
        e.service = Service {
            stats: Stats::default(),
            ..s.clone()
        };
        Ok(())
    }

    fn del_service(&mut self, s: &Service) -> Result<(), IpvsError> {
        let mut st = self.state();
        let i = st.find(s.id).ok_or(err(Op::DelService, errno::ESRCH))?;
        let e = st.services.remove(i);
        let _ = e.stop.send(true);
        for d in &e.dests {
            let _ = d.shared.kill.send(true);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IpvsError> {
        let ids: Vec<Service> = self
            .state()
            .services
            .iter()
            .map(|e| e.service.clone())
            .collect();
        for s in ids {
            self.del_service(&s)?;
        }
        Ok(())
    }

    fn zero(&mut self, s: Option<&Service>) -> Result<(), IpvsError> {
        let st = self.state();
        for e in st
            .services
            .iter()
            .filter(|e| s.is_none_or(|s| s.id == e.service.id))
        {
            for c in std::iter::once(&*e.counters).chain(e.dests.iter().map(|d| &d.shared.counters))
            {
                for a in [&c.conns, &c.inpkts, &c.outpkts, &c.inbytes, &c.outbytes] {
                    a.store(0, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    fn dests(&mut self, id: ServiceId) -> Result<Vec<Dest>, IpvsError> {
        let st = self.state();
        let i = st.find(id).ok_or(err(Op::GetDests, errno::ESRCH))?;
        Ok(st.services[i]
            .dests
            .iter()
            .map(|d| Dest {
                active_conns: d.shared.counters.active.load(Ordering::Relaxed),
                inact_conns: d.shared.counters.inactive.load(Ordering::Relaxed),
                stats: d.shared.counters.stats(),
                ..d.dest.clone()
            })
            .collect())
    }

    fn add_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let mut st = self.state();
        let i = st.find(s.id).ok_or(err(Op::AddDest, errno::ESRCH))?;
        let e = &mut st.services[i];
        if e.dests
            .iter()
            .any(|x| x.dest.addr == d.addr && x.dest.port == d.port)
        {
            return Err(err(Op::AddDest, errno::EEXIST));
        }
        if d.weight < 0 {
            return Err(err(Op::AddDest, errno::ERANGE));
        }
        let (kill, _) = watch::channel(false);
        e.dests.push(DestEntry {
            dest: Dest {
                stats: Stats::default(),
                ..d.clone()
            },
            shared: Arc::new(DestShared {
                counters: Counters::default(),
                kill,
                reported: Default::default(),
            }),
            last_weight: d.weight,
        });
        e.sched.reset();
        Ok(())
    }

    fn edit_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let mut st = self.state();
        let i = st.find(s.id).ok_or(err(Op::EditDest, errno::ESRCH))?;
        let e = &mut st.services[i];
        let j = e
            .dests
            .iter()
            .position(|x| x.dest.addr == d.addr && x.dest.port == d.port)
            .ok_or(err(Op::EditDest, errno::ENOENT))?;
        if d.weight < 0 {
            return Err(err(Op::EditDest, errno::ERANGE));
        }
        // Weight, forwarding method and thresholds change in place; connections go on.
        if d.weight != 0 {
            e.dests[j].last_weight = d.weight;
        }
        e.dests[j].dest = Dest {
            stats: Stats::default(),
            ..d.clone()
        };
        // The owner decided about it: its next failure is news again.
        e.dests[j].shared.reported.store(false, Ordering::Relaxed);
        e.sched.reset();
        Ok(())
    }

    fn del_dest(&mut self, s: &Service, d: &Dest) -> Result<(), IpvsError> {
        let mut st = self.state();
        let i = st.find(s.id).ok_or(err(Op::DelDest, errno::ESRCH))?;
        let e = &mut st.services[i];
        let j = e
            .dests
            .iter()
            .position(|x| x.dest.addr == d.addr && x.dest.port == d.port)
            .ok_or(err(Op::DelDest, errno::ENOENT))?;
        let gone = e.dests.remove(j);
        e.templates.retain(|_, (to, _)| *to != gone.addr());
        e.sched.reset();
        // Its connections drain, then close.
        let shared = gone.shared;
        let drain = self.drain;
        self.rt.spawn(async move {
            tokio::time::sleep(drain).await;
            let _ = shared.kill.send(true);
        });
        Ok(())
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        Ok(self.state().timeouts)
    }

    fn set_timeouts(&mut self, t: Timeouts) -> Result<(), IpvsError> {
        let mut st = self.state();
        let cur = st.timeouts;
        st.timeouts = Timeouts {
            tcp: if t.tcp == 0 { cur.tcp } else { t.tcp },
            tcp_fin: if t.tcp_fin == 0 {
                cur.tcp_fin
            } else {
                t.tcp_fin
            },
            udp: if t.udp == 0 { cur.udp } else { t.udp },
        };
        Ok(())
    }

    fn daemons(&mut self) -> Result<Vec<Daemon>, IpvsError> {
        Ok(Vec::new())
    }

    fn start_daemon(&mut self, _d: &Daemon) -> Result<(), IpvsError> {
        Err(IpvsError::Unsupported(
            "connection synchronisation needs the kernel's IPVS".into(),
        ))
    }

    fn stop_daemon(&mut self, _d: &Daemon) -> Result<(), IpvsError> {
        Err(err(Op::StopDaemon, errno::ESRCH))
    }
}
