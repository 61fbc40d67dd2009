//! The `piranha-gui` command: options, the root check, start-up, serving.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use tracing::info;

use crate::api::reload::DEFAULT_LVSD_SOCKET;
use crate::api::{LvsdControls, LvsdSocket};
use crate::auth::PasswordFile;
use crate::server::serve::{self, Tls};
use crate::server::{AppState, metrics_router, router};
use crate::status::{DEFAULT_PULSE_SOCKET, SocketStatus};

/// Where piranha keeps lvs.cf; the daemons' rule ([`lvscf::default_path()`]) falls back to
/// /etc/lvs.cf when this does not exist.
pub const DEFAULT_CONFIG: &str = lvscf::DEFAULT_PATH;
/// The port of piranha's GUI, on every address.
pub const DEFAULT_LISTEN: &str = "[::]:3636";

/// Exit status: the service stopped (never returned while it serves).
pub const EXIT_OK: i32 = 0;
/// Exit status: cannot start (password file, address, certificate, runtime).
pub const EXIT_START: i32 = 1;
/// Exit status: bad command line.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: run as root without `--allow-root`.
pub const EXIT_ROOT: i32 = 3;

/// The web service of piranha: an authenticated HTTP API over lvs.cf.
#[derive(Debug, Parser)]
#[command(
    name = "piranha-gui",
    version,
    about = "The web service of piranha: an authenticated HTTP API over lvs.cf"
)]
pub struct Opts {
    /// The configuration file [default: /etc/sysconfig/ha/lvs.cf, else /etc/lvs.cf].
    #[arg(short = 'c', long = "config", value_name = "FILE", default_value_os_t = lvscf::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    /// The address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The password file (Apache htpasswd format, see piranha-passwd(8)).
    #[arg(long, value_name = "FILE", default_value = crate::passwd::DEFAULT_PATH)]
    pub passwd: PathBuf,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// lvsd's socket, where reload requests go after a write and its status is read.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_LVSD_SOCKET)]
    pub lvsd_socket: PathBuf,
    /// pulse's socket, where its status is read (never written to).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_PULSE_SOCKET)]
    pub pulse_socket: PathBuf,
    /// Log to standard output instead of syslog.
    #[arg(short = 'n', long = "nodaemon")]
    pub nodaemon: bool,
    /// Serve only `GET /metrics` (authenticated as everything else), for sites that want
    /// no pages and no API.
    #[arg(long)]
    pub metrics_only: bool,
    /// Run even as root (the service should run as its own user, piranha).
    #[arg(long)]
    pub allow_root: bool,
}

/// The help text (for the manual page's coverage test).
pub fn help() -> String {
    use clap::CommandFactory;
    Opts::command().render_long_help().to_string()
}

/// Run piranha-gui with these arguments; returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let o = match Opts::try_parse_from(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if nix::unistd::geteuid().is_root() && !o.allow_root {
        eprintln!(
            "piranha-gui: refusing to run as root; run it as its own user (piranha), \
             or pass --allow-root"
        );
        return EXIT_ROOT;
    }
    match start(o) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let text = describe(&e);
            eprintln!("piranha-gui: {text}");
            info!("{text}");
            EXIT_START
        }
    }
}

/// The error and its causes, each cause once: the library errors already name their
/// source in their message, so anyhow's `{:#}` would say it twice.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

fn start(o: Opts) -> anyhow::Result<()> {
    // A parent may have blocked SIGTERM; the service stops on it.
    plog::notify::unblock_signals();
    // Problems are reported on the terminal before serving.
    let passwords = PasswordFile::open(&o.passwd)?;
    let config = std::fs::canonicalize(&o.config).unwrap_or(o.config.clone());
    let listener = serve::bind(o.listen)?;
    let tls = match (o.tls_cert, o.tls_key) {
        (Some(cert), Some(key)) => Some(Tls { cert, key }),
        _ => None,
    };
    plog::init("piranha-gui", plog::daemon_sinks(o.nodaemon), false);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let tls_config = match &tls {
            Some(t) => Some(serve::tls_config(t).await?),
            None => None,
        };
        let state = AppState::new(
            config.clone(),
            passwords,
            Arc::new(LvsdSocket::new(o.lvsd_socket.clone())),
            tls.is_some(),
        )?
        .with_controller(Arc::new(LvsdControls::new(o.lvsd_socket.clone())))
        .with_status(Arc::new(SocketStatus::new(o.pulse_socket, o.lvsd_socket)));
        let stop = serve::StopSignals::install()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let app = if o.metrics_only {
            info!(
                "serving metrics only on {scheme}://{}",
                listener.local_addr()?
            );
            metrics_router(state)
        } else {
            info!(
                "serving {} on {scheme}://{}",
                config.display(),
                listener.local_addr()?
            );
            router(state)
        };
        serve::serve(listener, tls_config, app, stop).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::from(crate::passwd::Error::Read {
            path: "/x".into(),
            source: io,
        });
        assert_eq!(describe(&e), "/x: cannot read: no such file");
        let e = anyhow::anyhow!("inner reason").context("starting");
        assert_eq!(describe(&e), "starting: inner reason");
    }
}
