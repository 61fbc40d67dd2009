//! The difference between two desired states: what a reload must change, and nothing else.
//!
//! [`plan`] is a pure function of the old and new [`Desired`]. Virtual services are matched by
//! their IPVS identity (protocol + address + port, or firewall mark: piranha ignored the mark
//! and compared the wrong blocks when the file order changed), real servers by address + port.

use std::net::IpAddr;

use ipvs::ServiceId;

use crate::desired::{Desired, Real, Virtual};

/// A real server present before and after, and what changed about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealChange {
    pub addr: IpAddr,
    pub port: u16,
    /// The configured weight changed: set it in place if the server is in the table.
    pub weight: Option<i32>,
    /// The nanny command line changed (check parameters or weight): restart that nanny.
    pub restart: bool,
}

/// Changes inside a virtual service present before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualChange {
    pub id: ServiceId,
    /// Scheduler or persistence changed: edit the service (IPVS keeps its connections).
    pub edit_service: bool,
    /// The forwarding method changed: edit every destination in the table.
    pub forward: bool,
    /// The sorry server changed.
    pub sorry: bool,
    pub add_reals: Vec<Real>,
    pub remove_reals: Vec<(IpAddr, u16)>,
    pub change_reals: Vec<RealChange>,
}

impl VirtualChange {
    pub fn is_empty(&self) -> bool {
        !self.edit_service
            && !self.forward
            && !self.sorry
            && self.add_reals.is_empty()
            && self.remove_reals.is_empty()
            && self.change_reals.is_empty()
    }
}

/// Everything a reload does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub timeouts: bool,
    pub remove: Vec<ServiceId>,
    pub add: Vec<Virtual>,
    pub change: Vec<VirtualChange>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.timeouts && self.remove.is_empty() && self.add.is_empty() && self.change.is_empty()
    }
}

fn same_service(a: &Virtual, b: &Virtual) -> bool {
    let (x, y) = (&a.service, &b.service);
    x.scheduler == y.scheduler
        && x.flags == y.flags
        && x.timeout == y.timeout
        && x.netmask == y.netmask
}

/// What must change to go from `old` to `new`.
pub fn plan(old: &Desired, new: &Desired) -> Plan {
    let mut p = Plan {
        timeouts: old.timeouts != new.timeouts,
        ..Plan::default()
    };
    for o in &old.virtuals {
        if new.virtual_by_id(o.service.id).is_none() {
            p.remove.push(o.service.id);
        }
    }
    for n in &new.virtuals {
        let Some(o) = old.virtual_by_id(n.service.id) else {
            p.add.push(n.clone());
            continue;
        };
        let mut c = VirtualChange {
            id: n.service.id,
            edit_service: !same_service(o, n),
            forward: o.forward != n.forward,
            sorry: o.sorry != n.sorry || (o.sorry.is_some() && o.port != n.port),
            add_reals: Vec::new(),
            remove_reals: Vec::new(),
            change_reals: Vec::new(),
        };
        for or in &o.reals {
            if n.real(or.addr, or.port).is_none() {
                c.remove_reals.push((or.addr, or.port));
            }
        }
        for nr in &n.reals {
            match o.real(nr.addr, nr.port) {
                None => c.add_reals.push(nr.clone()),
                Some(or) if or.argv != nr.argv || or.weight != nr.weight => {
                    c.change_reals.push(RealChange {
                        addr: nr.addr,
                        port: nr.port,
                        weight: (or.weight != nr.weight).then_some(nr.weight),
                        restart: or.argv != nr.argv,
                    })
                }
                Some(_) => {}
            }
        }
        if !c.is_empty() {
            p.change.push(c);
        }
    }
    p
}
