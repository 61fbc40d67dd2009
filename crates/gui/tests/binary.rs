//! The real `piranha-gui` binary on 127.0.0.1: start-up, the root refusal, HTTP from a small
//! hand-written HTTP/1.1 client, the password file re-read, the status and metrics read from
//! the sockets the options name, and TLS (with openssl and curl).
//!
//! These tests run as root on the build machines: they pass `--allow-root` then, since the
//! refusal is what `refuses_to_run_as_root` tests and the rest is not about the user.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use sha1::Digest;
use testkit::process::Proc;
use testkit::tempdir::TempDir;

const CF: &str = "# cluster\nserial_no = 3\nprimary = 10.0.0.1\nservice = lvs\n\n\
virtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    server a {\n\
        address = 10.1.0.1\n        active = 1\n    }\n}\n";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn sha_entry(password: &str) -> String {
    let d = sha1::Sha1::digest(password.as_bytes());
    format!(
        "{{SHA}}{}",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

fn write_passwd(path: &Path, password: &str) {
    let mut doc = gui::passwd::Document::new(path);
    doc.set("piranha", &sha_entry(password));
    gui::passwd::store(path, &doc.render(), None).unwrap();
}

struct Gui {
    proc: Proc,
    addr: String,
}

fn start(dir: &Path, extra: &[&str]) -> Gui {
    let mut cmd = Command::new(testkit::bins::bin("piranha-gui"));
    cmd.arg("-n")
        .arg("-c")
        .arg(dir.join("lvs.cf"))
        .arg("--passwd")
        .arg(dir.join("piranha.passwd"))
        .arg("--lvsd-socket")
        .arg(dir.join("lvsd.sock"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra);
    if is_root() {
        cmd.arg("--allow-root");
    }
    let proc = Proc::spawn(&mut cmd);
    let addr = proc.served_address("piranha-gui: serving ", Duration::from_secs(20));
    Gui { proc, addr }
}

/// One request (testkit's client): the status, the headers (lower-case names), the body.
fn http(addr: &str, head: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    let r = testkit::http::http(addr, head, body);
    (r.status, r.headers, r.body)
}

fn get_header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn auth(password: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("piranha:{password}"));
    format!("Authorization: Basic {b}")
}

fn scratch() -> TempDir {
    let d = TempDir::new("gui-binary");
    d.write("lvs.cf", CF);
    write_passwd(&d.join("piranha.passwd"), "first");
    d
}

#[test]
fn refuses_to_run_as_root() {
    if !is_root() {
        eprintln!("SKIPPED: not root, the refusal cannot be seen");
        return;
    }
    let d = scratch();
    let mut p = Proc::spawn(
        Command::new(testkit::bins::bin("piranha-gui"))
            .arg("--passwd")
            .arg(d.join("piranha.passwd"))
            .args(["--listen", "127.0.0.1:0"]),
    );
    assert_eq!(
        p.exit_code(Duration::from_secs(20)),
        Some(3),
        "{}",
        p.text()
    );
    assert!(p.text().contains("refusing to run as root"), "{}", p.text());
}

#[test]
fn a_missing_password_file_stops_the_start() {
    let d = scratch();
    let mut cmd = Command::new(testkit::bins::bin("piranha-gui"));
    cmd.arg("--passwd")
        .arg(d.join("none"))
        .args(["--listen", "127.0.0.1:0", "--allow-root"]);
    let mut p = Proc::spawn(&mut cmd);
    assert_eq!(p.exit_code(Duration::from_secs(20)), Some(1));
    assert!(p.text().contains("none: cannot read"), "{}", p.text());
}

#[test]
fn serves_the_api_over_http() {
    let d = scratch();
    let g = start(&d, &[]);
    let (status, h, body) = http(&g.addr, "GET / HTTP/1.1", "");
    assert_eq!(status, 200);
    assert!(body.contains("/login"));
    assert!(get_header(&h, "content-security-policy").is_some());

    let (status, h, _) = http(&g.addr, "PUT /api/v1/lvs.cf HTTP/1.1", CF);
    assert_eq!(status, 401);
    assert!(get_header(&h, "www-authenticate").is_some());

    let (status, h, body) = http(
        &g.addr,
        &format!("GET /api/v1/lvs.cf HTTP/1.1\r\n{}", auth("first")),
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(body, CF);
    let tag = get_header(&h, "etag").unwrap().to_owned();

    let (status, _, body) = http(
        &g.addr,
        &format!(
            "PUT /api/v1/lvs.cf HTTP/1.1\r\n{}\r\nIf-Match: {tag}",
            auth("first")
        ),
        CF,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["reload"]
            .as_str()
            .unwrap()
            .starts_with("lvsd not reachable"),
        "{body}"
    );
    let now = std::fs::read_to_string(d.join("lvs.cf")).unwrap();
    assert_eq!(now, CF.replace("serial_no = 3", "serial_no = 4"));

    // A failed login is logged with the user and the address.
    let (status, _, _) = http(
        &g.addr,
        &format!("GET /api/v1/lvs.cf HTTP/1.1\r\n{}", auth("wrong")),
        "",
    );
    assert_eq!(status, 401);
    g.proc.expect_line(
        "piranha-gui: failed login for piranha from 127.0.0.1",
        Duration::from_secs(10),
    );
}

/// The value of the hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name}: {page}"))
        + key.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn serves_the_pages_to_a_browser_session() {
    let d = scratch();
    let g = start(&d, &[]);
    // A browser's own form post: Origin null (Referrer-Policy: no-referrer), same-origin.
    let browser = "Content-Type: application/x-www-form-urlencoded\r\nOrigin: null\r\n\
                   Sec-Fetch-Site: same-origin";
    let (status, h, _) = http(
        &g.addr,
        &format!("POST /login HTTP/1.1\r\n{browser}"),
        "user=piranha&password=first",
    );
    assert_eq!(status, 303);
    assert_eq!(get_header(&h, "location"), Some("/monitor"));
    let cookie = get_header(&h, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (status, _, page) = http(
        &g.addr,
        &format!("GET /monitor HTTP/1.1\r\nCookie: {cookie}"),
        "",
    );
    assert_eq!(status, 200);
    assert!(
        page.contains("<table id=\"real-servers\">")
            && page.contains("id=\"lvsd-state\" class=\"stale\"")
    );
    let csrf = hidden(&page, "csrf_token");
    let (status, _, css) = http(&g.addr, "GET /assets/app.css HTTP/1.1", "");
    assert_eq!((status, css.contains("@media")), (200, true));
    // A change through a form, its diff, and apply.
    let form = format!("csrf_token={csrf}&primary=10.0.0.2");
    let (status, _, diff) = http(
        &g.addr,
        &format!("POST /global HTTP/1.1\r\n{browser}\r\nCookie: {cookie}"),
        &form,
    );
    assert_eq!(status, 200, "{diff}");
    assert!(diff.contains("+primary = 10.0.0.2"));
    let apply = serde_urlencoded::to_string([
        ("csrf_token", csrf.as_str()),
        ("text", &hidden(&diff, "text")),
        ("etag", &hidden(&diff, "etag")),
        ("back", &hidden(&diff, "back")),
    ])
    .unwrap();
    let (status, h, _) = http(
        &g.addr,
        &format!("POST /apply HTTP/1.1\r\n{browser}\r\nCookie: {cookie}"),
        &apply,
    );
    assert_eq!(status, 303);
    assert_eq!(
        get_header(&h, "location"),
        Some("/global?flash=applied-no-reload&serial=4")
    );
    let now = std::fs::read_to_string(d.join("lvs.cf")).unwrap();
    assert_eq!(
        now,
        CF.replace("serial_no = 3", "serial_no = 4")
            .replace("primary = 10.0.0.1", "primary = 10.0.0.2")
    );
}

#[test]
fn status_and_metrics_read_the_sockets_of_the_options() {
    let d = scratch();
    // pulse answers each connection with its report at once; lvsd's socket is missing.
    let pulse = std::os::unix::net::UnixListener::bind(d.join("pulse.sock")).unwrap();
    // (The service may read it once for both requests: its snapshots serve 250 ms.)
    std::thread::spawn(move || {
        while let Ok((mut s, _)) = pulse.accept() {
            let _ = s.write_all(br#"{"role":"master","state":"active","heartbeats_sent":7}"#);
        }
    });
    let pulse_socket = d.join("pulse.sock");
    let g = start(&d, &["--pulse-socket", pulse_socket.to_str().unwrap()]);
    let (status, _, body) = http(
        &g.addr,
        &format!("GET /api/v1/status HTTP/1.1\r\n{}", auth("first")),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["pulse"]["role"], "master", "{body}");
    assert_eq!(v["pulse"]["stale"], false, "{body}");
    assert_eq!(v["lvsd"]["stale"], true, "{body}");
    assert!(
        v["lvsd"]["error"].as_str().unwrap().contains("lvsd.sock"),
        "{body}"
    );
    let (status, h, body) = http(
        &g.addr,
        &format!("GET /metrics HTTP/1.1\r\n{}", auth("first")),
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get_header(&h, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        "piranha_daemon_up{daemon=\"pulse\"} 1",
        "piranha_daemon_up{daemon=\"lvsd\"} 0",
        "piranha_heartbeats_sent_total 7",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line} in\n{body}");
    }
}

#[test]
fn stops_on_sigterm_with_status_0() {
    let d = scratch();
    let mut g = start(&d, &[]);
    g.proc.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(g.proc.exit_code(Duration::from_secs(20)), Some(0));
    assert!(
        g.proc.text().contains("piranha-gui: stopping"),
        "{}",
        g.proc.text()
    );
}

#[test]
fn a_new_password_file_is_used_without_a_restart() {
    let d = scratch();
    let g = start(&d, &[]);
    let get = |pw: &str| {
        http(
            &g.addr,
            &format!("GET /api/v1/session HTTP/1.1\r\n{}", auth(pw)),
            "",
        )
        .0
    };
    assert_eq!(get("first"), 200);
    write_passwd(&d.join("piranha.passwd"), "second");
    assert_eq!(get("second"), 200);
    assert_eq!(get("first"), 401);
    // A file that no longer loads leaves the last good passwords in use.
    std::fs::write(d.join("piranha.passwd"), "piranha:plain\n").unwrap();
    assert_eq!(get("second"), 200);
    g.proc.expect_line(
        "the previous passwords stay in use",
        Duration::from_secs(10),
    );
}

fn make_cert(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    if !testkit::have("openssl", "openssl") || !testkit::have("curl", "curl") {
        return None;
    }
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    Some((cert, key))
}

#[test]
fn serves_https_with_the_given_certificate() {
    let d = scratch();
    let Some((cert, key)) = make_cert(&d) else {
        return;
    };
    let g = start(
        &d,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(g.proc.text().contains("on https://"), "{}", g.proc.text());
    let out = Command::new("curl")
        .args(["-sS", "-i", "--cacert"])
        .arg(&cert)
        .args(["-u", "piranha:first"])
        .arg(format!("https://{}/api/v1/lvs.cf", g.addr))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP/"), "{text}");
    assert!(text.contains(" 200"), "{text}");
    assert!(text.ends_with(CF), "{text}");
    // Plain HTTP on the TLS port gets nothing useful.
    let mut s = TcpStream::connect(&g.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[test]
fn tls_needs_both_files() {
    let d = scratch();
    let mut p = Proc::spawn(
        Command::new(testkit::bins::bin("piranha-gui"))
            .args(["--tls-cert", "x.pem", "--allow-root"])
            .arg("--passwd")
            .arg(d.join("piranha.passwd")),
    );
    assert_eq!(p.exit_code(Duration::from_secs(20)), Some(2));
    assert!(p.text().contains("--tls-key"), "{}", p.text());
}
