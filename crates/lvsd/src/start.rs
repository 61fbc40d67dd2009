//! The binary's body: parse, load, open IPVS, detach, log, run.

use std::ffi::OsString;

use ipvs::{IpvsTable, MemoryTable, NetlinkIpvs};
use lvscf::Dataplane;
use tracing::info;

use crate::opts::{self, Mode, Opts};
use crate::run::{self, Shell};

fn detach(o: &Opts) {
    if !o.nodaemon {
        plog::notify::detach(!o.nofork, &o.pidfile);
    }
}

/// Run lvsd with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let o = match opts::parse(args) {
        Ok(Mode::Run(o)) => o,
        Ok(Mode::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(Mode::Status { socket, json }) => return status(&socket, json),
        Err(e) => {
            eprintln!("lvsd: {e}");
            return 2;
        }
    };
    let mut o = o;
    // daemon() changes to /: keep the file reachable for SIGHUP.
    if let Ok(p) = std::fs::canonicalize(&o.config) {
        o.config = p;
    }
    if std::os::unix::net::UnixStream::connect(&o.socket).is_ok() {
        eprintln!("lvsd: another lvsd answers on {}", o.socket.display());
        return 1;
    }
    plog::notify::unblock_signals();
    // Configuration and IPVS problems are reported on the terminal, before detaching.
    let desired = match run::load(&o) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    // Which table: in memory, the kernel's IPVS, or the userspace data plane (built once the
    // runtime exists, after detaching).
    let plane = o.dataplane.unwrap_or(desired.dataplane);
    let mut notes = Vec::new();
    let kernel: Option<Box<dyn IpvsTable>> = if o.test_start || o.memory_table {
        Some(Box::new(MemoryTable::new()))
    } else {
        match (plane, NetlinkIpvs::new()) {
            (Dataplane::Userspace, _) => None,
            (_, Ok(t)) => Some(Box::new(t)),
            (Dataplane::Auto, Err(e)) => {
                notes.push(format!(
                    "no IPVS in this kernel ({e}): using the userspace data plane"
                ));
                None
            }
            (_, Err(e)) => {
                eprintln!("lvsd: Can't initialize ipvs: {e}");
                return 1;
            }
        }
    };
    if kernel.is_none()
        && desired
            .virtuals
            .iter()
            .any(|v| v.forward != ipvs::Forward::Masq)
    {
        notes.push(
            "the userspace data plane proxies connections: direct routing and tunnelling act as NAT here"
                .into(),
        );
    }
    detach(&o);
    plog::init_with("lvs", "lvsd", plog::daemon_sinks(o.nodaemon), o.verbose);
    // The kernel forwards IPVS traffic, so lvsd itself needs one thread; the userspace data
    // plane forwards in this process, on every core.
    let builder = if kernel.is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let rt = match { builder }.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            info!("cannot start the runtime: {e}");
            return 1;
        }
    };
    for n in &notes {
        info!("{n}");
    }
    let userspace = kernel.is_none();
    let table: Box<dyn IpvsTable> = match kernel {
        Some(t) => t,
        None => Box::new(uplane::Userspace::new(rt.handle().clone())),
    };
    let pidfile = (!o.nodaemon).then(|| o.pidfile.clone());
    let mut shell = Shell::new(o, desired, table);
    if userspace {
        shell.dataplane = "userspace".into();
    }
    let code = rt.block_on(async { shell.run().await });
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    code
}

fn status(socket: &std::path::Path, json: bool) -> i32 {
    let text = match run::query_status(socket) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lvsd: cannot reach lvsd at {}: {e}", socket.display());
            return 1;
        }
    };
    if json {
        print!("{text}");
        return 0;
    }
    match serde_json::from_str::<crate::status::Status>(&text) {
        Ok(s) => {
            print!("{}", crate::status::render(&s));
            0
        }
        Err(e) => {
            eprintln!("lvsd: bad status report: {e}");
            1
        }
    }
}
