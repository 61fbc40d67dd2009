//! `GET /api/v1/config` and `PATCH /api/v1/config`: the typed model of lvs.cf.

use axum::body::Body;
use gui::api::lvs_cf::etag;
use serde_json::{Value, json};

use crate::common::*;

fn get_config() -> axum::http::Request<Body> {
    request("GET", "/api/v1/config")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap()
}

fn patch(if_match: Option<&str>, body: &Value) -> axum::http::Request<Body> {
    patch_raw(if_match, body.to_string())
}

fn patch_raw(if_match: Option<&str>, body: String) -> axum::http::Request<Body> {
    let mut b = request("PATCH", "/api/v1/config")
        .header("authorization", basic("piranha", PASSWORD))
        .header("content-type", "application/json");
    if let Some(t) = if_match {
        b = b.header("if-match", t);
    }
    b.body(Body::from(body)).unwrap()
}

fn add_c() -> Value {
    json!({"edits": [{"op": "add_server", "virtual": "web", "name": "c",
        "set": {"address": "10.1.0.3", "active": true, "weight": 2}}]})
}

/// The file, and the absence of any trace of a write.
fn assert_untouched(a: &App) {
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), CF);
    assert!(!a.dir.join("lvs.cf.prev").exists());
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn get_gives_the_model_with_the_etag_of_the_file() {
    let a = app();
    let (r, body) = send(&a.router, get_config()).await;
    assert_eq!(r.status(), 200, "{body}");
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    let tag = etag(CF.as_bytes());
    assert_eq!(header(&r, "etag"), Some(tag.as_str()));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["etag"], tag.as_str());
    assert_eq!(v["serial_no"], 7);
    assert_eq!(v["diagnostics"], json!([]));
    // The model as `lvscf dump --json` gives it.
    let model = lvscf::parse(CF).model;
    assert_eq!(v["config"], serde_json::to_value(&model).unwrap());
    assert_eq!(v["config"]["virtual_servers"][0]["servers"][0]["name"], "a");
    // The same tag as the text API's, so the two mix.
    let req = request("GET", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        header(&send(&a.router, req).await.0, "etag"),
        Some(tag.as_str())
    );
}

#[tokio::test]
async fn adding_a_real_server_keeps_the_comments_bumps_the_serial_and_reloads() {
    let a = app();
    let tag = etag(CF.as_bytes());
    let (r, body) = send(&a.router, patch(Some(&tag), &add_c())).await;
    assert_eq!(r.status(), 200, "{body}");
    let written = std::fs::read_to_string(&a.config).unwrap();
    // The parts the edit did not touch are as they were, byte for byte.
    let head = CF.replace("serial_no = 7", "serial_no = 8");
    let head = &head[..head.find("server a {").unwrap()];
    assert!(written.starts_with(head), "{written}");
    let parsed = lvscf::parse(&written);
    assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    let web = &parsed.model.virtual_servers[0];
    assert_eq!(web.servers.len(), 2);
    assert_eq!(web.servers[1].name, "c");
    assert_eq!(web.servers[1].weight, 2);
    assert!(web.servers[1].active);
    assert_eq!(parsed.model.serial_no, 8);
    assert_eq!(
        std::fs::read_to_string(a.dir.join("lvs.cf.prev")).unwrap(),
        CF
    );
    assert_eq!(*a.reloader.calls.lock().unwrap(), 1);
    let v: Value = serde_json::from_str(&body).unwrap();
    let new_tag = etag(written.as_bytes());
    assert_eq!(header(&r, "etag"), Some(new_tag.as_str()));
    assert_eq!(v["etag"], new_tag.as_str());
    assert_eq!(v["serial_no"], 8);
    assert_eq!(v["reload"], "ok");
    assert_eq!(v["config"], serde_json::to_value(&parsed.model).unwrap());
    // The old tag is stale now; the new one works, and the serial goes on.
    let (r, body) = send(&a.router, patch(Some(&tag), &json!({"edits": []}))).await;
    assert_eq!(r.status(), 412, "{body}");
    assert_eq!(header(&r, "etag"), Some(new_tag.as_str()));
    let edit = json!({"edits": [{"op": "set_server_active", "virtual": "web", "name": "a",
        "active": false}]});
    let (r, body) = send(&a.router, patch(Some(&new_tag), &edit)).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["serial_no"], 9);
    assert_eq!(
        v["config"]["virtual_servers"][0]["servers"][0]["active"],
        false
    );
    let written = std::fs::read_to_string(&a.config).unwrap();
    assert!(written.contains("# the GUI bumps this"), "{written}");
}

#[tokio::test]
async fn no_edits_only_bump_the_serial() {
    let a = app();
    let (r, body) = send(
        &a.router,
        patch(Some(&etag(CF.as_bytes())), &json!({"edits": []})),
    )
    .await;
    assert_eq!(r.status(), 200, "{body}");
    assert_eq!(
        std::fs::read_to_string(&a.config).unwrap(),
        CF.replace("serial_no = 7", "serial_no = 8")
    );
}

#[tokio::test]
async fn if_match_is_required_and_must_be_current() {
    let a = app();
    let (r, body) = send(&a.router, patch(None, &add_c())).await;
    assert_eq!(r.status(), 428, "{body}");
    let (r, body) = send(&a.router, patch(Some("\"0123\""), &add_c())).await;
    assert_eq!(r.status(), 412, "{body}");
    assert_eq!(header(&r, "etag"), Some(etag(CF.as_bytes()).as_str()));
    assert_untouched(&a);
}

#[tokio::test]
async fn bad_edits_are_422_and_the_file_is_unchanged() {
    let a = app();
    let tag = etag(CF.as_bytes());
    for (edit, says) in [
        (
            json!({"op": "add_server", "virtual": "web", "name": "c", "set": {"weight": -1}}),
            "weight: invalid value: integer `-1`",
        ),
        (
            json!({"op": "add_server", "virtual": "web", "name": "a"}),
            "there is a real server \"a\" of virtual server \"web\" already",
        ),
        (
            json!({"op": "update_virtual", "name": "nope", "set": {"port": 81}}),
            "there is no virtual server \"nope\"",
        ),
        (
            json!({"op": "set_global", "set": {"serial_no": 100}}),
            "\"serial_no\" cannot be set here",
        ),
    ] {
        let body = json!({"edits": [{"op": "set_virtual_active", "name": "web", "active": false},
            edit]});
        let (r, reply) = send(&a.router, patch(Some(&tag), &body)).await;
        assert_eq!(r.status(), 422, "{reply}");
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["edit"], 1, "{reply}");
        let error = v["error"].as_str().unwrap();
        assert!(error.starts_with("edit 1 ("), "{error}");
        assert!(error.contains(says), "{error}");
    }
    // Not a list of edits: 422; not JSON: 400.
    for (body, status) in [
        (r#"{"edits": [{"op": "explode"}]}"#, 422),
        (r#"{"edit": []}"#, 422),
        ("[]", 422),
        (
            &format!(
                r#"{{"edits": [{}]}}"#,
                vec![r#"{"op": "delete_virtual", "name": "web"}"#; gui::api::config::MAX_EDITS + 1]
                    .join(",")
            ),
            422,
        ),
        ("{\"edits\": [", 400),
        ("", 400),
    ] {
        let (r, reply) = send(&a.router, patch_raw(Some(&tag), body.to_string())).await;
        assert_eq!(r.status(), status, "{reply}");
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert!(
            v["error"].as_str().unwrap().starts_with("bad body: "),
            "{reply}"
        );
    }
    assert_untouched(&a);
}

#[tokio::test]
async fn a_result_lvscf_refuses_is_422_with_its_diagnostics_and_text() {
    let a = app();
    let tag = etag(CF.as_bytes());
    // A second service on web's address and port: a semantic error of the whole file.
    let body = json!({"edits": [{"op": "add_virtual", "name": "twin", "set": {
        "active": true, "address": {"address": "10.0.0.100", "device": "eth0:2"}}}]});
    let (r, reply) = send(&a.router, patch(Some(&tag), &body)).await;
    assert_eq!(r.status(), 422, "{reply}");
    let v: Value = serde_json::from_str(&reply).unwrap();
    let d = v["diagnostics"].as_array().unwrap();
    let e = d.iter().find(|d| d["severity"] == "error").unwrap();
    let text = v["text"].as_str().unwrap();
    let line = text
        .lines()
        .nth(e["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    assert!(
        line.contains("virtual twin") || line.contains("10.0.0.100"),
        "{line}: {reply}"
    );
    assert_untouched(&a);
}

#[tokio::test]
async fn a_file_with_errors_has_no_model_and_cannot_be_patched() {
    let a = app();
    let broken = CF.replace(
        "    active = 1\n    address",
        "    active = perhaps\n    address",
    );
    std::fs::write(&a.config, &broken).unwrap();
    let (r, body) = send(&a.router, get_config()).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["config"], Value::Null);
    assert_eq!(v["serial_no"], Value::Null);
    assert_eq!(v["diagnostics"][0]["line"], 7, "{body}");
    let tag = etag(broken.as_bytes());
    assert_eq!(v["etag"], tag.as_str());
    let (r, body) = send(&a.router, patch(Some(&tag), &add_c())).await;
    assert_eq!(r.status(), 409, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["diagnostics"][0]["line"], 7, "{body}");
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), broken);
    assert_eq!(*a.reloader.calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn the_two_apis_mix() {
    let a = app();
    // PATCH, then PUT with the tag PATCH gave, then PATCH with the tag PUT gave.
    let (r, _) = send(&a.router, patch(Some(&etag(CF.as_bytes())), &add_c())).await;
    let tag = header(&r, "etag").unwrap().to_owned();
    let text = std::fs::read_to_string(&a.config).unwrap();
    let req = request("PUT", "/api/v1/lvs.cf")
        .header("authorization", basic("piranha", PASSWORD))
        .header("if-match", &tag)
        .body(Body::from(text.replace("10.1.0.3", "10.1.0.4")))
        .unwrap();
    let (r, body) = send(&a.router, req).await;
    assert_eq!(r.status(), 200, "{body}");
    let tag = header(&r, "etag").unwrap().to_owned();
    let del = json!({"edits": [{"op": "delete_server", "virtual": "web", "name": "c"}]});
    let (r, body) = send(&a.router, patch(Some(&tag), &del)).await;
    assert_eq!(r.status(), 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["serial_no"], 10);
    let written = std::fs::read_to_string(&a.config).unwrap();
    assert!(!written.contains("server c"), "{written}");
    assert_eq!(*a.reloader.calls.lock().unwrap(), 3);
}

#[tokio::test]
async fn a_session_needs_its_csrf_token_to_patch() {
    let a = app();
    let (cookie, csrf) = login(&a.router).await;
    let tag = etag(CF.as_bytes());
    let with = |token: Option<&str>| {
        let mut b = request("PATCH", "/api/v1/config")
            .header("cookie", &cookie)
            .header("if-match", &tag);
        if let Some(t) = token {
            b = b.header("x-csrf-token", t);
        }
        b.body(Body::from(add_c().to_string())).unwrap()
    };
    assert_eq!(send(&a.router, with(None)).await.0.status(), 403);
    assert_eq!(send(&a.router, with(Some("00"))).await.0.status(), 403);
    assert_untouched(&a);
    // GET needs no token; PATCH with it goes through.
    let req = request("GET", "/api/v1/config")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 200);
    let (r, body) = send(&a.router, with(Some(&csrf))).await;
    assert_eq!(r.status(), 200, "{body}");
    // Unauthenticated: 401, before anything else.
    let req = request("PATCH", "/api/v1/config")
        .header("if-match", &tag)
        .body(Body::from(add_c().to_string()))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 401);
}

#[tokio::test]
async fn other_methods_are_405() {
    let a = app();
    for method in ["PUT", "POST", "DELETE"] {
        let req = request(method, "/api/v1/config")
            .header("authorization", basic("piranha", PASSWORD))
            .body(Body::from(add_c().to_string()))
            .unwrap();
        assert_eq!(send(&a.router, req).await.0.status(), 405, "{method}");
    }
    assert_untouched(&a);
}
