//! A client that asks the VIP continuously (one request at a time, a new one every ~20 ms,
//! short timeouts) and keeps every attempt, so that a test can say what the client saw during
//! a fault: how many requests failed and the longest time without an answer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the client waits for a connection, and then for the whole answer.
pub const CONNECT: Duration = Duration::from_millis(300);
pub const ANSWER: Duration = Duration::from_millis(1000);
/// The pause between the end of one request and the start of the next.
pub const EVERY: Duration = Duration::from_millis(20);

/// One request: when it started and ended, and who answered (`None`: it failed).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub start: Instant,
    pub end: Instant,
    /// The real server's name and the director's address it came through.
    pub answer: Option<(String, String)>,
}

/// What the client saw over a window of time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub requests: usize,
    pub failed: usize,
    /// The longest time without an answer: between two answers, or from the window's start
    /// to the first one, or from the last one to the window's end.
    pub longest_gap: Duration,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} requests failed, longest gap {} ms",
            self.failed,
            self.requests,
            self.longest_gap.as_millis()
        )
    }
}

/// The client thread (in the client's namespace) and what it saw.
#[derive(Debug)]
pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<Attempt>>>,
}

impl Probe {
    /// Start asking `target` (an HTTP server behind the VIP whose body's first line names the
    /// real server and second line, if any, is `via DIRECTOR`) from namespace `ns`.
    pub fn start(ns: &str, target: SocketAddr) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<Attempt>>> = Arc::default();
        let path = format!("/run/netns/{ns}");
        let (s, l) = (stop.clone(), log.clone());
        let thread = std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            while !s.load(Ordering::SeqCst) {
                let start = Instant::now();
                let answer = ask(target);
                let end = Instant::now();
                l.lock().unwrap().push(Attempt { start, end, answer });
                std::thread::sleep(EVERY);
            }
        });
        Probe {
            stop,
            thread: Some(thread),
            log,
        }
    }

    /// A mark for [`Probe::since`]: now.
    pub fn mark(&self) -> Instant {
        Instant::now()
    }

    /// Every attempt that started at or after `t0`.
    pub fn attempts_since(&self, t0: Instant) -> Vec<Attempt> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.start >= t0)
            .cloned()
            .collect()
    }

    /// What the client saw from `t0` until now.
    pub fn since(&self, t0: Instant) -> Seen {
        seen(&self.attempts_since(t0), t0, Instant::now())
    }

    /// Wait until `n` requests in a row that started after `t0` were answered through director
    /// address `via`; how long from `t0` until the last of them ended.
    pub fn wait_served_via(
        &self,
        via: &str,
        n: usize,
        t0: Instant,
        within: Duration,
    ) -> Result<Duration, String> {
        self.wait_served(n, t0, within, |(_, v)| v == via)
            .map_err(|e| format!("not served through {via}: {e}"))
    }

    /// Wait until `n` requests in a row that started after `t0` were answered and `ok` holds
    /// for each answer (server, director); how long from `t0` until the last of them ended.
    pub fn wait_served(
        &self,
        n: usize,
        t0: Instant,
        within: Duration,
        ok: impl Fn(&(String, String)) -> bool,
    ) -> Result<Duration, String> {
        crate::wait::poll(within, || {
            let a = self.attempts_since(t0);
            let run = a
                .iter()
                .rev()
                .take_while(|a| a.answer.as_ref().is_some_and(&ok))
                .count();
            (run >= n).then(|| a.last().expect("n > 0").end.duration_since(t0))
        })
        .ok_or_else(|| {
            let a = self.attempts_since(t0);
            let tail: Vec<_> = a.iter().rev().take(5).map(|a| a.answer.clone()).collect();
            format!("not {n} good answers in a row within {within:?}; last answers {tail:?}")
        })
    }

    /// Stop asking (the current request ends first).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.halt();
    }
}

/// One request: the server's name and the director it came through.
fn ask(target: SocketAddr) -> Option<(String, String)> {
    let deadline = Instant::now() + ANSWER;
    let mut c = TcpStream::connect_timeout(&target, CONNECT).ok()?;
    c.set_write_timeout(Some(ANSWER)).ok()?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        c.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(_) => return None,
        }
    }
    let text = String::from_utf8_lossy(&got);
    let status = text.lines().next().unwrap_or_default();
    if !(status.starts_with("HTTP/1.") && status.contains(" 200 ")) {
        return None;
    }
    let body = text.split("\r\n\r\n").nth(1)?;
    let mut lines = body.lines();
    let server = lines.next()?.trim().to_owned();
    // A server that does not say which director came (FOS: no proxy) leaves it empty.
    let via = lines
        .next()
        .and_then(|l| l.strip_prefix("via "))
        .unwrap_or_default()
        .to_owned();
    Some((server, via))
}

/// The figures of `attempts` over the window `[t0, t1]`.
pub fn seen(attempts: &[Attempt], t0: Instant, t1: Instant) -> Seen {
    let mut last_ok = t0;
    let mut longest = Duration::ZERO;
    let mut failed = 0;
    for a in attempts {
        if a.answer.is_some() {
            longest = longest.max(a.end.saturating_duration_since(last_ok));
            last_ok = last_ok.max(a.end);
        } else {
            failed += 1;
        }
    }
    longest = longest.max(t1.saturating_duration_since(last_ok));
    Seen {
        requests: attempts.len(),
        failed,
        longest_gap: longest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, from: u64, to: u64, ok: bool) -> Attempt {
        Attempt {
            start: t0 + Duration::from_millis(from),
            end: t0 + Duration::from_millis(to),
            answer: ok.then(|| ("r1".to_owned(), "10.7.0.1".to_owned())),
        }
    }

    #[test]
    fn the_longest_gap_runs_from_answer_to_answer_and_to_the_window_edges() {
        let t0 = Instant::now();
        let a = [
            at(t0, 0, 10, true),
            at(t0, 30, 330, false),
            at(t0, 350, 650, false),
            at(t0, 670, 680, true),
            at(t0, 700, 710, true),
        ];
        let s = seen(&a, t0, t0 + Duration::from_millis(800));
        assert_eq!((s.requests, s.failed), (5, 2));
        assert_eq!(s.longest_gap, Duration::from_millis(670));
        // Nothing answered after 710 ms: the gap to a later end of the window counts.
        let s = seen(&a, t0, t0 + Duration::from_millis(2000));
        assert_eq!(s.longest_gap, Duration::from_millis(1290));
        // Nothing at all: the whole window.
        let s = seen(&[], t0, t0 + Duration::from_millis(100));
        assert_eq!(s.longest_gap, Duration::from_millis(100));
    }
}
