//! The prologue every daemon shares: `--help`, `--version`, `--status`, extra words, and how a
//! usage error is printed and with which exit status.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgMatches, Command};

use crate::{Parsed, UsageError, flag};

/// What a daemon's command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode<O> {
    /// Run the daemon with these options.
    Run(O),
    /// `--status`: ask the running daemon on `socket`; `json` prints the raw report.
    Status { socket: PathBuf, json: bool },
    /// Print this (`--help`, `--version`) and exit 0.
    Print(String),
}

/// A daemon's command-line identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The name in `<name> version …` and in front of usage errors.
    pub name: &'static str,
    /// `env!("CARGO_PKG_VERSION")` of the binary.
    pub version: &'static str,
    /// Put in front of clap's message (pulse and fos say `bad argument: …`).
    pub clap_prefix: &'static str,
    /// The exit status of a usage error (2 for lvsd, 1 for pulse and fos, as piranha).
    pub usage_status: i32,
}

/// The `--version` switch.
pub fn version_flag() -> Arg {
    flag("version", "version", "print the version")
}

/// `-c`/`--configfile FILE`, the configuration file; without it the daemons take
/// `lvscf::default_path()`.
pub fn config_arg() -> Arg {
    crate::value(
        "config",
        "configfile",
        "configuration file [/etc/sysconfig/ha/lvs.cf, else /etc/lvs.cf]",
    )
    .short('c')
}

/// Hidden words after the options, so that they are reported as
/// [`UsageError::Extra`] rather than by clap.
pub fn extra_words() -> Arg {
    Arg::new("extra").num_args(0..).hide(true)
}

/// The value of option `id` as a path, or `default`.
pub fn path_or(m: &ArgMatches, id: &str, default: &str) -> PathBuf {
    PathBuf::from(
        m.get_one::<String>(id)
            .map(String::as_str)
            .unwrap_or(default),
    )
}

/// `--status` and `--json`: `Some` for `--status`, an error for `--json` alone.
pub fn status_request<O>(m: &ArgMatches, socket: &Path) -> Result<Option<Mode<O>>, UsageError> {
    if m.get_flag("status") {
        return Ok(Some(Mode::Status {
            socket: socket.to_path_buf(),
            json: m.get_flag("json"),
        }));
    }
    if m.get_flag("json") {
        return Err(UsageError::JsonWithoutStatus);
    }
    Ok(None)
}

impl Program {
    /// Parse `args` with `cmd` ([`crate::parse`]), then answer `--version` (when `cmd` has
    /// [`version_flag`]) and refuse extra words (when it has [`extra_words`]).
    pub fn parse<I, T>(&self, cmd: Command, args: I) -> Result<Parsed, UsageError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let m = match crate::parse(cmd, args) {
            Ok(Parsed::Matches(m)) => m,
            Ok(help) => return Ok(help),
            Err(UsageError::Clap(e)) => {
                return Err(UsageError::Clap(format!("{}{e}", self.clap_prefix)));
            }
            Err(e) => return Err(e),
        };
        if matches!(m.try_get_one::<bool>("version"), Ok(Some(true))) {
            return Ok(Parsed::Help(format!(
                "{} version {} (Piranha in Rust)\n",
                self.name, self.version
            )));
        }
        if matches!(m.try_get_many::<String>("extra"), Ok(Some(_))) {
            return Err(UsageError::Extra);
        }
        Ok(Parsed::Matches(m))
    }

    /// The start of every daemon's `main`: the options to run with, or the exit status after
    /// printing the help or version, answering `--status` with `status`, or printing
    /// `<name>: <usage error>`.
    pub fn prologue<O>(
        &self,
        parsed: Result<Mode<O>, UsageError>,
        status: Option<fn(&Path, bool) -> i32>,
    ) -> Result<O, i32> {
        match parsed {
            Ok(Mode::Run(o)) => Ok(o),
            Ok(Mode::Print(text)) => {
                print!("{text}");
                Err(0)
            }
            Ok(Mode::Status { socket, json }) => match status {
                Some(f) => Err(f(&socket, json)),
                None => {
                    eprintln!("{}: --status is not an option", self.name);
                    Err(self.usage_status)
                }
            },
            Err(e) => {
                eprintln!("{}: {e}", self.name);
                Err(self.usage_status)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;

    const P: Program = Program {
        name: "x",
        version: "1.2.3",
        clap_prefix: "bad argument: ",
        usage_status: 2,
    };

    fn cmd() -> Command {
        Command::new("x")
            .disable_version_flag(true)
            .arg(version_flag())
            .arg(value("socket", "socket", "s"))
            .arg(flag("status", "status", "s"))
            .arg(flag("json", "json", "j"))
            .arg(extra_words())
    }

    fn matches(args: &[&str]) -> ArgMatches {
        match P.parse(cmd(), args.iter().copied()).unwrap() {
            Parsed::Matches(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_extra_and_clap_errors() {
        assert!(
            matches!(P.parse(cmd(), ["x", "--version"]), Ok(Parsed::Help(v)) if v == "x version 1.2.3 (Piranha in Rust)\n")
        );
        assert_eq!(
            P.parse(cmd(), ["x", "word"]).unwrap_err(),
            UsageError::Extra
        );
        assert_eq!(
            P.parse(cmd(), ["x", "--bogus"]).unwrap_err().to_string(),
            "bad argument: unexpected argument '--bogus' found"
        );
    }

    #[test]
    fn status_and_paths() {
        let m = matches(&["x", "--status", "--socket", "/s"]);
        let socket = path_or(&m, "socket", "/default");
        assert_eq!(
            status_request::<()>(&m, &socket),
            Ok(Some(Mode::Status {
                socket: "/s".into(),
                json: false
            }))
        );
        let m = matches(&["x", "--json"]);
        assert_eq!(path_or(&m, "socket", "/default"), PathBuf::from("/default"));
        assert_eq!(
            status_request::<()>(&m, Path::new("/s")),
            Err(UsageError::JsonWithoutStatus)
        );
        assert_eq!(
            status_request::<()>(&matches(&["x"]), Path::new("/s")),
            Ok(None)
        );
    }

    #[test]
    fn prologue_exit_statuses() {
        assert_eq!(P.prologue(Ok(Mode::Run(7)), None), Ok(7));
        assert_eq!(
            P.prologue::<()>(Ok(Mode::Print(String::new())), None),
            Err(0)
        );
        assert_eq!(P.prologue::<()>(Err(UsageError::Extra), None), Err(2));
        let st: fn(&Path, bool) -> i32 = |_, json| if json { 5 } else { 6 };
        let req = Mode::Status {
            socket: "/s".into(),
            json: true,
        };
        assert_eq!(P.prologue::<()>(Ok(req), Some(st)), Err(5));
    }
}
