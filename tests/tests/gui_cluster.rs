//! The web service on a real director: pulse and lvsd (userspace data plane, real nannies) run
//! as root in director d1's namespaces, piranha-gui runs beside them as the unprivileged user
//! nobody (group nogroup, the daemons' `--socket-group`), and the client reaches it over the
//! LAN. Through its HTTP API: an edit keeps the file's comments and reaches lvsd; a broken edit
//! is refused with its diagnostics and changes nothing; of two edits of the same version one
//! wins and one gets 412; drain, disable and enable steer the client's traffic and survive a
//! restart of pulse and lvsd; the metrics count the client's requests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pulse::status::Status;
use serde_json::Value;
use testkit::http::{Reply, basic, http};
use testkit::netns::in_netns;
use testkit::process::Proc;
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<Status>;

const NOBODY: u32 = 65534;
const GUI: &str = "10.7.0.1:3636";
const PASSWORD: &str = "s3cret";

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The LAN's lvs.cf with comments of an admin, in a directory the service may write.
fn config(lan: &Lan) -> PathBuf {
    let text = std::fs::read_to_string(lan.config("0.2", "1", "")).unwrap();
    let text = format!("# the test cluster: edited through piranha-gui\n{text}")
        .replace("    server r2 {", "    # r2 is the spare\n    server r2 {");
    let dir = lan.dir.join("ha");
    std::fs::create_dir(&dir).unwrap();
    let cfg = dir.join("lvs.cf");
    std::fs::write(&cfg, text).unwrap();
    let pw = dir.join("piranha.passwd");
    gui::passwd_cmd::set_password(&pw, "piranha", PASSWORD).unwrap();
    for p in [&dir, &cfg, &pw] {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    cfg
}

/// piranha-gui as nobody in the namespaces of process `pid` (d1's pulse), listening on d1's
/// address. The binary is copied where nobody may run it, whatever the build directory's
/// permissions.
fn start_gui(lan: &Lan, pid: u32, cfg: &Path) -> Proc {
    let exe = lan.dir.join("piranha-gui");
    std::fs::copy(testkit::bins::bin("piranha-gui"), &exe).unwrap();
    let mut cmd = Command::new("nsenter");
    cmd.args(["-t", &pid.to_string(), "-m", "-n", "--"])
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ])
        .arg(&exe)
        .args(["-n", "--listen", GUI, "-c"])
        .arg(cfg)
        .arg("--passwd")
        .arg(cfg.with_file_name("piranha.passwd"))
        .arg("--pulse-socket")
        .arg(lan.dir.join("d1.sock"));
    let gui = Proc::spawn(&mut cmd);
    gui.expect_line("piranha-gui: serving ", s(20));
    let status = std::fs::read_to_string(format!("/proc/{}/status", gui.pid())).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().nth(1),
        Some("65534"),
        "not nobody: {uid}"
    );
    gui
}

/// A request (`METHOD PATH`, then any header lines) from the client's namespace, with the
/// password.
fn api(lan: &Lan, head: &str, body: &str) -> Reply {
    let (line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let mut head = format!("{line} HTTP/1.1\r\n{}", basic("piranha", PASSWORD));
    if !headers.is_empty() {
        head = format!("{head}\r\n{headers}");
    }
    let body = body.to_owned();
    in_netns(&lan.ns("c"), move || http(GUI, &head, &body))
}

fn put(lan: &Lan, etag: &str, text: &str) -> Reply {
    api(
        lan,
        &format!("PUT /api/v1/lvs.cf\r\nIf-Match: {etag}"),
        text,
    )
}

fn status(lan: &Lan) -> Value {
    let r = api(lan, "GET /api/v1/status", "");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn real<'a>(st: &'a Value, name: &str) -> &'a Value {
    st["lvsd"]["virtual_servers"][0]["real_servers"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no real server {name}: {st}"))
}

/// Wait until the status (through the service) satisfies `f`.
fn wait_status(lan: &Lan, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let ok = testkit::wait::poll_every(s(15), Duration::from_millis(100), || {
        last = status(lan);
        f(&last).then(|| last.clone())
    });
    ok.unwrap_or_else(|| panic!("no {what}: {last}"))
}

/// Who answers `n` requests to the VIP, sorted and deduplicated.
fn answering(lan: &Lan, n: usize) -> Vec<String> {
    let mut seen: Vec<String> = (0..n).filter_map(|_| lan.get()).collect();
    seen.sort();
    seen.dedup();
    seen
}

fn connections(lan: &Lan) -> f64 {
    let r = api(lan, "GET /metrics", "");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .filter(|l| l.starts_with("piranha_real_server_connections_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

fn control(lan: &Lan, action: &str, server: &str) {
    let r = api(
        lan,
        &format!("POST /api/v1/servers/web/{server}/{action}"),
        "",
    );
    assert_eq!(r.status, 200, "{action} {server}: {}", r.body);
}

/// An edit of r2's weight: the admin's comments stay, serial_no goes up, lvsd takes it. The
/// new text.
fn edit_keeps_comments_and_reaches_lvsd(lan: &Lan, cfg: &Path) -> String {
    let r = api(lan, "GET /api/v1/lvs.cf", "");
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_owned();
    let edited = r.body.replace(
        "address = 10.7.0.12\n",
        "address = 10.7.0.12\n        weight = 3\n",
    );
    let r = put(lan, &etag, &edited);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["reload"], "ok", "{}", r.body);
    let text = std::fs::read_to_string(cfg).unwrap();
    assert!(text.starts_with("# the test cluster: edited through piranha-gui\n"));
    assert!(
        text.contains("    # r2 is the spare\n    server r2 {"),
        "{text}"
    );
    assert!(text.contains("serial_no = 2"), "{text}");
    assert!(text.contains("weight = 3"), "{text}");
    wait_status(lan, "r2 at weight 3", |st| {
        real(st, "r2")["configured_weight"] == 3
    });
    text
}

/// A broken edit: refused with its line, the file and the running table untouched.
fn broken_edit_changes_nothing(lan: &Lan, cfg: &Path, text: &str) {
    let reloads = status(lan)["lvsd"]["reloads"].clone();
    let etag = api(lan, "GET /api/v1/lvs.cf", "")
        .header("etag")
        .unwrap()
        .to_owned();
    let broken = text.replace("scheduler = rr", "scheduler = fastest");
    let r = put(lan, &etag, &broken);
    assert_eq!(r.status, 422, "{}", r.body);
    let diag = &r.json()["diagnostics"][0];
    let line = text
        .lines()
        .position(|l| l.contains("scheduler = rr"))
        .unwrap()
        + 1;
    assert_eq!(diag["line"], line, "{}", r.body);
    assert!(
        diag["message"].as_str().unwrap().contains("fastest"),
        "{}",
        r.body
    );
    assert_eq!(std::fs::read_to_string(cfg).unwrap(), text);
    let st = status(lan);
    assert_eq!(st["lvsd"]["reloads"], reloads);
    assert_eq!(st["lvsd"]["virtual_servers"][0]["scheduler"], "rr");
    assert_eq!(answering(lan, 6), ["r1", "r2"]);
}

/// Two admins edit the same version at once: one wins, the other is told.
fn one_of_two_edits_wins(lan: &Lan, cfg: &Path, text: &str) {
    let etag = api(lan, "GET /api/v1/lvs.cf", "")
        .header("etag")
        .unwrap()
        .to_owned();
    let (a, b) = (
        text.replace(
            "address = 10.7.0.11\n",
            "address = 10.7.0.11\n        weight = 2\n",
        ),
        text.replace(
            "address = 10.7.0.11\n",
            "address = 10.7.0.11\n        weight = 4\n",
        ),
    );
    let both = std::thread::scope(|sc| {
        let ta = sc.spawn(|| put(lan, &etag, &a));
        let tb = sc.spawn(|| put(lan, &etag, &b));
        [ta.join().unwrap(), tb.join().unwrap()]
    });
    let mut codes: Vec<u16> = both.iter().map(|r| r.status).collect();
    codes.sort();
    assert_eq!(codes, [200, 412], "{both:?}");
    let winner = if both[0].status == 200 { &a } else { &b };
    let now = std::fs::read_to_string(cfg).unwrap();
    assert_eq!(now, winner.replace("serial_no = 2", "serial_no = 3"));
}

/// Drain, enable and disable steer the client's traffic.
fn controls_steer_the_traffic(lan: &Lan) {
    control(lan, "drain", "r1");
    wait_status(lan, "r1 drained", |st| {
        real(st, "r1")["admin"] == "drained" && real(st, "r1")["weight"] == 0
    });
    assert_eq!(answering(lan, 6), ["r2"]);
    control(lan, "enable", "r1");
    control(lan, "disable", "r2");
    wait_status(lan, "r2 out of the table", |st| {
        real(st, "r2")["in_table"] == false && real(st, "r1")["admin"].is_null()
    });
    assert_eq!(answering(lan, 6), ["r1"]);
    let r = api(lan, "POST /api/v1/servers/web/r9/drain", "");
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn the_web_service_edits_controls_and_watches_a_running_director() {
    if !root_or_skip() {
        return;
    }
    let mut lan = Lan::new();
    lan.web("r1");
    lan.web("r2");
    let cfg = config(&lan);
    let d1 = lan.pulse("d1", &cfg, &["--socket-group", "nogroup"]);
    d1.wait_active_with_vips(s(10), "active d1");
    let gui = start_gui(&lan, d1.pid() as u32, &cfg);
    wait_status(&lan, "both real servers up", |st| {
        st["pulse"]["state"] == "active"
            && real(st, "r1")["health"] == "up"
            && real(st, "r2")["health"] == "up"
    });

    let text = edit_keeps_comments_and_reaches_lvsd(&lan, &cfg);
    broken_edit_changes_nothing(&lan, &cfg, &text);
    one_of_two_edits_wins(&lan, &cfg, &text);
    // The metrics count the client's requests (within the service's snapshot time).
    let before = connections(&lan);
    assert_eq!(answering(&lan, 8), ["r1", "r2"]);
    let mut after = before;
    testkit::wait::until(s(5), || {
        after = connections(&lan);
        after >= before + 8.0
    })
    .unwrap_or_else(|| panic!("{before} → {after}"));

    controls_steer_the_traffic(&lan);
    // pulse and lvsd restart (in the same /run, where lvsd keeps its state): r2 stays out.
    assert_eq!(d1.stop(), Some(0));
    let d1 = lan.pulse_entering("d1", gui.pid(), &cfg, &["--socket-group", "nogroup"]);
    d1.wait_active_with_vips(s(10), "active d1 again");
    wait_status(&lan, "r2 still disabled after the restart", |st| {
        real(st, "r2")["admin"] == "disabled" && real(st, "r1")["health"] == "up"
    });
    assert_eq!(answering(&lan, 6), ["r1"]);
    control(&lan, "enable", "r2");
    wait_status(&lan, "r2 back", |st| real(st, "r2")["in_table"] == true);
    assert_eq!(answering(&lan, 6), ["r1", "r2"]);
    drop(gui);
}
