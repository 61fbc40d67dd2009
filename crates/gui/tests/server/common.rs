//! A router on a scratch lvs.cf and password file, and request helpers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use base64::Engine as _;
use gui::api::{ReloadError, Reloader};
use gui::auth::PasswordFile;
use gui::server::{AppState, router};
use http_body_util::BodyExt;
use testkit::tempdir::TempDir;
use tower::ServiceExt;

/// The password of user piranha in the test files ({SHA} of "p": fast to verify).
pub const PASSWORD: &str = "p";
const SHA_OF_P: &str = "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=";

pub const CF: &str = "# our cluster\nserial_no = 7 # the GUI bumps this\nprimary = 10.0.0.1\n\
service = lvs\n\nvirtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n\
    server a {\n        address = 10.1.0.1\n        active = 1\n    }\n}\n";

/// A reloader that counts calls and answers as told.
#[derive(Debug, Default)]
pub struct FakeReloader {
    pub calls: Mutex<usize>,
    pub refuse: Mutex<Option<String>>,
}

impl Reloader for FakeReloader {
    fn reload(&self) -> Result<(), ReloadError> {
        *self.calls.lock().unwrap() += 1;
        match self.refuse.lock().unwrap().clone() {
            Some(why) => Err(ReloadError::Refused(why)),
            None => Ok(()),
        }
    }
}

/// Write a password file for user piranha with the library.
pub fn password_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("piranha.passwd");
    let mut doc = gui::passwd::Document::new(&path);
    doc.set("piranha", SHA_OF_P);
    gui::passwd::store(&path, &doc.render(), None).unwrap();
    path
}

#[derive(Debug)]
pub struct App {
    pub dir: TempDir,
    pub config: PathBuf,
    pub router: Router,
    pub reloader: Arc<FakeReloader>,
}

pub fn app() -> App {
    app_with(false)
}

pub fn app_with(tls: bool) -> App {
    let dir = TempDir::new("gui-server");
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(&dir);
    let reloader = Arc::new(FakeReloader::default());
    let state = AppState::new(
        config.clone(),
        PasswordFile::open(&passwd).unwrap(),
        reloader.clone(),
        tls,
    )
    .unwrap();
    App {
        dir,
        config,
        router: router(state),
        reloader,
    }
}

pub fn basic(user: &str, password: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b}")
}

/// A request builder from `ip`, addressed to host `gui`.
pub fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "gui:3636")
}

pub fn from(mut req: Request<Body>, ip: &str) -> Request<Body> {
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

/// Send a request; the response with its body as text.
pub async fn send(app: &Router, req: Request<Body>) -> (Response<()>, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, ()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub fn header<'a>(r: &'a Response<()>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Log in with the form; the session cookie (`name=value`) and the CSRF token.
pub async fn login(app: &Router) -> (String, String) {
    let req = request("POST", "/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("user=piranha&password={PASSWORD}")))
        .unwrap();
    let (r, _) = send(app, req).await;
    assert_eq!(r.status(), 303);
    let cookie = header(&r, "set-cookie").unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let req = request("GET", "/api/v1/session")
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    let (r, body) = send(app, req).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (pair, v["csrf_token"].as_str().unwrap().to_owned())
}
