use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use gui::api::{Action, ControlError, Controller};
use gui::auth::PasswordFile;
use gui::server::{AppState, metrics_router, router};
use serde_json::Value;
use testkit::tempdir::TempDir;

use crate::common::*;

/// Records every control and answers as told.
#[derive(Debug, Default)]
struct FakeLvsd {
    calls: Mutex<Vec<(String, String, Action)>>,
    answer: Mutex<Option<fn() -> ControlError>>,
}

impl Controller for FakeLvsd {
    fn control(&self, v: &str, s: &str, action: Action) -> Result<(), ControlError> {
        self.calls
            .lock()
            .unwrap()
            .push((v.into(), s.into(), action));
        match *self.answer.lock().unwrap() {
            Some(e) => Err(e()),
            None => Ok(()),
        }
    }
}

fn state(dir: &TempDir) -> AppState {
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(dir);
    AppState::new(
        config,
        PasswordFile::open(&passwd).unwrap(),
        Arc::new(FakeReloader::default()),
        false,
    )
    .unwrap()
}

fn app_controlled() -> (TempDir, Router, Arc<FakeLvsd>) {
    let dir = TempDir::new("gui-controls");
    let lvsd = Arc::new(FakeLvsd::default());
    let r = router(state(&dir).with_controller(lvsd.clone()));
    (dir, r, lvsd)
}

async fn post(app: &Router, path: &str, body: &str) -> (u16, Value) {
    let req = request("POST", path)
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (r, body) = send(app, req).await;
    let v = serde_json::from_str(&body).unwrap_or(Value::Null);
    (r.status().as_u16(), v)
}

#[tokio::test]
async fn each_control_reaches_lvsd_with_its_names() {
    let (_d, app, lvsd) = app_controlled();
    let (code, v) = post(&app, "/api/v1/servers/web/a/drain", "").await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["action"], "drain");
    assert_eq!(v["virtual"], "web");
    assert_eq!(v["server"], "a");
    for (path, body) in [
        ("/api/v1/servers/web/a/disable", ""),
        ("/api/v1/servers/web/a/enable", "ignored"),
        ("/api/v1/servers/web/b.example/weight", "5"),
        ("/api/v1/servers/web/a/weight", "{\"weight\":0}"),
    ] {
        let (code, v) = post(&app, path, body).await;
        assert_eq!(code, 200, "{path}: {v}");
    }
    let calls = lvsd.calls.lock().unwrap().clone();
    let s = |v: &str, s: &str, a| (v.to_owned(), s.to_owned(), a);
    assert_eq!(
        calls,
        [
            s("web", "a", Action::Drain),
            s("web", "a", Action::Disable),
            s("web", "a", Action::Enable),
            s("web", "b.example", Action::Weight(5)),
            s("web", "a", Action::Weight(0)),
        ]
    );
}

#[tokio::test]
async fn bad_requests_never_reach_lvsd() {
    let (_d, app, lvsd) = app_controlled();
    for (path, body, want) in [
        ("/api/v1/servers/web/a/weight", "65536", 400),
        ("/api/v1/servers/web/a/weight", "-1", 400),
        ("/api/v1/servers/web/a/weight", "", 400),
        ("/api/v1/servers/web/a%20b/drain", "", 400),
        ("/api/v1/servers/web/a%2Fb/drain", "", 400),
        ("/api/v1/servers/web%0A/a/drain", "", 400),
        ("/api/v1/servers/web/a/explode", "", 404),
        ("/api/v1/servers/web/a", "", 404),
    ] {
        let (code, v) = post(&app, path, body).await;
        assert_eq!(code, want, "{path} {body:?}: {v}");
    }
    assert!(lvsd.calls.lock().unwrap().is_empty());
    // GET is not a control.
    let req = request("GET", "/api/v1/servers/web/a/drain")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0.status(), 405);
    assert!(lvsd.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn lvsds_refusals_become_status_codes() {
    let (_d, app, lvsd) = app_controlled();
    for (answer, want) in [
        (
            (|| ControlError::NoServer("no real server web/zz".into())) as fn() -> ControlError,
            404,
        ),
        (|| ControlError::Refused("busy".into()), 409),
        (
            || ControlError::Unreachable(std::io::ErrorKind::NotFound.into()),
            503,
        ),
    ] {
        *lvsd.answer.lock().unwrap() = Some(answer);
        let (code, v) = post(&app, "/api/v1/servers/web/zz/drain", "").await;
        assert_eq!(code, want, "{v}");
        assert!(v["error"].as_str().unwrap().starts_with("lvsd"), "{v}");
    }
}

#[tokio::test]
async fn a_session_needs_its_csrf_token_for_a_control() {
    let (_d, app, lvsd) = app_controlled();
    let (cookie, csrf) = login(&app).await;
    let req = request("POST", "/api/v1/servers/web/a/disable")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0.status(), 403);
    assert!(lvsd.calls.lock().unwrap().is_empty());
    let req = request("POST", "/api/v1/servers/web/a/disable")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0.status(), 200);
    assert_eq!(lvsd.calls.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn metrics_only_serves_the_metrics_and_nothing_else() {
    let dir = TempDir::new("gui-metrics-only");
    let app = metrics_router(state(&dir));
    let get = |path: &str, auth: bool| {
        let mut b = request("GET", path);
        if auth {
            b = b.header("authorization", basic("piranha", PASSWORD));
        }
        b.body(Body::empty()).unwrap()
    };
    let (r, body) = send(&app, get("/metrics", true)).await;
    assert_eq!(r.status(), 200);
    assert!(body.contains("# TYPE "), "{body}");
    assert_eq!(send(&app, get("/metrics", false)).await.0.status(), 401);
    for path in ["/", "/login", "/api/v1/status", "/api/v1/lvs.cf"] {
        assert_eq!(send(&app, get(path, true)).await.0.status(), 404, "{path}");
    }
    // No page is public any more, and the rest still asks for credentials first.
    assert_eq!(send(&app, get("/", false)).await.0.status(), 404);
    assert_eq!(
        send(&app, get("/api/v1/status", false)).await.0.status(),
        401
    );
}
