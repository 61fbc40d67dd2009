//! The server-rendered pages (issue 15): every page for a logged-in browser, 401 without a
//! session, the frame (tabs, logout, flash, not-primary warning), the monitoring page from the
//! daemons' reports (stale ones shown as stale) and its controls, CSRF on every form, assets.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::Response;
use gui::api::{Action, ControlError, Controller};
use gui::auth::PasswordFile;
use gui::server::{AppState, router};
use gui::status::{LvsdReport, PulseReport, StatusError, StatusSource};
use testkit::tempdir::TempDir;

use crate::common::*;

/// A logged-in browser: its cookie and CSRF token.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub async fn login(app: &Router) -> Browser {
        let (cookie, csrf) = login(app).await;
        Browser { cookie, csrf }
    }

    pub async fn get(&self, app: &Router, path: &str) -> (Response<()>, String) {
        let req = request("GET", path)
            .header("cookie", &self.cookie)
            .body(Body::empty())
            .unwrap();
        send(app, req).await
    }

    /// POST a form with the session's CSRF token (first) and `pairs`.
    pub async fn post(
        &self,
        app: &Router,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> (Response<()>, String) {
        let mut all = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(app, path, &serde_urlencoded::to_string(&all).unwrap())
            .await
    }

    pub async fn post_raw(&self, app: &Router, path: &str, body: &str) -> (Response<()>, String) {
        let req = request("POST", path)
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        send(app, req).await
    }
}

/// The value of the hidden input `name` in a page.
pub fn hidden(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + key.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Apply the change a diff page proposes.
pub async fn apply(b: &Browser, app: &Router, diff_page: &str) -> (Response<()>, String) {
    let (text, etag, back) = (
        hidden(diff_page, "text"),
        hidden(diff_page, "etag"),
        hidden(diff_page, "back"),
    );
    b.post(
        app,
        "/apply",
        &[("text", &text), ("etag", &etag), ("back", &back)],
    )
    .await
}

const PAGES: &[(&str, &str)] = &[
    ("/monitor", "tab-monitor"),
    ("/global", "tab-global"),
    ("/redundancy", "tab-redundancy"),
    ("/virtual", "tab-virtual"),
    ("/virtual/new", "tab-virtual"),
    ("/virtual/web", "tab-virtual"),
    ("/virtual/web/real/a", "tab-virtual"),
    ("/virtual/web/real/new", "tab-virtual"),
    ("/failover", "tab-failover"),
    ("/failover/new", "tab-failover"),
    ("/lvs.cf", "tab-lvscf"),
];

#[tokio::test]
async fn every_page_renders_for_a_session_and_none_without() {
    let a = app();
    let b = Browser::login(&a.router).await;
    for (path, tab) in PAGES {
        let (r, body) = b.get(&a.router, path).await;
        assert_eq!(r.status(), 200, "{path}: {body}");
        assert_eq!(
            header(&r, "content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(body.contains("<nav id=\"tabs\""), "{path}");
        assert!(body.contains(&format!("id=\"{tab}\" href=")), "{path}");
        let link = &body[body.find(&format!("id=\"{tab}\"")).unwrap()..];
        assert!(
            link[..link.find('>').unwrap()].contains("aria-current=\"page\""),
            "{path}"
        );
        assert_eq!(body.matches("aria-current=\"page\"").count(), 1, "{path}");
        assert!(
            body.contains("<form id=\"logout\" method=\"post\" action=\"/logout\">"),
            "{path}"
        );
        assert!(
            body.contains(&format!("name=\"csrf_token\" value=\"{}\"", b.csrf)),
            "{path}"
        );
        assert!(body.contains("name=\"viewport\""), "{path}");
        // No inline script or style: the CSP allows neither.
        assert!(
            !body.contains("<script>") && !body.contains("<style") && !body.contains(" style="),
            "{path}"
        );
        assert!(!body.contains(" onclick="), "{path}");
        // Every form that posts carries the token.
        assert_eq!(
            body.matches("method=\"post\"").count(),
            body.matches("name=\"csrf_token\"").count(),
            "{path}"
        );
        // Without a session: 401, and nothing of the page.
        let req = request("GET", path).body(Body::empty()).unwrap();
        let (r, body) = send(&a.router, req).await;
        assert_eq!(r.status(), 401, "{path}");
        assert!(!body.contains("tabs"), "{path}");
    }
    // The edit pages name the current tab's link.
    let (_, body) = b.get(&a.router, "/global").await;
    assert!(body.contains("<a id=\"tab-global\" href=\"/global\" aria-current=\"page\">"));
}

#[tokio::test]
async fn the_login_form_lands_on_monitor_and_logout_ends_the_session() {
    let a = app();
    let b = Browser::login(&a.router).await;
    let (r, _) = b.post(&a.router, "/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let (r, _) = b.get(&a.router, "/monitor").await;
    assert_eq!(r.status(), 401);
    let req = request("GET", "/login").body(Body::empty()).unwrap();
    let (_, login) = send(&a.router, req).await;
    assert!(login.contains("href=\"/assets/app.css\"") && login.contains("name=\"password\""));
}

#[tokio::test]
async fn assets_are_served_by_the_binary_to_anyone() {
    let a = app();
    for (path, ctype, needle) in [
        ("/assets/app.css", "text/css; charset=utf-8", "@media"),
        (
            "/assets/app.js",
            "text/javascript; charset=utf-8",
            "EventSource('/api/v1/events')",
        ),
        ("/assets/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let req = request("GET", path).body(Body::empty()).unwrap();
        let (r, body) = send(&a.router, req).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), Some(ctype));
        assert!(body.contains(needle), "{path}");
        // The SVG namespace is a name, not a place to load from.
        let body = body.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}: no external asset"
        );
    }
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_write_nothing() {
    let a = app();
    let b = Browser::login(&a.router).await;
    for path in [
        "/global",
        "/redundancy",
        "/virtual/new",
        "/virtual/web",
        "/virtual/web/delete",
        "/virtual/web/real/a",
        "/failover/new",
        "/apply",
        "/lvs.cf",
        "/monitor/servers/web/a/drain",
    ] {
        let (r, _) = b.post_raw(&a.router, path, "primary=10.9.9.9&name=x").await;
        assert_eq!(r.status(), 403, "{path}");
        let (r, _) = b
            .post_raw(&a.router, path, "csrf_token=wrong&primary=10.9.9.9")
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    // A cross-site post is refused even with the token.
    let req = request("POST", "/global")
        .header("cookie", &b.cookie)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf_token={}&primary=10.9.9.9",
            b.csrf
        )))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0.status(), 403);
    assert_eq!(std::fs::read_to_string(&a.config).unwrap(), CF);
}

#[tokio::test]
async fn a_browsers_own_form_post_with_origin_null_passes() {
    // Chromium sends `Origin: null` for a page's form posts under Referrer-Policy: no-referrer,
    // and marks them `Sec-Fetch-Site: same-origin`.
    let a = app();
    let login = |origin: &str, site: Option<&str>| {
        let mut r = request("POST", "/login")
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(site) = site {
            r = r.header("sec-fetch-site", site);
        }
        r.body(Body::from(format!("user=piranha&password={PASSWORD}")))
            .unwrap()
    };
    let (r, _) = send(&a.router, login("null", Some("same-origin"))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(header(&r, "location"), Some("/monitor"));
    for (origin, site) in [
        ("null", None),
        ("null", Some("same-site")),
        ("null", Some("cross-site")),
        ("http://evil.example", Some("cross-site")),
    ] {
        let (r, _) = send(&a.router, login(origin, site)).await;
        assert_eq!(r.status(), 403, "{origin} {site:?}");
    }
}

#[tokio::test]
async fn the_warning_shows_on_a_host_that_is_not_the_primary() {
    let a = app();
    let b = Browser::login(&a.router).await;
    // CF's primary is 10.0.0.1, not an address of this host.
    let (_, body) = b.get(&a.router, "/monitor").await;
    assert!(body.contains("id=\"not-primary-warning\""));
    std::fs::write(
        &a.config,
        CF.replace("primary = 10.0.0.1", "primary = 127.0.0.1"),
    )
    .unwrap();
    let (_, body) = b.get(&a.router, "/virtual").await;
    assert!(!body.contains("not-primary-warning"), "{body}");
}

/// Reports from fixed texts; `None` is a daemon that does not answer.
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
        Ok(serde_json::from_str(self.pulse.ok_or_else(|| down("pulse"))?).unwrap())
    }
    fn lvsd(&self) -> Result<LvsdReport, StatusError> {
        Ok(serde_json::from_str(self.lvsd.ok_or_else(|| down("lvsd"))?).unwrap())
    }
}

/// Records controls and answers as told.
#[derive(Debug, Default)]
struct FakeLvsd {
    calls: Mutex<Vec<(String, String, Action)>>,
    fail: Mutex<bool>,
}

impl Controller for FakeLvsd {
    fn control(&self, v: &str, s: &str, action: Action) -> Result<(), ControlError> {
        self.calls
            .lock()
            .unwrap()
            .push((v.into(), s.into(), action));
        if *self.fail.lock().unwrap() {
            return Err(ControlError::NoServer(format!("no real server {v}/{s}")));
        }
        Ok(())
    }
}

const PULSE: &str = r#"{"role":"master","state":"active","partner":"10.0.0.2",
"partner_last_heard_ms":300,"partner_state":"inactive","vips":["10.0.0.100/32 eth0:1"]}"#;

const LVSD: &str = r#"{"dataplane":"userspace","virtual_servers":[{"name":"web",
"service":"TCP 10.0.0.100:80","in_table":false,"real_servers":[{"name":"a","address":"10.1.0.1","port":80,
"health":"down","in_table":false,"weight":3,"admin":"drained","since_secs":125.5,
"traffic":{"active_conns":4,"inactive_conns":2}},{"name":"<b>x</b>","address":"10.1.0.2",
"port":80,"health":"up","in_table":true,"weight":1}]}]}"#;

fn monitored(
    pulse: Option<&'static str>,
    lvsd: Option<&'static str>,
) -> (TempDir, Router, Arc<FakeLvsd>) {
    let dir = TempDir::new("gui-pages-monitor");
    let config = dir.write("lvs.cf", CF);
    let passwd = password_file(&dir);
    let ctl = Arc::new(FakeLvsd::default());
    let state = AppState::new(
        config,
        PasswordFile::open(&passwd).unwrap(),
        Arc::new(FakeReloader::default()),
        false,
    )
    .unwrap()
    .with_status(Arc::new(Fake { pulse, lvsd }))
    .with_controller(ctl.clone());
    (dir, router(state), ctl)
}

/// The text of the first element with `attr` in `html`.
fn text_of<'a>(html: &'a str, attr: &str) -> &'a str {
    let at = html.find(attr).unwrap_or_else(|| panic!("no {attr}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    &html[start..start + html[start..].find('<').unwrap()]
}

#[tokio::test]
async fn monitor_shows_both_nodes_the_vips_and_every_real_server() {
    let (_d, app, _) = monitored(Some(PULSE), Some(LVSD));
    let b = Browser::login(&app).await;
    let (r, body) = b.get(&app, "/monitor").await;
    assert_eq!(r.status(), 200);
    assert_eq!(text_of(&body, "id=\"pulse-state\""), "master, active");
    assert_eq!(
        text_of(&body, "id=\"partner-state\""),
        "10.0.0.2: inactive, last heard 0s ago"
    );
    assert_eq!(text_of(&body, "id=\"vips\""), "10.0.0.100/32 eth0:1");
    let row = &body[body.find("data-virtual=\"web\" data-server=\"a\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    for (cell, want) in [
        ("class=\"health health-down\"", "down"),
        ("class=\"weight\"", "3"),
        ("class=\"in-table\"", "no"),
        ("class=\"active-conns\"", "4"),
        ("class=\"inactive-conns\"", "2"),
        ("class=\"since\"", "2m 5s"),
        ("class=\"admin\"", "drained"),
    ] {
        assert_eq!(text_of(row, cell), want, "{cell}");
    }
    for action in ["drain", "disable", "enable", "weight"] {
        assert!(
            row.contains(&format!("action=\"/monitor/servers/web/a/{action}\"")),
            "{action}"
        );
    }
    assert!(row.contains("class=\"set-weight\"") && row.contains("name=\"weight\""));
    // A hostile name from lvsd is escaped, in text, attributes and the control's path.
    assert!(!body.contains("<b>x</b>"));
    assert!(body.contains("data-server=\"&lt;b&gt;x&lt;/b&gt;\""));
    assert!(body.contains("/monitor/servers/web/%3Cb%3Ex%3C%2Fb%3E/drain"));
    assert!(!body.contains("class=\"stale\""));
    let vs = &body[body.find("<tr data-vs=\"web\">").unwrap()..];
    assert_eq!(text_of(vs, "class=\"service\""), "TCP 10.0.0.100:80");
    assert_eq!(text_of(vs, "class=\"up\""), "1 of 2");
    assert_eq!(text_of(vs, "class=\"in-table\""), "no");
}

#[tokio::test]
async fn a_daemon_that_does_not_answer_is_shown_stale() {
    let (_d, app, _) = monitored(None, None);
    let b = Browser::login(&app).await;
    let (r, body) = b.get(&app, "/monitor").await;
    assert_eq!(r.status(), 200);
    for id in ["pulse-state", "partner-state", "vips", "lvsd-state"] {
        let at = body
            .find(&format!("id=\"{id}\" class=\"stale\""))
            .unwrap_or_else(|| panic!("{id}: {body}"));
        assert!(
            body[at..].starts_with(&format!("id=\"{id}\" class=\"stale\">stale: ")),
            "{id}"
        );
    }
    // lvs.cf's servers, with nothing claimed about them.
    let row = &body[body
        .find("data-virtual=\"web\" data-server=\"a\" class=\"stale\"")
        .unwrap()..];
    assert_eq!(text_of(row, "class=\"health health-unknown\""), "unknown");
    assert!(!body.contains("master"));
}

#[tokio::test]
async fn the_controls_act_through_lvsd_and_come_back_with_a_flash() {
    let (_d, app, ctl) = monitored(Some(PULSE), Some(LVSD));
    let b = Browser::login(&app).await;
    let (r, _) = b.post(&app, "/monitor/servers/web/a/drain", &[]).await;
    assert_eq!(r.status(), 303);
    let to = header(&r, "location").unwrap().to_owned();
    assert_eq!(to, "/monitor?flash=drain&target=web%2Fa");
    let (_, body) = b.get(&app, &to).await;
    assert_eq!(text_of(&body, "id=\"flash\""), "drained web/a");
    let (r, _) = b
        .post(&app, "/monitor/servers/web/a/weight", &[("weight", "7")])
        .await;
    assert_eq!(r.status(), 303);
    let (r, body) = b
        .post(
            &app,
            "/monitor/servers/web/a/weight",
            &[("weight", "70000")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(text_of(&body, "id=\"flash\"").contains("a weight is a number from 0 to 65535"));
    assert_eq!(
        *ctl.calls.lock().unwrap(),
        [
            ("web".into(), "a".into(), Action::Drain),
            ("web".into(), "a".into(), Action::Weight(7))
        ]
    );
    *ctl.fail.lock().unwrap() = true;
    let (r, body) = b.post(&app, "/monitor/servers/web/zz/disable", &[]).await;
    assert_eq!(r.status(), 404);
    assert!(text_of(&body, "id=\"flash\"").contains("no real server web/zz"));
    let (r, _) = b.post(&app, "/monitor/servers/web/a/explode", &[]).await;
    assert_eq!(r.status(), 404);
}
