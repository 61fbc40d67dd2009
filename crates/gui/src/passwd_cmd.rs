//! `piranha-passwd [--file FILE] [PASSWORD]`: set the password of the web GUI's user
//! `piranha` (see piranha-passwd(8)). The binary only calls [`main`].

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};

use crate::passwd::{self, DEFAULT_PATH, Document, USER};

/// Success.
pub const EXIT_OK: i32 = 0;
/// Bad arguments, or the password was refused (empty, too long, the two entries differ).
pub const EXIT_USAGE: i32 = 1;
/// The password file could not be read, checked or written, or there is no terminal.
pub const EXIT_FAILURE: i32 = 2;

/// What piranha printed when the password was on the command line.
pub const COMMAND_LINE_WARNING: &str = "Warning: sensitive information entered on command line.";

/// Command line of piranha-passwd.
#[derive(Debug, Parser)]
#[command(
    name = "piranha-passwd",
    version,
    about = "Set the password of the piranha web GUI's user `piranha`",
    after_help = "Without PASSWORD, the password is asked twice on the terminal, without echo.\n\
                  Exit status: 0 done, 1 bad arguments or password refused, 2 file or terminal error."
)]
pub struct Cli {
    /// The password file
    #[arg(long, value_name = "FILE", default_value = DEFAULT_PATH)]
    pub file: PathBuf,
    /// The new password (other users may see it in the process list: prefer the prompt)
    #[arg(value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// Usage text for `--help`.
pub fn help() -> String {
    Cli::command().render_help().to_string()
}

/// Where passwords are asked for.
pub trait Prompter {
    /// Show `prompt` and read a line without echo.
    fn read(&mut self, prompt: &str) -> std::io::Result<String>;
}

/// The controlling terminal (`/dev/tty`), echo off while reading.
#[derive(Debug)]
pub struct Terminal;

impl Prompter for Terminal {
    fn read(&mut self, prompt: &str) -> std::io::Result<String> {
        rpassword::prompt_password(prompt)
    }
}

/// Why no password was set.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// The two entries differ.
    #[error("the passwords do not match; nothing changed")]
    Mismatch,
    /// An empty password.
    #[error("the password is empty; nothing changed")]
    Empty,
    /// Too long for bcrypt.
    #[error("the password is {0} bytes long; at most {max} are used by bcrypt, nothing changed", max = passwd::BCRYPT_MAX_PASSWORD)]
    TooLong(usize),
    /// Reading from the terminal failed.
    #[error("cannot read the password from the terminal: {0}")]
    Terminal(std::io::Error),
    /// The file could not be read, checked or written.
    #[error(transparent)]
    File(#[from] passwd::Error),
}

impl CmdError {
    /// The exit status for this error.
    pub fn exit_status(&self) -> i32 {
        match self {
            CmdError::Mismatch | CmdError::Empty | CmdError::TooLong(_) => EXIT_USAGE,
            CmdError::Terminal(_) | CmdError::File(_) => EXIT_FAILURE,
        }
    }
}

/// Ask for the new password twice; refuse a mismatch or an empty or too long password.
pub fn ask_new_password(prompter: &mut dyn Prompter) -> Result<String, CmdError> {
    let first = prompter
        .read("New password: ")
        .map_err(CmdError::Terminal)?;
    let second = prompter
        .read("Retype new password: ")
        .map_err(CmdError::Terminal)?;
    if first != second {
        return Err(CmdError::Mismatch);
    }
    check_password(&first)?;
    Ok(first)
}

/// Refuse an empty password or one bcrypt would cut.
pub fn check_password(password: &str) -> Result<(), CmdError> {
    if password.is_empty() {
        return Err(CmdError::Empty);
    }
    if password.len() > passwd::BCRYPT_MAX_PASSWORD {
        return Err(CmdError::TooLong(password.len()));
    }
    Ok(())
}

/// Give `user` a new bcrypt hash of `password` in the file at `path`, keeping the other lines.
/// The result is checked as the service would load it before it replaces the file. A new file
/// belongs to user and group `piranha` when they exist (as piranha's tool did), else to the
/// caller.
pub fn set_password(path: &Path, user: &str, password: &str) -> Result<(), passwd::Error> {
    let mut doc = match std::fs::read(path) {
        Ok(bytes) => Document::parse(&bytes, path)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Document::new(path),
        Err(source) => {
            return Err(passwd::Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    doc.set(user, &passwd::hash_password(password.as_bytes())?);
    doc.passwords()?;
    passwd::store(path, &doc.render(), service_owner())
}

/// The uid and gid of user `piranha`, if there is one.
fn service_owner() -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(USER).ok().flatten()?;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// Run with these arguments (program name first); the exit status.
pub fn run<I, T>(args: I, prompter: &mut dyn Prompter, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout, errors to stderr.
            if e.use_stderr() {
                let _ = write!(stderr, "{}", e.render());
                return EXIT_USAGE;
            }
            let _ = e.print();
            return EXIT_OK;
        }
    };
    let password = match cli.password {
        Some(p) => {
            let _ = writeln!(
                stderr,
                "piranha-passwd: {COMMAND_LINE_WARNING} Other users may see the password in \
                 the process list; run piranha-passwd without it to be asked instead."
            );
            check_password(&p).map(|()| p)
        }
        None => ask_new_password(prompter),
    };
    let result = password.and_then(|p| Ok(set_password(&cli.file, USER, &p)?));
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let _ = writeln!(stderr, "piranha-passwd: {e}");
            e.exit_status()
        }
    }
}

/// The program: real arguments, the terminal, stderr.
pub fn main() -> i32 {
    run(std::env::args_os(), &mut Terminal, &mut std::io::stderr())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers prompts from a list.
    struct Answers(Vec<&'static str>, Vec<String>);

    impl Prompter for Answers {
        fn read(&mut self, prompt: &str) -> std::io::Result<String> {
            self.1.push(prompt.to_owned());
            if self.0.is_empty() {
                return Err(std::io::Error::other("no terminal"));
            }
            Ok(self.0.remove(0).to_owned())
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gui-cmd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("piranha.passwd")
    }

    fn run_with(args: &[&str], answers: Vec<&'static str>) -> (i32, String, Vec<String>) {
        let mut p = Answers(answers, Vec::new());
        let mut err = Vec::new();
        let code = run(args, &mut p, &mut err);
        (code, String::from_utf8(err).unwrap(), p.1)
    }

    #[test]
    fn asks_twice_and_sets_the_password() {
        let file = tmp("ask");
        let f = file.to_str().unwrap();
        let (code, err, prompts) = run_with(&["piranha-passwd", "--file", f], vec!["pw", "pw"]);
        assert_eq!((code, err.as_str()), (0, ""));
        assert_eq!(prompts, ["New password: ", "Retype new password: "]);
        assert!(passwd::load(&file).unwrap().verify("piranha", b"pw"));
    }

    #[test]
    fn a_mismatch_changes_nothing_and_exits_1() {
        let file = tmp("mismatch");
        let f = file.to_str().unwrap();
        let (code, err, _) = run_with(&["piranha-passwd", "--file", f], vec!["pw", "wp"]);
        assert_eq!(code, EXIT_USAGE);
        assert_eq!(
            err,
            "piranha-passwd: the passwords do not match; nothing changed\n"
        );
        assert!(!file.exists());
    }

    #[test]
    fn empty_and_too_long_passwords_exit_1() {
        let file = tmp("refused");
        let f = file.to_str().unwrap();
        let (code, err, _) = run_with(&["piranha-passwd", "--file", f], vec!["", ""]);
        assert_eq!(code, EXIT_USAGE, "{err}");
        let long = "x".repeat(73);
        let (code, err, _) = run_with(&["piranha-passwd", "--file", f, &long], vec![]);
        assert_eq!(code, EXIT_USAGE, "{err}");
        assert!(err.contains("73 bytes long"), "{err}");
        assert!(!file.exists());
    }

    #[test]
    fn no_terminal_exits_2() {
        let file = tmp("notty");
        let (code, err, _) = run_with(
            &["piranha-passwd", "--file", file.to_str().unwrap()],
            vec![],
        );
        assert_eq!(code, EXIT_FAILURE);
        assert!(
            err.contains("cannot read the password from the terminal"),
            "{err}"
        );
    }

    #[test]
    fn bad_arguments_exit_1() {
        let (code, err, _) = run_with(&["piranha-passwd", "--bogus"], vec![]);
        assert_eq!(code, EXIT_USAGE);
        assert!(err.contains("unexpected argument '--bogus'"), "{err}");
        let (code, _, _) = run_with(&["piranha-passwd", "a", "b"], vec![]);
        assert_eq!(code, EXIT_USAGE);
    }

    #[test]
    fn a_malformed_file_is_left_alone_and_exits_2() {
        let file = tmp("malformed");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "piranha:x\nbob:plaintext\n").unwrap();
        let (code, err, _) = run_with(
            &["piranha-passwd", "--file", file.to_str().unwrap(), "pw"],
            vec![],
        );
        assert_eq!(code, EXIT_FAILURE);
        assert!(err.contains(":2: user bob: not a password hash"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "piranha:x\nbob:plaintext\n"
        );
    }

    #[test]
    fn help_names_the_options() {
        let h = help();
        for word in ["--file", "PASSWORD", "--version", "--help", DEFAULT_PATH] {
            assert!(h.contains(word), "{word}: {h}");
        }
    }
}
