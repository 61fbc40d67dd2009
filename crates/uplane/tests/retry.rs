//! The TCP forwarder's retries with real sockets on loopback: a refusing destination is
//! passed over and reported once, `retries = 0` fails the client, a destination that resets
//! a request unanswered gets it replayed on the next one, and one that answers nothing to a
//! client that has finished sending does not.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipvs::{Dest, Forward, IpvsTable, Service, ServiceId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uplane::retry::ConnectFailure;
use uplane::{RetryPolicy, Userspace};

fn ip(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

async fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A backend that reads one request line and answers `<name>: <line>`, then closes.
async fn answering(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let line = read_line(&mut s).await;
                let _ = s.write_all(format!("{name}: {line}\n").as_bytes()).await;
            });
        }
    });
    at
}

/// A backend that reads the request line and then resets the connection without a word
/// (as a server that dies before answering).
async fn resetting() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = read_line(&mut s).await;
            // SO_LINGER 0: close() sends a reset.
            let zero = nix::libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            let _ = nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Linger, &zero);
            drop(s);
        }
    });
    at
}

/// A backend that reads until the client's end and closes without answering.
async fn silent() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }
    });
    at
}

async fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b).await.unwrap_or(0) == 1 && b[0] != b'\n' {
        out.push(b[0]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An rr service on a fresh port over `backends` (in this order), with failure reports.
async fn service(
    backends: &[SocketAddr],
) -> (
    Userspace,
    Service,
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<uplane::Failure>,
) {
    let port = free_port(ip(20)).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut t = Userspace::new(tokio::runtime::Handle::current()).with_reports(tx);
    let s = Service::new(ServiceId::tcp(ip(20), port)).scheduler("rr");
    t.add_service(&s).unwrap();
    for a in backends {
        let d = Dest::new(a.ip(), a.port()).forward(Forward::Masq).weight(1);
        t.add_dest(&s, &d).unwrap();
    }
    (t, s, SocketAddr::new(ip(20), port), rx)
}

/// Send `line` and read the answer ("" when the connection ends without one).
async fn ask(at: SocketAddr, line: &str, half_close: bool) -> String {
    // A client the forwarder resets at once may see it on connecting or writing already.
    let Ok(mut c) = TcpStream::connect(at).await else {
        return String::new();
    };
    if c.write_all(format!("{line}\n").as_bytes()).await.is_err() {
        return String::new();
    }
    if half_close && c.shutdown().await.is_err() {
        return String::new();
    }
    read_line(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_destination_is_passed_over_and_reported_once() {
    let live = answering("live").await;
    // A port nothing listens on: connecting is refused.
    let dead = SocketAddr::new(ip(1), free_port(ip(1)).await);
    let (t, s, at, mut rx) = service(&[dead, live]).await;
    for i in 0..20 {
        assert_eq!(ask(at, &i.to_string(), false).await, format!("live: {i}"));
    }
    let f = rx.recv().await.unwrap();
    assert_eq!(
        (f.service, f.dest, f.cause),
        (s.id, dead, ConnectFailure::Refused)
    );
    assert!(rx.try_recv().is_err(), "one report until lvsd decides");
    // No retries: every client whose pick is the dead server is reset.
    let none = RetryPolicy {
        connect_timeout: Duration::from_secs(1),
        retries: 0,
    };
    t.set_policy(s.id, none);
    let mut failed = 0;
    for _ in 0..4 {
        if ask(at, "x", false).await.is_empty() {
            failed += 1;
        }
    }
    assert_eq!(failed, 2, "rr sends every other client to the dead server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reset_unanswered_is_replayed_on_the_next_destination() {
    let (bad, good) = (resetting().await, answering("good").await);
    let (t, s, at, mut rx) = service(&[bad, good]).await;
    for i in 0..10 {
        let line = format!("request {i}");
        assert_eq!(ask(at, &line, false).await, format!("good: {line}"));
    }
    assert!(rx.try_recv().is_err(), "a reset is not reported");
    // The same with retries = 0: half of them fail.
    t.set_policy(
        s.id,
        RetryPolicy {
            connect_timeout: Duration::from_secs(1),
            retries: 0,
        },
    );
    let mut failed = 0;
    for _ in 0..4 {
        if ask(at, "x", false).await.is_empty() {
            failed += 1;
        }
    }
    assert_eq!(failed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_to_a_client_that_finished_sending_is_not_replayed() {
    let (quiet, good) = (silent().await, answering("good").await);
    let (_t, _s, at, _rx) = service(&[quiet, good]).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(ask(at, "once", true).await);
    }
    got.sort();
    assert_eq!(got, ["", "", "good: once", "good: once"]);
}
