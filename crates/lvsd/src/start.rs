//! The binary's body: parse, load, open IPVS, detach, log, run.

use std::ffi::OsString;

use ipvs::{IpvsTable, MemoryTable, NetlinkIpvs};
use lvscf::Dataplane;
use plog::daemon::Startup;
use tracing::info;

use crate::desired::Desired;
use crate::opts::{self, Opts, PROGRAM};
use crate::request::{self, Reply, Request};
use crate::run::{self, Shell};
use crate::socket;

/// Run lvsd with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut o = match PROGRAM.prologue(opts::parse(args), Some(status)) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Some(r) = o.request.take() {
        return request(&o.socket, &r);
    }
    let socket_gid = match o.socket_group.as_deref().map(plog::socket::group_id) {
        None => None,
        Some(Ok(gid)) => Some(gid),
        Some(Err(e)) => {
            eprintln!("lvsd: {e}");
            return PROGRAM.usage_status;
        }
    };
    plog::daemon::prepare(&mut o.config);
    if o.withdraw {
        return crate::announcer::withdraw_once(&o);
    }
    if std::os::unix::net::UnixStream::connect(&o.socket).is_ok() {
        eprintln!("lvsd: another lvsd answers on {}", o.socket.display());
        return 1;
    }
    // Configuration and IPVS problems are reported on the terminal, before detaching.
    let desired = match run::load(&o) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let Ok((kernel, notes)) = open_table(&o, &desired) else {
        return 1;
    };
    let pidfile = o.pidfile.clone();
    let startup = Startup {
        name: "lvs",
        ident: "lvsd",
        foreground: o.nodaemon,
        fork: !o.nofork,
        pidfile: &pidfile,
        verbose: o.verbose,
    };
    startup.run(|handle| {
        for n in &notes {
            info!("{n}");
        }
        let mut shell = match kernel {
            Some(t) => Shell::new(o, desired, t),
            None => {
                let plane = uplane::Userspace::new(handle.clone());
                Shell::new(o, desired, Box::new(plane.clone())).with_plane(plane)
            }
        };
        shell.socket_gid = socket_gid;
        async move { shell.run().await }
    })
}

/// The kernel's table or the in-memory one; `None` for the userspace data plane.
type Kernel = Option<Box<dyn IpvsTable>>;

/// Which table: in memory, the kernel's IPVS, or (`None`) the userspace data plane, built
/// once the runtime exists, after detaching; and the notes to log then. A kernel without
/// IPVS when the file or `--dataplane` asks for it is reported on the terminal (`Err`).
fn open_table(o: &Opts, desired: &Desired) -> Result<(Kernel, Vec<String>), ()> {
    let plane = o.dataplane.unwrap_or(desired.dataplane);
    let mut notes = Vec::new();
    let kernel: Kernel = if o.test_start || o.memory_table {
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
                return Err(());
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
    Ok((kernel, notes))
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

/// Exit status of a request the running lvsd refused (`no real server web/x`, …).
pub const REFUSED: i32 = 3;

/// `lvsd --reload`, `--drain`, …: send the request, print the error of a refusal.
fn request(socket: &std::path::Path, r: &Request) -> i32 {
    let text = match socket::ask(socket, &request::line(r)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lvsd: cannot reach lvsd at {}: {e}", socket.display());
            return 1;
        }
    };
    match serde_json::from_str::<Reply>(&text) {
        Ok(Reply { ok: true, .. }) => 0,
        Ok(Reply { error, .. }) => {
            eprintln!("lvsd: {}", error.as_deref().unwrap_or("request refused"));
            REFUSED
        }
        Err(e) => {
            eprintln!("lvsd: bad reply from lvsd: {e}");
            1
        }
    }
}
