//! ipvsadm 1.31's command line: popt's tokenizing, ipvsadm's option handling, its
//! command × option matrix and its semantic checks, with the same messages and exit codes.
//!
//! clap cannot reproduce popt here (the command must be the first option, `-p` takes an
//! optional argument only when the next word does not start with `-`, errors have popt's and
//! ipvsadm's texts), so this is a hand parser; see docs/DECISIONS.md.
//!
//! The stages, one module each: `popt` tokenizes with popt's rules over the option `table`;
//! `fill` is ipvsadm's option handling (values read by `addr`); `check` runs the command ×
//! option matrix and the semantic checks and returns the typed [`Command`].

mod addr;
mod check;
mod command;
mod fill;
mod popt;
mod table;

use std::net::IpAddr;

use ipvs::{Forward, TunnelType};

pub use addr::{ParsedAddr, parse_addr};
pub use command::{Command, ListOpts};
pub use table::{Cmd, opt};

use fill::MAX_TIMEOUT;
use popt::{Next, Popt};
use table::Key;

/// A fatal command-line error: the message and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub status: u8,
    /// Printed on stderr, followed by a newline.
    pub message: String,
    /// Also print ipvsadm's "Try `... -h'" line.
    pub tryhelp: bool,
}

fn fail(message: impl Into<String>) -> Fail {
    Fail {
        status: 2,
        message: message.into(),
        tryhelp: false,
    }
}

/// `tryhelp_exit(-1)`: only the "Try ..." line, status 255.
fn tryhelp() -> Fail {
    Fail {
        status: 255,
        message: String::new(),
        tryhelp: true,
    }
}

/// ipvsadm's `ipvs_service_t`, as the options fill it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svc {
    pub af: u16,
    pub protocol: u16,
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub fwmark: u32,
    pub sched_name: String,
    pub flags: u32,
    pub timeout: u32,
    pub netmask: u32,
    pub pe_name: String,
}

/// ipvsadm's `ipvs_dest_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestSpec {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub forward: Forward,
    pub weight: i32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    pub tun_port: u16,
    pub tun_flags: u16,
}

/// A checked command line: the typed command, and the values the options set as ipvsadm's
/// `struct ipvs_command_entry` holds them (after the checks' defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub command: Command,
    pub svc: Svc,
    pub dest: DestSpec,
    /// The sync daemon of `--start-daemon`/`--stop-daemon` (ipvsadm's `ipvs_daemon_t`).
    pub daemon: ipvs::Daemon,
    /// The options given, as bits of [`opt`].
    pub options: u64,
}

impl Entry {
    pub fn has(&self, o: u8) -> bool {
        self.options & (1 << o) != 0
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Entry>),
    /// `-h`: usage on stdout, status 0.
    Help,
    /// `-v`: version on stdout, status 0.
    Version,
}

/// Parse `args` (without `argv[0]`). `restoring` is true for a line of `-R` input, where a
/// nested `-R` is refused.
pub fn parse(args: &[String], restoring: bool) -> Result<Parsed, Fail> {
    let mut p = Popt::new(args);
    // The first option must be a command, -h or -v.
    let first = match p.get() {
        Next::Opt(k, v, _) => (k, v),
        _ => return Err(tryhelp()),
    };
    let mut e = match first {
        (Key::Help, _) => return Ok(Parsed::Help),
        (Key::Version, _) => return Ok(Parsed::Version),
        (Key::Cmd(Cmd::Restore), _) if restoring => return Err(tryhelp()),
        (Key::Cmd(c), v) => {
            let mut e = fill::blank(c);
            fill::command_arg(&mut e, c, v)?;
            e
        }
        _ => return Err(tryhelp()),
    };
    loop {
        match p.get() {
            Next::End => break,
            Next::Error(opt, why) => {
                return Err(Fail {
                    status: 255,
                    message: format!("{opt}: {why}"),
                    tryhelp: false,
                });
            }
            // A command (or -h, -v) after the first option is not an option of it.
            Next::Opt(Key::Cmd(_) | Key::Help | Key::Version, _, written) => {
                return Err(fail(format!("invalid option `{written}'")));
            }
            Next::Opt(key, val, _) => fill::option(&mut e, key, val)?,
        }
    }
    // Scheduler flags are checked against the scheduler the whole line asks for.
    if e.has(opt::SCHED_FLAGS) {
        check::check_sched_flags(&e.svc.sched_name, &e.sched_flags_text)?;
    }
    let mut rest = p.leftovers.into_iter();
    if e.cmd == Cmd::Timeout {
        let vals: Vec<String> = rest.by_ref().take(3).collect();
        if vals.len() < 3 {
            return Err(fail("--set option requires 3 timeout values"));
        }
        for (i, v) in vals.iter().enumerate() {
            e.timeouts[i] = addr::number(v, 0, MAX_TIMEOUT)
                .ok_or_else(|| fail(format!("invalid timeout value `{v}' specified")))?
                as u32;
        }
    }
    if let Some(extra) = rest.next() {
        return Err(fail(format!("unexpected argument {extra}")));
    }
    Ok(Parsed::Run(Box::new(check::check(e)?)))
}
