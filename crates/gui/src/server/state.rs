//! What every request handler shares.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ConnectInfo;
use axum::http::Request;

use crate::api::events::Hub;
use crate::api::{Controller, LvsdControls, Reloader};
use crate::auth::verified::TTL;
use crate::auth::{Limiter, PasswordFile, Sessions, Verified};
use crate::status::{DEFAULT_PULSE_SOCKET, SocketStatus, StatusSource};

/// The state of one server.
#[derive(Debug)]
pub struct AppState {
    /// lvs.cf.
    pub config: PathBuf,
    pub passwords: PasswordFile,
    pub reloader: Arc<dyn Reloader>,
    /// The daemons' status reports (by default from their default sockets).
    pub status: Arc<dyn StatusSource>,
    /// lvsd's controls of real servers (by default on lvsd's default socket).
    pub controller: Arc<dyn Controller>,
    /// The latest status for `GET /api/v1/events`.
    pub events: Hub,
    /// Served over TLS: cookies are `Secure`, the own origin is `https://`.
    pub tls: bool,
    pub sessions: Mutex<Sessions>,
    pub limiter: Mutex<Limiter>,
    pub verified: Mutex<Verified>,
    /// One write of lvs.cf at a time (compare the ETag, validate, write, reload).
    pub write: tokio::sync::Mutex<()>,
}

/// The state as the router holds it.
pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(
        config: PathBuf,
        passwords: PasswordFile,
        reloader: Arc<dyn Reloader>,
        tls: bool,
    ) -> Result<AppState, getrandom::Error> {
        Ok(AppState {
            config,
            passwords,
            reloader,
            status: Arc::new(SocketStatus::new(
                DEFAULT_PULSE_SOCKET.into(),
                crate::api::reload::DEFAULT_LVSD_SOCKET.into(),
            )),
            controller: Arc::new(LvsdControls::new(
                crate::api::reload::DEFAULT_LVSD_SOCKET.into(),
            )),
            events: Hub::default(),
            tls,
            sessions: Mutex::new(Sessions::default()),
            limiter: Mutex::new(Limiter::default()),
            verified: Mutex::new(Verified::new(TTL)?),
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// The same state reading the daemons' status from `status`.
    pub fn with_status(self, status: Arc<dyn StatusSource>) -> AppState {
        AppState { status, ..self }
    }

    /// The same state applying controls through `controller`.
    pub fn with_controller(self, controller: Arc<dyn Controller>) -> AppState {
        AppState { controller, ..self }
    }

    /// The same state polling the daemons every `interval` for the event streams.
    pub fn with_event_interval(self, interval: std::time::Duration) -> AppState {
        AppState {
            events: Hub::new(interval),
            ..self
        }
    }

    pub fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn verified(&self) -> MutexGuard<'_, Verified> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The client's address (the unspecified address when the connection's is not known, as in
/// tests that call the router directly).
pub fn client_ip<B>(req: &Request<B>) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
}
