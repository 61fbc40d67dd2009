//! Benchmark: restore a table of 5,000 services x 4 destinations with `ipvsadm-rs -R` and
//! with the real `ipvsadm -R`, in one run of the qemu VM, and print both times and the ratio.
//! Emulated time is slow, so the ratio is what counts.
//!
//! `cargo bench -p ipvsadm-rs --bench restore` (add `-- --services N` to change the size).

use std::time::{Duration, Instant};

fn rules(services: usize, dests: usize) -> String {
    let mut s = String::new();
    for i in 0..services {
        let vip = format!("10.{}.{}.{}", 100 + i / 62500, (i / 250) % 250, i % 250 + 1);
        s.push_str(&format!("-A -t {vip}:80 -s wlc\n"));
        for d in 0..dests {
            s.push_str(&format!(
                "-a -t {vip}:80 -r 192.168.{}.{}:8080 -m -w {}\n",
                d + 1,
                i % 250 + 1,
                d + 1
            ));
        }
    }
    s
}

fn time_restore(bin: &str) -> Duration {
    let run = |cmd: &str| {
        let ok = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .status()
            .unwrap();
        assert!(ok.success(), "{cmd}");
    };
    run("ipvsadm -C");
    let t = Instant::now();
    run(&format!("{bin} -R < /rules"));
    let dt = t.elapsed();
    let listed = std::process::Command::new("ipvsadm")
        .args(["-S", "-n"])
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&listed.stdout).lines().count();
    println!("RESTORED {bin} {lines}");
    dt
}

fn guest() {
    let net = "/sbin/ip link add v0 type veth peer name v1 && /sbin/ip addr add 192.168.0.254/16 dev v0 \
               && /sbin/ip link set v0 up && /sbin/ip link set v1 up";
    assert!(
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(net)
            .status()
            .unwrap()
            .success()
    );
    // Alternate the order so neither tool always runs on a freshly booted kernel.
    let rs1 = time_restore("/bin/ipvsadm-rs");
    let real = time_restore("/sbin/ipvsadm");
    let rs2 = time_restore("/bin/ipvsadm-rs");
    let rs = rs1.min(rs2);
    println!("TIMES {} {}", real.as_secs_f64(), rs.as_secs_f64());
}

fn main() {
    if std::env::var_os("VMTEST_GUEST").is_some() {
        guest();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let services = args
        .iter()
        .position(|a| a == "--services")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dests = 4;
    if vmtest::prerequisites().is_err() {
        eprintln!("{}", vmtest::prerequisites().unwrap_err());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut g = vmtest::Guest::new("VMTEST_GUEST=1 /bin/bench\n")
        .bin(exe, "bench")
        .bin(env!("CARGO_BIN_EXE_ipvsadm-rs"), "ipvsadm-rs")
        .file("/rules", rules(services, dests), 0o644);
    g.timeout = Duration::from_secs(1800);
    g.memory_mb = 1024;
    let out = g.run_ok();
    let restored: Vec<&str> = out
        .script
        .lines()
        .filter(|l| l.starts_with("RESTORED"))
        .collect();
    let want = services * (1 + dests);
    for r in &restored {
        assert!(
            r.ends_with(&format!(" {want}")),
            "incomplete restore: {r}\n{}",
            out.console
        );
    }
    let times = out
        .script
        .lines()
        .find_map(|l| l.strip_prefix("TIMES "))
        .unwrap_or_else(|| panic!("no timing:\n{}", out.console));
    let (real, rs): (f64, f64) = {
        let mut w = times.split_whitespace().map(|v| v.parse::<f64>().unwrap());
        (w.next().unwrap(), w.next().unwrap())
    };
    println!(
        "restore of {services} services x {dests} destinations ({want} rules), qemu TCG guest"
    );
    println!("| tool | seconds | rules/s |");
    println!("|---|---|---|");
    println!(
        "| ipvsadm 1.31 -R | {real:.2} | {:.0} |",
        want as f64 / real
    );
    println!("| ipvsadm-rs -R | {rs:.2} | {:.0} |", want as f64 / rs);
    println!("ratio ipvsadm / ipvsadm-rs: {:.2}x", real / rs);
}
