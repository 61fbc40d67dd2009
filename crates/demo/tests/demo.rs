//! The README's run command: the demo cluster balances, drops a dead server and takes it back.

use std::process::Command;

#[test]
fn demo_balances_and_drops_a_server() {
    let o = Command::new(env!("CARGO_BIN_EXE_piranha-demo"))
        .args(["--seconds", "17"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rounds: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("demo: round"))
        .collect();
    // Balanced over the three at first.
    let balanced = |l: &&str| {
        ["web1", "web2", "web3"]
            .iter()
            .all(|w| l.matches(w).count() == 2)
    };
    assert!(rounds.iter().any(balanced), "{out}");
    // No request is lost while web2 is down: the data plane tries the next server.
    assert!(
        rounds
            .iter()
            .all(|l| l.split_whitespace().skip(3).count() == 6 && !l.contains("(no answer)")),
        "{out}"
    );
    assert!(
        out.contains("web/web2: connecting failed (refused): out of rotation"),
        "{out}"
    );
    // web2 out of rotation once its nanny noticed, then back.
    let gone = out
        .find("[inactive] shutting down 127.0.0.1:9002 due to connection failure")
        .expect("web2 taken out");
    let back = out.find("starting web2 again").expect("web2 restarted");
    let between = &out[gone..back];
    assert!(
        between
            .lines()
            .filter(|l| l.starts_with("demo: round"))
            .all(|l| !l.contains("web2")),
        "{between}"
    );
    assert!(
        out[back..].contains("[ active ] making 127.0.0.1:9002 available"),
        "{out}"
    );
    assert!(out.contains("lvs: shutting down due to signal 15"), "{out}");
}

#[test]
fn demo_usage() {
    let o = Command::new(env!("CARGO_BIN_EXE_piranha-demo"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown argument --bogus"));
    let o = Command::new(env!("CARGO_BIN_EXE_piranha-demo"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("usage: piranha-demo"));
}
