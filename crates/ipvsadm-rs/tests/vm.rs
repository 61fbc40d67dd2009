//! ipvsadm-rs next to the real ipvsadm 1.31, on the real kernel (qemu VM): for every case,
//! both tools run on the same table and must print the same bytes on stdout and stderr,
//! exit with the same status, and leave the same table behind.

use std::process::Command;
use vmtest::must;

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
ipvsadm -a -t 10.0.0.9:8080 -r 192.168.10.21 -m -w 7 -x 50 -y 5
ipvsadm -A -t 10.0.0.10:80 -s wrr
ipvsadm -a -t 10.0.0.10:80 -r 192.168.10.22:8080 -m -w 4
ipvsadm -a -t 10.0.0.10:80 -r 192.168.10.23:8080 -m -w 2
ipvsadm -A -t 10.0.0.11:80 -s lblc
ipvsadm -A -t 10.0.0.12:80 -s dh
ipvsadm -A -t 10.0.0.13:80 -s sed -p 30 -M 255.255.0.0
ipvsadm -A -t 10.0.0.14:80 -s nq
ipvsadm -A -u 10.0.0.15:514 -s ovf -o
ipvsadm -a -u 10.0.0.15:514 -r 192.168.10.24 -m -w 1 -x 10 -y 1
ipvsadm -A -t [2001:db8::99]:443 -s wlc -p 600 -M 48
ipvsadm -a -t [2001:db8::99]:443 -r [2001:db8::6]:443 -m -w 9
ipvsadm -a -t [2001:db8::99]:443 -r 192.168.10.25 -i --tun-type ipip
ipvsadm -A -f 4 -s rr -b flag-1,flag-2,flag-3
ipvsadm -A -f 5 -s sh -b sh-fallback
ipvsadm -A -f 4000000000 -s wlc
ipvsadm -A --sctp-service [2001:db8::7]:3868 -s mh -b mh-fallback,mh-port
ipvsadm -A -t 10.0.0.16:443 -s rr -p 120 --pe sip
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
        // A negative mark in the int range is ours only (see fwmark_round_trip); these
        // negatives both refuse.
        ("", "-A -f -0"),
        ("", "-A -f -2147483649"),
        ("", "-A -f -4294967295"),
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
        ("", "-L -nq"),
        ("", "-LA"),
        ("", "-A -ut"),
        ("", "-Ln --bogus=1"),
        // popt's `=`: refused after an option without a value, dropped after a short one.
        ("", "-Ln=1"),
        ("", "-L --numeric=1"),
        ("", "-A -t 10.1.1.1:80 -s=rr -p=60"),
        ("", "-A -t=10.1.1.1:80"),
        // Brackets around an IPv4 address: the port after them is ignored, one inside counts.
        ("", "-A -t [10.1.1.1]:80"),
        ("", "-A -t [10.1.1.1:80]:"),
        ("", "-A -t [10.1.1.1]:80 -p"),
        ("", "-A -t [10.1.1.1]"),
        // A service name before the protocol is known is not a port.
        ("", "-a -r 192.168.10.1:http -t 10.1.1.1:80"),
        ("", "-a -t 10.1.1.1:80 -r 192.168.10.1:http"),
        // IPv4-compatible IPv6 addresses print with a dotted quad, as inet_ntop does.
        (
            "-A -t [::10.1.1.1]:80 -s rr; -a -t [::10.1.1.1]:80 -r [::10.2.2.2]:8080 -m",
            "-L -n",
        ),
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

/// Empty the table, stop the daemons, restore the default timeouts, then load `s` (lines of
/// ipvsadm commands, `;`-separated or not, with or without the leading `ipvsadm`) with one
/// `ipvsadm -R`: one process instead of one per rule, as emulated time is slow.
fn setup(s: &str) {
    let mut rules = String::new();
    for line in s.lines().flat_map(|l| l.split(';')) {
        let line = line.trim();
        if !line.is_empty() {
            rules.push_str(line.strip_prefix("ipvsadm ").unwrap_or(line));
            rules.push('\n');
        }
    }
    std::fs::write("/tmp/setup.rules", rules).unwrap();
    sh(
        "ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; \
        ipvsadm --set 900 120 300; ipvsadm -R < /tmp/setup.rules",
    );
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
            let mut g = vmtest::Guest::self_test(
                "same_output_status_and_table_as_the_real_ipvsadm",
            )
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
            );
            // About 200 cases of a dozen processes each, in an emulated CPU that may share
            // the host's two cores with another guest: minutes, not seconds.
            g.timeout = std::time::Duration::from_secs(900);
            let out = g.run_ok();
            out.assert_self_test_passed();
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
        // Every `ipvsadm` word is dropped; CR ends a word; vertical tab does not.
        (
            "",
            "-R",
            Some("-A -t 10.1.1.1:80 ipvsadm -s rr\r\n-A -t 10.1.1.2:80\x0b-s rr\n"),
        ),
        ("", "-R", Some("  \t\n-A\t-t\t10.1.1.3:80")),
    ];
    cases.extend(restore_cases);
    // The rich table must be rich: at least 20 services, every scheduler of the kernel.
    setup(RICH);
    let listing = sh("ipvsadm -L -n");
    let services = listing
        .lines()
        .filter(|l| !l.starts_with("  ->") && !l.starts_with("Prot") && !l.starts_with("IP "))
        .count();
    assert!(services >= 20, "{services} services:\n{listing}");
    for sched in [
        "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.split_whitespace().nth(2) == Some(sched)
                    || l.split_whitespace().nth(3) == Some(sched)),
            "no {sched} service:\n{listing}"
        );
    }
    let failures = compare_all(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    fwmark_round_trip();
}

/// Marks above 2^31, which ipvsadm 1.31 saves as negative numbers: its own `-R` refuses its
/// `-S` output; ipvsadm-rs `-R` restores it to the same table, and both tools then save the
/// same bytes. (In the guest, inside the comparison test: one VM boot for both.)
fn fwmark_round_trip() {
    setup(
        "-A -f 4294967295 -s rr\n-a -f 4294967295 -r 192.168.10.3:0 -g -w 2\n\
         -A -f 2147483648 -6 -s wlc\n-a -f 2147483648 -6 -r [2001:db8::5]:0 -i\n\
         -A -f 2147483647 -s sh\n",
    );
    let saved = sh("ipvsadm -S -n");
    assert!(
        saved.contains("-A -f -1 -s rr\n") && saved.contains("-A -f -2147483648 -6 -s wlc\n"),
        "ipvsadm 1.31 -S:\n{saved}"
    );
    // The real ipvsadm refuses its own output.
    sh("ipvsadm -C");
    let (_, err, status) = run_as("/sbin/ipvsadm", "-R", Some(&saved));
    // (The first negative mark in the kernel's order is named.)
    assert!(
        status == 2
            && [
                "invalid fwmark value `-1' specified\n",
                "invalid fwmark value `-2147483648' specified\n"
            ]
            .contains(&err.as_str()),
        "ipvsadm -R of its own -S: status {status}, {err:?}"
    );
    // ipvsadm-rs restores it.
    sh("ipvsadm -C");
    let (out, err, status) = run_as("/bin/ipvsadm-rs", "-R", Some(&saved));
    assert_eq!(
        (status, err.as_str(), out.as_str()),
        (0, "", ""),
        "ipvsadm-rs -R of:\n{saved}"
    );
    // The same rules (the kernel lists a fwmark bucket in insertion order, so the order of
    // services may differ from the first table's), and both tools save the same bytes.
    let real = sh("ipvsadm -S -n");
    let sorted = |s: &str| {
        let mut l: Vec<String> = s.lines().map(String::from).collect();
        l.sort_unstable();
        l
    };
    assert_eq!(
        sorted(&real),
        sorted(&saved),
        "real ipvsadm -S after ipvsadm-rs -R"
    );
    let (ours, err, status) = run_as("/bin/ipvsadm-rs", "-S -n", None);
    assert_eq!((status, err.as_str()), (0, ""));
    assert_eq!(
        ours, real,
        "ipvsadm-rs -S and ipvsadm -S after ipvsadm-rs -R"
    );
    // The marks are the unsigned ones: the kernel finds them by their positive form.
    let (_, err, status) = run_as("/sbin/ipvsadm", "-D -f 4294967295", None);
    assert_eq!((status, err.as_str()), (0, ""), "ipvsadm -D -f 4294967295");
    let (_, err, status) = run_as("/sbin/ipvsadm", "-D -f 2147483648 -6", None);
    assert_eq!(
        (status, err.as_str()),
        (0, ""),
        "ipvsadm -D -f 2147483648 -6"
    );
    assert_eq!(sh("ipvsadm -S -n"), "-A -f 2147483647 -s sh\n");
}

/// Compare two `-L -n -c` listings: the same bytes, except that the expire column (the
/// word after the protocol) may differ by a second.
fn same_connections(a: &str, b: &str) -> bool {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    // (line without its expire word, expire in seconds)
    fn split(l: &str) -> (String, Option<i64>) {
        let Some(p) = l.find(' ') else {
            return (l.to_string(), None);
        };
        let rest = &l[p + 1..];
        let Some(e) = rest.find(' ') else {
            return (l.to_string(), None);
        };
        let word = &rest[..e];
        let secs = word
            .split_once(':')
            .and_then(|(m, s)| Some(m.parse::<i64>().ok()? * 60 + s.parse::<i64>().ok()?));
        match secs {
            Some(t) => (format!("{} {}", &l[..p], &rest[e..]), Some(t)),
            None => (l.to_string(), None),
        }
    }
    la.len() == lb.len()
        && la.iter().zip(&lb).all(|(x, y)| {
            let ((sx, tx), (sy, ty)) = (split(x), split(y));
            sx == sy
                && match (tx, ty) {
                    (Some(p), Some(q)) => (p - q).abs() <= 1,
                    (None, None) => true,
                    _ => false,
                }
        })
}

/// A web server in namespace `ns` that answers with its own name.
fn web_server(ns: &str) {
    must(&format!(
        "mkdir -p /tmp/www-{ns} && echo {ns} > /tmp/www-{ns}/index.html && \
         /sbin/ip netns exec {ns} httpd -p 80 -h /tmp/www-{ns}"
    ));
}

fn fetch(ns: &str, url: &str) -> String {
    // busybox wget crashes with -T: bound the time with timeout(1) instead.
    must(&format!(
        "timeout 10 /sbin/ip netns exec {ns} wget -q -O - {url}"
    ))
    .trim()
    .to_string()
}

#[test]
fn traffic_through_a_vip_programmed_by_ipvsadm_rs() {
    if !vmtest::in_guest() {
        if vmtest::require() {
            let mut g = vmtest::Guest::self_test("traffic_through_a_vip_programmed_by_ipvsadm_rs")
                .bin(env!("CARGO_BIN_EXE_ipvsadm-rs"), "ipvsadm-rs");
            g.modules.extend(["bridge".to_string()]);
            let out = g.run_ok();
            out.assert_self_test_passed();
        }
        return;
    }
    // NAT: client 10.0.1.2 -> VIP 10.0.1.100 on the director -> real servers on 192.168.20.0/24.
    must("echo 1 > /proc/sys/net/ipv4/ip_forward");
    must(
        "/sbin/ip netns add client && /sbin/ip link add h0 type veth peer name c0 netns client \
          && /sbin/ip addr add 10.0.1.1/24 dev h0 && /sbin/ip addr add 10.0.1.100/32 dev h0 && /sbin/ip link set h0 up \
          && /sbin/ip -n client addr add 10.0.1.2/24 dev c0 && /sbin/ip -n client link set c0 up \
          && /sbin/ip -n client link set lo up && /sbin/ip -n client route add default via 10.0.1.1",
    );
    for (i, ns) in ["rs1", "rs2"].iter().enumerate() {
        let n = i + 2;
        must(&format!(
            "/sbin/ip netns add {ns} && /sbin/ip link add d{n} type veth peer name e0 netns {ns} \
             && /sbin/ip addr add 192.168.2{n}.1/24 dev d{n} && /sbin/ip link set d{n} up \
             && /sbin/ip -n {ns} addr add 192.168.2{n}.2/24 dev e0 && /sbin/ip -n {ns} link set e0 up \
             && /sbin/ip -n {ns} link set lo up && /sbin/ip -n {ns} route add default via 192.168.2{n}.1"
        ));
        web_server(ns);
    }
    must("ipvsadm-rs -A -t 10.0.1.100:80 -s rr");
    must("ipvsadm-rs -a -t 10.0.1.100:80 -r 192.168.22.2:80 -m");
    must("ipvsadm-rs -a -t 10.0.1.100:80 -r 192.168.23.2:80 -m -w 1");
    let mut answers: Vec<String> = (0..4)
        .map(|_| fetch("client", "http://10.0.1.100/"))
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        ["rs1", "rs1", "rs2", "rs2"],
        "round robin over both real servers"
    );

    // Live counters and connections read the same through both tools. The kernel folds its
    // per-CPU counters into what it reports every 2 s (the estimator), so a reading counts
    // only when the real ipvsadm saw the same table just before and just after ours.
    for args in [
        "-L -n --stats",
        "-L -n --stats --exact",
        "-L -n",
        "-L -n --persistent-conn",
    ] {
        let mut tries = 0;
        loop {
            let before = must(&format!("ipvsadm {args}"));
            let ours = must(&format!("ipvsadm-rs {args}"));
            let after = must(&format!("ipvsadm {args}"));
            if before == after {
                assert_eq!(ours, before, "ipvsadm {args}");
                break;
            }
            tries += 1;
            assert!(tries < 10, "the counters never settled:\n{before}\n{after}");
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    let real = must("ipvsadm -L -n -c");
    let ours = must("ipvsadm-rs -L -n -c");
    assert!(real.lines().count() > 2, "connections are listed:\n{real}");
    assert!(
        same_connections(&real, &ours),
        "real:\n{real}\nours:\n{ours}"
    );
    let real = must("ipvsadm -L -c --persistent-conn -n");
    let ours = must("ipvsadm-rs -L -c --persistent-conn -n");
    assert!(
        same_connections(&real, &ours),
        "real:\n{real}\nours:\n{ours}"
    );

    // A failed real server: taking it out with weight 0 (quiescing) sends new traffic to the other.
    must("ipvsadm-rs -e -t 10.0.1.100:80 -r 192.168.22.2:80 -m -w 0");
    let answers: Vec<String> = (0..3)
        .map(|_| fetch("client", "http://10.0.1.100/"))
        .collect();
    assert_eq!(answers, ["rs2", "rs2", "rs2"]);
    must("ipvsadm-rs -C");

    // Direct routing: director, client and real servers on one bridge; the real servers hold
    // the VIP on lo and answer the client directly.
    must(
        "/sbin/ip link add br0 type bridge && /sbin/ip link set br0 up \
          && /sbin/ip addr add 10.0.5.1/24 dev br0 && /sbin/ip addr add 10.0.5.100/32 dev br0",
    );
    for (ns, addr) in [
        ("dclient", "10.0.5.2"),
        ("drs1", "10.0.5.11"),
        ("drs2", "10.0.5.12"),
    ] {
        must(&format!(
            "/sbin/ip netns add {ns} && /sbin/ip link add b-{ns} type veth peer name e0 netns {ns} \
             && /sbin/ip link set b-{ns} master br0 && /sbin/ip link set b-{ns} up \
             && /sbin/ip -n {ns} addr add {addr}/24 dev e0 && /sbin/ip -n {ns} link set e0 up \
             && /sbin/ip -n {ns} link set lo up"
        ));
        if ns != "dclient" {
            must(&format!(
                "/sbin/ip netns exec {ns} sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore; \
                 echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce' \
                 && /sbin/ip -n {ns} addr add 10.0.5.100/32 dev lo"
            ));
            web_server(ns);
        }
    }
    must("ipvsadm-rs -A -t 10.0.5.100:80 -s rr");
    must("ipvsadm-rs -a -t 10.0.5.100:80 -r 10.0.5.11 -g");
    must("ipvsadm-rs -a -t 10.0.5.100:80 -r 10.0.5.12 -g");
    let mut answers: Vec<String> = (0..4)
        .map(|_| fetch("dclient", "http://10.0.5.100/"))
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        ["drs1", "drs1", "drs2", "drs2"],
        "direct routing to both"
    );
    assert_eq!(must("ipvsadm-rs -L -n"), must("ipvsadm -L -n"));
}
