//! How lvsd, pulse and fos start, once their options are parsed: the same steps in the same
//! order, as piranha's daemons took them.
//!
//! 1. [`prepare`]: make the configuration path absolute (`daemon()` changes to `/`, and the
//!    file is read again on SIGHUP) and unblock every signal a parent may have blocked;
//! 2. the daemon's own checks, reported on the terminal (read the file, bind sockets…);
//!    [`before_detach`] runs async work there in a runtime of its own;
//! 3. [`Startup::run`]: leave the terminal and write the pid file (unless `-n`), start
//!    logging, build the runtime (`cannot start the runtime: …`, status 1), run the body,
//!    and remove the pid file.
//!
//! [`signals`] installs the signal streams a main loop selects on, as an error rather than a
//! panic when the handlers cannot be installed.

use std::future::Future;
use std::path::{Path, PathBuf};

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::notify;

/// Step 1: make `config` absolute (when it exists) and unblock all signals.
pub fn prepare(config: &mut PathBuf) {
    if let Ok(p) = std::fs::canonicalize(&*config) {
        *config = p;
    }
    notify::unblock_signals();
}

/// Run `fut` to completion in a single-threaded runtime of its own, before the daemon forks
/// (a runtime does not survive `fork`).
pub fn before_detach<F: Future>(fut: F) -> std::io::Result<F::Output> {
    Ok(single_thread()?.block_on(fut))
}

fn single_thread() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// Step 3 of a daemon's start.
#[derive(Debug, Clone, Copy)]
pub struct Startup<'a> {
    /// The name on stdout lines (`lvs` for lvsd, as piranha) …
    pub name: &'a str,
    /// … and in syslog.
    pub ident: &'a str,
    /// `-n`: stay on the terminal, log to stdout, no pid file.
    pub foreground: bool,
    /// Fork when leaving the terminal (no under `--nofork`, when a supervisor waits on this
    /// process).
    pub fork: bool,
    pub pidfile: &'a Path,
    /// `-v`: debug lines too.
    pub verbose: bool,
}

impl Startup<'_> {
    /// Detach, log, build the runtime and run `body` (given the runtime's handle) on it;
    /// returns the exit status: `body`'s, or 1 when the runtime cannot be built.
    pub fn run<F, Fut>(&self, body: F) -> i32
    where
        F: FnOnce(&Handle) -> Fut,
        Fut: Future<Output = i32>,
    {
        if !self.foreground {
            notify::detach(self.fork, self.pidfile);
        }
        crate::init_with(
            self.name,
            self.ident,
            crate::daemon_sinks(self.foreground),
            self.verbose,
        );
        // One thread: the daemons only wait (the kernel forwards; lvsd's userspace data plane
        // forwards on threads of its own, `uplane::workers`).
        let rt = match single_thread() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::info!("cannot start the runtime: {e}");
                return 1;
            }
        };
        let fut = body(rt.handle());
        let code = rt.block_on(fut);
        // A blocking task still running (a host name lookup that hangs) must not hold the
        // exit: the tasks are dropped, the blocking threads are left behind.
        rt.shutdown_background();
        if !self.foreground {
            let _ = std::fs::remove_file(self.pidfile);
        }
        code
    }
}

/// The signal handlers could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install signal handlers")]
pub struct SignalError(#[source] pub std::io::Error);

/// Streams of these signals, in this order (inside a runtime). The daemons log the error
/// (`cannot install signal handlers`) and exit with status 1.
pub fn signals<const N: usize>(kinds: [SignalKind; N]) -> Result<[Signal; N], SignalError> {
    let mut out = Vec::with_capacity(N);
    for k in kinds {
        out.push(signal(k).map_err(SignalError)?);
    }
    // The vector has exactly N streams.
    out.try_into()
        .map_err(|_| SignalError(std::io::Error::other("signal count")))
}

/// The signals every daemon's main loop stops or reloads on: SIGTERM, SIGINT, SIGHUP.
pub fn stop_and_reload_signals() -> Result<[Signal; 3], SignalError> {
    signals([
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::hangup(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_makes_the_path_absolute() {
        let mut p = PathBuf::from(".");
        prepare(&mut p);
        assert!(p.is_absolute());
        let mut missing = PathBuf::from("no/such/file");
        prepare(&mut missing);
        assert_eq!(missing, PathBuf::from("no/such/file"));
    }

    #[test]
    fn foreground_run_returns_the_body_status() {
        let s = Startup {
            name: "t",
            ident: "t",
            foreground: true,
            fork: false,
            pidfile: Path::new("/nonexistent/pid"),
            verbose: false,
        };
        let code = s.run(|_| async {
            let [mut usr1] = signals([SignalKind::user_defined1()]).unwrap();
            nix::sys::signal::raise(nix::sys::signal::Signal::SIGUSR1).unwrap();
            usr1.recv().await;
            7
        });
        assert_eq!(code, 7);
        assert_eq!(before_detach(async { 3 }).unwrap(), 3);
    }
}
