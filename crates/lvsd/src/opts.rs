//! lvsd's command line: piranha's options (spec §3.1) and ours.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Command;
use cliargs::{Program, UsageError, flag, path_or, value};

/// Default places.
pub const DEFAULT_SOCKET: &str = "/run/lvsd.sock";
pub const DEFAULT_STATE: &str = "/run/lvsd.state";
pub const DEFAULT_PIDFILE: &str = "/var/run/lvs.pid";

/// What to do: run, `--status` (ask a running lvsd; `json` prints the raw report), or print.
pub type Mode = cliargs::Mode<Opts>;

/// lvsd's usage errors are printed as `lvsd: <msg>`, exit status 2.
pub const PROGRAM: Program = Program {
    name: "lvsd",
    version: env!("CARGO_PKG_VERSION"),
    clap_prefix: "",
    usage_status: 2,
};

/// Options of a running lvsd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    pub config: PathBuf,
    pub nodaemon: bool,
    pub nofork: bool,
    pub test_start: bool,
    pub verbose: bool,
    pub flush: bool,
    /// Keep the IPVS table in memory (no kernel) but run nannies as usual.
    pub memory_table: bool,
    /// `--dataplane`: overrides the file's `dataplane`.
    pub dataplane: Option<lvscf::Dataplane>,
    pub nanny: Option<String>,
    pub socket: PathBuf,
    pub state_file: PathBuf,
    pub pidfile: PathBuf,
}

fn command() -> Command {
    Command::new("lvsd")
        .disable_version_flag(true)
        .arg(value("config", "configfile", "configuration file [/etc/lvs.cf]").short('c'))
        .arg(
            flag(
                "nodaemon",
                "nodaemon",
                "stay in the foreground, log to stdout",
            )
            .short('n'),
        )
        .arg(flag(
            "nofork",
            "nofork",
            "do not fork, but leave the terminal (pulse passes this)",
        ))
        .arg(
            flag(
                "test_start",
                "test-start",
                "build the table in memory only; start no nanny",
            )
            .short('t'),
        )
        .arg(
            flag(
                "verbose",
                "verbose",
                "verbose logs; passed on to every nanny",
            )
            .short('v'),
        )
        .arg(cliargs::version_flag())
        .arg(flag(
            "flush",
            "flush",
            "empty the whole IPVS table at start-up, as piranha did",
        ))
        .arg(flag(
            "memory_table",
            "memory-table",
            "keep the IPVS table in memory, not in the kernel; nannies run as usual",
        ))
        .arg(value(
            "dataplane",
            "dataplane",
            "auto, ipvs or userspace (overrides the file's dataplane)",
        ))
        .arg(value(
            "nanny",
            "nanny",
            "the monitor program, instead of each client_monitor",
        ))
        .arg(value("socket", "socket", "status socket [/run/lvsd.sock]"))
        .arg(value(
            "state_file",
            "state-file",
            "record of the services lvsd created [/run/lvsd.state]",
        ))
        .arg(value(
            "pidfile",
            "pidfile",
            "pid file of the daemon [/var/run/lvs.pid]",
        ))
        .arg(flag(
            "status",
            "status",
            "print the status of the running lvsd",
        ))
        .arg(flag("json", "json", "with --status: print the JSON report"))
}

/// Usage text for `--help`.
pub fn help() -> String {
    command().render_help().to_string()
}

/// Parse the argument vector (program name first).
pub fn parse<I, T>(args: I) -> Result<Mode, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let m = match PROGRAM.parse(command(), args)? {
        cliargs::Parsed::Matches(m) => m,
        cliargs::Parsed::Help(text) => return Ok(Mode::Print(text)),
    };
    let path = |id: &str, default: &str| path_or(&m, id, default);
    let socket = path("socket", DEFAULT_SOCKET);
    if let Some(status) = cliargs::status_request(&m, &socket)? {
        return Ok(status);
    }
    Ok(Mode::Run(Opts {
        config: path("config", lvscf::DEFAULT_PATH),
        nodaemon: m.get_flag("nodaemon"),
        nofork: m.get_flag("nofork"),
        test_start: m.get_flag("test_start"),
        verbose: m.get_flag("verbose"),
        flush: m.get_flag("flush"),
        memory_table: m.get_flag("memory_table"),
        dataplane: match m.get_one::<String>("dataplane") {
            None => None,
            Some(s) => Some(lvscf::Dataplane::from_keyword(s).ok_or_else(|| {
                UsageError::Other(format!("--dataplane is auto, ipvs or userspace, not {s}"))
            })?),
        },
        nanny: m.get_one::<String>("nanny").cloned(),
        socket,
        state_file: path("state_file", DEFAULT_STATE),
        pidfile: path("pidfile", DEFAULT_PIDFILE),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piranha_options() {
        let Mode::Run(o) =
            parse(["lvsd", "-c", "/etc/sysconfig/ha/lvs.cf", "-n", "-t", "-v"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(o.config, PathBuf::from("/etc/sysconfig/ha/lvs.cf"));
        assert!(o.nodaemon && o.test_start && o.verbose && !o.nofork && !o.flush);
        assert_eq!(o.socket, PathBuf::from(DEFAULT_SOCKET));
        let Mode::Run(o) = parse(["lvsd", "--configfile=/x.cf", "--nofork"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.config, PathBuf::from("/x.cf"));
        assert!(o.nofork);
        let Mode::Run(o) = parse(["lvsd"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.config, PathBuf::from("/etc/lvs.cf"));
    }

    #[test]
    fn dataplane_option() {
        let Mode::Run(o) = parse(["lvsd", "--dataplane", "userspace"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.dataplane, Some(lvscf::Dataplane::Userspace));
        let Mode::Run(o) = parse(["lvsd"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.dataplane, None);
        assert_eq!(
            parse(["lvsd", "--dataplane", "dpdk"])
                .unwrap_err()
                .to_string(),
            "--dataplane is auto, ipvs or userspace, not dpdk"
        );
    }

    #[test]
    fn status_and_errors() {
        assert_eq!(
            parse(["lvsd", "--status", "--json", "--socket", "/tmp/s"]).unwrap(),
            Mode::Status {
                socket: "/tmp/s".into(),
                json: true
            }
        );
        assert!(
            parse(["lvsd", "--bogus"])
                .unwrap_err()
                .to_string()
                .contains("--bogus")
        );
        assert!(parse(["lvsd", "--json"]).is_err());
        assert!(
            matches!(parse(["lvsd", "--help"]).unwrap(), Mode::Print(h) if h.contains("--test-start"))
        );
        assert!(
            matches!(parse(["lvsd", "--version"]).unwrap(), Mode::Print(v) if v.starts_with("lvsd version"))
        );
    }
}
