//! A reload whose host names take long to resolve must not stop the heartbeats: pulse reads
//! and resolves the file off its main loop. The name server of the active director's
//! namespace is made silent, so resolving blocks for seconds.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use pulse::status::Status;
use testkit::dns::SilentDns;
use testkit::root_or_skip;

type Lan = testkit::lan::Lan<Status>;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The status, or `None` when pulse does not answer within `limit` (a blocked main loop
/// accepts the connection but never writes).
fn status_within(sock: &std::path::Path, limit: Duration) -> Option<Status> {
    use std::io::Read;
    let mut c = std::os::unix::net::UnixStream::connect(sock).ok()?;
    c.set_read_timeout(Some(limit)).ok()?;
    let mut text = String::new();
    c.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn heartbeats_go_on_while_a_reload_waits_for_a_slow_name_server() {
    if !root_or_skip() {
        return;
    }
    let lan = Lan::new();
    // Before pulse starts: `ip netns exec` mounts the namespace's resolv.conf at exec time.
    let dns = SilentDns::new(&lan.ns("d1"), 6);
    let cfg = lan.config("0.2", "1", "");
    let d1 = lan.pulse("d1", &cfg, &["-t"]);
    let d2 = lan.pulse("d2", &cfg, &["-t"]);
    d1.wait_for(s(5), "activation", |s| s.state == "active");
    d2.wait_for(s(5), "the master's heartbeat", |s| {
        s.partner_state.as_deref() == Some("active")
    });
    // The master rereads a file with a host name in it (a private heartbeat address).
    let text = std::fs::read_to_string(&cfg).unwrap();
    let name = dns.slow_name("backup-private");
    std::fs::write(
        &cfg,
        text.replace(
            "backup = 10.7.0.2\n",
            &format!("backup = 10.7.0.2\nprimary_private = 10.7.0.1\nbackup_private = {name}\n"),
        ),
    )
    .unwrap();
    d1.signal(Signal::SIGHUP);
    d1.wait_log(s(5), "rereading configuration file");
    // For 3 s (three deadtimes) the master answers at once, stays active and keeps sending,
    // and the backup never takes over.
    let answer = || {
        status_within(&d1.sock, Duration::from_millis(500))
            .unwrap_or_else(|| panic!("d1 did not answer while resolving\n{}", d1.log()))
    };
    let sent = answer().heartbeats_sent;
    let t0 = Instant::now();
    while t0.elapsed() < s(3) {
        assert_eq!(answer().state, "active", "{}", d1.log());
        assert!(!d2.active(), "the backup took over\n{}", d2.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = d1.log();
    assert!(
        !log.contains("cannot resolve"),
        "the name server answered too soon for the test to mean anything\n{log}"
    );
    let now = answer().heartbeats_sent;
    assert!(now >= sent + 10, "{sent} then {now} heartbeats sent\n{log}");
    // When resolving gives up, the running configuration stays.
    d1.wait_log(s(30), "cannot resolve backup_private");
    d1.wait_log(s(5), "keeping the running configuration");
    assert!(d1.active() && !d2.active());
    assert_eq!(d1.status().unwrap().reloads, 0);
}
