//! The watchdog: a small process pulse starts beside itself (`pulse-watchdog`, the pulse binary
//! run again in a hidden mode) that cleans up after pulse when pulse dies without stopping in
//! order (kill -9, a crash, the OOM killer) while the machine lives on.
//!
//! pulse keeps the watchdog told, over a pipe whose write end only pulse holds, what it would
//! have to undo: the floating addresses it holds (and those it is bringing up), and the last
//! heartbeats to send, a STOPPED to each of the partner's addresses, ready to go (signed in
//! advance with sequence numbers reserved for them when heartbeats are authenticated, so the
//! watchdog never holds a key), and lvsd's pid. When pulse dies the kernel closes the pipe:
//! the watchdog reads end-of-file, sends the STOPPED heartbeats (the partner takes over at
//! once, without waiting for `deadtime`), waits briefly for lvsd to exit (it dies with pulse,
//! `PR_SET_PDEATHSIG`, and closes its connections while the addresses are still there), takes
//! the addresses down through rtnetlink and exits. When pulse stops in order it has cleaned up
//! itself and says [`Message::Exit`] before closing the pipe; the watchdog then exits without
//! acting.
//!
//! - this module: the messages on the pipe (one JSON object per line) and what the watchdog
//!   does with them, free of I/O ([`Watch`]);
//! - [`guard`]: pulse's side: starting the watchdog, telling it, starting another when it
//!   dies, the orderly goodbye;
//! - [`process`]: the watchdog process itself;
//! - [`clean_up`]: the clean-up, by the watchdog or by `pulse --clean-up` (the service
//!   unit's `ExecStopPost=`, for a watchdog killed with the rest of the unit) from pulse's
//!   copy of the report on disk, [`mod@file`].

pub mod clean_up;
pub mod file;
pub mod guard;
pub mod process;

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

pub use guard::Guard;

/// The hidden first argument that makes the pulse binary a watchdog.
pub const ARG: &str = "--watchdog";
/// The watchdog's process name (`ps`, `pgrep`) and its name in log lines.
pub const NAME: &str = "pulse-watchdog";
/// The longest line the watchdog reads; a longer one is skipped (pulse never writes one:
/// a few hundred addresses fit).
pub const MAX_LINE: usize = 256 * 1024;
/// The sequence numbers kept for the last STOPPED heartbeats (public, then private network):
/// higher than any pulse sends while it lives, so the partner takes them after everything
/// else pulse sent, and nothing after them.
pub const LAST_SEQ: [u64; 2] = [u64::MAX - 1, u64::MAX];

/// An address to take down: `device` is `eth0` or its label `eth0:1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub device: String,
    pub ip: IpAddr,
}

/// A datagram to send from `from` (this node's heartbeat address, any port) to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Datagram {
    pub from: IpAddr,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

/// What the watchdog must undo if pulse dies now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// pulse's pid, for the log.
    pub pid: u32,
    pub vips: Vec<Held>,
    /// The last STOPPED, one per partner address.
    pub last: Vec<Datagram>,
    /// The supervised program (lvsd, fos), which gets SIGTERM when pulse dies
    /// (`PR_SET_PDEATHSIG`): its connections are closed while the addresses are still up.
    #[serde(default)]
    pub child: Option<u32>,
}

/// One line on the pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Message {
    /// Everything to undo from now on (replaces the previous report).
    Report(Report),
    /// pulse stops in order and has cleaned up: exit without acting.
    Exit,
}

impl Message {
    /// The line pulse writes (newline included).
    pub fn line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// What the watchdog does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep waiting.
    Wait,
    /// pulse said goodbye: exit without acting.
    Leave,
    /// pulse died: undo this, then exit.
    CleanUp(Report),
}

/// The watchdog's state, fed line by line: free of I/O.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    report: Report,
    /// Lines that could not be read (logged by the caller).
    pub unreadable: u64,
}

impl Watch {
    /// A line from pulse (without its newline).
    pub fn line(&mut self, line: &[u8]) -> Step {
        match serde_json::from_slice::<Message>(line) {
            Ok(Message::Report(r)) => {
                self.report = r;
                Step::Wait
            }
            Ok(Message::Exit) => Step::Leave,
            Err(_) => {
                self.unreadable += 1;
                Step::Wait
            }
        }
    }

    /// The pipe ended without a goodbye: pulse is gone.
    pub fn end(&self) -> Step {
        Step::CleanUp(self.report.clone())
    }

    pub fn report(&self) -> &Report {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            pid: 7,
            vips: vec![Held {
                device: "eth0:1".into(),
                ip: "10.0.0.50".parse().unwrap(),
            }],
            last: vec![Datagram {
                from: "10.0.0.1".parse().unwrap(),
                to: "10.0.0.2:539".parse().unwrap(),
                data: vec![0xbd, 0xda, 0xbd, 0xad],
            }],
            child: Some(8),
        }
    }

    fn strip(mut l: Vec<u8>) -> Vec<u8> {
        assert_eq!(l.pop(), Some(b'\n'));
        assert!(!l.contains(&b'\n'));
        l
    }

    #[test]
    fn the_last_report_is_what_a_death_undoes() {
        let mut w = Watch::default();
        assert_eq!(w.end(), Step::CleanUp(Report::default()));
        let r = report();
        assert_eq!(
            w.line(&strip(Message::Report(r.clone()).line())),
            Step::Wait
        );
        let newer = Report {
            vips: Vec::new(),
            ..r.clone()
        };
        assert_eq!(
            w.line(&strip(Message::Report(newer.clone()).line())),
            Step::Wait
        );
        assert_eq!(w.end(), Step::CleanUp(newer));
    }

    #[test]
    fn a_goodbye_leaves_without_acting() {
        let mut w = Watch::default();
        w.line(&strip(Message::Report(report()).line()));
        assert_eq!(w.line(&strip(Message::Exit.line())), Step::Leave);
    }

    #[test]
    fn garbage_is_counted_and_keeps_the_report() {
        let mut w = Watch::default();
        w.line(&strip(Message::Report(report()).line()));
        for junk in [
            &b"{"[..],
            b"",
            b"\xff\xfe",
            b"{\"report\":{\"pid\":\"x\"}}",
            b"\"exit",
        ] {
            assert_eq!(w.line(junk), Step::Wait);
        }
        assert_eq!(w.unreadable, 5);
        assert_eq!(w.end(), Step::CleanUp(report()));
    }

    #[test]
    fn reserved_sequence_numbers_come_after_all_others() {
        assert!(LAST_SEQ[0] < LAST_SEQ[1]);
        assert!(LAST_SEQ[0] > u64::MAX / 2);
    }
}
