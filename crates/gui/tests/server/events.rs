use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use gui::auth::PasswordFile;
use gui::server::{AppState, router};
use gui::status::{LvsdReport, PulseReport, StatusError, StatusSource};
use http_body_util::BodyExt;
use serde_json::Value;
use testkit::tempdir::TempDir;
use tower::ServiceExt;

use crate::common::*;

/// lvsd's report with one real server whose health the test sets, and pulse's, whose time
/// since the partner was heard the test sets (`None`: pulse is down).
#[derive(Debug, Default)]
struct Changing {
    health: Mutex<&'static str>,
    heard_ms: Mutex<Option<u64>>,
    reads: AtomicUsize,
}

impl StatusSource for Changing {
    fn pulse(&self) -> Result<PulseReport, StatusError> {
        let heard = self
            .heard_ms
            .lock()
            .unwrap()
            .ok_or(StatusError::Unreachable {
                daemon: "pulse",
                path: PathBuf::from("/nowhere"),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        let text =
            format!(r#"{{"role":"master","state":"active","partner_last_heard_ms":{heard}}}"#);
        Ok(serde_json::from_str(&text).unwrap())
    }
    fn lvsd(&self) -> Result<LvsdReport, StatusError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let text = format!(
            r#"{{"reloads":1,"dataplane":"userspace","virtual_servers":[{{"name":"web",
            "service":"TCP 10.0.0.100:80","real_servers":[{{"name":"a","address":"10.1.0.1",
            "port":80,"health":"{}","in_table":true,"weight":1}}]}}]}}"#,
            self.health.lock().unwrap(),
        );
        Ok(serde_json::from_str(&text).unwrap())
    }
}

fn app_events() -> (TempDir, Router, Arc<Changing>) {
    let dir = TempDir::new("gui-events");
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(&dir);
    let source = Arc::new(Changing::default());
    *source.health.lock().unwrap() = "up";
    *source.heard_ms.lock().unwrap() = Some(100);
    let state = AppState::new(
        config,
        PasswordFile::open(&passwd).unwrap(),
        Arc::new(FakeReloader::default()),
        false,
    )
    .unwrap()
    .with_status(source.clone())
    .with_event_interval(Duration::from_millis(20));
    (dir, router(state), source)
}

/// An open event stream.
struct Stream {
    body: Body,
    buf: String,
}

impl Stream {
    async fn open(app: &Router, auth: (&str, String)) -> Stream {
        let req = request("GET", "/api/v1/events")
            .header(auth.0, auth.1)
            .body(Body::empty())
            .unwrap();
        let r = app.clone().oneshot(req).await.unwrap();
        assert_eq!(r.status(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "text/event-stream");
        Stream {
            body: r.into_body(),
            buf: String::new(),
        }
    }

    /// The next `status` event's data, `None` when the stream ended; waits at most `bound`.
    async fn next(&mut self, bound: Duration) -> Option<Value> {
        tokio::time::timeout(bound, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let ev: String = self.buf.drain(..end + 2).collect();
                    if let Some(data) = ev.lines().find_map(|l| l.strip_prefix("data: ")) {
                        assert!(ev.starts_with("event: status\n"), "{ev}");
                        return Some(serde_json::from_str(data).unwrap());
                    }
                    continue; // a keep-alive comment
                }
                let frame = self.body.frame().await?.unwrap();
                let data = frame.into_data().unwrap();
                self.buf.push_str(std::str::from_utf8(&data).unwrap());
            }
        })
        .await
        .expect("an event or the end within the bound")
    }
}

fn health(v: &Value) -> &str {
    v["lvsd"]["virtual_servers"][0]["real_servers"][0]["health"]
        .as_str()
        .unwrap()
}

const BOUND: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_change_is_an_event_and_the_clock_alone_is_not() {
    let (_d, app, source) = app_events();
    let mut s = Stream::open(&app, ("authorization", basic("piranha", PASSWORD))).await;
    let first = s.next(BOUND).await.unwrap();
    assert_eq!(health(&first), "up");
    assert_eq!(first["pulse"]["partner_last_heard_ms"], 100);

    // Only the time since the partner was heard moves: the poller reads on, nothing is sent.
    *source.heard_ms.lock().unwrap() = Some(400);
    let reads = source.reads.load(Ordering::SeqCst);
    tokio::time::timeout(BOUND, async {
        while source.reads.load(Ordering::SeqCst) < reads + 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the poller reads on");
    let quiet = tokio::time::timeout(Duration::from_millis(100), s.next(BOUND)).await;
    assert!(quiet.is_err(), "an event for the clock alone: {quiet:?}");

    *source.health.lock().unwrap() = "down";
    let next = s.next(BOUND).await.unwrap();
    assert_eq!(health(&next), "down");
    assert_eq!(next["pulse"]["partner_last_heard_ms"], 400);

    // A daemon going away is a change.
    *source.heard_ms.lock().unwrap() = None;
    let next = s.next(BOUND).await.unwrap();
    assert_eq!(next["pulse"]["stale"], true);
}

#[tokio::test]
async fn many_streams_share_one_poller() {
    let (_d, app, source) = app_events();
    let auth = || ("authorization", basic("piranha", PASSWORD));
    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut s = Stream::open(&app, auth()).await;
        assert_eq!(health(&s.next(BOUND).await.unwrap()), "up");
        streams.push(s);
    }
    let before = source.reads.load(Ordering::SeqCst);
    *source.health.lock().unwrap() = "down";
    for s in &mut streams {
        assert_eq!(health(&s.next(BOUND).await.unwrap()), "down");
    }
    // One read per interval for all twenty, not twenty.
    let reads = source.reads.load(Ordering::SeqCst) - before;
    assert!(reads < 20, "{reads} reads for one change");
}

#[tokio::test]
async fn a_sessions_stream_ends_with_the_session() {
    let (_d, app, source) = app_events();
    let (cookie, csrf) = login(&app).await;
    let mut s = Stream::open(&app, ("cookie", cookie.clone())).await;
    assert_eq!(health(&s.next(BOUND).await.unwrap()), "up");
    let req = request("POST", "/logout")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0.status(), 303);
    *source.health.lock().unwrap() = "down";
    assert_eq!(s.next(BOUND).await, None, "the stream outlived its session");
}

#[tokio::test]
async fn events_need_authentication() {
    let (_d, app, _source) = app_events();
    let req = request("GET", "/api/v1/events")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0.status(), 401);
}
