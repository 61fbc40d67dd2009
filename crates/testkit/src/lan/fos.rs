//! The FOS cluster on the LAN: the service scripts, the file, and the client's view of the
//! service (busybox httpd on port 8080, started and stopped by `start_cmd`/`stop_cmd` in each
//! node's private /run).

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::de::DeserializeOwned;

use super::{Lan, Pulse, VIP};
use crate::bins::bin;
use crate::netns::in_netns;

/// The service scripts and the FOS file; `start` replaces the start script's body.
pub fn fos_config<S>(lan: &Lan<S>, timeout: u32, start: Option<&str>) -> PathBuf {
    write_config(lan, timeout, start, false)
}

/// [`fos_config`] with `hot_standby = 1` in the failover block: the web server runs on both
/// nodes (it listens on every address, so the standby's own copy answers at its address).
pub fn hot_fos_config<S>(lan: &Lan<S>, timeout: u32) -> PathBuf {
    write_config(lan, timeout, None, true)
}

fn write_config<S>(lan: &Lan<S>, timeout: u32, start: Option<&str>, hot: bool) -> PathBuf {
    let d = &lan.dir;
    let start_sh = d.join("start.sh");
    let body = start.map(str::to_owned).unwrap_or_else(|| {
        "mkdir -p /run/www\n\
         if ip -o addr show dev eth0 | grep -q ' 10.7.0.1/'; then echo d1; else echo d2; fi > /run/www/index.html\n\
         busybox httpd -f -p 8080 -h /run/www > /dev/null 2>&1 &\n\
         echo $! > /run/httpd.pid\n"
            .to_owned()
    });
    std::fs::write(&start_sh, body).unwrap();
    std::fs::write(
        d.join("stop.sh"),
        "if [ -f /run/httpd.pid ]; then kill $(cat /run/httpd.pid) 2>/dev/null; rm -f /run/httpd.pid; fi\n\
         echo stopped >> /run/stops\n",
    )
    .unwrap();
    let text = format!(
        "serial_no = 1\nprimary = 10.7.0.1\nbackup = 10.7.0.2\nbackup_active = 1\nservice = fos\n\
         keepalive = 0.5\ndeadtime = 2\n\
         failover web {{\n\
         \x20   active = 1\n\
         \x20   address = {VIP} eth0:1\n\
         \x20   port = 8080\n\
         \x20   send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n\
         \x20   expect = \"HTTP\"\n\
         \x20   timeout = {timeout}\n\
         \x20   client_monitor = {}\n\
         \x20   start_cmd = \"/bin/sh {}\"\n\
         \x20   stop_cmd = \"/bin/sh {}\"\n\
         {}\
         }}\n",
        bin("nanny").display(),
        start_sh.display(),
        d.join("stop.sh").display(),
        if hot { "    hot_standby = 1\n" } else { "" }
    );
    let p = d.join(format!("fos{timeout}{}.cf", if hot { "-hot" } else { "" }));
    std::fs::write(&p, text).unwrap();
    p
}

/// The LAN for FOS: the two nodes route through the client, which answers their gateway
/// pings. busybox (for the service) is required.
pub fn fos_lan<S: DeserializeOwned + Debug>() -> Lan<S> {
    if !have_busybox() {
        panic!("busybox is missing: apt-get install busybox-static");
    }
    let lan = Lan::new();
    lan.on("d1", "ip route add default via 10.7.0.100");
    lan.on("d2", "ip route add default via 10.7.0.100");
    lan
}

fn have_busybox() -> bool {
    std::process::Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
}

/// pulse in FOS mode on node `n`, with the workspace's fos.
pub fn fos_pulse<S: DeserializeOwned + Debug>(
    lan: &Lan<S>,
    n: &str,
    cfg: &Path,
    extra: &[&str],
) -> Pulse<S> {
    let fos = bin("fos");
    let mut args = vec!["--fos", fos.to_str().unwrap()];
    args.extend_from_slice(extra);
    lan.pulse(n, cfg, &args)
}

/// The page through the VIP: which node serves it.
pub fn page<S>(lan: &Lan<S>) -> Option<String> {
    in_netns(&lan.ns("c"), || {
        let addr: SocketAddr = format!("{VIP}:8080").parse().unwrap();
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
        c.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut t = String::new();
        c.read_to_string(&mut t).ok()?;
        t.split("\r\n\r\n").nth(1).map(|b| b.trim().to_owned())
    })
}

/// Wait until node `want` serves the page through the VIP: how long it took.
pub fn wait_page<S>(lan: &Lan<S>, want: &str, within: Duration) -> Duration {
    crate::wait::expect_until(
        within,
        || page(lan).as_deref() == Some(want),
        || format!("not served by {want} (got {:?})", page(lan)),
    )
}

/// The pid of the web server a node runs, if any.
pub fn httpd<S>(p: &Pulse<S>) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{}/root/run/httpd.pid", p.proc.pid()))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The pid of the web server node `p` runs, if it is alive (not gone, not a zombie).
pub fn httpd_alive<S>(p: &Pulse<S>) -> Option<i32> {
    httpd(p).filter(|pid| !crate::fault::gone(*pid as u32))
}

/// Wait until node `p` runs a live web server other than `not` (a copy started again);
/// its pid.
pub fn wait_httpd<S>(p: &Pulse<S>, not: Option<i32>, within: Duration) -> i32 {
    crate::wait::expect(
        within,
        || httpd_alive(p).filter(|pid| Some(*pid) != not),
        || format!("{}: no web server (other than {not:?})", p.name),
    )
}

/// The nanny a fos process runs, while it runs exactly one live nanny (the FOS pair has one
/// service: on the inactive node, the monitor of the partner's copy).
pub fn nanny_of(fos: u32) -> Option<u32> {
    let live: Vec<u32> = crate::fault::children_named(fos, "nanny")
        .into_iter()
        .filter(|p| !crate::fault::gone(*p))
        .collect();
    match live[..] {
        [n] => Some(n),
        _ => None,
    }
}

/// Wait until fos process `fos` runs a live nanny other than `not` (one started again);
/// its pid.
pub fn wait_nanny(fos: u32, not: Option<u32>, within: Duration) -> u32 {
    crate::wait::expect(
        within,
        || nanny_of(fos).filter(|pid| Some(*pid) != not),
        || format!("fos {fos}: no nanny (other than {not:?})"),
    )
}

/// Kill the web server of the (active) node `p`.
pub fn kill_service<S>(p: &Pulse<S>) {
    let pid = httpd(p).expect("the active node runs the service");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).unwrap();
}

/// Both nodes up in FOS mode, d1 active and serving.
pub fn started<S: DeserializeOwned + Debug>(
    lan: &Lan<S>,
    cfg: &Path,
    extra: &[&str],
) -> (Pulse<S>, Pulse<S>) {
    let d1 = fos_pulse(lan, "d1", cfg, extra);
    let d2 = fos_pulse(lan, "d2", cfg, extra);
    d1.wait_active_with_vips(Duration::from_secs(10), "active d1");
    wait_page(lan, "d1", Duration::from_secs(15));
    (d1, d2)
}

/// The machine of node `p` dies (power loss), as far as the LAN can tell: its bridge port
/// goes down, then pulse and its watchdog are killed together ([`Pulse::crash`]) and every
/// other process of its namespace with them (fos, the monitors, the web server), so nothing
/// answers and nothing is cleaned up. The port stays down until [`node_back`].
pub fn node_down<S: DeserializeOwned + Debug>(lan: &Lan<S>, p: Pulse<S>) {
    let ns = lan.ns(&p.name);
    lan.port(&p.name, false);
    p.crash();
    let pids = crate::must(&format!("ip netns pids {ns}"));
    for pid in pids
        .split_whitespace()
        .filter_map(|s| s.parse::<i32>().ok())
    {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Node `n` boots again after [`node_down`]: its port comes up and pulse starts.
///
/// The partner's neighbour entry for the node is flushed first: while the node was away the
/// partner's heartbeats to it waited in that entry's queue, and the oldest of them (sent
/// before the partner took over, saying "inactive") would reach the new pulse first. A real
/// machine takes longer to boot than the kernel keeps them.
pub fn node_back<S: DeserializeOwned + Debug>(
    lan: &Lan<S>,
    n: &str,
    cfg: &Path,
    extra: &[&str],
) -> Pulse<S> {
    let (_, ip) = super::NODES
        .iter()
        .find(|(o, _)| *o == n)
        .unwrap_or_else(|| panic!("no node {n}"));
    let partner = if n == "d1" { "d2" } else { "d1" };
    lan.on(partner, &format!("ip neigh flush to {ip}"));
    lan.port(n, true);
    fos_pulse(lan, n, cfg, extra)
}
