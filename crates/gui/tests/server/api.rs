use axum::body::Body;
use serde_json::Value;

use crate::common::*;

fn get(_a: &App) -> axum::http::Request<Body> {
    request("GET", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap()
}

fn put(if_match: Option<&str>, text: &str) -> axum::http::Request<Body> {
    let mut b =
        request("PUT", "/api/v1/lvs.cf").header("authorization", basic("piranha", PASSWORD));
    if let Some(t) = if_match {
        b = b.header("if-match", t);
    }
    b.body(Body::from(text.to_owned())).unwrap()
}

#[tokio::test]
async fn get_gives_the_file_with_a_strong_etag() {
    let a = app();
    let (r, body) = send(&a.router, get(&a)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body, CF);
    assert_eq!(
        header(&r, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    let tag = header(&r, "etag").unwrap();
    assert_eq!(tag, gui::api::lvs_cf::etag(CF.as_bytes()));
    assert!(tag.starts_with('"') && tag.len() == 42, "{tag}");
}

#[tokio::test]
async fn put_needs_if_match_and_a_fresh_etag() {
    let a = app();
    let (r, body) = send(&a.router, put(None, CF)).await;
    assert_eq!(r.status(), 428, "{body}");
    let (r, body) = send(&a.router, put(Some("\"0123\""), CF)).await;
    assert_eq!(r.status(), 412, "{body}");
    assert_eq!(
        header(&r, "etag").unwrap(),
        gui::api::lvs_cf::etag(CF.as_bytes())
    );
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), CF);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn two_writers_from_one_version_one_wins_one_gets_412() {
    let a = app();
    let (r, _) = send(&a.router, get(&a)).await;
    let tag = header(&r, "etag").unwrap().to_owned();
    let first = CF.replace("10.1.0.1", "10.1.0.2");
    let second = CF.replace("10.1.0.1", "10.1.0.3");
    assert_eq!(
        send(&a.router, put(Some(&tag), &first)).await.0.status(),
        200
    );
    assert_eq!(
        send(&a.router, put(Some(&tag), &second)).await.0.status(),
        412
    );
    assert!(
        std::fs::read_to_string(&a.config)
            .unwrap()
            .contains("10.1.0.2")
    );
}

#[tokio::test]
async fn a_broken_file_is_422_with_diagnostics_and_nothing_written() {
    let a = app();
    let tag = gui::api::lvs_cf::etag(CF.as_bytes());
    let broken = CF.replace(
        "    active = 1\n    address",
        "    active = perhaps\n    address",
    );
    let (r, body) = send(&a.router, put(Some(&tag), &broken)).await;
    assert_eq!(r.status(), 422, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["line"], 7, "{body}");
    assert_eq!(d["column"], 14, "{body}");
    assert_eq!(d["severity"], "error");
    assert!(!d["message"].as_str().unwrap().is_empty());
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), CF);
    assert!(!a.dir.join("lvs.cf.prev").exists());
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
    // Not UTF-8: 422 as well.
    let req = request("PUT", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .header("if-match", &tag)
        .body(Body::from(vec![0xff, 0xfe]))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 422);
}

#[tokio::test]
async fn a_good_file_is_written_with_its_serial_bumped_and_the_daemons_told() {
    let a = app();
    let tag = gui::api::lvs_cf::etag(CF.as_bytes());
    let edited = CF.replace("    server a {", "    # the new one\n    server a {");
    let (r, body) = send(&a.router, put(Some(&tag), &edited)).await;
    assert_eq!(r.status(), 200, "{body}");
    let written = std::fs::read_to_string(&a.config).unwrap();
    assert_eq!(
        written,
        edited.replace("serial_no = 7 #", "serial_no = 8 #")
    );
    assert_eq!(
        std::fs::read_to_string(a.dir.join("lvs.cf.prev")).unwrap(),
        CF
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["serial_no"], 8);
    assert_eq!(v["reload"], "ok");
    let new_tag = gui::api::lvs_cf::etag(written.as_bytes());
    assert_eq!(v["etag"], new_tag.as_str());
    assert_eq!(header(&r, "etag"), Some(new_tag.as_str()));
    assert_eq!(*a.reloader.calls.lock().unwrap(), 1);
    // The ETag of the reply is what GET gives now.
    let (r, _) = send(&a.router, get(&a)).await;
    assert_eq!(header(&r, "etag"), Some(new_tag.as_str()));
}

#[tokio::test]
async fn a_failed_reload_is_reported_not_an_error_of_the_write() {
    let a = app();
    *a.reloader.refuse.lock().unwrap() = Some("lvs.cf:3: nope".into());
    let tag = gui::api::lvs_cf::etag(CF.as_bytes());
    let (r, body) = send(&a.router, put(Some(&tag), CF)).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["reload"], "lvsd refused the reload: lvs.cf:3: nope");
    assert!(
        std::fs::read_to_string(&a.config)
            .unwrap()
            .contains("serial_no = 8")
    );
}

#[tokio::test]
async fn an_unreachable_lvsd_is_reported() {
    let dir = testkit::tempdir::TempDir::new("gui-unreachable");
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(&dir);
    let state = gui::server::AppState::new(
        config.clone(),
        gui::auth::PasswordFile::open(&passwd).unwrap(),
        std::sync::Arc::new(gui::api::LvsdSocket::new(dir.join("no.sock"))),
        false,
    )
    .unwrap();
    let router = gui::server::router(state);
    let tag = gui::api::lvs_cf::etag(CF.as_bytes());
    let (r, body) = send(&router, put(Some(&tag), CF)).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let reload = v["reload"].as_str().unwrap();
    assert!(reload.starts_with("lvsd not reachable: "), "{reload}");
}
