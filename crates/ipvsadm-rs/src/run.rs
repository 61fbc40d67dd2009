//! Running a parsed command against an IPVS table, as ipvsadm's `process_options` does:
//! messages on stderr, exit statuses, `-R` reading rules line by line.

use std::io::{BufRead, Write};

use ipvs::{IpvsError, IpvsTable, Op, Service};

use crate::list::{self, Format};
use crate::opts::{self, Command, Entry, Fail, ListOpts, Parsed};

/// Where a run reads and writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub input: &'a mut dyn BufRead,
    /// `argv[0]`, for messages and the usage text.
    pub program: String,
    /// /proc/net/ip_vs_conn (a test may point elsewhere).
    pub conn_file: std::path::PathBuf,
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("program", &self.program)
            .finish()
    }
}

/// How one command line ended: `Exit` stops the process (ipvsadm calls `exit`), `Return`
/// is `process_options`'s result (0, or -1 after a kernel error; -R goes on after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Exit(u8),
    Return(i32),
}

impl Outcome {
    pub fn status(self) -> u8 {
        match self {
            Outcome::Exit(s) => s,
            Outcome::Return(r) => r as u8,
        }
    }
}

/// `Try `ipvsadm -h' or 'ipvsadm --help' for more information.`
pub fn tryhelp_line(program: &str) -> String {
    format!("Try `{program} -h' or '{program} --help' for more information.\n")
}

fn print_fail(io: &mut Io<'_>, f: &Fail) {
    if !f.message.is_empty() {
        let _ = writeln!(io.err, "{}", f.message);
    }
    if f.tryhelp {
        let _ = io.err.write_all(tryhelp_line(&io.program).as_bytes());
    }
}

/// Run one command line (`args` without `argv[0]`).
pub fn run(
    args: &[String],
    table: &mut dyn IpvsTable,
    io: &mut Io<'_>,
    restoring: bool,
) -> Outcome {
    let parsed = match opts::parse(args, restoring) {
        Ok(p) => p,
        Err(f) => {
            print_fail(io, &f);
            return Outcome::Exit(f.status);
        }
    };
    let e = match parsed {
        Parsed::Help => {
            let _ = io.out.write_all(crate::usage(&io.program).as_bytes());
            return Outcome::Exit(0);
        }
        Parsed::Version => {
            let _ = io.out.write_all(crate::version_line().as_bytes());
            return Outcome::Exit(0);
        }
        Parsed::Run(e) => e,
    };
    execute(&e, table, io)
}

fn kernel_failed(io: &mut Io<'_>, err: &IpvsError) -> Outcome {
    let _ = writeln!(io.err, "{err}");
    Outcome::Return(-1)
}

/// `process_options` after parsing: do what the command says.
pub fn execute(e: &Entry, table: &mut dyn IpvsTable, io: &mut Io<'_>) -> Outcome {
    let result = match &e.command {
        Command::List(what) => return list(what, table, io),
        Command::Save(f) => return list_all(table, io, *f),
        Command::Restore => return restore(table, io),
        Command::Flush => table.flush(),
        Command::AddService(svc) => table.add_service(svc),
        Command::EditService(svc) => table.edit_service(svc),
        Command::DelService(svc) => table.del_service(svc),
        Command::Zero(svc) => table.zero(svc.as_ref()),
        Command::AddDest(svc, dest) => table.add_dest(svc, dest),
        Command::EditDest(svc, dest) => table.edit_dest(svc, dest),
        Command::DelDest(svc, dest) => table.del_dest(svc, dest),
        Command::SetTimeouts(t) => table.set_timeouts(*t),
        Command::StartDaemon(d) => table.start_daemon(d),
        Command::StopDaemon(d) => table.stop_daemon(d),
    };
    match result {
        Ok(()) => Outcome::Return(0),
        Err(err) => kernel_failed(io, &err),
    }
}

/// `-L` in its forms.
fn list(what: &ListOpts, table: &mut dyn IpvsTable, io: &mut Io<'_>) -> Outcome {
    match what {
        ListOpts::Connections(f) => list_conn(io, *f),
        ListOpts::Service(svc, f) => list_service(table, io, svc.clone(), *f),
        ListOpts::Timeouts => match table.timeouts() {
            Ok(t) => {
                let _ = io.out.write_all(list::timeouts(&t).as_bytes());
                Outcome::Return(0)
            }
            // ipvsadm exits 1 without a word here.
            Err(_) => Outcome::Exit(1),
        },
        ListOpts::Daemons => match table.daemons() {
            Ok(d) => {
                let _ = io.out.write_all(list::daemons(&d).as_bytes());
                Outcome::Return(0)
            }
            Err(_) => Outcome::Exit(1),
        },
        ListOpts::All(f) => list_all(table, io, *f),
    }
}

fn list_all(table: &mut dyn IpvsTable, io: &mut Io<'_>, f: Format) -> Outcome {
    let mut out = String::new();
    if !f.rule {
        match table.info() {
            Ok(info) => out.push_str(&list::banner(&info)),
            Err(err) => {
                let _ = writeln!(io.err, "{err}");
                return Outcome::Exit(1);
            }
        }
    }
    let mut services = match table.services() {
        Ok(s) => s,
        Err(err) => {
            let _ = writeln!(io.err, "{}", relabel(err, Op::GetServices));
            return Outcome::Exit(1);
        }
    };
    if !f.nosort {
        list::c_sort(&mut services, &list::cmp_services);
    }
    if !f.rule {
        out.push_str(&list::title(f));
    }
    for s in &services {
        match table.dests(s.id) {
            Ok(d) => list::service_entry(&mut out, s, &d, f),
            Err(err) => {
                let _ = io.out.write_all(out.as_bytes());
                let _ = writeln!(io.err, "{}", relabel(err, Op::GetDests));
                return Outcome::Exit(1);
            }
        }
    }
    let _ = io.out.write_all(out.as_bytes());
    Outcome::Return(0)
}

fn list_service(table: &mut dyn IpvsTable, io: &mut Io<'_>, svc: Service, f: Format) -> Outcome {
    let s = match table.service(svc.id) {
        Ok(s) => s,
        Err(err) => {
            let _ = writeln!(io.err, "{}", relabel(err, Op::GetService));
            return Outcome::Exit(1);
        }
    };
    let dests = match table.dests(s.id) {
        Ok(d) => d,
        Err(err) => {
            let _ = writeln!(io.err, "{}", relabel(err, Op::GetDests));
            return Outcome::Exit(1);
        }
    };
    let mut out = list::title(f);
    list::service_entry(&mut out, &s, &dests, f);
    let _ = io.out.write_all(out.as_bytes());
    Outcome::Return(0)
}

/// Word the error as ipvsadm does after operation `op`.
fn relabel(err: IpvsError, op: Op) -> IpvsError {
    match err {
        IpvsError::Kernel { errno, .. } => IpvsError::Kernel { op, errno },
        other => other,
    }
}

fn list_conn(io: &mut Io<'_>, f: Format) -> Outcome {
    let text = match std::fs::read_to_string(&io.conn_file) {
        Ok(t) => t,
        Err(_) => {
            let _ = writeln!(io.err, "cannot open file {}", io.conn_file.display());
            return Outcome::Exit(1);
        }
    };
    match list::connections(&text, f) {
        Ok(s) => {
            let _ = io.out.write_all(s.as_bytes());
            Outcome::Return(0)
        }
        Err(msg) => {
            let _ = writeln!(io.err, "{msg}");
            Outcome::Exit(1)
        }
    }
}

/// `-R`: each input line is a command line. As ipvsadm's `config_stream_read`, words are
/// split on space, tab, CR and LF only, and every word `ipvsadm` is dropped. A parse error
/// ends the restore; a kernel error is printed and the restore goes on; the status is the
/// last line's.
fn restore(table: &mut dyn IpvsTable, io: &mut Io<'_>) -> Outcome {
    let mut result = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        match io.input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let words = restore_words(&line);
        if words.is_empty() {
            continue;
        }
        match run(&words, table, io, true) {
            Outcome::Exit(s) => return Outcome::Exit(s),
            Outcome::Return(r) => result = r,
        }
    }
    Outcome::Return(result)
}

/// The words of one `-R` line.
fn restore_words(line: &[u8]) -> Vec<String> {
    line.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .filter(|w| !w.is_empty() && *w != b"ipvsadm")
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::restore_words;

    #[test]
    fn restore_splits_like_config_stream_read() {
        assert_eq!(
            restore_words(b" ipvsadm -A\t-t 10.0.0.1:80\r\n"),
            ["-A", "-t", "10.0.0.1:80"]
        );
        // Every `ipvsadm` word goes, not only the first.
        assert_eq!(restore_words(b"-C ipvsadm\n"), ["-C"]);
        // Vertical tab and form feed are part of a word, as in the C scanner.
        assert_eq!(restore_words(b"-s\x0brr\n"), ["-s\u{b}rr"]);
        assert!(restore_words(b"  \t\n").is_empty());
        // Bytes that are not UTF-8 reach the option parser instead of panicking.
        assert_eq!(restore_words(b"-t \xff\n"), ["-t", "\u{fffd}"]);
    }
}
