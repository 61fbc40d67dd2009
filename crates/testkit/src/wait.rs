//! Waiting for an event with a bound. Each helper polls the event itself (a condition, a
//! file's content, a port, a process) every few milliseconds and gives up after `within`;
//! none sleeps for a fixed time and hopes.

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often the helpers look again.
pub const EVERY: Duration = Duration::from_millis(20);

/// Poll `f` until it returns `Some`, for at most `within`; `None` when time is up.
pub fn poll<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    poll_every(within, EVERY, &mut f)
}

/// [`poll`] with another polling period.
pub fn poll_every<T>(
    within: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}

/// Wait until `cond` holds, for at most `within`: how long it took, or `None`.
pub fn until(within: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    poll(within, || cond().then(|| t0.elapsed()))
}

/// Like [`poll`], but panic when time is up, with `why()` (evaluated then, so it can show
/// the latest state).
pub fn expect<T>(
    within: Duration,
    f: impl FnMut() -> Option<T>,
    why: impl FnOnce() -> String,
) -> T {
    match poll(within, f) {
        Some(v) => v,
        None => panic!("not within {within:?}: {}", why()),
    }
}

/// Like [`until`], but panic when time is up, with `why()`; how long it took.
pub fn expect_until(
    within: Duration,
    cond: impl FnMut() -> bool,
    why: impl FnOnce() -> String,
) -> Duration {
    match until(within, cond) {
        Some(t) => t,
        None => panic!("not within {within:?}: {}", why()),
    }
}

/// Wait until file `path` contains `needle` (a log line that a server writes after it has
/// answered, say); the file's content, or a panic with what it holds by then.
pub fn file_contains(path: impl AsRef<Path>, needle: &str, within: Duration) -> String {
    let path = path.as_ref();
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    expect(
        within,
        || Some(read()).filter(|t| t.contains(needle)),
        || {
            format!(
                "{} has no {needle:?}; it holds:\n{}",
                path.display(),
                read()
            )
        },
    )
}

/// Wait until something accepts TCP connections on `addr`.
pub fn listening(addr: &str, within: Duration) {
    expect_until(
        within,
        || std::net::TcpStream::connect(addr).is_ok(),
        || format!("nothing listens on {addr}"),
    );
}

/// Wait for `child` to exit, for at most `within`: its status, or `None` if it still runs.
pub fn exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    poll(within, || child.try_wait().expect("waitpid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_returns_the_value_or_none_after_the_bound() {
        let mut n = 0;
        assert_eq!(
            poll(Duration::from_secs(5), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        let t0 = Instant::now();
        assert_eq!(poll(Duration::from_millis(50), || None::<()>), None);
        assert!(t0.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn file_contains_sees_a_line_written_later() {
        let dir = crate::tempdir::TempDir::new("testkit-wait");
        let path = dir.join("log");
        let p = path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(p, "a\nGET / 200\n").unwrap();
        });
        let text = file_contains(&path, "GET / 200", Duration::from_secs(5));
        assert!(text.ends_with("GET / 200\n"));
        writer.join().unwrap();
    }

    #[test]
    #[should_panic(expected = "has no \"never\"")]
    fn file_contains_fails_after_the_bound() {
        file_contains("/nonexistent/testkit", "never", Duration::from_millis(30));
    }
}
