//! The binary's body: parse, detach, set up logging, choose how decisions are carried out, run.

use std::ffi::OsString;

use ipvs::{NetlinkIpvs, Protocol, ServiceId};
use tracing::info;

use crate::Error;
use crate::apply::{Direct, DryRun, Reporter, Target};
use crate::monitor::Kind;
use crate::opts::{self, Config, Parsed};
use crate::run::Runner;

/// The IPVS destination standalone `--lvs` mode manages, if the command line names one.
pub fn target(cfg: &Config) -> Result<Target, Error> {
    let service = if cfg.fwmark != 0 {
        ServiceId::Fwmark {
            mark: cfg.fwmark,
            ipv6: cfg.server.is_ipv6(),
        }
    } else {
        let vip = cfg.vip.as_deref().ok_or(Error::NoTarget)?;
        let addr = lvscf::value::parse_ip(vip.trim())
            .ok_or_else(|| Error::BadVirtualAddress(vip.to_owned()))?;
        ServiceId::Addr {
            protocol: if cfg.udp {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            addr,
            port: cfg.port,
        }
    };
    Ok(Target {
        service,
        rip: cfg.server,
        rport: cfg.rport,
        forward: cfg.method,
    })
}

fn detach(cfg: &Config) {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    if cfg.nodaemon {
        return;
    }
    let null = || open("/dev/null", OFlag::O_RDWR, Mode::empty());
    if cfg.report {
        // lvsd reads our stdout: keep it, leave the terminal's session.
        let _ = nix::unistd::setsid();
        if let Ok(fd) = null() {
            let _ = nix::unistd::dup2_stdin(&fd);
        }
    } else if cfg.nofork {
        let _ = nix::unistd::setsid();
        if let Ok(fd) = null() {
            let _ = nix::unistd::dup2_stdin(&fd);
            let _ = nix::unistd::dup2_stdout(&fd);
            let _ = nix::unistd::dup2_stderr(&fd);
        }
    } else {
        // No pid file, as piranha.
        let _ = nix::unistd::daemon(false, false);
    }
}

/// Run nanny with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    // A parent that blocked signals (a shell's trap, a supervisor) passes its mask on through
    // exec; nanny must still hear SIGTERM and the override signals.
    plog::notify::unblock_signals();
    // From here on nanny's own signals wait for the check loop (`wait`): one arriving before
    // the loop starts is handled, not fatal.
    let _ = crate::wait::block_signals();
    default_sigchld();
    let cfg = match opts::parse(args) {
        Ok(Parsed::Run(c)) => *c,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Err(e) => {
            eprintln!("nanny: {e}");
            return 1;
        }
    };
    let target = target(&cfg);
    let direct = cfg.kind == Kind::Lvs && !cfg.norun && !cfg.report;
    if direct && let Err(e) = &target {
        eprintln!("nanny: {e}; use --test-start to only check");
        return 1;
    }
    // Open netlink before detaching so that a kernel without IPVS is reported on the terminal.
    let table = if direct {
        match NetlinkIpvs::new() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("nanny: Can't initialize ipvs: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    detach(&cfg);
    let sinks: &[plog::Sink] = if cfg.nodaemon {
        &[plog::Sink::Stdout, plog::Sink::Syslog]
    } else {
        &[plog::Sink::Syslog]
    };
    plog::init("nanny", sinks, cfg.verbose);
    for note in &cfg.startup_notes {
        info!("{note}");
    }
    let shown = target.ok();
    match (table, cfg.kind) {
        (Some(table), _) => {
            let t = shown.clone().expect("checked above");
            Runner::new(&cfg, Direct { table, target: t }, shown).run()
        }
        (None, Kind::Lvs) if cfg.report => {
            let out = std::io::stdout();
            Runner::new(&cfg, Reporter { out }, shown).run()
        }
        (None, Kind::Lvs) => Runner::new(&cfg, DryRun, shown).run(),
        (None, Kind::Fos) => Runner::new(&cfg, DryRun, None).run(),
    }
}

/// A parent that ignored SIGCHLD passes that on through exec, and the kernel would then reap
/// check programs before nanny could read their exit status: take the default back.
#[allow(unsafe_code)]
fn default_sigchld() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no handler, so no code of ours runs in signal context.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
}
