//! The binary's body: parse, load, bind, detach, log, run (spec §2.2).

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use crate::daemon::{self, Daemon};
use crate::opts::{self, Mode};
use crate::status::Status;

/// Run pulse with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut o = match opts::parse(args) {
        Ok(Mode::Run(o)) => o,
        Ok(Mode::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(Mode::Status { socket, json }) => return status(&socket, json),
        Err(e) => {
            eprintln!("pulse: {e}");
            return 1;
        }
    };
    // daemon() changes to /: keep the file reachable for SIGHUP and for lvsd.
    if let Ok(p) = std::fs::canonicalize(&o.config) {
        o.config = p;
    }
    plog::notify::unblock_signals();
    // The file and this host's addresses, read in a runtime of their own: the daemon's runtime
    // is created only after fork.
    let settings = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(crate::settings::load(&o.config))
                .map_err(|e| e.to_string())
        }) {
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
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("pulse: no status socket {}: {e}", o.socket.display());
            None
        }
    };
    if !o.nodaemon {
        plog::notify::detach(true, &o.pidfile);
    }
    plog::init("pulse", plog::daemon_sinks(o.nodaemon), o.verbose);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::info!("cannot start the runtime: {e}");
            return 1;
        }
    };
    let socket_path = o.socket.clone();
    let pidfile = (!o.nodaemon).then(|| o.pidfile.clone());
    let code = rt.block_on(async move {
        match Daemon::new(o, settings, socks, listener) {
            Ok(d) => d.run().await,
            Err(e) => {
                tracing::info!("cannot start: {e}");
                1
            }
        }
    });
    let _ = std::fs::remove_file(socket_path);
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    code
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
