//! Running a parsed command against an IPVS table, as ipvsadm's `process_options` does:
//! messages on stderr, exit statuses, `-R` reading rules line by line.

use std::io::{BufRead, Write};

use ipvs::{Dest, IpvsError, IpvsTable, Op, Protocol, Service, ServiceId, Timeouts};

use crate::list::{self, Format};
use crate::opts::{self, Cmd, Entry, Fail, Parsed, opt};

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

fn format_of(e: &Entry) -> Format {
    Format {
        numeric: e.has(opt::NUMERIC),
        stats: e.has(opt::STATS),
        rate: e.has(opt::RATE),
        thresholds: e.has(opt::THRESHOLDS),
        persistent_conn: e.has(opt::PERSISTENTCONN),
        nosort: e.has(opt::NOSORT),
        exact: e.has(opt::EXACT),
        tun_info: e.has(opt::TUN_INFO),
        rule: e.cmd == Cmd::Save,
    }
}

/// The service the options name (or an all-zero one when none was given, as ipvsadm).
pub fn service_of(e: &Entry) -> Option<Service> {
    let s = &e.svc;
    let id = if s.fwmark != 0 {
        ServiceId::Fwmark {
            mark: s.fwmark,
            ipv6: s.af == ipvs::consts::AF_INET6,
        }
    } else {
        ServiceId::Addr {
            protocol: Protocol::from_number(s.protocol),
            addr: s.addr?,
            port: s.port,
        }
    };
    Some(Service {
        id,
        scheduler: s.sched_name.clone(),
        flags: s.flags,
        timeout: s.timeout,
        netmask: s.netmask,
        pe_name: (!s.pe_name.is_empty()).then(|| s.pe_name.clone()),
        stats: Default::default(),
    })
}

fn dest_of(e: &Entry) -> Option<Dest> {
    let d = &e.dest;
    Some(Dest {
        addr: d.addr?,
        port: d.port,
        forward: d.forward,
        weight: d.weight,
        u_threshold: d.u_threshold,
        l_threshold: d.l_threshold,
        tun_type: d.tun_type,
        tun_port: d.tun_port,
        tun_flags: d.tun_flags,
        active_conns: 0,
        inact_conns: 0,
        persist_conns: 0,
        stats: Default::default(),
    })
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

/// `process_options` after parsing: do what the entry says.
pub fn execute(e: &Entry, table: &mut dyn IpvsTable, io: &mut Io<'_>) -> Outcome {
    let f = format_of(e);
    let svc = service_of(e);
    let result = match e.cmd {
        Cmd::List => {
            if e.has(opt::CONNECTION) {
                return list_conn(io, f);
            } else if e.has(opt::SERVICE) {
                return list_service(table, io, svc.expect("a service was given"), f);
            } else if e.has(opt::TIMEOUT) {
                return match table.timeouts() {
                    Ok(t) => {
                        let _ = io.out.write_all(list::timeouts(&t).as_bytes());
                        Outcome::Return(0)
                    }
                    // ipvsadm exits 1 without a word here.
                    Err(_) => Outcome::Exit(1),
                };
            } else if e.has(opt::DAEMON) {
                return match table.daemons() {
                    Ok(d) => {
                        let _ = io.out.write_all(list::daemons(&d).as_bytes());
                        Outcome::Return(0)
                    }
                    Err(_) => Outcome::Exit(1),
                };
            }
            return list_all(table, io, f);
        }
        Cmd::Save => return list_all(table, io, f),
        Cmd::Restore => return restore(table, io),
        Cmd::Flush => table.flush(),
        Cmd::Add => table.add_service(&svc.expect("required")),
        Cmd::Edit => table.edit_service(&svc.expect("required")),
        Cmd::Del => table.del_service(&svc.expect("required")),
        Cmd::Zero => table.zero(svc.as_ref()),
        Cmd::AddDest => table.add_dest(&svc.expect("required"), &dest_of(e).expect("required")),
        Cmd::EditDest => table.edit_dest(&svc.expect("required"), &dest_of(e).expect("required")),
        Cmd::DelDest => table.del_dest(&svc.expect("required"), &dest_of(e).expect("required")),
        Cmd::Timeout => table.set_timeouts(Timeouts {
            tcp: e.timeouts[0],
            tcp_fin: e.timeouts[1],
            udp: e.timeouts[2],
        }),
        Cmd::StartDaemon => table.start_daemon(&e.daemon),
        Cmd::StopDaemon => table.stop_daemon(&e.daemon),
    };
    match result {
        Ok(()) => Outcome::Return(0),
        Err(err) => kernel_failed(io, &err),
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
