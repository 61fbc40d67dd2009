//! Signals (manual overrides, termination), FOS exit semantics and exit statuses, on real
//! processes.

use std::process::Command;

use nix::sys::signal::Signal;
use testkit::servers::TcpServer;

use crate::common::*;

/// A listener on `port` that answers `OK` and closes; dropping it closes the listener, so
/// connections are refused from then on.
fn ok_server(port: u16) -> TcpServer {
    TcpServer::reply(("127.0.0.1", port), "OK\n")
}

#[test]
fn overrides_freeze_checks_until_hup() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let server = ok_server(7101);
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7101",
            "-t",
            "0.5",
            "-a",
            "0.5",
            "-w",
            "40",
            "-x",
            "OK",
        ]);
        n.expect("op=add weight=1 state=up reason=check", S(5));
        // SIGUSR1: down, although the server is healthy; no check re-adds it.
        n.signal(Signal::SIGUSR1);
        n.expect("opaque glasses on", S(5));
        n.expect("op=delete weight=0 state=down reason=override", S(5));
        std::thread::sleep(S(2));
        assert_eq!(
            n.count("op=add"),
            1,
            "checks ran while frozen:\n{}",
            n.output()
        );
        // SIGUSR2: up at the full weight, and the server's death goes unnoticed while frozen.
        n.signal(Signal::SIGUSR2);
        n.expect("rose-colored glasses on", S(5));
        n.expect("op=add weight=40 state=up reason=override", S(5));
        drop(server);
        std::thread::sleep(S(2));
        assert_eq!(n.count("reason=check"), 1, "{}", n.output());
        // SIGHUP: back to checking; the dead server is removed.
        n.signal(Signal::SIGHUP);
        n.expect("DEBUG -- removing glasses", S(5));
        n.expect("op=delete weight=0 state=down reason=check", S(5));
        n.expect(
            "[inactive] shutting down 127.0.0.1:7101 due to connection failure",
            S(5),
        );
    });
}

#[test]
fn sigterm_removes_the_server_it_added() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let _server = ok_server(7102);
        let mut n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7102", "-t", "0.5", "-x", "OK"]);
        n.expect("op=add", S(5));
        n.signal(Signal::SIGTERM);
        n.expect("Terminating due to signal 15", S(5));
        n.expect("op=delete weight=0 state=down reason=shutdown", S(5));
        let status = n.wait_exit(S(5)).expect("nanny exits");
        assert_eq!(status.code(), Some(0));
        // A nanny that never added its server removes nothing.
        let mut n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7103", "-t", "0.5", "-x", "OK"]);
        n.expect("Connection refused", S(5));
        n.signal(Signal::SIGINT);
        n.expect("Terminating due to signal 2", S(5));
        assert_eq!(n.wait_exit(S(5)).and_then(|s| s.code()), Some(0));
        assert_eq!(n.count("op=delete"), 0);
    });
}

/// Whether a child of process `parent` runs whose command line contains `needle`.
fn child_running(parent: u32, needle: &str) -> bool {
    let ppid = |stat: &str| -> Option<u32> {
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat")).is_ok_and(|st| ppid(&st) == Some(parent))
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(needle))
}

#[test]
fn sigterm_kills_a_running_check_program() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let marker = std::env::temp_dir().join(format!("nanny-kill-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("sh -c 'sleep 3; touch {}'", marker.display());
        let mut n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7104", "-t", "10", "-e", &script]);
        // nanny runs the check program (whose command line names the marker).
        let needle = marker.display().to_string();
        testkit::wait::expect_until(
            S(5),
            || child_running(n.pid(), &needle),
            || format!("no check program:\n{}", n.output()),
        );
        n.signal(Signal::SIGTERM);
        assert_eq!(n.wait_exit(S(5)).and_then(|s| s.code()), Some(0));
        std::thread::sleep(S(4));
        assert!(!marker.exists(), "the check program outlived nanny");
    });
}

#[test]
fn quiesce_keeps_the_entry_and_sigterm_removes_it() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let server = ok_server(7105);
        let mut n = Nanny::spawn(&[
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            "7105",
            "-t",
            "0.5",
            "-a",
            "0.5",
            "-w",
            "64",
            "-x",
            "OK",
        ]);
        n.expect("op=add weight=2 state=up", S(5));
        drop(server);
        n.expect("op=edit weight=0 state=down reason=check", S(5));
        assert_eq!(n.count("op=delete"), 0);
        let _server = ok_server(7105);
        n.expect("op=edit weight=2 state=up reason=check", S(5));
        n.signal(Signal::SIGTERM);
        n.expect("op=delete weight=0 state=down reason=shutdown", S(5));
        assert_eq!(n.wait_exit(S(5)).and_then(|s| s.code()), Some(0));
    });
}

#[test]
fn fos_exit_statuses() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        // Up, then down: exit 0 so that fos fails over.
        let server = ok_server(7106);
        let mut n = Nanny::spawn(&[
            "--fos",
            "-h",
            "127.0.0.1",
            "-p",
            "7106",
            "-t",
            "0.5",
            "-x",
            "OK",
        ]);
        n.expect("Remote service 127.0.0.1:7106 is available", S(5));
        drop(server);
        n.expect("Exiting due to connection failure of 127.0.0.1:7106", S(5));
        assert_eq!(n.wait_exit(S(5)).and_then(|s| s.code()), Some(0));
        assert_eq!(n.count("@nanny"), 0, "FOS never reports IPVS changes");
        // Never up: two failures, exit 1.
        let mut n = Nanny::spawn(&["--fos", "-h", "127.0.0.1", "-p", "7107", "-t", "0.5"]);
        n.expect("No service active & available...", S(5));
        n.expect(
            "Timeout waiting for remote service -- triggering failover!",
            S(5),
        );
        assert_eq!(n.wait_exit(S(5)).and_then(|s| s.code()), Some(1));
    });
}

#[test]
fn usage_errors_exit_1_with_piranha_messages() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nanny"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run(&["--lvs"]),
        (
            Some(1),
            "nanny: No address supplied. Use '--help' for help.\n".into()
        )
    );
    assert_eq!(
        run(&["-h", "1.2.3.999", "--lvs"]),
        (Some(1), "nanny: bad IP address -- 1.2.3.999\n".into())
    );
    assert_eq!(
        run(&["-h", "10.0.0.2"]),
        (Some(1), "nanny: unknown service type\n".into())
    );
    // Standalone mode without a virtual address cannot work: refused before detaching.
    let (code, err) = run(&["-n", "-h", "10.0.0.2", "-p", "81", "--lvs"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no virtual address (-V)"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_nanny"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--quiesce_server"));
}

#[test]
fn bad_regex_is_logged_and_every_check_fails() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let _server = ok_server(7108);
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7108",
            "-t",
            "0.5",
            "--regex",
            "-x",
            "(OK",
        ]);
        n.expect("processing expected regular expression (OK", S(5));
        n.expect("the expected regular expression is invalid", S(5));
        std::thread::sleep(S(1));
        assert_eq!(n.count("op=add"), 0);
    });
}
