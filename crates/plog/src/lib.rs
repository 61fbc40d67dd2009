//! Logging for the suite's daemons.
//!
//! Piranha's daemons log every message at `LOG_INFO` to syslog (`LOG_DAEMON`, tagged with the
//! program name and pid) and, in the foreground, also print `"<name>: <msg>"` on stdout. This crate
//! gives `tracing` the same two outputs, so the log lines that admins grep for keep their shape:
//!
//! - [`Sink::Stdout`]: `"<name>: <msg>\n"` on standard output;
//! - [`Sink::Stderr`]: the same on standard error (for daemons whose stdout is a data channel);
//! - [`Sink::Syslog`]: RFC 3164 `"<30><name>[<pid>]: <msg>"` datagrams to `/dev/log`. A missing
//!   or full syslog socket drops the line rather than blocking the daemon.
//!
//! `debug!` events are printed only when verbose logging is on (piranha's `-v`).
//!
//! [`notify`] is the other thing every daemon says to its supervisor: that it is ready.
//! [`daemon`] is how lvsd, pulse and fos start: detach, log, build the runtime, install their
//! signal handlers. [`socket`] shares a status socket with a group (`--socket-group`).

pub mod daemon;
pub mod notify;
pub mod socket;

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A daemon's sinks: stdout in the foreground (`-n`), syslog otherwise.
pub fn daemon_sinks(foreground: bool) -> &'static [Sink] {
    if foreground {
        &[Sink::Stdout]
    } else {
        &[Sink::Syslog]
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
    Syslog,
}

/// `LOG_DAEMON` (3 << 3) | `LOG_INFO` (6): piranha logs everything at this priority.
const PRI_DAEMON_INFO: u8 = 30;

struct Piranha {
    name: String,
    ident: String,
    sinks: Vec<Sink>,
    verbose: bool,
    syslog: Mutex<Option<UnixDatagram>>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Piranha {
    fn syslog(&self, msg: &str) {
        let line = format!(
            "<{PRI_DAEMON_INFO}>{}[{}]: {msg}",
            self.ident,
            std::process::id()
        );
        let mut guard = self.syslog.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = connect_syslog();
        }
        if let Some(sock) = guard.as_ref()
            && sock.send(line.as_bytes()).is_err()
        {
            // syslogd restarted: reconnect once and retry.
            *guard = connect_syslog();
            if let Some(sock) = guard.as_ref() {
                let _ = sock.send(line.as_bytes());
            }
        }
    }
}

fn connect_syslog() -> Option<UnixDatagram> {
    let sock = UnixDatagram::unbound().ok()?;
    sock.connect("/dev/log").ok()?;
    sock.set_nonblocking(true).ok()?;
    Some(sock)
}

impl<S: Subscriber> Layer<S> for Piranha {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::INFO && !self.verbose {
            return;
        }
        let mut msg = Message(String::new());
        event.record(&mut msg);
        for sink in &self.sinks {
            match sink {
                Sink::Stdout => {
                    let _ = writeln!(std::io::stdout().lock(), "{}: {}", self.name, msg.0);
                }
                Sink::Stderr => {
                    let _ = writeln!(std::io::stderr().lock(), "{}: {}", self.name, msg.0);
                }
                Sink::Syslog => self.syslog(&msg.0),
            }
        }
    }
}

/// Install the global subscriber. `name` is the program name used as prefix and syslog tag.
/// A second call does nothing (the first subscriber stays).
pub fn init(name: &str, sinks: &[Sink], verbose: bool) {
    init_with(name, name, sinks, verbose);
}

/// Like [`init`], with a different name on stdout/stderr than in syslog (piranha's lvsd printed
/// `lvs: …` but logged as `lvsd`).
pub fn init_with(stdout_name: &str, syslog_ident: &str, sinks: &[Sink], verbose: bool) {
    let layer = Piranha {
        name: stdout_name.to_owned(),
        ident: syslog_ident.to_owned(),
        sinks: sinks.to_vec(),
        verbose,
        syslog: Mutex::new(None),
    };
    // A global level filter makes disabled `debug!` call sites free (their interest is cached).
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(level).with(layer),
    );
}
