//! Listening: plain HTTP, or TLS with rustls (axum-server).

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

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

/// Serve `app` on `listener` until the process ends.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    app: Router,
) -> std::io::Result<()> {
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum_server::from_tcp(listener)?.serve(make).await,
        Some(cfg) => {
            axum_server::from_tcp_rustls(listener, cfg)?
                .serve(make)
                .await
        }
    }
}
