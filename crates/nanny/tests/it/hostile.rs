//! Hostile servers written here: silent, trickling, flooding, resetting, refusing, dropping
//! SYNs, closing early. Each test checks the verdict and when it came.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use testkit::servers::TcpServer;

use crate::common::*;

#[derive(Clone, Copy)]
enum Behaviour {
    /// Accept and never reply.
    Silent,
    /// Write these bytes one at a time, with a pause before each.
    Trickle(&'static [u8], Duration),
    /// Write a status line, then this many bytes of filler.
    Flood(usize),
    /// Accept, then reset the connection.
    Reset,
    /// Write these bytes, then close.
    CloseAfter(&'static [u8]),
}

/// Serve `port` on 127.0.0.1 with behaviour `b` until the test process ends.
fn serve(port: u16, b: Behaviour) {
    TcpServer::bind(("127.0.0.1", port), move |s, _| handle(s, b)).detach();
}

fn handle(mut s: TcpStream, b: Behaviour) {
    match b {
        Behaviour::Silent => {
            // Hold the connection until the peer goes away.
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.read(&mut [0u8; 1024]);
        }
        Behaviour::Trickle(bytes, pause) => {
            for b in bytes {
                std::thread::sleep(pause);
                if s.write_all(&[*b]).is_err() {
                    return;
                }
            }
        }
        Behaviour::Flood(n) => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < n {
                if s.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len();
            }
        }
        Behaviour::Reset => {
            let _ = s.read(&mut [0u8; 1024]);
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            let _ = nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Linger, &linger);
        }
        Behaviour::CloseAfter(bytes) => {
            let _ = s.write_all(bytes);
        }
    }
}

const ADDED: &str = "op=add";

#[test]
fn silent_server_fails_at_the_read_timeout() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7001, Behaviour::Silent);
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7001",
            "-t",
            "1",
            "-s",
            "HELLO\\n",
            "-x",
            "OK",
        ]);
        let t = n.expect("READ to 127.0.0.1:7001 timed out", S(8));
        // The read waits one interval; it cannot give up earlier.
        assert!(t >= MS(1000), "gave up after {t:?}");
        assert!(t < S(5), "took {t:?}");
        std::thread::sleep(S(2));
        assert_eq!(n.count(ADDED), 0, "{}", n.output());
        // Checks go on: a second timeout one period later.
        let t2 = n
            .wait_nth("READ to 127.0.0.1:7001 timed out", 1, S(8))
            .expect("second check");
        assert!(t2 - t >= MS(1900), "period {:?}", t2 - t);
    });
}

#[test]
fn reply_split_over_segments_passes() {
    // Piranha's single read() saw "H" and failed; reading until decided passes.
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7002, Behaviour::Trickle(b"HTTP/1.0 200 OK\r\n", MS(150)));
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7002",
            "-t",
            "3",
            "-s",
            "GET / HTTP/1.0\\r\\n\\r\\n",
            "-x",
            "HTTP",
        ]);
        let t = n.expect(ADDED, S(8));
        assert!(t >= MS(600), "four bytes at 150 ms cannot arrive in {t:?}");
    });
}

#[test]
fn one_byte_per_second_is_bounded_by_the_interval() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7003, Behaviour::Trickle(b"HTTP/1.0 200 OK", S(1)));
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7003",
            "-t",
            "1.5",
            "-x",
            "HTTP/1.0 200",
        ]);
        let t = n.expect("READ to 127.0.0.1:7003 timed out", S(8));
        assert!((MS(1500)..S(6)).contains(&t), "verdict after {t:?}");
        assert_eq!(n.count(ADDED), 0);
    });
}

#[test]
fn ten_megabytes_are_not_read_whole() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7004, Behaviour::Flood(10 << 20));
        // A prefix is decided by the first bytes.
        let ok = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7004", "-t", "2", "-x", "HTTP"]);
        let t = ok.expect(ADDED, S(8));
        assert!(t < S(4), "{t:?}");
        // A regex that never matches stops at 64 KiB, long before the timeout.
        let bad = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7004",
            "-t",
            "5",
            "--regex",
            "-x",
            "NEVER",
        ]);
        let t = bad.expect("exceeded 65536 bytes without a match", S(10));
        assert!(t < S(4), "{t:?}");
        assert_eq!(bad.count(ADDED), 0);
        let status = std::fs::read_to_string(format!("/proc/{}/status", bad.pid())).unwrap();
        let hwm_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap();
        assert!(hwm_kib < 16 * 1024, "peak RSS {hwm_kib} KiB");
    });
}

#[test]
fn reset_connection_fails() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7005, Behaviour::Reset);
        let n = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7005",
            "-t",
            "3",
            "-s",
            "PING\\r\\n",
            "-x",
            "PONG",
        ]);
        let t = n.expect(
            "READ from 127.0.0.1:7005 returned error: Connection reset by peer",
            S(8),
        );
        assert!(t < S(3), "a reset must not wait for the timeout: {t:?}");
        assert_eq!(n.count(ADDED), 0);
    });
}

#[test]
fn refused_connection_fails_at_once() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        // reentry = interval: after a failure one success re-adds.
        let n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7006", "-t", "5", "-a", "5"]);
        let t = n.expect(
            "Failed to connect 127.0.0.1:7006 ping socket: Connection refused",
            S(8),
        );
        assert!(t < S(3), "{t:?}");
        assert_eq!(n.count(ADDED), 0);
        // lvsd hears the first verdict although it changes nothing, and only that one.
        n.expect("@nanny/1 op=none weight=0 state=down reason=check", S(3));
        // …after the line of the check itself: failed, and fast (a refusal, not a timeout).
        let out = n.output();
        let check = out
            .lines()
            .find_map(|l| l.split("@nanny/1 check=failed duration_us=").nth(1))
            .unwrap_or_else(|| panic!("no check line in\n{out}"));
        let us: u64 = check.trim().parse().unwrap();
        assert!(us < 3_000_000, "{us} µs");
        assert!(
            out.find("check=failed") < out.find("op=none"),
            "the check line comes first:\n{out}"
        );
        // A listener appearing later is picked up by the next check.
        serve(7006, Behaviour::CloseAfter(b""));
        let t = n.expect(ADDED, S(15));
        assert!(t >= S(5), "the next check is one interval later: {t:?}");
        assert_eq!(n.count("op=none"), 1, "{}", n.output());
        assert_eq!(
            n.count("@nanny/1 check=ok duration_us="),
            1,
            "{}",
            n.output()
        );
    });
}

#[test]
fn dropped_syns_fail_at_the_connect_timeout() {
    if !root_or_skip() || !have("nft", "nftables") {
        return;
    }
    in_netns(|| {
        sh(
            "nft add table inet t && nft add chain inet t out '{ type filter hook output priority 0; }' \
            && nft add rule inet t out tcp dport 7007 drop",
        );
        serve(7007, Behaviour::CloseAfter(b"OK"));
        let n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7007", "-t", "1.5", "-x", "OK"]);
        let t = n.expect("CONNECT to 127.0.0.1:7007 timed out", S(8));
        assert!((MS(1500)..S(6)).contains(&t), "{t:?}");
        assert_eq!(n.count(ADDED), 0);
    });
}

#[test]
fn close_before_expect_is_too_short() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        serve(7008, Behaviour::CloseAfter(b"HT"));
        let n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7008", "-t", "3", "-x", "HTTP"]);
        let t = n.expect("READ from 127.0.0.1:7008 was too short[2>=4]", S(8));
        assert!(t < S(3), "EOF decides at once: {t:?}");
        assert_eq!(n.count(ADDED), 0);
    });
}

#[test]
fn wrong_reply_fails_on_the_first_differing_byte() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        // The server would keep the connection open after "SSH-"; the mismatch decides.
        serve(7009, Behaviour::Trickle(b"SSH-2.0-x\r\n", MS(1)));
        let n = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7009", "-t", "3", "-x", "220"]);
        let t = n.expect("did not match the expect string: got \"S\"", S(8));
        assert!(t < S(3), "{t:?}");
    });
}

#[test]
fn check_program_verdicts() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        // %h and %p inside words; output compared with the expect string.
        let ok = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7010",
            "-t",
            "2",
            "-e",
            "sh -c 'echo OK-%h:%p'",
            "-x",
            "OK-127.0.0.1:7010",
        ]);
        ok.expect(ADDED, S(6));
        // A crash is unhealthy even with an expect string (piranha counted it healthy).
        let crash = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7011",
            "-t",
            "2",
            "-e",
            "sh -c 'kill -SEGV $$'",
            "-x",
            "OK",
        ]);
        crash.expect("was killed by signal 11", S(6));
        // A hang is killed at the interval.
        let hang = Nanny::spawn(&[
            "-h",
            "127.0.0.1",
            "-p",
            "7012",
            "-t",
            "1",
            "-e",
            "sleep 30",
            "-x",
            "OK",
        ]);
        let t = hang.expect("timeout running the external check program", S(6));
        assert!((MS(1000)..S(4)).contains(&t), "{t:?}");
        // No expect string: the exit status decides.
        let status = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7013", "-t", "2", "-e", "true"]);
        status.expect(ADDED, S(6));
        let failing = Nanny::spawn(&["-h", "127.0.0.1", "-p", "7014", "-t", "2", "-e", "false"]);
        failing.expect("exited with status 1", S(6));
        std::thread::sleep(MS(500));
        for n in [&crash, &hang, &failing] {
            assert_eq!(n.count(ADDED), 0, "{}", n.output());
        }
    });
}

#[test]
fn ipv6_real_server() {
    if !root_or_skip() {
        return;
    }
    in_netns(|| {
        TcpServer::bind(("::1", 7020), |s, _| {
            handle(s, Behaviour::CloseAfter(b"220 v6\r\n"))
        })
        .detach();
        let n = Nanny::spawn(&["-h", "::1", "-p", "7020", "-t", "1", "-x", "220"]);
        n.expect("[ active ] making [::1]:7020 available", S(6));
        n.expect("op=add weight=1 state=up reason=check", S(6));
    });
}
