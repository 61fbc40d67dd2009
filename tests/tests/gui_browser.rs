//! piranha-gui's pages in a real browser (headless Chromium over WebDriver), on a real
//! director: lvsd on the userspace data plane with real nannies checking two real nginx
//! servers, all in one network namespace with the browser. An admin logs in; sees a real
//! server go down on the monitoring page without a reload within 2 s of its nginx being
//! stopped; drains, disables, enables and weights the other from the page; adds a virtual
//! server and its real server through the forms (diff, apply) and it is served through its
//! VIP, then deletes it; a broken value shows lvscf's message at its field (and on the lvs.cf
//! page at its line) and writes nothing; an apply over a file changed meanwhile is refused; a
//! cross-site form post is refused; logging out ends the session. Each page's screenshot goes to `<target dir>/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::browser::{self, Browser};
use testkit::http::http;
use testkit::netns::{Netns, in_netns, unique_name};
use testkit::nginx::{self, Nginx};
use testkit::process::Proc;
use testkit::servers::TcpServer;
use testkit::status::read_json;
use testkit::tempdir::TempDir;
use testkit::{S, root_or_skip};

const GUI: &str = "127.0.0.1:3636";
const BASE: &str = "http://127.0.0.1:3636";
/// The cross-site attacker's page: same host, another port (same site, another origin: the
/// browser sends the session cookie, so only the guard stands in the way).
const EVIL: &str = "127.0.0.1:3637";
const PASSWORD: &str = "br0wser-s3cret";
const VIP: &str = "127.0.0.100:8080";
const NEW_VIP: &str = "127.0.0.101:8081";

/// `timeout = 1`: nanny checks every second and one failed check takes a server out, so
/// a stopped server is seen within about a second, the page's events add at most another.
fn lvs_cf() -> String {
    "serial_no = 1\n\
     primary = 127.0.0.1\n\
     service = lvs\n\
     network = nat\n\
     dataplane = userspace\n\
     virtual web {\n\
     \x20   active = 1\n\
     \x20   address = 127.0.0.100 lo:1\n\
     \x20   port = 8080\n\
     \x20   scheduler = rr\n\
     \x20   timeout = 1\n\
     \x20   reentry = 1\n\
     \x20   server r1 {\n\
     \x20       address = 127.0.0.11\n\
     \x20       port = 80\n\
     \x20       active = 1\n\
     \x20   }\n\
     \x20   server r2 {\n\
     \x20       address = 127.0.0.12\n\
     \x20       port = 80\n\
     \x20       active = 1\n\
     \x20   }\n\
     }\n"
    .to_owned()
}

/// The director: lvs.cf, lvsd with its nannies, and piranha-gui, in the calling thread's
/// namespace.
struct Director {
    dir: TempDir,
    lvsd: Proc,
    gui: Proc,
}

impl Director {
    fn start() -> Director {
        let dir = TempDir::new("gui-browser");
        dir.write("lvs.cf", &lvs_cf());
        gui::passwd_cmd::set_password(&dir.join("piranha.passwd"), "piranha", PASSWORD).unwrap();
        let lvsd = Proc::spawn_ready(
            Command::new(testkit::bins::bin("lvsd"))
                .args(["-n", "--dataplane", "userspace", "--nanny"])
                .arg(testkit::bins::bin("nanny"))
                .arg("-c")
                .arg(dir.join("lvs.cf"))
                .arg("--socket")
                .arg(dir.join("lvsd.sock"))
                .arg("--state-file")
                .arg(dir.join("lvsd.state")),
            &dir.join("notify"),
            S(30),
        );
        let gui = Proc::spawn(
            Command::new(testkit::bins::bin("piranha-gui"))
                .args(["-n", "--allow-root", "--listen", GUI, "-c"])
                .arg(dir.join("lvs.cf"))
                .arg("--passwd")
                .arg(dir.join("piranha.passwd"))
                .arg("--lvsd-socket")
                .arg(dir.join("lvsd.sock"))
                .arg("--pulse-socket")
                .arg(dir.join("no-pulse.sock")),
        );
        gui.expect_line("piranha-gui: serving ", S(30));
        Director { dir, lvsd, gui }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("lvs.cf")
    }

    fn lvsd_status(&self) -> Value {
        read_json(&self.dir.join("lvsd.sock")).unwrap_or(Value::Null)
    }

    /// Wait until lvsd's own status report satisfies `f`.
    fn wait_lvsd(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        testkit::wait::expect(
            S(20),
            || Some(self.lvsd_status()).filter(|s| f(s)),
            || {
                format!(
                    "{what}: {:#}\nlvsd:\n{}\ngui:\n{}",
                    self.lvsd_status(),
                    self.lvsd.output(),
                    self.gui.output()
                )
            },
        )
    }
}

/// A real server of lvsd's status report (virtual server `v`, server `name`).
fn real<'a>(st: &'a Value, v: &str, name: &str) -> &'a Value {
    st["virtual_servers"]
        .as_array()
        .and_then(|vs| vs.iter().find(|x| x["name"] == v))
        .and_then(|x| x["real_servers"].as_array())
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .unwrap_or(&Value::Null)
}

/// One HTTP request to `addr`: the body, or `None` when nothing answers.
fn fetch(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect_timeout(&addr.parse().ok()?, S(2)).ok()?;
    c.set_read_timeout(Some(S(5))).ok()?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut s = String::new();
    c.read_to_string(&mut s).ok()?;
    Some(s.split_once("\r\n\r\n")?.1.trim().to_owned())
}

fn row(server: &str, cell: &str) -> String {
    format!("table#real-servers tr[data-virtual=\"web\"][data-server=\"{server}\"] td.{cell}")
}

async fn log_in(b: &Browser) {
    b.goto(&format!("{BASE}/login")).await;
    b.find("input[name=password]", S(10)).await;
    b.screenshot("login").await;
    b.fill("input[name=user]", "piranha").await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.wait_url(S(10), |u| u.contains("/monitor")).await;
}

/// Both up; r2's nginx stopped → its health cell says `down` within 2 s, no reload.
async fn a_stopped_server_goes_down_live(b: &Browser, r2: Nginx) -> Duration {
    for r in ["r1", "r2"] {
        b.wait_text(&row(r, "health"), S(20), |t| t == "up").await;
    }
    b.find("#pulse-state", S(5)).await;
    assert!(b.try_find("#not-primary-warning").await.is_none());
    b.screenshot("monitor").await;
    // A mark on this very document: gone if the page were reloaded.
    b.client
        .execute("window.notReloaded = true; return true;", vec![])
        .await
        .unwrap();
    let t0 = Instant::now();
    r2.stop();
    let (_, _) = b
        .wait_text(&row("r2", "health"), S(15), |t| t == "down")
        .await;
    let took = t0.elapsed();
    let same = b
        .client
        .execute("return window.notReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, Value::Bool(true), "the page was reloaded");
    assert_eq!(b.text(&row("r1", "health")).await.as_deref(), Some("up"));
    b.scroll_to("table#real-servers").await;
    b.screenshot("monitor-r2-down").await;
    took
}

/// Drain r1 with its button: the table shows weight 0, and lvsd agrees; then disable and
/// enable it.
async fn drain_from_the_page(b: &Browser, d: &Director) {
    assert_ne!(b.text(&row("r1", "weight")).await.as_deref(), Some("0"));
    b.click("table#real-servers tr[data-virtual=\"web\"][data-server=\"r1\"] button.drain")
        .await;
    b.wait_text("div#flash", S(10), |t| t.contains("drained"))
        .await;
    b.wait_text(&row("r1", "weight"), S(10), |t| t == "0").await;
    assert_eq!(b.text(&row("r1", "in-table")).await.as_deref(), Some("yes"));
    d.wait_lvsd("r1 drained", |st| {
        let r = real(st, "web", "r1");
        r["admin"] == "drained" && r["weight"] == 0 && r["in_table"] == true
    });
    // Disable takes it out of the table; enable gives it back to its checks.
    let r1 = "table#real-servers tr[data-virtual=\"web\"][data-server=\"r1\"]";
    b.click(&format!("{r1} button.disable")).await;
    b.wait_text("div#flash", S(10), |t| t.contains("disabled"))
        .await;
    b.wait_text(&row("r1", "in-table"), S(10), |t| t == "no")
        .await;
    d.wait_lvsd("r1 disabled", |st| {
        let r = real(st, "web", "r1");
        r["admin"] == "disabled" && r["in_table"] == false
    });
    assert_eq!(fetch(VIP), None, "served with every real server out");
    b.click(&format!("{r1} button.enable")).await;
    b.wait_text("div#flash", S(10), |t| t.contains("enabled"))
        .await;
    b.wait_text(&row("r1", "in-table"), S(10), |t| t == "yes")
        .await;
    b.wait_text(&row("r1", "weight"), S(10), |t| t != "0").await;
    d.wait_lvsd("r1 enabled", |st| {
        let r = real(st, "web", "r1");
        r["admin"].is_null() && r["in_table"] == true
    });
    assert_eq!(fetch(VIP).as_deref(), Some("r1"));
    // A weight from the page: lvsd holds it as r1's control, the cell shows lvsd's weight.
    b.fill(&format!("{r1} input[name=weight]"), "3").await;
    b.click(&format!("{r1} button.set-weight")).await;
    b.wait_text("div#flash", S(10), |t| t.contains("weight"))
        .await;
    let st = d.wait_lvsd("r1 at weight 3", |st| {
        real(st, "web", "r1")["admin"] == "weight 3"
    });
    let w = real(&st, "web", "r1")["weight"].to_string();
    b.wait_text(&row("r1", "weight"), S(10), |t| t == w).await;
    b.click(&format!("{r1} button.enable")).await;
    d.wait_lvsd("r1 enabled again", |st| {
        real(st, "web", "r1")["admin"].is_null()
    });
}

/// Every tab renders; a screenshot of each.
async fn every_page_renders(b: &Browser) {
    for (tab, path, probe) in [
        ("global", "/global", "form#edit-form"),
        ("redundancy", "/redundancy", "form#edit-form"),
        ("virtual", "/virtual", "table#virtual-servers"),
        ("failover", "/failover", "table#failover-services"),
        ("lvscf", "/lvs.cf", "pre#lvscf-view"),
    ] {
        b.click(&format!("nav#tabs a#tab-{tab}")).await;
        b.wait_url(S(10), |u| u.ends_with(path)).await;
        b.find(probe, S(10)).await;
        let current = b
            .find(&format!("a#tab-{tab}"), S(2))
            .await
            .attr("aria-current")
            .await
            .unwrap();
        assert_eq!(current.as_deref(), Some("page"), "{path}");
        b.screenshot(tab).await;
    }
    b.find("pre#lvscf-view span.kw", S(2)).await;
}

/// Submit the current form with `button#save`, check the diff page, apply; back on a page
/// with the flash "applied".
async fn save_and_apply(b: &Browser, shot: &str, diff_has: &str) {
    b.click("button#save").await;
    let (diff, _) = b
        .wait_text("pre#diff", S(10), |t| t.contains(diff_has))
        .await;
    assert!(diff.contains("serial_no"), "{diff}");
    if !shot.is_empty() {
        b.screenshot(shot).await;
    }
    b.click("button#apply").await;
    b.wait_text("div#flash", S(20), |t| t.starts_with("applied"))
        .await;
}

/// A new virtual server and its real server through the forms; then served through its VIP.
async fn add_a_virtual_server(b: &Browser, d: &Director) {
    let reloads = d.lvsd_status()["reloads"].as_u64().unwrap_or(0);
    b.goto(&format!("{BASE}/virtual")).await;
    b.click("a#add-virtual").await;
    b.wait_url(S(10), |u| u.ends_with("/virtual/new")).await;
    b.fill("input[name=name]", "web2").await;
    b.fill("input[name=address]", "127.0.0.101 lo:2").await;
    b.fill("input[name=port]", "8081").await;
    set_checkbox(b, "active", true).await;
    b.screenshot("virtual-edit").await;
    save_and_apply(b, "diff", "virtual web2").await;
    b.wait_url(S(10), |u| u.contains("/virtual")).await;

    b.goto(&format!("{BASE}/virtual/web2")).await;
    b.click("a#add-real").await;
    b.wait_url(S(10), |u| u.ends_with("/virtual/web2/real/new"))
        .await;
    b.fill("input[name=name]", "r3").await;
    b.fill("input[name=address]", "127.0.0.13").await;
    b.fill("input[name=port]", "80").await;
    set_checkbox(b, "active", true).await;
    b.screenshot("real-edit").await;
    save_and_apply(b, "", "server r3").await;
    assert!(
        std::fs::read_to_string(d.config())
            .unwrap()
            .contains("virtual web2 {")
    );
    // Each apply made lvsd read the file again.
    d.wait_lvsd("web2/r3 in the table", |st| {
        real(st, "web2", "r3")["in_table"] == true && st["reloads"].as_u64() >= Some(reloads + 2)
    });
    let served = testkit::wait::poll_every(S(15), Duration::from_millis(100), || {
        fetch(NEW_VIP).filter(|body| body == "r3")
    });
    assert_eq!(served.as_deref(), Some("r3"), "{NEW_VIP} not served by r3");
}

async fn set_checkbox(b: &Browser, name: &str, on: bool) {
    let css = format!("input[type=checkbox][name={name}]");
    let e = b.find(&css, S(10)).await;
    let checked = e.prop("checked").await.unwrap().as_deref() == Some("true");
    if checked != on {
        e.click().await.unwrap();
    }
}

/// Delete web2 from the list (diff, apply): lvsd drops it and its VIP is not served.
async fn delete_the_virtual_server(b: &Browser, d: &Director) {
    b.goto(&format!("{BASE}/virtual")).await;
    b.click("table#virtual-servers tr[data-name=\"web2\"] button.delete")
        .await;
    let (diff, _) = b
        .wait_text("pre#diff", S(10), |t| t.contains("virtual web2"))
        .await;
    assert!(diff.contains("-virtual web2"), "{diff}");
    b.click("button#apply").await;
    b.wait_text("div#flash", S(20), |t| t.starts_with("applied"))
        .await;
    assert!(
        b.try_find("table#virtual-servers tr[data-name=\"web2\"]")
            .await
            .is_none()
    );
    assert!(
        !std::fs::read_to_string(d.config())
            .unwrap()
            .contains("web2")
    );
    d.wait_lvsd("web2 gone", |st| {
        st["virtual_servers"]
            .as_array()
            .is_some_and(|vs| vs.len() == 1 && vs[0]["name"] == "web")
    });
    assert_eq!(fetch(NEW_VIP), None);
}

/// Another admin writes lvs.cf between the diff and "apply": the apply is refused with
/// `#conflict` and the other admin's file stays as written.
async fn a_stale_apply_is_refused(b: &Browser, d: &Director) {
    let text = std::fs::read_to_string(d.config()).unwrap();
    b.goto(&format!("{BASE}/lvs.cf")).await;
    b.fill("textarea#lvscf-text", &format!("{text}# mine\n"))
        .await;
    b.click("button#save").await;
    b.wait_text("pre#diff", S(10), |t| t.contains("# mine"))
        .await;
    let theirs = format!("{text}# theirs\n");
    std::fs::write(d.config(), &theirs).unwrap();
    b.click("button#apply").await;
    b.wait_text("#conflict", S(10), |t| t.contains("changed"))
        .await;
    b.screenshot("conflict").await;
    assert_eq!(std::fs::read_to_string(d.config()).unwrap(), theirs);
}

/// Port 99999 on the virtual server's form: 422 with lvscf's message right after the
/// field, the values kept; the file on disk is not touched.
async fn a_broken_value_is_shown_at_its_field(b: &Browser, cfg: &Path) {
    let before = std::fs::read(cfg).unwrap();
    b.goto(&format!("{BASE}/virtual/web")).await;
    b.fill("input[name=port]", "99999").await;
    b.click("button#save").await;
    let (msg, _) = b
        .wait_text("p.field-error#error-port", S(10), |t| !t.is_empty())
        .await;
    assert!(msg.contains("99999") || msg.contains("port"), "{msg}");
    let next = b
        .client
        .execute(
            "return document.querySelector('input[name=port]').parentElement\
             .querySelector('p.field-error#error-port') !== null \
             || document.querySelector('input[name=port]').nextElementSibling.id;",
            vec![],
        )
        .await
        .unwrap();
    assert!(next == Value::Bool(true) || next == "error-port", "{next}");
    let kept = b.find("input[name=port]", S(2)).await.prop("value").await;
    assert_eq!(kept.unwrap().as_deref(), Some("99999"));
    assert!(b.try_find("pre#diff").await.is_none());
    b.screenshot("field-error").await;
    assert_eq!(std::fs::read(cfg).unwrap(), before, "lvs.cf was written");

    // The same on the lvs.cf page: an unknown scheduler, its line named; nothing written.
    let text = String::from_utf8(before.clone()).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l.contains("scheduler = rr"))
        .unwrap();
    b.goto(&format!("{BASE}/lvs.cf")).await;
    b.fill(
        "textarea#lvscf-text",
        &text.replace("scheduler = rr", "scheduler = fastest"),
    )
    .await;
    b.click("button#save").await;
    let (msg, _) = b
        .wait_text("ul#diagnostics li[data-line]", S(10), |t| {
            t.contains("fastest")
        })
        .await;
    let at = b.find("ul#diagnostics li[data-line]", S(2)).await;
    let at = at.attr("data-line").await.unwrap();
    assert_eq!(at, Some(line.to_string()), "{msg}");
    assert!(b.try_find("pre#diff").await.is_none());
    b.scroll_to("ul#diagnostics").await;
    b.screenshot("lvscf-diagnostics").await;
    assert_eq!(std::fs::read(cfg).unwrap(), before, "lvs.cf was written");
}

/// A page on another origin posts a form to the GUI (with the session cookie the browser
/// sends to the same site): refused with 403, nothing changes. The same post with the right
/// cookie and CSRF token but a foreign Origin, by hand: 403.
async fn a_cross_site_post_is_refused(b: &Browser, d: &Director) {
    let before = std::fs::read(d.config()).unwrap();
    let r2_admin = real(&d.lvsd_status(), "web", "r2")["admin"].clone();
    b.goto(&format!("{BASE}/monitor")).await;
    let csrf = b
        .find("form#logout input[name=csrf_token]", S(10))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let cookie = b
        .client
        .get_named_cookie("piranha_session")
        .await
        .map(|c| c.value().to_owned())
        .unwrap();
    let page = format!(
        "<!DOCTYPE html><html><body>\
         <form id=\"f\" method=\"post\" action=\"{BASE}/monitor/servers/web/r2/disable\">\
         <input name=\"csrf_token\" value=\"{csrf}\"></form>\
         <script>document.getElementById('f').submit();</script></body></html>"
    );
    // No referrer policy on the attacker's side would send its origin; no-referrer makes
    // Chromium send `Origin: null`, the harder case.
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nReferrer-Policy: no-referrer\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let evil = TcpServer::bind(EVIL, move |mut c, _| {
        use std::io::{Read, Write};
        let _ = c.set_read_timeout(Some(S(2)));
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            }
        }
        let _ = c.write_all(reply.as_bytes());
    });
    b.goto(&format!("http://{EVIL}/")).await;
    b.wait_url(S(10), |u| u.starts_with(BASE)).await;
    let (text, _) = b.wait_text("body", S(10), |t| !t.trim().is_empty()).await;
    assert!(text.contains("refused"), "{text}");
    evil.stop();
    // By hand, with everything right but the Origin.
    let r = http(
        GUI,
        &format!(
            "POST /monitor/servers/web/r2/disable HTTP/1.1\r\nCookie: piranha_session={cookie}\r\n\
             Origin: http://{EVIL}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(std::fs::read(d.config()).unwrap(), before);
    assert_eq!(real(&d.lvsd_status(), "web", "r2")["admin"], r2_admin);
}

/// Log out with the button: the session's pages are gone (the browser is not let in; the
/// old cookie by hand gets 401).
async fn log_out(b: &Browser) {
    b.goto(&format!("{BASE}/monitor")).await;
    let cookie = b
        .client
        .get_named_cookie("piranha_session")
        .await
        .map(|c| c.value().to_owned())
        .unwrap();
    b.click("form#logout button#logout-button").await;
    b.wait_url(S(10), |u| !u.contains("/monitor")).await;
    // Opening a page now leads to the login form, not the browser's Basic dialog.
    b.goto(&format!("{BASE}/monitor")).await;
    b.wait_url(S(10), |u| u.ends_with("/login")).await;
    assert!(b.try_find("table#real-servers").await.is_none());
    b.find("input[name=password]", S(10)).await;
    let r = http(
        GUI,
        &format!("GET /monitor HTTP/1.1\r\nCookie: piranha_session={cookie}"),
        "",
    );
    assert!(
        r.status == 401 && r.header("www-authenticate").is_some(),
        "{} {:?}",
        r.status,
        r.headers
    );
}

#[test]
fn an_admin_watches_drains_and_configures_a_director_in_a_browser() {
    if !root_or_skip() || !browser::available() || !nginx::available() {
        return;
    }
    testkit::bins::bins(&["lvsd", "nanny", "piranha-gui"]);
    let t0 = Instant::now();
    let ns = Netns::new(&unique_name("gb"));
    let name = ns.name().to_owned();
    let took = in_netns(&name, move || {
        let r1 = Nginx::start("127.0.0.11:80", "r1");
        let r2 = Nginx::start("127.0.0.12:80", "r2");
        let _r3 = Nginx::start("127.0.0.13:80", "r3");
        let d = Director::start();
        d.wait_lvsd("both up", |st| {
            real(st, "web", "r1")["health"] == "up" && real(st, "web", "r2")["health"] == "up"
        });
        eprintln!("{:>7.3} s: director up", t0.elapsed().as_secs_f64());
        let mut seen: Vec<String> = (0..4).filter_map(|_| fetch(VIP)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["r1", "r2"]);
        browser::block_on(async {
            let t0 = Instant::now();
            let step = |what: &str| eprintln!("{:>7.3} s: {what}", t0.elapsed().as_secs_f64());
            let b = Browser::start().await;
            step("browser started");
            log_in(&b).await;
            step("logged in");
            let took = a_stopped_server_goes_down_live(&b, r2).await;
            step("r2 down");
            drain_from_the_page(&b, &d).await;
            step("r1 drained, disabled, enabled, weighted");
            every_page_renders(&b).await;
            step("every page");
            a_broken_value_is_shown_at_its_field(&b, &d.config()).await;
            step("broken value");
            add_a_virtual_server(&b, &d).await;
            step("virtual server added and served");
            delete_the_virtual_server(&b, &d).await;
            step("virtual server deleted");
            a_stale_apply_is_refused(&b, &d).await;
            step("stale apply refused");
            a_cross_site_post_is_refused(&b, &d).await;
            step("cross-site post refused");
            log_out(&b).await;
            step("logged out");
            b.close().await;
            step("browser closed");
            drop(r1);
            drop(d);
            step("director stopped");
            took
        })
    });
    eprintln!("{:>7.3} s: all stopped", t0.elapsed().as_secs_f64());
    eprintln!("r2 shown down {took:?} after its nginx stopped");
    assert!(took <= S(2), "r2 shown down only after {took:?}");
    drop(ns);
}
