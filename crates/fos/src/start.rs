//! The binary's body: parse, load, detach, log, run.

use std::ffi::OsString;

use plog::daemon::Startup;

use crate::opts::{self, PROGRAM};
use crate::plan::{self, MonitorOptions};

/// Run fos with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut o = match PROGRAM.prologue(opts::parse(args), None) {
        Ok(o) => o,
        Err(code) => return code,
    };
    plog::daemon::prepare(&mut o.config);
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
    let local = plog::daemon::before_detach(netif::local_addresses()).unwrap_or_default();
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
    // --stop-hot is a command that pulse waits for: it logs where its daemon would, but
    // neither detaches nor writes the daemon's pid file.
    let one_shot = o.role == opts::Role::StopHot;
    let startup = Startup {
        name: "fos",
        ident: "fos",
        foreground: o.nodaemon || one_shot,
        fork: !o.nofork && !one_shot,
        pidfile: &o.pidfile,
        verbose: o.verbose,
    };
    if one_shot && !o.nodaemon {
        // The foreground's logging would go to stdout only: syslog, as the daemon's.
        plog::init_with("fos", "fos", plog::daemon_sinks(false), o.verbose);
    }
    startup.run(|_| crate::run::run(&o, &services))
}
