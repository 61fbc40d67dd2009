//! fos's command line: piranha's options (spec §5.1) and ours.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Command;
use cliargs::{Program, UsageError, flag, path_or, value};

pub const DEFAULT_PIDFILE: &str = "/var/run/fos.pid";
/// Where fos remembers the hot services it started.
pub const DEFAULT_RUN_DIR: &str = "/var/run/fos";

/// Which half of failover services this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--monitor`/`-f`: watch the partner's services.
    Monitor,
    /// `--active`/`-F`: run the services here.
    Active,
    /// `--stop-hot`: stop this node's hot services and exit (pulse shutting down).
    StopHot,
}

/// What to do: run or print (fos has no `--status`).
pub type Mode = cliargs::Mode<Opts>;

/// fos's usage errors are printed as `fos: <msg>`, exit status 1.
pub const PROGRAM: Program = Program {
    name: "fos",
    version: env!("CARGO_PKG_VERSION"),
    clap_prefix: "bad argument: ",
    usage_status: 1,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    pub config: PathBuf,
    pub role: Role,
    pub nodaemon: bool,
    pub nofork: bool,
    pub verbose: bool,
    /// `-t`: run no command and no monitor.
    pub test_start: bool,
    /// The monitor program, instead of each block's `client_monitor`.
    pub nanny: Option<String>,
    pub command_timeout: Duration,
    /// How many times a failing `start_cmd` is tried.
    pub start_attempts: u32,
    pub retry_delay: Duration,
    pub pidfile: PathBuf,
    /// The hot services' markers ([`crate::hot::Markers`]).
    pub run_dir: PathBuf,
}

fn command() -> Command {
    Command::new("fos")
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
                "monitor",
                "monitor",
                "monitor the partner's services (the inactive node)",
            )
            .short('f'),
        )
        .arg(
            flag(
                "active",
                "active",
                "run the services here (the active node)",
            )
            .short('F'),
        )
        .arg(flag(
            "stop_hot",
            "stop-hot",
            "stop this node's hot_standby services and exit (pulse's shutdown)",
        ))
        .arg(flag("verbose", "verbose", "verbose logs; passed on to nanny").short('v'))
        .arg(flag("test_start", "test-start", "run no command and no monitor").short('t'))
        .arg(cliargs::version_flag())
        .arg(value(
            "nanny",
            "nanny",
            "the monitor program, instead of each client_monitor",
        ))
        .arg(value(
            "command_timeout",
            "command-timeout",
            "seconds a start_cmd or stop_cmd may run [60]",
        ))
        .arg(value(
            "start_attempts",
            "start-attempts",
            "times a failing start_cmd is tried [3]",
        ))
        .arg(value(
            "retry_delay",
            "retry-delay",
            "seconds between two tries [2]",
        ))
        .arg(value(
            "pidfile",
            "pidfile",
            "pid file of the daemon [/var/run/fos.pid]",
        ))
        .arg(value(
            "run_dir",
            "run-dir",
            "where fos remembers the hot services it started [/var/run/fos]",
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
    let role = match (m.get_flag("monitor"), m.get_flag("active")) {
        (true, true) => {
            return Err(UsageError::Other("Cannot specifiy both -f and -F!".into()));
        }
        (_, _) if m.get_flag("stop_hot") && (m.get_flag("monitor") || m.get_flag("active")) => {
            return Err(UsageError::Other(
                "--stop-hot goes with neither -f nor -F".into(),
            ));
        }
        (true, false) => Role::Monitor,
        (false, true) => Role::Active,
        (false, false) if m.get_flag("stop_hot") => Role::StopHot,
        (false, false) => {
            return Err(UsageError::Other(
                "Either --monitor (-f) or --active (-F) required!".into(),
            ));
        }
    };
    let secs =
        |id: &str, long: &str, default: f64| cliargs::seconds_or(&m, id, long, default, 86400.0);
    let start_attempts = cliargs::count_or(&m, "start_attempts", "--start-attempts", 3, 1..=100)?;
    Ok(Mode::Run(Opts {
        config: (m.get_one::<String>("config").map(PathBuf::from))
            .unwrap_or_else(lvscf::default_path),
        role,
        nodaemon: m.get_flag("nodaemon"),
        nofork: m.get_flag("nofork"),
        verbose: m.get_flag("verbose"),
        test_start: m.get_flag("test_start"),
        nanny: m.get_one::<String>("nanny").cloned(),
        command_timeout: secs("command_timeout", "--command-timeout", 60.0)?,
        start_attempts,
        retry_delay: secs("retry_delay", "--retry-delay", 2.0)?,
        pidfile: path_or(&m, "pidfile", DEFAULT_PIDFILE),
        run_dir: path_or(&m, "run_dir", DEFAULT_RUN_DIR),
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
    fn piranha_options() {
        let o = run(&[
            "fos",
            "--monitor",
            "-c",
            "/etc/sysconfig/ha/lvs.cf",
            "-n",
            "-v",
        ]);
        assert_eq!(o.role, Role::Monitor);
        assert_eq!(o.config, PathBuf::from("/etc/sysconfig/ha/lvs.cf"));
        assert!(o.nodaemon && o.verbose && !o.nofork && !o.test_start);
        let o = run(&["fos", "-F", "--nofork", "-t"]);
        assert_eq!(o.role, Role::Active);
        assert!(o.nofork && o.test_start);
        assert_eq!(o.config, lvscf::default_path());
        assert_eq!(o.command_timeout, Duration::from_secs(60));
        assert_eq!(
            (o.start_attempts, o.retry_delay),
            (3, Duration::from_secs(2))
        );
        let o = run(&["fos", "-f", "--start-attempts", "5", "--retry-delay", "0.5"]);
        assert_eq!(
            (o.start_attempts, o.retry_delay),
            (5, Duration::from_millis(500))
        );
    }

    #[test]
    fn piranha_errors() {
        assert_eq!(
            parse(["fos", "-f", "-F"]).unwrap_err().to_string(),
            "Cannot specifiy both -f and -F!"
        );
        assert_eq!(
            parse(["fos"]).unwrap_err().to_string(),
            "Either --monitor (-f) or --active (-F) required!"
        );
        assert_eq!(
            parse(["fos", "-f", "x"]).unwrap_err().to_string(),
            "unexpected arguments"
        );
        assert!(
            parse(["fos", "--bogus"])
                .unwrap_err()
                .to_string()
                .starts_with("bad argument")
        );
        assert!(parse(["fos", "-f", "--start-attempts", "0"]).is_err());
        assert_eq!(
            parse(["fos", "-F", "--stop-hot"]).unwrap_err().to_string(),
            "--stop-hot goes with neither -f nor -F"
        );
    }

    #[test]
    fn stop_hot_and_the_run_directory() {
        let o = run(&["fos", "--stop-hot", "-c", "/x.cf"]);
        assert_eq!(o.role, Role::StopHot);
        assert_eq!(o.run_dir, PathBuf::from("/var/run/fos"));
        let o = run(&["fos", "-f", "--run-dir", "/run/x"]);
        assert_eq!(
            (o.role, o.run_dir),
            (Role::Monitor, PathBuf::from("/run/x"))
        );
    }
}
