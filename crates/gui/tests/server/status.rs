use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use gui::auth::PasswordFile;
use gui::server::{AppState, router};
use gui::status::{LvsdReport, PulseReport, SocketStatus, StatusError, StatusSource};
use serde_json::Value;
use testkit::tempdir::TempDir;

use crate::common::*;

const PULSE: &str = r#"{"pid":10,"mode":"lvs","role":"master","state":"active","flags":[],
"own":"10.0.0.1","partner":"10.0.0.2","partner_last_heard_ms":300,"partner_state":"inactive",
"keepalive_ms":500,"deadtime_ms":1500,"heartbeats_sent":12,"heartbeats_received":11,
"heartbeats_rejected":1,"vips":["10.0.0.100/32 eth0:1"],
"child":{"program":"lvsd","pid":11,"state":"ready"},"reloads":2}"#;

const LVSD: &str = r#"{"pid":11,"config":"/etc/sysconfig/ha/lvs.cf","reloads":3,
"test_start":false,"dataplane":"userspace","virtual_servers":[{"name":"web",
"service":"TCP 10.0.0.100:80","scheduler":"wlc","persistent":null,"sorry_server":null,
"sorry_active":false,"traffic":{"active_conns":0,"inactive_conns":0,"conns":40,
"inbytes":4000,"outbytes":80000},"real_servers":[{"name":"a","address":"10.1.0.1",
"port":80,"health":"up","in_table":true,"weight":1,"configured_weight":1,"admin":null,
"nanny_pid":12,"last_reason":"check","since_secs":3.5,"nanny_restarts":0,
"traffic":{"active_conns":2,"inactive_conns":1,"conns":40,"inbytes":4000,
"outbytes":80000}}]}]}"#;

/// Answers from fixed texts; `None` is a daemon that is down.
#[derive(Debug)]
struct Fake {
    pulse: Option<&'static str>,
    lvsd: Option<&'static str>,
}

fn down(daemon: &'static str) -> StatusError {
    StatusError::Unreachable {
        daemon,
        path: PathBuf::from("/nowhere"),
        source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    }
}

impl StatusSource for Fake {
    fn pulse(&self) -> Result<PulseReport, StatusError> {
        let t = self.pulse.ok_or_else(|| down("pulse"))?;
        Ok(serde_json::from_str(t).unwrap())
    }
    fn lvsd(&self) -> Result<LvsdReport, StatusError> {
        let t = self.lvsd.ok_or_else(|| down("lvsd"))?;
        Ok(serde_json::from_str(t).unwrap())
    }
}

fn app_reading(source: Arc<dyn StatusSource>) -> (TempDir, Router) {
    let dir = TempDir::new("gui-status");
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(&dir);
    let state = AppState::new(
        config,
        PasswordFile::open(&passwd).unwrap(),
        Arc::new(FakeReloader::default()),
        false,
    )
    .unwrap()
    .with_status(source);
    (dir, router(state))
}

async fn get(app: &Router, path: &str) -> (axum::http::Response<()>, String) {
    let req = request("GET", path)
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

async fn status_of(fake: Fake) -> Value {
    let (_d, app) = app_reading(Arc::new(fake));
    let (r, body) = get(&app, "/api/v1/status").await;
    assert_eq!(r.status(), 200, "{body}");
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    serde_json::from_str(&body).unwrap()
}

async fn metrics_of(fake: Fake) -> String {
    let (_d, app) = app_reading(Arc::new(fake));
    let (r, body) = get(&app, "/metrics").await;
    assert_eq!(r.status(), 200, "{body}");
    assert_eq!(
        header(&r, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    body
}

/// Parse with a real parser (prometheus-parse): every line must be understood, every sample
/// typed by its family's TYPE line, every family documented.
fn parse(text: &str) -> prometheus_parse::Scrape {
    use prometheus_parse::LineInfo;
    for line in text.lines() {
        assert!(
            !matches!(LineInfo::parse(line), LineInfo::Ignored | LineInfo::Empty),
            "not understood: {line:?}"
        );
    }
    let s = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    for sample in &s.samples {
        let counter = sample.metric.ends_with("_total");
        match sample.value {
            prometheus_parse::Value::Counter(_) => assert!(counter, "{}", sample.metric),
            prometheus_parse::Value::Gauge(_) => assert!(!counter, "{}", sample.metric),
            ref v => panic!("{}: {v:?}", sample.metric),
        }
        assert!(s.docs.contains_key(&sample.metric), "{}", sample.metric);
    }
    s
}

fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            _ => f64::NAN,
        })
}

#[tokio::test]
async fn both_daemons_up() {
    let v = status_of(Fake {
        pulse: Some(PULSE),
        lvsd: Some(LVSD),
    })
    .await;
    assert_eq!(v["pulse"]["stale"], false);
    assert!(v["pulse"]["age_ms"].as_u64().unwrap() < 1000);
    assert_eq!(v["pulse"]["role"], "master");
    assert_eq!(v["pulse"]["partner"], "10.0.0.2");
    assert_eq!(v["pulse"]["heartbeats_received"], 11);
    assert_eq!(v["pulse"]["child"]["program"], "lvsd");
    assert_eq!(v["lvsd"]["stale"], false);
    let real = &v["lvsd"]["virtual_servers"][0]["real_servers"][0];
    assert_eq!(real["health"], "up");
    assert_eq!(real["traffic"]["conns"], 40);

    let text = metrics_of(Fake {
        pulse: Some(PULSE),
        lvsd: Some(LVSD),
    })
    .await;
    let s = parse(&text);
    let a = [
        ("virtual", "web"),
        ("server", "a"),
        ("vip", "10.0.0.100"),
        ("vport", "80"),
        ("proto", "TCP"),
        ("rip", "10.1.0.1"),
        ("rport", "80"),
    ];
    assert_eq!(value(&s, "piranha_real_server_up", &a), Some(1.0));
    assert_eq!(
        value(&s, "piranha_real_server_active_connections", &a),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "piranha_real_server_out_bytes_total", &a),
        Some(80000.0)
    );
    assert_eq!(
        value(
            &s,
            "piranha_director_state",
            &[("role", "master"), ("state", "active")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "piranha_heartbeats_rejected_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "piranha_daemon_up", &[("daemon", "pulse")]),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "piranha_daemon_up", &[("daemon", "lvsd")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn lvsd_down_is_stale_and_daemon_up_0() {
    let v = status_of(Fake {
        pulse: Some(PULSE),
        lvsd: None,
    })
    .await;
    assert_eq!(v["pulse"]["stale"], false);
    assert_eq!(v["lvsd"]["stale"], true);
    assert!(
        v["lvsd"]["error"]
            .as_str()
            .unwrap()
            .starts_with("lvsd not reachable at /nowhere"),
        "{v}"
    );
    assert!(v["lvsd"].get("virtual_servers").is_none(), "{v}");
    let s = parse(
        &metrics_of(Fake {
            pulse: Some(PULSE),
            lvsd: None,
        })
        .await,
    );
    assert_eq!(
        value(&s, "piranha_daemon_up", &[("daemon", "lvsd")]),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "piranha_daemon_up", &[("daemon", "pulse")]),
        Some(1.0)
    );
    assert_eq!(value(&s, "piranha_real_server_up", &[]), None);
}

#[tokio::test]
async fn pulse_down_is_stale_and_daemon_up_0() {
    let v = status_of(Fake {
        pulse: None,
        lvsd: Some(LVSD),
    })
    .await;
    assert_eq!(v["pulse"]["stale"], true);
    assert!(v["pulse"].get("role").is_none(), "{v}");
    assert_eq!(v["lvsd"]["stale"], false);
    let s = parse(
        &metrics_of(Fake {
            pulse: None,
            lvsd: Some(LVSD),
        })
        .await,
    );
    assert_eq!(
        value(&s, "piranha_daemon_up", &[("daemon", "pulse")]),
        Some(0.0)
    );
    assert_eq!(value(&s, "piranha_director_state", &[]), None);
    assert_eq!(
        value(&s, "piranha_real_server_up", &[("server", "a")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn both_routes_need_authentication() {
    let (_d, app) = app_reading(Arc::new(Fake {
        pulse: Some(PULSE),
        lvsd: Some(LVSD),
    }));
    for path in ["/api/v1/status", "/metrics"] {
        let req = request("GET", path).body(Body::empty()).unwrap();
        let (r, body) = send(&app, req).await;
        assert_eq!(r.status(), 401, "{path}");
        assert!(!body.contains("piranha_"), "{path}: {body}");
    }
}

/// The real socket reader against sockets served here: pulse writes its report and closes
/// without reading; lvsd reads its request line, then answers.
#[test]
fn the_socket_source_reads_both_daemons() {
    let d = TempDir::new("gui-status-sockets");
    let pulse_path = d.join("pulse.sock");
    let lvsd_path = d.join("lvsd.sock");
    let pulse = UnixListener::bind(&pulse_path).unwrap();
    let lvsd = UnixListener::bind(&lvsd_path).unwrap();
    let pulse_thread = std::thread::spawn(move || {
        let (mut s, _) = pulse.accept().unwrap();
        s.write_all(PULSE.as_bytes()).unwrap();
    });
    let lvsd_thread = std::thread::spawn(move || {
        let (s, _) = lvsd.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        (&s).write_all(LVSD.as_bytes()).unwrap();
        line
    });
    let src = SocketStatus::new(pulse_path, lvsd_path.clone());
    let p = src.pulse().unwrap();
    assert_eq!((p.role.as_str(), p.heartbeats_sent), ("master", 12));
    let l = src.lvsd().unwrap();
    assert_eq!(l.virtual_servers[0].real_servers[0].name, "a");
    pulse_thread.join().unwrap();
    assert_eq!(lvsd_thread.join().unwrap(), "status\n");

    // Nobody there: unreachable. A daemon that accepts and says nothing: a timeout, in time.
    let e = SocketStatus::new(d.join("none"), d.join("none"))
        .pulse()
        .unwrap_err();
    assert!(
        matches!(
            e,
            StatusError::Unreachable {
                daemon: "pulse",
                ..
            }
        ),
        "{e}"
    );
    let _mute = UnixListener::bind(d.join("mute.sock")).unwrap();
    let mut src = SocketStatus::new(d.join("mute.sock"), lvsd_path);
    src.timeout = std::time::Duration::from_millis(200);
    let t0 = std::time::Instant::now();
    let e = src.pulse().unwrap_err();
    assert!(matches!(e, StatusError::Timeout { daemon: "pulse" }), "{e}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(2));
}
