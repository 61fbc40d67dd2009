//! The system as it is: processes, IPVS through the `ipvs` crate, addresses, links, ARP and
//! ICMP through `netif`.

use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use super::{Announce, BoxFuture, SyncRole, System, vip_text};
use crate::daemon::Event;
use crate::settings::Vip;

/// The real system. Without rtnetlink (`netif` could not be opened) addresses are left alone.
#[derive(Debug, Clone)]
pub struct Real {
    netif: Option<netif::Netif>,
}

impl Real {
    /// Open rtnetlink; a failure is logged and leaves the addresses alone.
    pub fn new() -> Real {
        let netif = match netif::Netif::new() {
            Ok(n) => Some(n),
            Err(e) => {
                info!("{e}: addresses will not be changed");
                None
            }
        };
        Real { netif }
    }
}

impl Default for Real {
    fn default() -> Self {
        Real::new()
    }
}

impl System for Real {
    fn run_command(&self, cmd: &str, argv: &[String]) {
        let Some((prog, args)) = argv.split_first() else {
            return;
        };
        debug!("DEBUG -- Executing '{cmd}'");
        let mut c = tokio::process::Command::new(prog);
        c.args(args)
            .stdin(Stdio::null())
            .env_remove("NOTIFY_SOCKET");
        match c.spawn() {
            Ok(mut child) => {
                let cmd = cmd.to_owned();
                tokio::spawn(async move {
                    if let Ok(st) = child.wait().await
                        && !st.success()
                    {
                        info!("command {cmd} failed: {st}");
                    }
                });
            }
            Err(e) => info!("cannot run {prog}: {e}"),
        }
    }

    fn sync_daemon(&self, iface: &str, id: u8, role: SyncRole) {
        use ipvs::{Daemon, IpvsTable, NetlinkIpvs, SyncState};
        let mut t = match NetlinkIpvs::new() {
            Ok(t) => t,
            Err(e) => {
                info!("cannot reach IPVS for the sync daemon: {e}");
                return;
            }
        };
        for s in [SyncState::Backup, SyncState::Master] {
            let _ = t.stop_daemon(&Daemon::new(s, iface, u32::from(id)));
        }
        for &s in role.states() {
            if let Err(e) = t.start_daemon(&Daemon::new(s, iface, u32::from(id))) {
                info!("cannot start the {} sync daemon on {iface}: {e}", s.name());
            }
        }
    }

    fn launches(&self, _what: &str) -> bool {
        true
    }

    fn bring_up<'a>(&'a self, vips: &'a [Vip]) -> BoxFuture<'a, Vec<Vip>> {
        Box::pin(async move {
            let Some(n) = &self.netif else {
                return Vec::new();
            };
            let wanted: Vec<(String, IpAddr, u8)> = vips
                .iter()
                .map(|v| (v.device.clone(), v.ip, v.prefix))
                .collect();
            let mut up = Vec::new();
            for (v, r) in vips.iter().zip(n.add_addresses(&wanted).await) {
                match r {
                    Ok(_) => up.push(v.clone()),
                    Err(e) => info!("cannot bring up {}: {e}", vip_text(v)),
                }
            }
            up
        })
    }

    fn take_down<'a>(&'a self, vip: &'a Vip) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(n) = &self.netif else { return };
            if let Err(e) = n.del_address(&vip.device, vip.ip).await {
                info!("cannot take down {}: {e}", vip_text(vip));
            }
        })
    }

    fn addresses(&self) -> BoxFuture<'_, Vec<IpAddr>> {
        Box::pin(async move {
            let Some(n) = &self.netif else {
                return Vec::new();
            };
            match n.addresses().await {
                Ok(a) => a.into_iter().map(|a| a.ip).collect(),
                Err(_) => Vec::new(),
            }
        })
    }

    fn announce(&self, vips: Vec<Vip>, how: Announce) -> Option<JoinHandle<()>> {
        let n = self.netif.clone()?;
        Some(tokio::spawn(async move {
            // One listing of the links for every address: the first ARP goes out at once.
            let links = match n.links().await {
                Ok(l) => l,
                Err(e) => {
                    info!("no arps: {e}");
                    return;
                }
            };
            let mut targets = Vec::new();
            for v in &vips {
                let base = netif::base_device(&v.device);
                match links.iter().find(|l| l.name == base) {
                    Some(l) => match l.mac {
                        Some(mac) => targets.push((l.index, mac, v.ip)),
                        None => info!("{} has no hardware address: no arps for {}", l.name, v.ip),
                    },
                    None => info!("no arps for {}: no device {base}", v.ip),
                }
            }
            // One packet socket for the whole announcement (closing one waits for an RCU
            // grace period), closed on the blocking pool at the end.
            let garp = match netif::announce::GarpSender::new() {
                Ok(g) => ClosedOffLoop(Some(g)),
                Err(e) => {
                    info!("cannot open a socket for gratuitous arps: {e}");
                    ClosedOffLoop(None)
                }
            };
            for i in 0..how.count {
                if i > 0 {
                    tokio::time::sleep(how.interval).await;
                }
                for (index, mac, ip) in &targets {
                    let r = match (*ip, &garp.0) {
                        (IpAddr::V4(a), Some(g)) => g.send(*index, *mac, a),
                        (IpAddr::V4(_), None) => continue,
                        (IpAddr::V6(a), _) => netif::announce::send_unsolicited_na(*index, *mac, a),
                    };
                    if let Err(e) = r {
                        debug!("cannot announce {ip}: {e}");
                    }
                }
            }
            drop(garp);
            info!("gratuitous {} arps finished", how.what);
        }))
    }

    fn watch_links(
        &self,
        watched: Vec<(IpAddr, &'static str)>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Option<JoinHandle<()>> {
        Some(tokio::spawn(async move {
            if let Err(e) = super::links::watch(watched, events).await {
                info!("cannot monitor links: {e}");
            }
        }))
    }

    fn gateway_answers(&self) -> BoxFuture<'static, bool> {
        Box::pin(gateway_answers())
    }
}

/// Ping the default gateway: up to 3 echo requests, 1 s each.
async fn gateway_answers() -> bool {
    let gw = match netif::Netif::new() {
        Ok(n) => n.default_gateway().await.ok().flatten(),
        Err(_) => None,
    };
    let Some((gw, oif)) = gw else {
        info!("no default gateway to check");
        return false;
    };
    tokio::task::spawn_blocking(move || {
        (0..3).any(|_| netif::ping::echo(gw, oif, Duration::from_secs(1)).unwrap_or(false))
    })
    .await
    .unwrap_or(false)
}

/// The gratuitous ARP socket of one announcement, closed on the blocking pool however the
/// announcement ends (finished, or aborted by a newer one): closing it waits for an RCU grace
/// period, which must not stall pulse's single-threaded loop.
struct ClosedOffLoop(Option<netif::announce::GarpSender>);

impl Drop for ClosedOffLoop {
    fn drop(&mut self) {
        let Some(g) = self.0.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(move || drop(g));
            }
            Err(_) => drop(g),
        }
    }
}
