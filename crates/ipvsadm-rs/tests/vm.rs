//! ipvsadm-rs next to the real ipvsadm 1.31, on the real kernel (qemu VM): for every case,
//! both tools run on the same table and must print the same bytes on stdout and stderr,
//! exit with the same status, and leave the same table behind.

use std::process::Command;

/// Interfaces and addresses the cases use (real servers must be routable).
const NET: &str = "/sbin/ip link add v0 type veth peer name v1 && /sbin/ip addr add 192.168.10.254/24 dev v0 \
    && /sbin/ip -6 addr add 2001:db8::fe/64 dev v0 nodad && /sbin/ip link set v0 up && /sbin/ip link set v1 up";

/// A table with one of everything, built with the real ipvsadm.
const RICH: &str = "\
ipvsadm -A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0
ipvsadm -a -t 207.175.44.110:80 -r 192.168.10.2:80 -m -w 3
ipvsadm -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1 -x 100 -y 10
ipvsadm -A -t 10.0.0.1:443 -s wlc
ipvsadm -a -t 10.0.0.1:443 -r 192.168.10.9 -g -w 5
ipvsadm -A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port
ipvsadm -a -u [2001:db8::80]:53 -r [2001:db8::5]:53 -m
ipvsadm -A -u 10.0.0.5:5060 -s rr -p 60 --pe sip
ipvsadm -A -f 1 -s wlc
ipvsadm -a -f 1 -r 192.168.10.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
ipvsadm -a -f 1 -r 192.168.10.4:0 -i -w 2 --tun-type gre --tun-csum
ipvsadm -a -f 1 -r 192.168.10.5:0 -i -w 0
ipvsadm -A -f 3 -6 -s mh -b mh-port -o
ipvsadm -A --sctp-service 10.0.0.7:3868 -s lc
ipvsadm -A -u 10.0.0.8:1194 -s fo -o
ipvsadm -A -t 10.0.0.9:8080 -s lblcr -p
";

/// (setup, args): the setup runs with the real ipvsadm before each side.
fn cases() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = vec![
        // Listing formats on the rich table.
        (RICH, "-L -n"),
        (RICH, "-l -n"),
        (RICH, "-Ln"),
        (RICH, "-L"),
        (RICH, "-L -n --stats"),
        (RICH, "-L -n --rate"),
        (RICH, "-L -n --thresholds"),
        (RICH, "-L -n --persistent-conn"),
        (RICH, "-L -n --tun-info"),
        (RICH, "-L -n --exact --stats"),
        (RICH, "-L -n --nosort"),
        (RICH, "-L -n --sort"),
        (RICH, "-L -n -t 207.175.44.110:80"),
        (RICH, "-L -n -f 1"),
        (RICH, "-L -n -u [2001:db8::80]:53"),
        (RICH, "-L -n -t 10.9.9.9:80"),
        (RICH, "-S -n"),
        (RICH, "-S"),
        (RICH, "--save --numeric"),
        (RICH, "-L --timeout"),
        (RICH, "-L --daemon"),
        (RICH, "-Z"),
        (RICH, "-Z -t 207.175.44.110:80"),
        (RICH, "-Z -t 10.9.9.9:1"),
        (RICH, "-C"),
        // Adding, editing, deleting.
        ("", "-A -t 10.1.1.1:80"),
        ("", "-A -t 10.1.1.1:80 -s rr -p"),
        ("", "-A -t 10.1.1.1:80 -s rr -p 120 -M 255.255.0.0"),
        ("", "-A -t 10.1.1.1 -p 30"),
        ("", "-A -t 10.1.1.1"),
        ("", "-A -t 10.1.1.1:http -s wrr"),
        ("", "-A -u 10.1.1.1:domain"),
        ("", "-A -t [2001:db8::1]:80 -s dh -p 10 -M 64"),
        ("", "-A -t [2001:db8::1]:80 -p 10 -M 200"),
        ("", "-A -f 7 -s sed"),
        ("", "-A -f 7 -6 -s nq"),
        ("", "-A -6 -f 7"),
        ("", "-A -f 0"),
        ("", "-A -f -3"),
        ("", "-A -f 4294967295"),
        ("", "-A -t 10.1.1.1:80 -o"),
        ("", "-A -u 10.1.1.1:80 -o -s ovf"),
        ("", "-A -t 10.1.1.1:80 -s fifo"),
        ("", "-A -t 10.1.1.1:80 --pe bogus -p"),
        ("", "-A -t 10.1.1.1:80 -s sh -b sh-port"),
        ("", "-A -t 10.1.1.1:80 -b sh-port -s sh"),
        ("", "-A -t 10.1.1.1:80 -s rr -b flag-1,flag-3"),
        ("", "-A -t 10.1.1.1:80 -s rr -b sh-port"),
        ("", "-A -t 10.1.1.1:80 -s rr -b nope"),
        ("", "-A -t 10.1.1.1:80 -s rr -s wlc"),
        ("", "-A -t 10.1.1.1:80 -t 10.1.1.2:80"),
        ("", "-A -t 10.1.1.1:99999"),
        ("", "-A -t 12345"),
        ("", "-A -t nosuchhost.invalid:80"),
        ("", "-A -t 10.1.1.1:nosuchservice"),
        ("", "-A -t 10.1.1.1:80 -p abc"),
        ("", "-A -t 10.1.1.1:80 -p 0"),
        ("", "-A -t 10.1.1.1:80 -M 255.255.255.0"),
        ("", "-A -t 10.1.1.1:80 -p -M 255.0.255.0"),
        ("", "-A -t 10.1.1.1:80 -p -M garbage!"),
        ("", "-A -t 10.1.1.1:80 -n"),
        ("", "-A -t 10.1.1.1:80 -r 192.168.10.1"),
        ("", "-A"),
        ("", "-A -t 10.1.1.1:80 extra"),
        ("-A -t 10.1.1.1:80", "-A -t 10.1.1.1:80"),
        ("ipvsadm -A -t 10.1.1.1:80", "-E -t 10.1.1.1:80 -s rr -p 60"),
        ("", "-E -t 10.1.1.1:80 -s rr"),
        ("ipvsadm -A -t 10.1.1.1:80", "-D -t 10.1.1.1:80"),
        ("", "-D -t 10.1.1.1:80"),
        ("ipvsadm -A -t 10.1.1.1:80", "-D -t 10.1.1.1:80 -s rr"),
        // Real servers.
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1:8080 -m -w 2",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1:8080 -g",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -r 192.168.10.1 -t 10.1.1.1:80 -m",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -w -1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -w 2147483648",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -x 5 -y 10",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -x 10 -y 5",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r [2001:db8::5]:80 -m",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r [2001:db8::5]:80 -i",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 224.0.0.1:80 -m",
        ),
        ("ipvsadm -A -t 10.1.1.1:80", "-a -t 10.1.1.1:80"),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -s rr",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -m -g",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 --tun-type gue",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type gue",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type gue --tun-port 6080 --tun-csum --tun-remcsum",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type ipip --tun-csum",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type gre --tun-port 1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type vxlan",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-a -t 10.1.1.1:80 -r 192.168.10.1 -i --tun-type gue --tun-port 0",
        ),
        ("", "-a -t 10.1.1.1:80 -r 192.168.10.1"),
        (
            "ipvsadm -A -t 10.1.1.1:80; ipvsadm -a -t 10.1.1.1:80 -r 192.168.10.1",
            "-a -t 10.1.1.1:80 -r 192.168.10.1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80; ipvsadm -a -t 10.1.1.1:80 -r 192.168.10.1 -m",
            "-e -t 10.1.1.1:80 -r 192.168.10.1 -m -w 0",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-e -t 10.1.1.1:80 -r 192.168.10.1 -m -w 0",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80; ipvsadm -a -t 10.1.1.1:80 -r 192.168.10.1 -m",
            "-d -t 10.1.1.1:80 -r 192.168.10.1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-d -t 10.1.1.1:80 -r 192.168.10.1",
        ),
        (
            "ipvsadm -A -t 10.1.1.1:80",
            "-d -t 10.1.1.1:80 -r 192.168.10.1 -w 3",
        ),
        // Timeouts and daemons.
        ("", "--set 600 60 120"),
        ("", "--set 600 60"),
        ("", "--set 600 60 x"),
        ("", "--set 0 0 2678401"),
        ("", "--set 1 2 3 4"),
        ("", "--start-daemon master --mcast-interface v0 --syncid 9"),
        (
            "",
            "--start-daemon backup --mcast-interface v0 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1000",
        ),
        ("", "--start-daemon master --mcast-interface nosuch0"),
        ("", "--start-daemon both"),
        ("", "--start-daemon master --mcast-group 10.0.0.1"),
        (
            "",
            "--start-daemon master --mcast-group ff02::1 --mcast-interface v0",
        ),
        ("", "--start-daemon master --syncid 256"),
        ("", "--start-daemon master --mcast-port 0"),
        (
            "ipvsadm --start-daemon master --mcast-interface v0",
            "--start-daemon master --mcast-interface v0",
        ),
        (
            "ipvsadm --start-daemon master --mcast-interface v0",
            "-L --daemon",
        ),
        (
            "ipvsadm --start-daemon master --mcast-interface v0",
            "--stop-daemon master",
        ),
        ("", "--stop-daemon master"),
        ("", "--stop-daemon slave"),
        ("ipvsadm --set 100 20 30", "-L --timeout"),
        // popt and the command-first rule.
        ("", "-t 10.1.1.1:80 -A"),
        ("", "-n -L"),
        ("", "--bogus"),
        ("", "-L --bogus"),
        ("", "-L -q"),
        ("", "-L -A"),
        ("", "-L -h"),
        ("", "-L -c --stats"),
        ("", "-L --timeout --daemon"),
        ("", "-L --timeout --persistent-conn"),
        ("", "-L -n -n"),
        ("", "-L foo"),
        ("", "-L -- -n"),
        ("", "-At 10.1.1.1:80"),
        ("", "-A -t10.1.1.1:80 -srr"),
        (
            "",
            "--add-service --tcp-service=10.1.1.1:80 --scheduler=rr --persistent=30",
        ),
        ("", "-A --tcp-service"),
        ("", "-A -t"),
        ("", "-S -n -c"),
        ("", "-C -n"),
        ("", "-R -n"),
        ("", "foo"),
        ("", "-"),
        ("", "-Z -t 10.1.1.1:80 -r 1.2.3.4"),
        ("", "-A -t 10.1.1.1:80 -b sh-port"),
        ("", "-L --add-service"),
        ("", "-L -v"),
        ("", "-h"),
        ("", "--help"),
        ("", "-v"),
        (RICH, ""),
    ];
    v.retain(|_| true);
    v
}

/// Both tools run as `ipvsadm` (argv[0]), so their messages name the same program.
fn run_as(bin: &str, args: &str, stdin: Option<&str>) -> (String, String, i32) {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin);
    cmd.arg0("ipvsadm");
    cmd.args(args.split_whitespace());
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let input = stdin.unwrap_or("").to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn sh(cmd: &str) -> String {
    let out = Command::new("/bin/sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn reset() {
    sh(
        "ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; ipvsadm --set 900 120 300",
    );
}

fn setup(s: &str) {
    reset();
    for line in s.lines().flat_map(|l| l.split(';')) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let line = if line.starts_with("ipvsadm") {
            line.to_string()
        } else {
            format!("ipvsadm {line}")
        };
        sh(&line);
    }
}

/// The version line legitimately differs (`-v` may name ipvsadm-rs).
fn normalize(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("ipvsadm v1.31") || l.starts_with("ipvsadm-rs ") {
                "<version>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn compare_all(cases: &[(&str, &str, Option<&str>)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (setup_cmds, args, stdin) in cases {
        setup(setup_cmds);
        let real = run_as("/sbin/ipvsadm", args, *stdin);
        let real_table = sh("ipvsadm -S -n; ipvsadm -L --timeout; ipvsadm -L --daemon");
        setup(setup_cmds);
        let ours = run_as("/bin/ipvsadm-rs", args, *stdin);
        let our_table = sh("ipvsadm -S -n; ipvsadm -L --timeout; ipvsadm -L --daemon");
        let (ro, re, rs) = &real;
        let (oo, oe, os) = &ours;
        if normalize(ro) != normalize(oo)
            || normalize(re) != normalize(oe)
            || rs != os
            || real_table != our_table
        {
            failures.push(format!(
                "ipvsadm {args}\n  real: status {rs}\n---stdout\n{ro}---stderr\n{re}---table\n{real_table}\n  ours: status {os}\n---stdout\n{oo}---stderr\n{oe}---table\n{our_table}"
            ));
        }
    }
    failures
}

#[test]
fn same_output_status_and_table_as_the_real_ipvsadm() {
    if !vmtest::in_guest() {
        if vmtest::require() {
            let out = vmtest::Guest::self_test("same_output_status_and_table_as_the_real_ipvsadm")
                .bin(env!("CARGO_BIN_EXE_ipvsadm-rs"), "ipvsadm-rs")
                .file(
                    "/etc/services",
                    std::fs::read("/etc/services").unwrap_or_default(),
                    0o644,
                )
                .file(
                    "/etc/hosts",
                    "127.0.0.1 localhost\n192.168.10.1 rs1.example\n207.175.44.110 www.example\n",
                    0o644,
                )
                .run_ok();
            assert!(
                out.script.contains("test result: ok. 1 passed"),
                "{}",
                out.console
            );
        }
        return;
    }
    sh(NET);
    let mut cases: Vec<(&str, &str, Option<&str>)> =
        cases().into_iter().map(|(s, a)| (s, a, None)).collect();
    // -R: rules on stdin (a leading `ipvsadm` word is allowed), kernel errors go on, a parse
    // error stops the restore, a nested -R is refused, a comment line is not a comment.
    let rules = RICH.replace("ipvsadm ", "");
    let restore_cases: Vec<(&str, &str, Option<&str>)> = vec![
        ("", "-R", Some(rules.as_str())),
        (
            "",
            "-R",
            Some("ipvsadm -A -t 10.1.1.1:80\n\n-a -t 10.1.1.1:80 -r 192.168.10.1 -m\n"),
        ),
        (
            "",
            "-R",
            Some("-A -t 10.1.1.1:80\n-A -t 10.1.1.1:80\n-A -t 10.1.1.2:80\n"),
        ),
        (
            "",
            "-R",
            Some("-A -t 10.1.1.1:80\n-A -t 10.1.1.2:80 -s rr -x 1\n-A -t 10.1.1.3:80\n"),
        ),
        ("", "-R", Some("-A -t 10.1.1.1:80\n-R\n-A -t 10.1.1.3:80\n")),
        ("", "-R", Some("# saved by hand\n-A -t 10.1.1.1:80\n")),
        ("", "-R", Some("-A -t 10.1.1.1:80\n-D -t 10.9.9.9:80\n")),
        ("", "-R", Some("")),
    ];
    cases.extend(restore_cases);
    let failures = compare_all(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
