//! cliargs: the command-line conventions lvsd, pulse and fos share.
//!
//! Their options follow piranha's popt tables: long options with a few short ones, the last
//! value of a repeated option wins, help on `-h`/`--help`, and a usage error is one line
//! (`<program>: <message>`) rather than clap's report. Durations are seconds with fractions.
//!
//! - [`error`]: [`UsageError`], every usage error's text;
//! - [`program`]: what every daemon's `main` starts with: [`Program::parse`] (`--version`,
//!   extra words), [`status_request`] (`--status`, `--json`), and [`Program::prologue`] (print
//!   the help, answer `--status`, or print the usage error and pick the exit status).

pub mod error;
pub mod program;

pub use error::UsageError;
pub use program::{Mode, Program, config_arg, extra_words, path_or, status_request, version_flag};

use std::ffi::OsString;
use std::ops::RangeInclusive;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};

/// A switch: `--long`.
pub fn flag(id: &'static str, long: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(long)
        .action(ArgAction::SetTrue)
        .help(help)
}

/// An option with one value: `--long VALUE` or `--long=VALUE`.
pub fn value(id: &'static str, long: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(long)
        .action(ArgAction::Set)
        .num_args(1)
        .help(help)
}

/// The outcome of [`parse`].
#[derive(Debug)]
pub enum Parsed {
    Matches(ArgMatches),
    /// `--help`: the text to print.
    Help(String),
}

/// Parse `args` (program name first) with `cmd`. A usage error comes back as clap's first line
/// without its `error: ` prefix ([`UsageError::Clap`]).
pub fn parse<I, T>(cmd: Command, args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match cmd.args_override_self(true).try_get_matches_from(args) {
        Ok(m) => Ok(Parsed::Matches(m)),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            Ok(Parsed::Help(e.render().to_string()))
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("").trim();
            Err(UsageError::Clap(
                first.strip_prefix("error: ").unwrap_or(first).to_owned(),
            ))
        }
    }
}

/// Seconds with fractions, from 0 to `max` seconds.
pub fn seconds(text: &str, option: &str, max: f64) -> Result<Duration, UsageError> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(UsageError::Seconds {
            option: option.to_owned(),
            text: text.to_owned(),
        }),
    }
}

/// A whole number in `range`.
pub fn count(text: &str, option: &str, range: RangeInclusive<u32>) -> Result<u32, UsageError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| UsageError::Count {
            option: option.to_owned(),
            text: text.to_owned(),
            min: *range.start(),
            max: *range.end(),
        })
}

/// The value of option `id` as seconds, or `default`.
pub fn seconds_or(
    m: &ArgMatches,
    id: &str,
    option: &str,
    default: f64,
    max: f64,
) -> Result<Duration, UsageError> {
    match m.get_one::<String>(id) {
        None => Ok(Duration::from_secs_f64(default)),
        Some(s) => seconds(s, option, max),
    }
}

/// The value of option `id` as a count in `range`, or `default`.
pub fn count_or(
    m: &ArgMatches,
    id: &str,
    option: &str,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32, UsageError> {
    match m.get_one::<String>(id) {
        None => Ok(default),
        Some(s) => count(s, option, range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Command {
        Command::new("x")
            .arg(flag("v", "verbose", "talk").short('v'))
            .arg(value("t", "timeout", "seconds"))
    }

    #[test]
    fn last_value_wins_and_errors_are_one_line() {
        let Parsed::Matches(m) =
            parse(cmd(), ["x", "--timeout", "1", "--timeout=2.5", "-v", "-v"]).unwrap()
        else {
            panic!()
        };
        assert!(m.get_flag("v"));
        assert_eq!(
            seconds_or(&m, "t", "--timeout", 9.0, 60.0),
            Ok(Duration::from_millis(2500))
        );
        assert_eq!(
            parse(cmd(), ["x", "--bogus"]).unwrap_err().to_string(),
            "unexpected argument '--bogus' found"
        );
        assert!(
            matches!(parse(cmd(), ["x", "--help"]).unwrap(), Parsed::Help(h) if h.contains("--timeout"))
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(seconds("0.05", "--x", 10.0), Ok(Duration::from_millis(50)));
        assert_eq!(
            seconds("11", "--x", 10.0).unwrap_err().to_string(),
            "bad argument --x 11: seconds expected"
        );
        assert!(seconds("nan", "--x", 10.0).is_err());
        assert_eq!(count("3", "--n", 1..=5), Ok(3));
        assert_eq!(
            count("0", "--n", 1..=5).unwrap_err().to_string(),
            "bad argument --n 0: 1 to 5"
        );
    }
}
