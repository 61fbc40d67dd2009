//! lvsd's command line: piranha's options (spec §3.1) and ours.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command};
use cliargs::{Program, UsageError, flag, path_or, value};

use crate::engine::Control;
use crate::request::{self, Request};

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
    /// `--socket-group`: the status socket's group (mode 0660).
    pub socket_group: Option<String>,
    pub state_file: PathBuf,
    pub pidfile: PathBuf,
    /// `--reload`, `--drain`, `--disable`, `--enable`, `--weight`: send this request to the
    /// running lvsd on `socket` instead of running.
    pub request: Option<Request>,
    /// `--withdraw`: with `announce = bird`, withdraw every VIP from BIRD and exit (what a
    /// stopping lvsd does first; pulse runs it after an lvsd that died).
    pub withdraw: bool,
}

/// The options that send a request to a running lvsd.
const REQUESTS: [&str; 6] = ["status", "reload", "drain", "disable", "enable", "weight"];

// Long: one declarative table of lvsd's options, in the order of `--help`.
fn command() -> Command {
    Command::new("lvsd")
        .disable_version_flag(true)
        .arg(cliargs::config_arg())
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
            "socket_group",
            "socket-group",
            "give the status socket to this group, mode 0660",
        ))
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
        .arg(flag(
            "withdraw",
            "withdraw",
            "announce = bird: withdraw every VIP from BIRD, then exit",
        ))
        .arg(flag(
            "reload",
            "reload",
            "tell the running lvsd to read its configuration file again",
        ))
        .arg(value(
            "drain",
            "drain",
            "VIRTUAL/SERVER: weight 0, existing connections kept",
        ))
        .arg(value(
            "disable",
            "disable",
            "VIRTUAL/SERVER: out of the table; its nanny keeps checking",
        ))
        .arg(value(
            "enable",
            "enable",
            "VIRTUAL/SERVER: back to health-driven control",
        ))
        .arg(
            Arg::new("weight")
                .long("weight")
                .action(ArgAction::Set)
                .num_args(2)
                .value_names(["VIRTUAL/SERVER", "WEIGHT"])
                .help("this weight (0 to 65535) instead of the configured one"),
        )
}

/// The request option given, if any (at most one).
fn request_option(m: &clap::ArgMatches) -> Result<Option<Request>, UsageError> {
    let given: Vec<&str> = REQUESTS
        .iter()
        .copied()
        .filter(|id| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .collect();
    if given.len() > 1 {
        return Err(UsageError::Other(format!(
            "--{} and --{} do not go together",
            given[0], given[1]
        )));
    }
    let target = |id: &str| -> Result<String, UsageError> {
        let t = m.get_one::<String>(id).cloned().unwrap_or_default();
        if request::valid_target(&t) {
            Ok(t)
        } else {
            Err(UsageError::Other(format!(
                "--{id} takes VIRTUAL/SERVER, not {t:?}"
            )))
        }
    };
    Ok(match given.first().copied() {
        Some("reload") => Some(Request::Reload),
        Some("drain") => Some(Request::Control(Control::Drain(target("drain")?))),
        Some("disable") => Some(Request::Control(Control::Disable(target("disable")?))),
        Some("enable") => Some(Request::Control(Control::Enable(target("enable")?))),
        Some("weight") => {
            let v: Vec<&String> = m
                .get_many::<String>("weight")
                .into_iter()
                .flatten()
                .collect();
            let (t, n) = (v[0].clone(), v[1]);
            if !request::valid_target(&t) {
                return Err(UsageError::Other(format!(
                    "--weight takes VIRTUAL/SERVER, not {t:?}"
                )));
            }
            let n = cliargs::count(n, "--weight", 0..=65535)?;
            Some(Request::Control(Control::Weight(
                t,
                u16::try_from(n).unwrap_or(u16::MAX),
            )))
        }
        _ => None,
    })
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
    let request = request_option(&m)?;
    if let Some(status) = cliargs::status_request(&m, &socket)? {
        return Ok(status);
    }
    Ok(Mode::Run(Opts {
        config: (m.get_one::<String>("config").map(PathBuf::from))
            .unwrap_or_else(lvscf::default_path),
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
        socket_group: m.get_one::<String>("socket_group").cloned(),
        state_file: path("state_file", DEFAULT_STATE),
        pidfile: path("pidfile", DEFAULT_PIDFILE),
        request,
        withdraw: m.get_flag("withdraw"),
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
        assert_eq!(o.config, lvscf::default_path());
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

    fn request(args: &[&str]) -> Result<Option<Request>, String> {
        match parse(args.iter().copied()) {
            Ok(Mode::Run(o)) => Ok(o.request),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn requests_to_a_running_lvsd() {
        assert_eq!(request(&["lvsd"]), Ok(None));
        assert_eq!(request(&["lvsd", "--reload"]), Ok(Some(Request::Reload)));
        assert_eq!(
            request(&["lvsd", "--drain", "web/a", "--socket", "/s"]),
            Ok(Some(Request::Control(Control::Drain("web/a".into()))))
        );
        assert_eq!(
            request(&["lvsd", "--disable=web/a"]),
            Ok(Some(Request::Control(Control::Disable("web/a".into()))))
        );
        assert_eq!(
            request(&["lvsd", "--enable", "web/a"]),
            Ok(Some(Request::Control(Control::Enable("web/a".into()))))
        );
        assert_eq!(
            request(&["lvsd", "--weight", "web/a", "5"]),
            Ok(Some(Request::Control(Control::Weight("web/a".into(), 5))))
        );
        assert_eq!(
            request(&["lvsd", "--weight", "web/a", "65536"]),
            Err("bad argument --weight 65536: 0 to 65535".into())
        );
        assert_eq!(
            request(&["lvsd", "--drain", "web"]),
            Err("--drain takes VIRTUAL/SERVER, not \"web\"".into())
        );
        assert_eq!(
            request(&["lvsd", "--drain", "web/a", "--reload"]),
            Err("--reload and --drain do not go together".into())
        );
        assert!(request(&["lvsd", "--status", "--enable", "web/a"]).is_err());
        let Mode::Run(o) = parse(["lvsd", "--socket-group", "adm"]).unwrap() else {
            panic!()
        };
        assert_eq!(o.socket_group.as_deref(), Some("adm"));
    }
}
