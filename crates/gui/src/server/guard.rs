//! The one gate every request passes, whatever its path and method (CVE-2013-6492 was a gate
//! on GET only):
//!
//! 1. a cross-site request (`Origin` not this server's, or `Sec-Fetch-Site: cross-site`) → 403;
//! 2. the public pages ([`is_public`]) pass;
//! 3. `Authorization: Basic` is verified (failures rate-limited per address → 429, logged);
//!    else the session cookie must name a live session; else 401 with the Basic challenge,
//!    before any 404 or 405, so an unauthenticated client learns nothing (a browser opening a
//!    page is sent to `/login` instead, whatever the path);
//! 4. a state-changing request of a session needs its CSRF token (`X-CSRF-Token` or the form
//!    field `csrf_token`) → else 403.
//!
//! The handlers find who is asking in the request's [`Caller`] extension.

use std::net::IpAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::info;

use super::respond::{forbidden, to_login, too_many, unauthorized};
use super::state::{AppState, Shared, client_ip};
use crate::auth::headers::{basic_credentials, cookie, cross_site};
use crate::auth::sessions::same_secret;
use crate::auth::{COOKIE, Session};

/// The largest form body the guard reads to find a CSRF field (the apply and lvs.cf forms
/// carry the whole file).
const FORM_LIMIT: usize = 16 * 1024 * 1024;

/// Who is asking, and how they proved it.
#[derive(Debug, Clone)]
pub enum Caller {
    Basic { user: String },
    Session { id: String, session: Session },
}

impl Caller {
    pub fn user(&self) -> &str {
        match self {
            Caller::Basic { user } => user,
            Caller::Session { session, .. } => &session.user,
        }
    }
}

/// The requests anyone may make: the landing page, the login form and the assets.
pub fn is_public(method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    match path {
        "/" | "/assets/app.css" | "/assets/app.js" | "/assets/favicon.svg" => read,
        "/login" => read || method == Method::POST,
        _ => false,
    }
}

/// Whether a method changes state (and so needs a CSRF token from a session).
pub fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// This server's origin as the client addressed it.
fn own_origin(state: &AppState, req: &Request) -> String {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let scheme = if state.tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The middleware.
pub async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let own = own_origin(&state, &req);
    if cross_site(
        header_str(&req, "origin"),
        header_str(&req, "sec-fetch-site"),
        &own,
    ) {
        return forbidden("cross-site request refused\n");
    }
    if is_public(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let ip = client_ip(&req);
    let caller = if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let Some((user, password)) = basic_credentials(value.as_bytes()) else {
            return unauthorized();
        };
        match check_password(&state, ip, user, password).await {
            Ok(user) => Caller::Basic { user },
            Err(r) => return r,
        }
    } else {
        match session_of(&state, &req) {
            Some(c) => c,
            None if is_navigation(&req) => return to_login(),
            None => return unauthorized(),
        }
    };
    let req = match &caller {
        Caller::Session { session, .. } if changes_state(req.method()) => {
            match csrf_checked(req, &session.csrf).await {
                Ok(req) => req,
                Err(r) => return r,
            }
        }
        _ => req,
    };
    let mut req = req;
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// A browser opening a page (`Sec-Fetch-Mode: navigate`, set by the browser itself) with a
/// GET or HEAD: without a session it is sent to the login form rather than shown the Basic
/// challenge, which would pop up the browser's own password dialog. Every path is treated
/// alike, so this tells nothing about which paths exist. Scripts and API clients do not send
/// the header and still get 401.
fn is_navigation(req: &Request) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD)
        && header_str(req, "sec-fetch-mode") == Some("navigate")
}

fn session_of(state: &AppState, req: &Request) -> Option<Caller> {
    let cookies = header_str(req, "cookie")?;
    let id = cookie(cookies, COOKIE)?;
    let session = state.sessions().touch(id, Instant::now())?;
    Some(Caller::Session {
        id: id.to_owned(),
        session,
    })
}

/// Verify a user's password, under the failed-login limit: the user, or the response to send
/// (429 when the address is blocked, 401 when the password is wrong). Failures are logged.
/// A password verified lately is taken without a new bcrypt verification
/// ([`crate::auth::verified`]).
pub async fn check_password(
    state: &Shared,
    ip: IpAddr,
    user: String,
    password: Vec<u8>,
) -> Result<String, Response> {
    if let Err(wait) = state.limiter().check(ip, Instant::now()) {
        info!(
            "failed login for {} from {ip}: too many failures, refused without checking",
            user.escape_debug()
        );
        return Err(too_many(wait));
    }
    let (generation, passwords) = state.passwords.current_with_generation();
    if state
        .verified()
        .contains(generation, &user, &password, Instant::now())
    {
        state.limiter().succeed(ip);
        return Ok(user);
    }
    let (ok, user, password) =
        tokio::task::spawn_blocking(move || (passwords.verify(&user, &password), user, password))
            .await
            .map_err(|_| unauthorized())?;
    if ok {
        state.limiter().succeed(ip);
        state
            .verified()
            .insert(generation, &user, &password, Instant::now());
        Ok(user)
    } else {
        state.limiter().fail(ip, Instant::now());
        info!("failed login for {} from {ip}", user.escape_debug());
        Err(unauthorized())
    }
}

/// The request if it carries the session's CSRF token, else 403.
async fn csrf_checked(req: Request, token: &str) -> Result<Request, Response> {
    let refused = || forbidden("missing or wrong CSRF token\n");
    if let Some(h) = header_str(&req, "x-csrf-token") {
        return if same_secret(h, token) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let is_form = header_str(&req, "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| refused())?;
    let field = form_field(&bytes, "csrf_token");
    if !field.is_some_and(|f| same_secret(&f, token)) {
        return Err(refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The value of `name` in an urlencoded form.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_landing_page_and_login_are_public() {
        assert!(is_public(&Method::GET, "/"));
        assert!(is_public(&Method::HEAD, "/"));
        assert!(!is_public(&Method::POST, "/"));
        assert!(is_public(&Method::POST, "/login"));
        assert!(!is_public(&Method::PUT, "/login"));
        assert!(!is_public(&Method::GET, "/api/v1/lvs.cf"));
        assert!(!is_public(&Method::GET, "//"));
        assert!(is_public(&Method::GET, "/assets/app.css"));
        assert!(!is_public(&Method::POST, "/assets/app.js"));
        assert!(!is_public(&Method::GET, "/assets/other"));
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            form_field(b"a=1&csrf_token=x%20y", "csrf_token").as_deref(),
            Some("x y")
        );
        assert_eq!(form_field(b"a=1", "csrf_token"), None);
    }
}
