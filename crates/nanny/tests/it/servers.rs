//! nanny against real servers from Debian packages (nginx, vsftpd, sshd, dnsmasq), each
//! test in its own network namespace, so the ports can be the same in every test.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use testkit::nginx::Nginx;
use testkit::tempdir::TempDir;

use crate::common::*;

/// A fresh directory for one server's configuration and state, removed on drop.
fn scratch(name: &str) -> TempDir {
    TempDir::new(&format!("nanny-it-{name}"))
}

const ADDED: &str = "@nanny/1 op=add weight=1 state=up reason=check";

/// Start a server and wait until it accepts TCP connections on `addr`; if it exits first,
/// fail with its status and its log file.
fn start(cmd: &mut Command, addr: &str, log: &Path) -> Daemon {
    let mut d = Daemon::spawn(cmd);
    let log = || std::fs::read_to_string(log).unwrap_or_default();
    testkit::wait::expect_until(
        S(10),
        || {
            if let Some(status) = d.0.try_wait().unwrap() {
                panic!("{cmd:?} exited with {status}:\n{}", log());
            }
            std::net::TcpStream::connect(addr).is_ok()
        },
        || format!("{cmd:?}: nothing listens on {addr}:\n{}", log()),
    );
    d
}

/// nginx on 127.0.0.1:8080: `/` answers 200, everything else 404.
fn nginx() -> Nginx {
    Nginx::start("127.0.0.1:8080", "hello")
}

/// Expect the first successful check to add the server: a second check would come only
/// after the 5 s interval.
fn added_at_once(n: &Nanny, target: &str) {
    let t = n.expect(ADDED, S(4));
    assert!(t < S(4), "{t:?}\n{}", n.output());
    n.expect(&format!("[ active ] making {target} available"), S(1));
}

/// Servers that answer with the wrong thing: over ~3 one-second intervals none is ever
/// added, and each check logs its `failure`.
fn never_added(checks: &[(&Nanny, &str)]) {
    for (n, failure) in checks {
        let t = n.expect(failure, S(5));
        assert!(t < S(5), "{t:?}\n{}", n.output());
    }
    // Two more intervals, and more.
    std::thread::sleep(MS(2500));
    for (n, failure) in checks {
        assert_eq!(n.count("op=add"), 0, "{}", n.output());
        assert_eq!(n.count("[ active ]"), 0, "{}", n.output());
        assert!(
            n.count(failure) >= 2,
            "checks should repeat:\n{}",
            n.output()
        );
    }
}

#[test]
fn nginx_http_send_expect() {
    if !root_or_skip() || !have("/usr/sbin/nginx", "nginx-light") {
        return;
    }
    in_netns(|| {
        let _nginx = nginx();
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "8080",
            "-t",
            "5",
            "-s",
            r"GET / HTTP/1.0\r\n\r\n",
            "-x",
            "HTTP",
        ]);
        added_at_once(&n, "127.0.0.1:8080");
    });
}

#[test]
fn nginx_http_default_on_port_80() {
    if !root_or_skip() || !have("/usr/sbin/nginx", "nginx-light") {
        return;
    }
    in_netns(|| {
        let nginx = nginx();
        let n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "80", "-r", "8080", "-t", "5"]);
        n.expect(
            "no monitor configured, assuming web service on port 80",
            S(4),
        );
        added_at_once(&n, "127.0.0.1:8080");
        // The default send string reached nginx as a request. nginx logs it after it has
        // answered, so the line may come a little after nanny's verdict.
        testkit::wait::file_contains(nginx.access_log(), "\"GET / HTTP/1.0\" 200", S(5));
    });
}

#[test]
fn nginx_regex_and_prefix_on_status_line() {
    if !root_or_skip() || !have("/usr/sbin/nginx", "nginx-light") {
        return;
    }
    in_netns(|| {
        let _nginx = nginx();
        let check = |path: &str, t: &str, expect: &str, regex: bool| {
            let send = format!(r"GET {path} HTTP/1.0\r\n\r\n");
            let mut args = vec![
                "-h",
                "127.0.0.1",
                "-p",
                "8080",
                "-t",
                t,
                "-s",
                &send,
                "-x",
                expect,
            ];
            if regex {
                args.push("--regex");
            }
            Nanny::spawn(&args)
        };
        let ok200 = check("/", "5", r"^HTTP/1\.[01] 200", true);
        let ok404 = check("/missing", "5", r"^HTTP/1\.[01] 404", true);
        let bad404 = check("/", "1", r"^HTTP/1\.[01] 404", true);
        // Piranha's expect is a prefix: "200" does not match "HTTP/1.1 200 OK".
        let prefix = check("/", "1", "200", false);
        added_at_once(&ok200, "127.0.0.1:8080");
        added_at_once(&ok404, "127.0.0.1:8080");
        never_added(&[
            (
                &bad404,
                "READ from 127.0.0.1:8080 did not match the expected regular expression: got \"HTTP/1.1 200 OK",
            ),
            (
                &prefix,
                "READ from 127.0.0.1:8080 did not match the expect string: got \"HTTP/1.1 200 OK",
            ),
        ]);
    });
}

#[test]
fn nginx_killed_while_monitored() {
    if !root_or_skip() || !have("/usr/sbin/nginx", "nginx-light") {
        return;
    }
    in_netns(|| {
        let nginx = nginx();
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "8080",
            "-t",
            "1",
            "-s",
            r"GET / HTTP/1.0\r\n\r\n",
            "-x",
            "HTTP",
        ]);
        // Measured after the start, so never later than nanny's own clock.
        let start = Instant::now();
        n.expect(ADDED, S(4));
        // A few more successful checks change nothing.
        std::thread::sleep(MS(1500));
        assert_eq!(n.count("op="), 1, "{}", n.output());
        assert_eq!(n.count("[inactive]"), 0, "{}", n.output());
        let killed = start.elapsed();
        drop(nginx);
        let gone = "[inactive] shutting down 127.0.0.1:8080 due to connection failure";
        let t = n.expect(gone, S(5));
        let td = n.expect("@nanny/1 op=delete weight=0 state=down reason=check", S(1));
        // Within about one interval of the kill (2 × interval + 3 s on a loaded machine).
        for t in [t, td] {
            assert!(
                t >= killed && t - killed <= S(5),
                "killed at {killed:?}:\n{}",
                n.output()
            );
        }
        // -v logs the refused connection.
        n.expect(
            "Failed to connect 127.0.0.1:8080 ping socket: Connection refused",
            S(1),
        );
        assert_eq!(n.count("op=delete"), 1, "{}", n.output());
    });
}

#[test]
fn vsftpd_banner() {
    if !root_or_skip() || !have("/usr/sbin/vsftpd", "vsftpd") {
        return;
    }
    in_netns(|| {
        let dir = scratch("vsftpd");
        let empty = dir.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let conf = dir.write(
            "vsftpd.conf",
            &format!(
                "listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=2121
background=NO
secure_chroot_dir={}
seccomp_sandbox=NO
anonymous_enable=YES
ftp_username=nobody
local_enable=NO
xferlog_enable=NO
vsftpd_log_file={}
ftpd_banner=nanny test
",
                empty.display(),
                dir.join("vsftpd.log").display()
            ),
        );
        let _ftp = start(
            Command::new("/usr/sbin/vsftpd").arg(&conf),
            "127.0.0.1:2121",
            &dir.join("vsftpd.log"),
        );
        // A banner protocol: nothing is sent, the greeting is read.
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "21",
            "-r",
            "2121",
            "-t",
            "5",
            "-x",
            "220",
        ]);
        added_at_once(&n, "127.0.0.1:2121");
        // Let vsftpd reap the session of the last check before it is killed.
        drop(n);
        std::thread::sleep(MS(300));
    });
}

#[test]
fn sshd_banner() {
    if !root_or_skip()
        || !have("/usr/sbin/sshd", "openssh-server")
        || !have("ssh-keygen", "openssh-client")
    {
        return;
    }
    in_netns(|| {
        let dir = scratch("sshd");
        let key = dir.join("host_key");
        sh(&format!(
            "ssh-keygen -q -t ed25519 -N '' -f {} </dev/null",
            key.display()
        ));
        let conf = dir.write(
            "sshd_config",
            &format!(
                "Port 2222\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nUsePAM no\n",
                key.display(),
                dir.join("sshd.pid").display()
            ),
        );
        // Privilege separation directory, which Debian creates only from the service unit.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let log = dir.join("sshd.log");
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.arg("-D").arg("-E").arg(&log).arg("-f").arg(&conf);
        // OpenSSH ≥ 9.8 penalises clients that leave before authenticating, as nanny does.
        let penalties = Command::new("/usr/sbin/sshd")
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .args(["-o", "PerSourcePenalties=no"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if penalties {
            cmd.args(["-o", "PerSourcePenalties=no"]);
        }
        let _sshd = start(&mut cmd, "127.0.0.1:2222", &log);
        let ssh = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "22",
            "-r",
            "2222",
            "-t",
            "5",
            "-x",
            "SSH-",
        ]);
        let ssh1 = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "22",
            "-r",
            "2222",
            "-t",
            "1",
            "-x",
            "SSH-1.",
        ]);
        added_at_once(&ssh, "127.0.0.1:2222");
        never_added(&[(
            &ssh1,
            "READ from 127.0.0.1:2222 did not match the expect string: got \"SSH-2.0-",
        )]);
    });
}

/// A DNS query (ID, RD set, one question of type A class IN) written with `\xNN` escapes.
fn dns_query(id: u16, name: &str) -> String {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q.iter().map(|b| format!(r"\x{b:02x}")).collect()
}

#[test]
fn dnsmasq_udp() {
    if !root_or_skip() || !have("/usr/sbin/dnsmasq", "dnsmasq-base") {
        return;
    }
    in_netns(|| {
        let dir = scratch("dnsmasq");
        let log = dir.join("dnsmasq.log");
        let _dns = start(
            Command::new("/usr/sbin/dnsmasq")
                .args([
                    "-k",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                    "--port=5353",
                    "--user=root",
                    "--address=/check.test/192.0.2.7",
                    // An empty address: NXDOMAIN for the whole domain.
                    "--address=/nx.test/",
                ])
                .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
                .arg(format!("--log-facility={}", log.display())),
            // dnsmasq opens its TCP socket with the UDP one.
            "127.0.0.1:5353",
            &log,
        );
        let udp = |t: &str, send: Option<&str>, expect: Option<&str>| {
            let mut args = vec!["-h", "127.0.0.1", "-p", "53", "-r", "5353", "-t", t, "-u"];
            if let Some(s) = send {
                args.extend(["-s", s]);
            }
            if let Some(x) = expect {
                args.extend(["-x", x]);
            }
            Nanny::spawn(&args)
        };
        let check = dns_query(0x1234, "check.test");
        let nx = dns_query(0x1234, "nx.test");
        // ID 0x1234, QR AA RD, RA NOERROR: dnsmasq answers local names authoritatively.
        let noerror = r"\x12\x34\x85\x80";
        let ok = udp("5", Some(&check), Some(noerror));
        // Piranha crashed on UDP without an expect string; any reply now passes.
        let any = udp("5", Some(&check), None);
        // NXDOMAIN (\x81\x83) is not the NOERROR header.
        let bad = udp("1", Some(&nx), Some(noerror));
        // An empty datagram draws no reply from dnsmasq: the read times out, not before the
        // interval.
        let silent = udp("1", None, None);
        added_at_once(&ok, "127.0.0.1:5353");
        added_at_once(&any, "127.0.0.1:5353");
        never_added(&[(
            &bad,
            r#"READ from 127.0.0.1:5353 did not match the expect string: got "\x124\x81\x83"#,
        )]);
        let t = silent.expect("READ to 127.0.0.1:5353 timed out", S(5));
        assert!(t >= S(1) && t < S(5), "{t:?}:\n{}", silent.output());
        assert_eq!(silent.count("op=add"), 0, "{}", silent.output());
    });
}

#[test]
fn udp_port_unreachable_fails_fast() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        let query = dns_query(0x1234, "check.test");
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "53",
            "-r",
            "5354",
            "-t",
            "5",
            "-u",
            "-s",
            &query,
            "-x",
            r"\x12\x34",
        ]);
        // ICMP port unreachable ends the check at once, long before the 5 s timeout.
        let t = n.expect(
            "READ from 127.0.0.1:5354 returned error: Connection refused",
            S(3),
        );
        assert!(t < S(3), "{t:?}:\n{}", n.output());
        assert_eq!(n.count("timed out"), 0, "{}", n.output());
        assert_eq!(n.count("op=add"), 0, "{}", n.output());
    });
}
