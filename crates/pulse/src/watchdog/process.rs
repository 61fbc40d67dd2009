//! The watchdog process (`pulse --watchdog [-n] [FILE]`, started by pulse, never by hand): reads
//! pulse's reports on standard input until a goodbye (exit at once) or end-of-file (pulse
//! died: send its last STOPPED heartbeats, take its addresses down, exit).
//!
//! It ignores SIGINT, SIGTERM and SIGHUP (they are pulse's to act on; a Ctrl-C in a terminal
//! reaches both), so only SIGKILL ends it before pulse does, and pulse then starts another.

use std::io::{BufRead, Read};
use std::time::Instant;

use tracing::info;

use super::clean_up::clean_up;
use super::{MAX_LINE, NAME, Step, Watch};

/// Run as the watchdog; `args` are those after [`super::ARG`] (`-n`: log on stdout, as
/// pulse does in the foreground; otherwise to syslog; an absolute path: pulse's file copy of
/// the report, removed after cleaning up). Returns the exit status.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let foreground = args.iter().any(|a| a == "-n");
    // The copy of the report pulse keeps on disk for `pulse --clean-up`, removed once done.
    let file = args
        .iter()
        .find(|a| a.as_encoded_bytes().first() == Some(&b'/'))
        .map(std::path::PathBuf::from);
    if let Ok(n) = std::ffi::CString::new(NAME) {
        let _ = nix::sys::prctl::set_name(&n);
    }
    ignore_stop_signals();
    plog::init(NAME, plog::daemon_sinks(foreground), false);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            info!("cannot start: {e}");
            return 1;
        }
    };
    // Opened now, so that nothing but the requests themselves stands between pulse's death
    // and its addresses going.
    let netif = rt.block_on(async { netif::Netif::new() });
    let mut watch = Watch::default();
    let step = read_until_done(&mut std::io::stdin().lock(), &mut watch);
    if watch.unreadable > 0 {
        info!("{} unreadable lines from pulse skipped", watch.unreadable);
    }
    match step {
        Step::CleanUp(r) => {
            let t0 = Instant::now();
            rt.block_on(clean_up(netif.ok(), &r));
            if let Some(f) = &file {
                super::file::remove(f);
            }
            info!(
                "cleaned up after pulse {} in {} us",
                r.pid,
                t0.elapsed().as_micros()
            );
        }
        Step::Leave | Step::Wait => {}
    }
    0
}

/// SIGINT, SIGTERM and SIGHUP stay pending forever: only pulse's end ends the watchdog.
fn ignore_stop_signals() {
    use nix::sys::signal::{SigSet, Signal};
    let mut s = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        s.add(sig);
    }
    let _ = s.thread_block();
}

/// Feed lines to `watch` until a goodbye or the end of the input.
pub fn read_until_done(input: &mut impl BufRead, watch: &mut Watch) -> Step {
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = input.by_ref().take(MAX_LINE as u64 + 1);
        match limited.read_until(b'\n', &mut line) {
            Ok(0) => return watch.end(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A pipe that cannot be read any more is as good as closed.
            Err(_) => return watch.end(),
        }
        if line.last() != Some(&b'\n') {
            if line.len() > MAX_LINE {
                // Too long: skip to the end of that line.
                watch.unreadable += 1;
                if skip_line(input) {
                    continue;
                }
            }
            // The input ended inside a line: pulse died while writing it.
            return watch.end();
        }
        line.pop();
        match watch.line(&line) {
            Step::Wait => {}
            done => return done,
        }
    }
}

/// Read up to and including the next newline, keeping nothing; false at the end of the input.
fn skip_line(input: &mut impl BufRead) -> bool {
    loop {
        let (found, used) = match input.fill_buf() {
            Ok([]) => return false,
            Ok(b) => match b.iter().position(|c| *c == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, b.len()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        input.consume(used);
        if found {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Held, Message, Report};
    use super::*;

    fn report(pid: u32) -> Report {
        Report {
            pid,
            vips: vec![Held {
                device: "eth0".into(),
                ip: "192.0.2.1".parse().unwrap(),
            }],
            last: Vec::new(),
            child: None,
        }
    }

    #[test]
    fn end_of_input_cleans_up_the_last_report() {
        let mut input = Message::Report(report(1)).line();
        input.extend(Message::Report(report(2)).line());
        let mut w = Watch::default();
        assert_eq!(
            read_until_done(&mut &input[..], &mut w),
            Step::CleanUp(report(2))
        );
    }

    #[test]
    fn a_goodbye_stops_reading() {
        let mut input = Message::Report(report(1)).line();
        input.extend(Message::Exit.line());
        input.extend(Message::Report(report(2)).line());
        let mut w = Watch::default();
        assert_eq!(read_until_done(&mut &input[..], &mut w), Step::Leave);
    }

    #[test]
    fn a_torn_or_oversized_line_is_not_taken() {
        let mut input = Message::Report(report(1)).line();
        input.extend(vec![b'x'; MAX_LINE + 10]);
        input.push(b'\n');
        input.extend(Message::Report(report(3)).line());
        let torn = Message::Report(report(4)).line();
        input.extend(&torn[..torn.len() - 3]);
        let mut w = Watch::default();
        assert_eq!(
            read_until_done(&mut &input[..], &mut w),
            Step::CleanUp(report(3))
        );
        assert_eq!(w.unreadable, 1);
    }
}
