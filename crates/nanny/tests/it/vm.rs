//! One run against the real kernel's IPVS in the qemu VM: a standalone nanny adds, removes,
//! re-adds and finally cleans up a real server next to the real ipvsadm's view of the table.

use std::process::Command;

use crate::common::*;

const NAME: &str = "vm::standalone_nanny_changes_the_kernel_table";

fn table() -> String {
    let out = Command::new("ipvsadm")
        .arg("-Ln")
        .output()
        .expect("ipvsadm");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn httpd() -> Daemon {
    Daemon::spawn(Command::new("httpd").args(["-f", "-p", "127.0.0.1:8080", "-h", "/tmp/www"]))
}

#[test]
fn standalone_nanny_changes_the_kernel_table() {
    if !vmtest::in_guest() {
        if vmtest::require() {
            let out = vmtest::Guest::self_test(NAME)
                .bin(env!("CARGO_BIN_EXE_nanny"), "nanny")
                .env("NANNY_BIN", "/bin/nanny")
                .run_ok();
            out.assert_self_test_passed();
        }
        return;
    }
    sh("/sbin/ip link set lo up; mkdir -p /tmp/www && echo hello > /tmp/www/index.html");
    sh("ipvsadm -A -t 10.0.0.1:80 -s wlc");
    let web = httpd();
    wait_listening("127.0.0.1:8080", S(10));
    // The HTTP default (virtual port 80) checks busybox httpd with GET / and expect HTTP.
    let mut n = Nanny::spawn_raw(&[
        "-n",
        "-v",
        "-t",
        "0.5",
        "-a",
        "1",
        "-h",
        "127.0.0.1",
        "-p",
        "80",
        "-r",
        "8080",
        "-V",
        "10.0.0.1",
        "-w",
        "64",
        "--lvs",
    ]);
    n.expect("assuming web service on port 80", S(10));
    n.expect("[ active ] making 127.0.0.1:8080 available", S(20));
    let t = table();
    assert!(
        t.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
            == ["->", "127.0.0.1:8080", "Masq", "2", "0", "0"]),
        "{t}\n{}",
        n.output()
    );
    drop(web);
    n.expect(
        "[inactive] shutting down 127.0.0.1:8080 due to connection failure",
        S(20),
    );
    assert!(!table().contains("127.0.0.1:8080"), "{}", table());
    let _web = httpd();
    n.wait_nth("[ active ] making 127.0.0.1:8080 available", 1, S(20))
        .unwrap_or_else(|| panic!("not re-added:\n{}", n.output()));
    assert!(table().contains("127.0.0.1:8080"));
    n.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(
        n.wait_exit(S(10)).and_then(|s| s.code()),
        Some(0),
        "{}",
        n.output()
    );
    assert!(
        !table().contains("127.0.0.1:8080"),
        "SIGTERM left the server behind:\n{}",
        table()
    );
    // The service itself is the admin's (or lvsd's): nanny never deletes it.
    assert!(table().contains("TCP  10.0.0.1:80 wlc"), "{}", table());
}
