//! Every daemon in a hostile environment (issue 20): configuration files that are missing, a
//! directory or binary junk; no writable `/run` and no usable `/dev/log`; too few file
//! descriptors. What must hold: no daemon panics; a refusal is exit status 1 with a message
//! naming what is wrong (as the man pages' EXIT STATUS sections say); a daemon that can work
//! without its status socket, pid file or syslog keeps working and serves.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use testkit::bins::bin;
use testkit::netns::{Netns, unique_name};
use testkit::process::Proc;
use testkit::root_or_skip;
use testkit::servers::TcpServer;
use testkit::tempdir::TempDir;

/// Bounds the wait for a daemon that should stop by itself (it does so in milliseconds).
const EXIT_WITHIN: Duration = Duration::from_secs(20);

/// What a finished run printed, for the assertions.
struct Ran {
    code: Option<i32>,
    text: String,
}

/// Run `cmd` until it exits (killed after [`EXIT_WITHIN`]).
fn run(cmd: &mut Command) -> Ran {
    let mut p = Proc::spawn(cmd);
    let code = p.exit_code(EXIT_WITHIN);
    Ran {
        code,
        text: p.text(),
    }
}

fn assert_no_panic(what: &str, text: &str) {
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "{what} panicked:\n{text}"
    );
}

/// `what` stopped with status 1 and said `needle`.
fn assert_refused(what: &str, ran: &Ran, needle: &str) {
    assert_no_panic(what, &ran.text);
    assert_eq!(ran.code, Some(1), "{what}: exit status\n{}", ran.text);
    assert!(
        ran.text.contains(needle),
        "{what}: no {needle:?} in\n{}",
        ran.text
    );
}

/// Deterministic junk: every byte value, in a scrambled order, many times.
fn junk(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The three daemons that read lvs.cf at start, with their mode arguments.
fn daemons() -> [(&'static str, Vec<&'static str>); 3] {
    [
        ("lvsd", vec!["-n"]),
        ("pulse", vec!["-n"]),
        ("fos", vec!["-n", "-F"]),
    ]
}

#[test]
fn unusable_configuration_files_are_refused_with_status_1() {
    let dir = TempDir::new("hostile-cf");
    let garbage = dir.path().join("garbage.cf");
    std::fs::write(&garbage, junk(64 * 1024)).unwrap();
    let invalid_utf8 = dir.path().join("ff.cf");
    std::fs::write(
        &invalid_utf8,
        [b"serial_no = 1\nprimary = ".as_slice(), &[0xff; 300]].concat(),
    )
    .unwrap();
    let long_line = dir.path().join("long.cf");
    std::fs::write(&long_line, "a".repeat(4 << 20)).unwrap();
    let missing = dir.path().join("missing.cf");
    let cases: [(&Path, &str); 5] = [
        (&missing, "No such file"),
        (dir.path(), "Is a directory"),
        (&garbage, "error"),
        (&invalid_utf8, "error"),
        (&long_line, "error"),
    ];
    for (name, args) in daemons() {
        for (file, needle) in cases {
            let what = format!("{name} -c {}", file.display());
            let ran = run(Command::new(bin(name)).arg("-c").arg(file).args(&args));
            assert_refused(&what, &ran, needle);
            assert!(
                ran.text.contains(&*file.to_string_lossy()),
                "{what}:\n{}",
                ran.text
            );
        }
    }
}

#[test]
fn an_unusable_password_file_stops_the_web_service_with_status_1() {
    let dir = TempDir::new("hostile-gui");
    let cf = dir.write("lvs.cf", "serial_no = 1\n");
    let gui = |passwd: &Path| {
        run(Command::new(bin("piranha-gui"))
            .args(["-n", "--allow-root", "--listen", "127.0.0.1:0", "-c"])
            .arg(&cf)
            .arg("--passwd")
            .arg(passwd))
    };
    let ran = gui(&dir.path().join("missing"));
    assert_refused("piranha-gui, missing password file", &ran, "cannot read");
    assert_eq!(
        ran.text.matches("No such file").count(),
        1,
        "the reason is said once:\n{}",
        ran.text
    );
    let ran = gui(dir.path());
    assert_refused("piranha-gui, a directory", &ran, "not a regular file");
    let junk_file = dir.path().join("junk");
    std::fs::write(&junk_file, junk(4096)).unwrap();
    std::fs::set_permissions(
        &junk_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_no_panic("piranha-gui, junk password file", &gui(&junk_file).text);
}

#[test]
fn with_too_few_descriptors_the_daemons_stop_with_a_message_and_nanny_works() {
    if !root_or_skip() {
        return;
    }
    let dir = TempDir::new("hostile-emfile");
    let cf = dir.write("lvs.cf", &lvs_cf(&bin("nanny"), "lvs"));
    let fos_cf = dir.write("fos.cf", &lvs_cf(&bin("nanny"), "fos"));
    let run_dir = dir.path().display().to_string();
    let limited = |prog: &str| {
        let mut c = Command::new("prlimit");
        c.arg("--nofile=8:8").arg(bin(prog));
        c
    };
    let cases: Vec<(&str, Command)> = vec![
        ("lvsd", {
            let mut c = limited("lvsd");
            c.arg("-n")
                .arg("-c")
                .arg(&cf)
                .args(["--dataplane", "userspace"]);
            c.arg("--socket").arg(format!("{run_dir}/lvsd.sock"));
            c
        }),
        ("pulse", {
            let mut c = limited("pulse");
            c.arg("-n")
                .arg("-c")
                .arg(&cf)
                .arg("--lvsd")
                .arg(bin("lvsd"));
            c.arg("--socket").arg(format!("{run_dir}/pulse.sock"));
            c
        }),
        ("fos", {
            let mut c = limited("fos");
            c.arg("-n").arg("-F").arg("-c").arg(&fos_cf);
            c
        }),
    ];
    for (name, mut cmd) in cases {
        let ran = run(&mut cmd);
        assert_refused(name, &ran, "Too many open files");
    }
    // nanny needs only a signal descriptor and one socket at a time: it works within 8.
    let mut nanny = limited("nanny");
    nanny.args(["-n", "-c", "-t", "1", "-h", "127.0.0.1", "-p", "1"]);
    nanny.args(["-V", "127.0.0.200", "--lvs", "--report"]);
    let mut nanny = Proc::spawn(&mut nanny);
    nanny.expect_line("@nanny/1 check=failed", EXIT_WITHIN);
    nanny.signal(Signal::SIGTERM);
    let code = nanny.exit_code(EXIT_WITHIN);
    assert_no_panic("nanny", &nanny.text());
    assert_eq!(code, Some(0), "nanny after SIGTERM:\n{}", nanny.text());
}

/// A configuration with one virtual server (or failover service) on 127.0.0.200:8080 whose
/// real server is 127.0.0.1:8080, monitored by `nanny`.
fn lvs_cf(nanny: &Path, service: &str) -> String {
    let block = if service == "lvs" {
        format!(
            "virtual web {{\n  active = 1\n  address = 127.0.0.200 lo\n  port = 8080\n  \
             scheduler = rr\n  protocol = tcp\n  timeout = 2\n  reentry = 1\n  \
             client_monitor = {}\n  server r1 {{\n    address = 127.0.0.1\n    active = 1\n    \
             weight = 1\n  }}\n}}\n",
            nanny.display()
        )
    } else {
        "failover web {\n  active = 1\n  address = 127.0.0.201 lo\n  port = 8081\n  \
         timeout = 2\n  start_cmd = \"/bin/true\"\n  stop_cmd = \"/bin/true\"\n}\n"
            .to_string()
    };
    format!(
        "serial_no = 1\nprimary = 127.0.0.1\nservice = {service}\nbackup_active = 0\n\
         heartbeat = 0\nnetwork = direct\n{block}"
    )
}

/// `prog args` inside namespace `ns` and a private mount namespace where `/run` is an empty
/// read-only tmpfs and `/dev/log`, where it exists, is not a socket.
fn without_run(ns: &Netns, prog: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        ns.name(),
        "unshare",
        "--mount",
        "--propagation",
        "private",
    ]);
    c.args(["sh", "-c"]);
    c.arg(
        "mount -t tmpfs -o ro tmpfs /run && \
         { [ ! -S /dev/log ] || mount --bind /dev/null /dev/log; } && exec \"$@\"",
    );
    c.arg("sh").arg(prog).args(args);
    c
}

/// What the server at `addr` inside `ns` says on connecting, if anything (the test's server
/// answers without reading, so nothing is sent that could cross its close).
fn fetch(ns: &Netns, addr: &'static str) -> Option<String> {
    ns.run(move || {
        use std::io::Read;
        let mut c = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(1)).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut s = String::new();
        c.read_to_string(&mut s).ok()?;
        Some(s)
    })
}

#[test]
fn without_run_or_syslog_the_director_still_serves() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new(&unique_name("hostile"));
    let _server = ns.run(|| {
        TcpServer::reply(
            "127.0.0.1:8080",
            "HTTP/1.0 200 OK\r\n\r\nhostile real server\n",
        )
    });
    let dir = TempDir::new("hostile-run");
    let cf = dir.write("lvs.cf", &lvs_cf(&bin("nanny"), "lvs"));
    let cf_arg = cf.to_string_lossy().into_owned();
    let served = |what: &str, daemon: &Proc| {
        testkit::wait::expect(
            Duration::from_secs(30),
            || fetch(&ns, "127.0.0.200:8080").filter(|s| s.contains("hostile real server")),
            || format!("{what}:\n{}", daemon.text()),
        )
    };
    // lvsd alone, logging to syslog (there is none), its socket, state and pid files unwritable.
    let mut lvsd = Proc::spawn(&mut without_run(
        &ns,
        &bin("lvsd"),
        &["--nofork", "-c", &cf_arg, "--dataplane", "userspace"],
    ));
    served("lvsd without /run serves the VIP", &lvsd);
    lvsd.signal(Signal::SIGTERM);
    let code = lvsd.exit_code(EXIT_WITHIN);
    assert_no_panic("lvsd", &lvsd.text());
    assert_eq!(code, Some(0), "lvsd after SIGTERM:\n{}", lvsd.text());
    // pulse in the foreground, starting lvsd: the whole director without /run.
    let lvsd_arg = bin("lvsd").to_string_lossy().into_owned();
    let mut pulse = Proc::spawn(&mut without_run(
        &ns,
        &bin("pulse"),
        &["-n", "-c", &cf_arg, "--lvsd", &lvsd_arg],
    ));
    pulse.expect_line("no status socket /run/pulse.sock", Duration::from_secs(20));
    served("pulse and lvsd without /run serve the VIP", &pulse);
    pulse.signal(Signal::SIGTERM);
    let code = pulse.exit_code(EXIT_WITHIN);
    assert_no_panic("pulse", &pulse.text());
    assert_eq!(code, Some(0), "pulse after SIGTERM:\n{}", pulse.text());
    assert!(
        !ns.ip("-4 addr show dev lo").contains("127.0.0.200"),
        "pulse left its VIP behind"
    );
}

#[test]
fn without_run_or_syslog_fos_still_starts_its_service() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new(&unique_name("hostfos"));
    let dir = TempDir::new("hostile-fos");
    let marker: PathBuf = dir.path().join("started");
    let cf = lvs_cf(&bin("nanny"), "fos").replace(
        "start_cmd = \"/bin/true\"",
        &format!("start_cmd = \"/usr/bin/touch {}\"", marker.display()),
    );
    let cf = dir.write("fos.cf", &cf);
    let cf_arg = cf.to_string_lossy().into_owned();
    let mut fos = Proc::spawn(&mut without_run(
        &ns,
        &bin("fos"),
        &["--nofork", "-F", "-c", &cf_arg],
    ));
    testkit::wait::expect_until(
        Duration::from_secs(20),
        || marker.exists(),
        || format!("fos ran no start_cmd:\n{}", fos.text()),
    );
    fos.signal(Signal::SIGTERM);
    let code = fos.exit_code(EXIT_WITHIN);
    assert_no_panic("fos", &fos.text());
    assert_eq!(code, Some(0), "fos after SIGTERM:\n{}", fos.text());
}
