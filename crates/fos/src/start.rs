//! The binary's body: parse, load, detach, log, run.

use std::ffi::OsString;

use crate::opts::{self, Mode};
use crate::plan::{self, MonitorOptions};

/// Run fos with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    plog::notify::unblock_signals();
    let mut o = match opts::parse(args) {
        Ok(Mode::Run(o)) => o,
        Ok(Mode::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Err(e) => {
            eprintln!("fos: {e}");
            return 1;
        }
    };
    if let Ok(p) = std::fs::canonicalize(&o.config) {
        o.config = p;
    }
    let loaded = match lvscf::load(&o.config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fos: {e}");
            return 1;
        }
    };
    let Some(cfg) = loaded.parsed.config() else {
        eprintln!("{}", loaded.render().trim_end());
        return 1;
    };
    // This host's addresses, read in a runtime of its own: the daemon's is created after fork.
    let local = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(netif::local_addresses()),
        Err(_) => Vec::new(),
    };
    let mo = MonitorOptions {
        verbose: o.verbose,
        foreground: o.nodaemon,
        nanny: o.nanny.clone(),
    };
    let services = match plan::build(cfg, &o.config.display().to_string(), &local, &mo, &|h| {
        h.resolve()
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fos: {e}");
            return 1;
        }
    };
    if !o.nodaemon {
        plog::notify::detach(!o.nofork, &o.pidfile);
    }
    plog::init("fos", plog::daemon_sinks(o.nodaemon), o.verbose);
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
    let code = rt.block_on(crate::run::run(&o, &services));
    if !o.nodaemon {
        let _ = std::fs::remove_file(&o.pidfile);
    }
    code
}
