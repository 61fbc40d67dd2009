//! Listening: plain HTTP, or TLS with rustls (axum-server).

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// A certificate chain and its key, PEM files.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the service cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot load the TLS certificate {cert} and key {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
}

/// Bind `addr` (before anything else, so the error comes at once).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ServeError> {
    let l =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Listen { addr, source })?;
    l.set_nonblocking(true)
        .map_err(|source| ServeError::Listen { addr, source })?;
    Ok(l)
}

/// Load the TLS certificate and key.
pub async fn tls_config(tls: &Tls) -> Result<RustlsConfig, ServeError> {
    RustlsConfig::from_pem_file(&tls.cert, &tls.key)
        .await
        .map_err(|source| ServeError::Tls {
            cert: tls.cert.display().to_string(),
            key: tls.key.display().to_string(),
            source,
        })
}

/// How long requests under way may take to finish once a stop was asked for.
pub const GRACE: Duration = Duration::from_secs(5);

/// SIGTERM and SIGINT, caught from when this is made (make it before saying the service is
/// ready, so a stop asked for at once is not lost).
#[derive(Debug)]
pub struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    /// Install the handlers (in a tokio runtime).
    pub fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

/// Serve `app` on `listener` until SIGTERM or SIGINT, then let the requests under way finish
/// (for at most [`GRACE`]).
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    app: Router,
    stop: StopSignals,
) -> std::io::Result<()> {
    let StopSignals { mut term, mut int } = stop;
    let handle = Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping");
        stopper.graceful_shutdown(Some(GRACE));
    });
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(make)
                .await
        }
        Some(cfg) => {
            axum_server::from_tcp_rustls(listener, cfg)?
                .handle(handle)
                .serve(make)
                .await
        }
    }
}
