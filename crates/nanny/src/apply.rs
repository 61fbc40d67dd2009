//! Carrying out IPVS decisions: reported to lvsd, applied through netlink, or only logged.

use std::io::Write;
use std::net::IpAddr;

use ipvs::{Dest, Forward, IpvsError, IpvsTable, Protocol, Service, ServiceId};

use crate::Error;
use crate::monitor::{Op, Reason};
use crate::report::{Check, Report};

/// Something that carries out the monitor's IPVS operations.
pub trait Apply {
    /// Carry out `op`; the error is a log line.
    fn apply(&mut self, op: Op, reason: Reason, up: bool) -> Result<(), Error>;

    /// The first check's verdict when it led to no operation (only lvsd wants to know).
    fn verdict(&mut self, _up: bool) -> Result<(), Error> {
        Ok(())
    }

    /// A check completed (only lvsd wants to know).
    fn checked(&mut self, _check: Check) -> Result<(), Error> {
        Ok(())
    }

    /// Whether failures are IPVS failures (logged as piranha's `<ipvsadm> command failed!`).
    fn is_ipvs(&self) -> bool {
        false
    }
}

/// The destination a monitor manages, as ipvsadm would address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: ServiceId,
    pub rip: IpAddr,
    pub rport: u16,
    pub forward: Forward,
}

impl Target {
    /// The ipvsadm command line piranha's nanny would have run, for `-v` logs.
    pub fn ipvsadm_line(&self, ipvsadm: &str, op: Op) -> String {
        let svc = match self.service {
            ServiceId::Fwmark { mark, .. } => format!("-f {mark}"),
            ServiceId::Addr {
                protocol,
                addr,
                port,
            } => {
                let flag = if protocol == Protocol::Udp {
                    "-u"
                } else {
                    "-t"
                };
                format!("{flag} {}", crate::opts::host_port(&addr.to_string(), port))
            }
        };
        let rs = crate::opts::host_port(&self.rip.to_string(), self.rport);
        let fwd = match self.forward {
            Forward::Route => "-g",
            Forward::Tunnel => "-i",
            _ => "-m",
        };
        match op {
            Op::Add(w) => format!("{ipvsadm} -a {svc} -r {rs} {fwd} -w {w}"),
            Op::Edit(w) => format!("{ipvsadm} -e {svc} -r {rs} {fwd} -w {w}"),
            Op::Delete => format!("{ipvsadm} -d {svc} -r {rs}"),
        }
    }

    fn dest(&self, weight: i32) -> Dest {
        Dest::new(self.rip, self.rport)
            .forward(self.forward)
            .weight(weight)
    }
}

/// `--report`: one decision line per operation on a writer (stdout for lvsd).
#[derive(Debug)]
pub struct Reporter<W: Write> {
    pub out: W,
}

impl<W: Write> Reporter<W> {
    fn line(&mut self, r: impl std::fmt::Display) -> Result<(), Error> {
        writeln!(self.out, "{r}")
            .and_then(|()| self.out.flush())
            .map_err(Error::Report)
    }
}

impl<W: Write> Apply for Reporter<W> {
    fn apply(&mut self, op: Op, reason: Reason, up: bool) -> Result<(), Error> {
        self.line(Report {
            op: Some(op),
            up,
            reason,
        })
    }

    fn verdict(&mut self, up: bool) -> Result<(), Error> {
        self.line(Report {
            op: None,
            up,
            reason: Reason::Check,
        })
    }

    fn checked(&mut self, check: Check) -> Result<(), Error> {
        self.line(check)
    }
}

/// `--test-start`: change nothing.
#[derive(Debug, Default)]
pub struct DryRun;

impl Apply for DryRun {
    fn apply(&mut self, _: Op, _: Reason, _: bool) -> Result<(), Error> {
        Ok(())
    }
}

/// Standalone `--lvs`: change the IPVS table directly, as piranha's nanny did with ipvsadm.
#[derive(Debug)]
pub struct Direct<T: IpvsTable> {
    pub table: T,
    pub target: Target,
}

impl<T: IpvsTable> Direct<T> {
    fn service(&self) -> Service {
        Service::new(self.target.service)
    }
}

fn errno(e: &IpvsError) -> Option<i32> {
    e.errno()
}

impl<T: IpvsTable> Apply for Direct<T> {
    fn is_ipvs(&self) -> bool {
        true
    }

    fn apply(&mut self, op: Op, _: Reason, _: bool) -> Result<(), Error> {
        use ipvs::error::errno::{EEXIST, ENOENT};
        let svc = self.service();
        let r = match op {
            // A destination left by an earlier nanny is taken over rather than fatal.
            Op::Add(w) => match self.table.add_dest(&svc, &self.target.dest(w)) {
                Err(e) if errno(&e) == Some(EEXIST) => {
                    self.table.edit_dest(&svc, &self.target.dest(w))
                }
                r => r,
            },
            Op::Edit(w) => match self.table.edit_dest(&svc, &self.target.dest(w)) {
                Err(e) if errno(&e) == Some(ENOENT) => {
                    self.table.add_dest(&svc, &self.target.dest(w))
                }
                r => r,
            },
            // Already gone is what we wanted.
            Op::Delete => match self.table.del_dest(&svc, &self.target.dest(0)) {
                Err(e) if errno(&e) == Some(ENOENT) => Ok(()),
                r => r,
            },
        };
        Ok(r?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs::MemoryTable;

    fn target() -> Target {
        Target {
            service: ServiceId::tcp("10.0.0.1".parse().unwrap(), 80),
            rip: "10.0.0.2".parse().unwrap(),
            rport: 8080,
            forward: Forward::Masq,
        }
    }

    #[test]
    fn ipvsadm_lines_have_piranha_shapes() {
        let t = target();
        assert_eq!(
            t.ipvsadm_line("/sbin/ipvsadm", Op::Add(3)),
            "/sbin/ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 3"
        );
        assert_eq!(
            t.ipvsadm_line("ipvsadm", Op::Delete),
            "ipvsadm -d -t 10.0.0.1:80 -r 10.0.0.2:8080"
        );
        let t = Target {
            service: ServiceId::Fwmark {
                mark: 7,
                ipv6: false,
            },
            forward: Forward::Route,
            ..target()
        };
        assert_eq!(
            t.ipvsadm_line("ipvsadm", Op::Edit(0)),
            "ipvsadm -e -f 7 -r 10.0.0.2:8080 -g -w 0"
        );
    }

    #[test]
    fn direct_changes_the_table_idempotently() {
        let mut fake = MemoryTable::new();
        let svc = Service::new(target().service).scheduler("wlc");
        fake.add_service(&svc).unwrap();
        let mut d = Direct {
            table: fake,
            target: target(),
        };
        d.apply(Op::Add(3), Reason::Check, true).unwrap();
        // Adding again (a restarted nanny) edits instead of failing.
        d.apply(Op::Add(5), Reason::Check, true).unwrap();
        let dests = d.table.dests(svc.id).unwrap();
        assert_eq!(dests.len(), 1);
        assert_eq!(
            (dests[0].weight, dests[0].port, dests[0].forward),
            (5, 8080, Forward::Masq)
        );
        d.apply(Op::Edit(0), Reason::Check, false).unwrap();
        assert_eq!(d.table.dests(svc.id).unwrap()[0].weight, 0);
        d.apply(Op::Delete, Reason::Shutdown, false).unwrap();
        assert!(d.table.dests(svc.id).unwrap().is_empty());
        d.apply(Op::Delete, Reason::Shutdown, false).unwrap();
        // An edit of a missing destination adds it back.
        d.apply(Op::Edit(2), Reason::Ramp, true).unwrap();
        assert_eq!(d.table.dests(svc.id).unwrap()[0].weight, 2);
    }

    #[test]
    fn direct_reports_kernel_errors() {
        // No such virtual service: ipvsadm's wording comes back.
        let mut d = Direct {
            table: MemoryTable::new(),
            target: target(),
        };
        let e = d.apply(Op::Add(1), Reason::Check, true).unwrap_err();
        assert!(e.to_string().contains("Service not defined"), "{e}");
    }

    #[test]
    fn reporter_writes_lines() {
        let mut r = Reporter { out: Vec::new() };
        r.apply(Op::Add(3), Reason::Check, true).unwrap();
        r.apply(Op::Delete, Reason::Shutdown, false).unwrap();
        r.verdict(false).unwrap();
        r.checked(Check {
            ok: false,
            took: std::time::Duration::from_millis(2),
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(r.out).unwrap(),
            "@nanny/1 op=add weight=3 state=up reason=check\n@nanny/1 op=delete weight=0 state=down reason=shutdown\n@nanny/1 op=none weight=0 state=down reason=check\n@nanny/1 check=failed duration_us=2000\n"
        );
        // The other appliers ignore checks.
        assert!(
            DryRun
                .checked(Check {
                    ok: true,
                    took: std::time::Duration::ZERO
                })
                .is_ok()
        );
    }
}
