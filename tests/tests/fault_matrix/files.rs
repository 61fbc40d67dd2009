//! Faults of the file system: the directories of the state file and of the status sockets
//! read-only under pulse and lvsd (on both directors, through a reload and a failover), and the
//! disk full under lvs.cf while the web service writes it.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use nix::sys::signal::Signal;
use testkit::fault::{DIRECTORS, Want, lvs_cf, read_only_in, replace, report, signal};
use testkit::http::{Reply, basic, http};
use testkit::netns::in_netns;
use testkit::process::Proc;

use super::*;

/// The director is sound without asking its lvsd (which has no status socket): `active`
/// active with the VIP, its lvsd ready and alive; the other inactive with nothing; both
/// pulses alive.
fn sound_without_lvsd_socket(p: &Pair, active: usize) -> Result<(), String> {
    let (a, b) = (p.brief(active), p.brief(1 - active));
    let (Some(a), Some(b)) = (a, b) else {
        return Err("a pulse does not answer".into());
    };
    let lvsd = a
        .child
        .as_ref()
        .filter(|c| c.program == "lvsd" && c.state == "ready" && !testkit::fault::gone(c.pid));
    let (an, bn) = (DIRECTORS[active].0, DIRECTORS[1 - active].0);
    if a.state != "active" || a.vips.is_empty() || lvsd.is_none() || !p.lan.has_vip(an) {
        return Err(format!("{an} is not active with lvsd ready: {a:?}"));
    }
    if b.state != "inactive" || !b.vips.is_empty() || b.child.is_some() || p.lan.has_vip(bn) {
        return Err(format!("{bn} is not inactive: {b:?}"));
    }
    Ok(())
}

/// /run (lvsd's status socket and state file, in each director's private mount namespace)
/// and the directory of pulse's status socket (its watchdog file, lvsd's readiness socket)
/// read-only on both directors. A reload on d1 makes lvsd record its state; then lvsd is
/// killed, so d2 takes over and starts an lvsd that can neither bind its status socket nor
/// write its state. Each daemon says what it cannot write and goes on.
#[test]
fn read_only_state_and_socket_directories() {
    let Some(p) = pair() else { return };
    let sock_dir = p.d(D1).sock.parent().unwrap().to_owned();
    for i in [D1, D2] {
        let pid = p.d(i).proc.pid();
        read_only_in(pid, Path::new("/run"));
        read_only_in(pid, &sock_dir);
    }
    let lvsd = p.lvsd_pid(D1);
    let t0 = Instant::now();
    // A reload (r1's weight 2): lvsd applies it and cannot record its state.
    replace(&p.cfg, &lvs_cf(2, 2));
    p.d(D1).signal(Signal::SIGHUP);
    p.d(D1)
        .wait_log(s(10), "cannot write /run/lvsd.state: Read-only file system");
    p.wait_healthy(D1, [Want::In(2), Want::In(1)], s(10));
    assert_eq!(p.lvsd_pid(D1), lvsd, "lvsd restarted");
    // A failover: d2's pulse cannot keep its watchdog's copy nor make lvsd's readiness
    // socket beside its status socket (it uses a private directory of /tmp); its lvsd runs
    // without a status socket and without its state file, and serves.
    signal(lvsd, Signal::SIGKILL);
    let d2 = p.d(D2);
    d2.wait_log(s(10), "d2.watchdog: Read-only file system");
    d2.wait_log(s(10), "cannot create the readiness socket");
    d2.wait_log(
        s(10),
        "no status socket /run/lvsd.sock: Read-only file system",
    );
    p.d(D1)
        .wait_log(s(10), "d1.watchdog: Read-only file system");
    let mut why = String::new();
    let ok = testkit::wait::until(s(15), || match sound_without_lvsd_socket(&p, D2) {
        Ok(()) => true,
        Err(e) => {
            why = e;
            false
        }
    });
    assert!(ok.is_some(), "{why}\n{}", p.logs());
    if let Err(e) = p.probe.wait_served_via("10.7.0.2", 5, t0, s(10)) {
        panic!("{e}\n{}", p.logs());
    }
    // Both real servers answer through d2 (its table, unseen, has both).
    let both = testkit::wait::until(s(10), || {
        let a = p.probe.attempts_since(Instant::now() - s(2));
        let got = |n: &str| {
            a.iter()
                .any(|x| x.answer.as_ref().is_some_and(|(r, _)| r == n))
        };
        got("r1") && got("r2")
    });
    assert!(
        both.is_some(),
        "not both real servers through d2\n{}",
        p.logs()
    );
    assert_eq!(sound_without_lvsd_socket(&p, D2), Ok(()));
    let seen = p.probe.since(t0);
    assert!(seen.longest_gap < s(3), "{seen}");
    report("state and socket directories read-only", &seen);
}

const GUI: &str = "10.7.0.1:3636";
const PASSWORD: &str = "s3cret";

/// piranha-gui (as root, `--allow-root`) in the namespaces of d1's pulse, so it reaches
/// lvsd's socket to reload it.
fn start_gui(p: &Pair) -> Proc {
    let pw = p.lan.dir.join("piranha.passwd");
    gui::passwd_cmd::set_password(&pw, "piranha", PASSWORD).unwrap();
    let mut cmd = Command::new("nsenter");
    cmd.args(["-t", &p.d(D1).proc.pid().to_string(), "-m", "-n", "--"])
        .arg(testkit::bins::bin("piranha-gui"))
        .args(["-n", "--allow-root", "--listen", GUI, "-c"])
        .arg(&p.cfg)
        .arg("--passwd")
        .arg(&pw)
        .arg("--pulse-socket")
        .arg(&p.d(D1).sock);
    let gui = Proc::spawn(&mut cmd);
    gui.expect_line("piranha-gui: serving ", s(20));
    gui
}

fn api(p: &Pair, head: &str, body: &str) -> Reply {
    let (line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let mut head = format!("{line} HTTP/1.1\r\n{}", basic("piranha", PASSWORD));
    if !headers.is_empty() {
        head = format!("{head}\r\n{headers}");
    }
    let body = body.to_owned();
    in_netns(&p.lan.ns("c"), move || http(GUI, &head, &body))
}

/// lvs.cf alone on a 64 KiB tmpfs, filled up; the web service is asked to write a new version
/// (r1's weight 2).
#[test]
fn disk_full_while_the_web_service_writes_lvs_cf() {
    if !testkit::root_or_skip() || !testkit::have("nft", "nftables") {
        return;
    }
    let p = Pair::start_on_small_fs(&lvs_cf(1, 1), 64);
    let gui = start_gui(&p);
    let fs = p.small_fs.as_ref().unwrap();
    let before = std::fs::read(&p.cfg).unwrap();
    let r = api(&p, "GET /api/v1/lvs.cf", "");
    assert_eq!(r.status, 200, "{}", r.body);
    let etag = r.header("etag").unwrap().to_owned();
    let put = format!("PUT /api/v1/lvs.cf\r\nIf-Match: {etag}");
    let filler = fs.fill();
    let t0 = Instant::now();
    let r = api(&p, &put, &lvs_cf(1, 2));
    // A clear refusal; the file as it was, no temporary file left, nothing reloaded.
    assert_eq!(r.status, 507, "{}", r.body);
    let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("No space left on device") && error.contains("is unchanged"),
        "{error}"
    );
    assert_eq!(std::fs::read(&p.cfg).unwrap(), before, "lvs.cf changed");
    let names: Vec<String> = std::fs::read_dir(&fs.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n == "lvs.cf" || n == "filler"),
        "{names:?}"
    );
    p.wait_healthy(D1, BOTH, s(10));
    let l = p.lvsd(D1).unwrap();
    assert_eq!(l.reloads, 0, "{l:?}");
    // Space again: the same request (the version it names is still the file's) goes through.
    std::fs::remove_file(filler).unwrap();
    let r = api(&p, &put, &lvs_cf(1, 2));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["reload"], "ok", "{}", r.body);
    let now = std::fs::read_to_string(&p.cfg).unwrap();
    assert!(now.contains("weight = 2"), "{now}");
    let seen = p.recovered(t0, D1, [Want::In(2), Want::In(1)], s(10));
    assert_eq!(seen.failed, 0, "{seen}");
    assert!(
        gui.output().contains("No space left on device"),
        "the service did not log it"
    );
    report("disk full while the web service writes lvs.cf", &seen);
}
