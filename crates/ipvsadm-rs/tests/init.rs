//! On a kernel without IPVS (these build machines), both tools fail the same way before
//! reading the command line: same message, status 2.

use std::process::Command;

#[test]
fn without_ipvs_in_the_kernel_both_tools_say_the_same() {
    let real = ["/usr/sbin/ipvsadm", "/sbin/ipvsadm"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    let Some(real) = real.filter(|_| !has_ipvs) else {
        eprintln!(
            "SKIPPED: needs the real ipvsadm and a kernel without IPVS (the VM tests cover the rest)"
        );
        return;
    };
    for args in [
        &["-L", "-n"][..],
        &["-h"],
        &["-A", "-t", "10.0.0.1:80"],
        &["--bogus"],
    ] {
        let run = |bin: &str| {
            use std::os::unix::process::CommandExt;
            let out = Command::new(bin)
                .arg0("ipvsadm")
                .args(args)
                .output()
                .unwrap();
            (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                out.status.code(),
            )
        };
        let ours = run(env!("CARGO_BIN_EXE_ipvsadm-rs"));
        assert_eq!(ours, run(real), "ipvsadm {args:?}");
        assert_eq!(ours.2, Some(2));
        assert!(
            ours.1
                .starts_with("Can't initialize ipvs: Protocol not available\n")
        );
    }
}
