//! The binary's body: parse, load, bind, detach, log, run (spec §2.2).

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use plog::daemon::Startup;

use crate::daemon::{self, Daemon};
use crate::opts::{self, PROGRAM};
use crate::status::Status;

/// Run pulse with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    if args.get(1).is_some_and(|a| a == crate::watchdog::ARG) {
        return crate::watchdog::process::main(&args[2..]);
    }
    let mut o = match PROGRAM.prologue(opts::parse(args), Some(status)) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if o.clean_up {
        return crate::watchdog::clean_up::main(&o.socket);
    }
    let socket_gid = match o.socket_group.as_deref().map(plog::socket::group_id) {
        None => None,
        Some(Ok(gid)) => Some(gid),
        Some(Err(e)) => {
            eprintln!("pulse: {e}");
            return PROGRAM.usage_status;
        }
    };
    // The file is read again on SIGHUP and by lvsd.
    plog::daemon::prepare(&mut o.config);
    // The file and this host's addresses, read in a runtime of their own: the daemon's runtime
    // is created only after fork.
    let settings = match plog::daemon::before_detach(crate::settings::load(&o.config))
        .map_err(|e| e.to_string())
        .and_then(|loaded| loaded.map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pulse: {e}");
            return 1;
        }
    };
    if UnixStream::connect(&o.socket).is_ok() {
        eprintln!("pulse: another pulse answers on {}", o.socket.display());
        return 1;
    }
    let socks = match daemon::bind(&settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pulse: cannot create heartbeat socket. running as root? ({e})");
            return 1;
        }
    };
    let _ = std::fs::remove_file(&o.socket);
    let listener = match UnixListener::bind(&o.socket) {
        Ok(l) => {
            if let Some(gid) = socket_gid
                && let Err(e) = plog::socket::share(&o.socket, gid)
            {
                eprintln!(
                    "pulse: cannot give {} to group {gid}: {e}",
                    o.socket.display()
                );
            }
            Some(l)
        }
        Err(e) => {
            eprintln!("pulse: no status socket {}: {e}", o.socket.display());
            None
        }
    };
    let pidfile = o.pidfile.clone();
    let startup = Startup {
        name: "pulse",
        ident: "pulse",
        foreground: o.nodaemon,
        fork: true,
        pidfile: &pidfile,
        verbose: o.verbose,
    };
    startup.run(|_| async move {
        let socket_path = o.socket.clone();
        let code = match Daemon::new(o, settings, socks, listener) {
            Ok(d) => d.run().await,
            Err(e) => {
                tracing::info!("cannot start: {e}");
                1
            }
        };
        let _ = std::fs::remove_file(socket_path);
        code
    })
}

/// `pulse --status`: ask the running pulse.
fn status(socket: &Path, json: bool) -> i32 {
    let mut text = String::new();
    match UnixStream::connect(socket).and_then(|mut c| c.read_to_string(&mut text)) {
        Ok(_) => {}
        Err(e) => {
            eprintln!("pulse: no pulse answers on {}: {e}", socket.display());
            return 3;
        }
    }
    if json {
        print!("{text}");
        return 0;
    }
    match serde_json::from_str::<Status>(&text) {
        Ok(st) => {
            print!("{}", st.render());
            0
        }
        Err(e) => {
            eprintln!("pulse: unreadable status from {}: {e}", socket.display());
            1
        }
    }
}
