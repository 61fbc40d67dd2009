//! fos as a process: piranha's usage errors, both modes with real commands (stop before start,
//! a failing start retried and reported, stop on SIGTERM), and a monitor whose exit ends fos.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use testkit::process::Proc;
use testkit::tempdir::TempDir;

fn fos() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fos"))
}

fn dir(tag: &str) -> TempDir {
    TempDir::new(&format!("fos-{tag}"))
}

/// A fos file whose one service's commands append to `log` in `d`.
fn config(d: &Path, start: &str, monitor: &str) -> PathBuf {
    let log = d.join("log");
    let text = format!(
        "primary = 192.0.2.1\nbackup = 192.0.2.2\nbackup_active = 1\nservice = fos\n\
         failover web {{\n    active = 1\n    address = 192.0.2.50 eth0:1\n    port = 8080\n\
         \x20   timeout = 1\n    client_monitor = {monitor}\n\
         \x20   start_cmd = \"/bin/sh -c '{start}'\"\n\
         \x20   stop_cmd = \"/bin/sh -c 'echo stop >> {}'\"\n}}\n",
        log.display()
    );
    let p = d.join("lvs.cf");
    std::fs::write(&p, text).unwrap();
    p
}

/// fos started with these arguments, its output captured.
fn running(args: &[&str]) -> Proc {
    Proc::spawn(fos().args(args))
}

fn output(args: &[&str]) -> (Option<i32>, String) {
    let o = fos().args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn piranhas_usage_errors() {
    assert_eq!(
        output(&["-f", "-F"]),
        (Some(1), "fos: Cannot specifiy both -f and -F!\n".into())
    );
    assert_eq!(
        output(&[]),
        (
            Some(1),
            "fos: Either --monitor (-f) or --active (-F) required!\n".into()
        )
    );
    let d = dir("usage");
    let cf = config(&d, "true", "/bin/true");
    let lvs = d.join("lvs-mode.cf");
    std::fs::write(
        &lvs,
        std::fs::read_to_string(&cf)
            .unwrap()
            .replace("service = fos", "service = lvs")
            .replace("failover web", "virtual web")
            .replace("    start_cmd", "    #")
            .replace("    stop_cmd", "    #"),
    )
    .unwrap();
    let (code, out) = output(&["-f", "-n", "-c", lvs.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.contains("Service type is not \"fos\" in"), "{out}");
    let (code, out) = output(&["-f", "-n", "-c", "/nonexistent/lvs.cf"]);
    assert_eq!(code, Some(1));
    assert!(
        out.starts_with("fos: cannot read /nonexistent/lvs.cf"),
        "{out}"
    );
}

#[test]
fn active_stops_then_starts_retries_a_failing_start_and_stops_on_term() {
    let d = dir("active");
    let log = d.join("log");
    // The first two starts fail, the third works.
    let count = d.join("count");
    let start = format!(
        "echo start >> {l}; echo x >> {c}; test $(wc -l < {c}) -ge 3",
        l = log.display(),
        c = count.display()
    );
    let cf = config(&d, &start, "/bin/true");
    let mut f = running(&[
        "--active",
        "-n",
        "-c",
        cf.to_str().unwrap(),
        "--start-attempts",
        "3",
        "--retry-delay",
        "0.1",
    ]);
    f.expect_line(
        "Starting local service 192.0.2.50:8080 ...",
        Duration::from_secs(5),
    );
    f.expect_line(
        "Failed to start service 192.0.2.50:8080! (exit status 1)",
        Duration::from_secs(5),
    );
    testkit::wait::expect_until(
        Duration::from_secs(5),
        || std::fs::read_to_string(&log).unwrap_or_default() == "stop\nstart\nstart\nstart\n",
        || format!("{:?}", std::fs::read_to_string(&log)),
    );
    assert!(!f.text().contains("DID NOT START"));
    f.signal(Signal::SIGTERM);
    assert_eq!(f.exit_code(Duration::from_secs(5)), Some(0));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "stop\nstart\nstart\nstart\nstop\n"
    );
    f.expect_line("will now exit to notify pulse...", Duration::from_secs(1));

    // A start that never works: tried, reported loudly, and fos stays up.
    std::fs::remove_file(&log).unwrap();
    let cf = config(
        &d,
        &format!("echo start >> {}; exit 7", log.display()),
        "/bin/true",
    );
    let f = running(&[
        "-F",
        "-n",
        "-c",
        cf.to_str().unwrap(),
        "--start-attempts",
        "2",
        "--retry-delay",
        "0.1",
    ]);
    f.expect_line(
        "SERVICE 192.0.2.50:8080 DID NOT START after 2 attempts",
        Duration::from_secs(5),
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "stop\nstart\nstart\n"
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut f = f;
    assert!(f.try_wait().is_none(), "fos left");
    drop(f);
}

#[test]
fn a_monitor_exit_is_a_failover_condition() {
    let d = dir("monitor");
    let log = d.join("log");
    // The monitor program gets nanny's arguments; this one records them and exits.
    let mon = d.join("monitor.sh");
    std::fs::write(
        &mon,
        format!(
            "#!/bin/sh\necho \"$@\" > {}\nsleep 0.3\nexit 0\n",
            d.join("args").display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", mon.to_str().unwrap()])
        .status()
        .unwrap();
    let cf = config(&d, "true", mon.to_str().unwrap());
    let mut f = running(&["--monitor", "-n", "-v", "-c", cf.to_str().unwrap()]);
    assert_eq!(f.exit_code(Duration::from_secs(10)), Some(0));
    let out = f.text();
    assert!(out.contains("Stopping local services (if any)"), "{out}");
    assert!(
        out.contains("Monitor for service 192.0.2.50:8080 exited. This is a failover condition!"),
        "{out}"
    );
    assert!(out.contains("will now exit to notify pulse..."), "{out}");
    // stop_cmd ran first; the monitor got piranha's FOS arguments against the VIP.
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "stop\n");
    assert_eq!(
        std::fs::read_to_string(d.join("args")).unwrap().trim(),
        "-c -h 192.0.2.50 -V 192.0.2.1 -p 8080 -v -t 1 --nodaemon --fos"
    );
}

/// A monitor killed by a signal said nothing about the partner's service: fos starts it
/// again (the same fos), and only the next one's exit is a failover condition.
#[test]
fn a_monitor_killed_by_a_signal_is_started_again() {
    let d = dir("monitor-killed");
    let runs = d.join("runs");
    // The first run kills itself with SIGKILL; the second exits 0 (the partner failed).
    let mon = d.join("monitor.sh");
    std::fs::write(
        &mon,
        format!(
            "#!/bin/sh
echo run >> {r}
             if [ $(wc -l < {r}) -eq 1 ]; then kill -9 $$; fi
sleep 0.3
exit 0
",
            r = runs.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", mon.to_str().unwrap()])
        .status()
        .unwrap();
    let cf = config(&d, "true", mon.to_str().unwrap());
    let mut f = running(&["--monitor", "-n", "-v", "-c", cf.to_str().unwrap()]);
    assert_eq!(f.exit_code(Duration::from_secs(10)), Some(0));
    let out = f.text();
    assert!(
        out.contains(
            "Monitor for service 192.0.2.50:8080 was killed by signal 9: not a failover \
             condition; starting it again"
        ),
        "{out}"
    );
    assert_eq!(
        out.matches("This is a failover condition!").count(),
        1,
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\nrun\n");
}

/// `--stop-hot`: the stop_cmd of a hot service runs and its marker goes (status 0); nothing
/// runs without hot services; a failing stop_cmd gives status 2.
#[test]
fn stop_hot_stops_the_hot_services_and_says_when_a_stop_failed() {
    let d = dir("stophot");
    let cold = config(&d, "true", "/bin/true");
    let text = std::fs::read_to_string(&cold).unwrap();
    let hot = d.join("hot.cf");
    std::fs::write(
        &hot,
        text.replace(
            "    port = 8080\n",
            "    port = 8080\n    hot_standby = 1\n",
        ),
    )
    .unwrap();
    let run = d.join("run");
    let args = |cf: &Path| {
        vec![
            "--stop-hot".to_owned(),
            "-n".into(),
            "-c".into(),
            cf.display().to_string(),
            "--run-dir".into(),
            run.display().to_string(),
        ]
    };
    let go = |cf: &Path| {
        let a = args(cf);
        output(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, out) = go(&cold);
    assert_eq!(code, Some(0), "{out}");
    assert!(!d.join("log").exists(), "a cold service was stopped");
    std::fs::create_dir_all(&run).unwrap();
    let marker = run.join("hot-192.0.2.50:8080");
    std::fs::write(&marker, "/bin/sh\n-c\ntrue\n").unwrap();
    let (code, out) = go(&hot);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Shutting down local service 192.0.2.50:8080"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(d.join("log")).unwrap(), "stop\n");
    assert!(!marker.exists());
    let failing = d.join("failing.cf");
    let t = std::fs::read_to_string(&hot).unwrap();
    let stop = t
        .lines()
        .find(|l| l.contains("stop_cmd"))
        .unwrap()
        .to_owned();
    std::fs::write(&failing, t.replace(&stop, "    stop_cmd = /bin/false")).unwrap();
    let (code, out) = go(&failing);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("returned error exit status 1"), "{out}");
}
