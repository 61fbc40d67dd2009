//! pulse's command line: piranha's options (spec §2.1) and ours.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Command;
use cliargs::{Program, UsageError, flag, path_or, value};

pub const DEFAULT_SOCKET: &str = "/run/pulse.sock";
pub const DEFAULT_PIDFILE: &str = "/var/run/pulse.pid";
pub const DEFAULT_LVSD: &str = "/usr/sbin/lvsd";
pub const DEFAULT_FOS: &str = "/usr/sbin/fos";

/// What to do: run, `--status` (ask a running pulse), or print.
pub type Mode = cliargs::Mode<Opts>;

/// pulse's usage errors are printed as `pulse: <msg>`, exit status 1, as piranha did.
pub const PROGRAM: Program = Program {
    name: "pulse",
    version: env!("CARGO_PKG_VERSION"),
    clap_prefix: "bad argument: ",
    usage_status: 1,
};

/// Options of a running pulse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    pub config: PathBuf,
    pub nodaemon: bool,
    /// `-t`/`--test-start`/`--norun`: heartbeats and decisions only; nothing is started,
    /// plumbed or announced.
    pub norun: bool,
    pub verbose: bool,
    pub force_active: bool,
    pub lvsd: PathBuf,
    pub fos: PathBuf,
    pub socket: PathBuf,
    /// `--socket-group`: the status socket's group (mode 0660); passed on to lvsd.
    pub socket_group: Option<String>,
    pub pidfile: PathBuf,
    /// Gratuitous ARPs (or neighbour advertisements) per address, and the time between them.
    pub arp_count: u32,
    pub arp_interval: Duration,
    /// How long lvsd may take to report ready, and to stop.
    pub child_timeout: Duration,
    /// How long a ready lvsd may go without a keep-alive before it counts as hung and is
    /// killed (zero: not watched).
    pub child_watchdog: Duration,
    /// FOS hold-down: at most this many takeovers for failed services (0: no limit)...
    pub max_failovers: u32,
    /// ...within this time.
    pub failover_window: Duration,
    /// `--clean-up`: do what the watchdog does after pulse died, then exit.
    pub clean_up: bool,
}

// Long: one declarative table of pulse's options, in the order of `--help`.
fn command() -> Command {
    Command::new("pulse")
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
        .arg(
            flag(
                "test_start",
                "test-start",
                "exchange heartbeats and decide, but start, plumb and announce nothing",
            )
            .short('t'),
        )
        .arg(flag("norun", "norun", "the same as --test-start"))
        .arg(
            flag(
                "verbose",
                "verbose",
                "verbose logs; passed on to lvsd and fos",
            )
            .short('v'),
        )
        .arg(flag(
            "forceactive",
            "forceactive",
            "start in the active state",
        ))
        .arg(value("lvsd", "lvsd", "the lvsd program [/usr/sbin/lvsd]"))
        .arg(value("fos", "fos", "the fos program [/usr/sbin/fos]"))
        .arg(cliargs::version_flag())
        .arg(value("socket", "socket", "status socket [/run/pulse.sock]"))
        .arg(value(
            "socket_group",
            "socket-group",
            "give the status socket (and lvsd's) to this group, mode 0660",
        ))
        .arg(value(
            "pidfile",
            "pidfile",
            "pid file of the daemon [/var/run/pulse.pid]",
        ))
        .arg(value(
            "arp_count",
            "arp-count",
            "gratuitous ARPs sent per address on takeover [5]",
        ))
        .arg(value(
            "arp_interval",
            "arp-interval",
            "seconds between them, fractions allowed [1]",
        ))
        .arg(value(
            "child_timeout",
            "child-timeout",
            "seconds lvsd or fos may take to become ready or to stop [10]",
        ))
        .arg(value(
            "child_watchdog",
            "child-watchdog",
            "seconds a ready lvsd may go without a keep-alive before it is killed as hung; 0 for none [5]",
        ))
        .arg(value(
            "max_failovers",
            "max-failovers",
            "FOS: takeovers for failed services allowed within the window; 0 for no limit [3]",
        ))
        .arg(value(
            "failover_window",
            "failover-window",
            "FOS: the window of --max-failovers, in seconds [600]",
        ))
        .arg(flag(
            "status",
            "status",
            "print the status of the running pulse",
        ))
        .arg(flag("json", "json", "with --status: print the JSON report"))
        .arg(flag(
            "clean_up",
            "clean-up",
            "after pulse died: take its addresses down and tell the partner, as its watchdog does (for ExecStopPost)",
        ))
        .arg(cliargs::extra_words())
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
    let arp_count = cliargs::count_or(&m, "arp_count", "--arp-count", 5, 1..=100)?;
    let max_failovers = cliargs::count_or(&m, "max_failovers", "--max-failovers", 3, 0..=u32::MAX)?;
    let secs =
        |id: &str, long: &str, default: f64| cliargs::seconds_or(&m, id, long, default, 86400.0);
    Ok(Mode::Run(Opts {
        config: (m.get_one::<String>("config").map(PathBuf::from))
            .unwrap_or_else(lvscf::default_path),
        nodaemon: m.get_flag("nodaemon"),
        norun: m.get_flag("test_start") || m.get_flag("norun"),
        verbose: m.get_flag("verbose"),
        force_active: m.get_flag("forceactive"),
        lvsd: path("lvsd", DEFAULT_LVSD),
        fos: path("fos", DEFAULT_FOS),
        socket,
        socket_group: m.get_one::<String>("socket_group").cloned(),
        pidfile: path("pidfile", DEFAULT_PIDFILE),
        arp_count,
        arp_interval: secs("arp_interval", "--arp-interval", 1.0)?,
        child_timeout: secs("child_timeout", "--child-timeout", 10.0)?,
        child_watchdog: secs("child_watchdog", "--child-watchdog", 5.0)?,
        max_failovers,
        failover_window: secs("failover_window", "--failover-window", 600.0)?,
        clean_up: m.get_flag("clean_up"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Opts {
        match parse(args.iter().copied()).unwrap() {
            Mode::Run(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn socket_group() {
        assert_eq!(run(&["pulse"]).socket_group, None);
        assert_eq!(
            run(&["pulse", "--socket-group", "piranha"])
                .socket_group
                .as_deref(),
            Some("piranha")
        );
    }

    #[test]
    fn piranha_options_and_defaults() {
        let o = run(&["pulse"]);
        assert_eq!(o.config, lvscf::default_path());
        assert_eq!(o.lvsd, PathBuf::from("/usr/sbin/lvsd"));
        assert_eq!(o.fos, PathBuf::from("/usr/sbin/fos"));
        assert!(!o.nodaemon && !o.norun && !o.verbose && !o.force_active);
        assert_eq!((o.arp_count, o.arp_interval), (5, Duration::from_secs(1)));
        assert_eq!(
            (o.max_failovers, o.failover_window),
            (3, Duration::from_secs(600))
        );
        let o = run(&[
            "pulse",
            "-c",
            "/etc/sysconfig/ha/lvs.cf",
            "-n",
            "-v",
            "--forceactive",
            "--lvsd=/opt/lvsd",
            "--fos",
            "/opt/fos",
        ]);
        assert_eq!(o.config, PathBuf::from("/etc/sysconfig/ha/lvs.cf"));
        assert!(o.nodaemon && o.verbose && o.force_active);
        assert_eq!(o.lvsd, PathBuf::from("/opt/lvsd"));
        assert_eq!(o.fos, PathBuf::from("/opt/fos"));
        assert!(run(&["pulse", "-t"]).norun);
        assert!(run(&["pulse", "--test-start"]).norun);
        assert!(run(&["pulse", "--norun"]).norun);
        let o = run(&["pulse", "--arp-count", "3", "--arp-interval", "0.2"]);
        assert_eq!(
            (o.arp_count, o.arp_interval),
            (3, Duration::from_millis(200))
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            parse(["pulse", "extra"]).unwrap_err().to_string(),
            "unexpected arguments"
        );
        assert!(
            parse(["pulse", "--bogus"])
                .unwrap_err()
                .to_string()
                .starts_with("bad argument")
        );
        assert!(parse(["pulse", "--arp-count", "0"]).is_err());
        assert!(parse(["pulse", "--arp-interval", "x"]).is_err());
        assert!(parse(["pulse", "--json"]).is_err());
        assert_eq!(
            parse(["pulse", "--status", "--json", "--socket", "/tmp/p.sock"]).unwrap(),
            Mode::Status {
                socket: "/tmp/p.sock".into(),
                json: true
            }
        );
        assert!(
            matches!(parse(["pulse", "--version"]).unwrap(), Mode::Print(t) if t.starts_with("pulse version"))
        );
    }
}
