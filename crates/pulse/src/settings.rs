//! What pulse takes from lvs.cf, decided without touching the system: the role (master when
//! one of this host's addresses is `primary`, spec §2.2), the heartbeat addresses, the timers,
//! and the floating addresses to take over.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use lvscf::{Host, LvsConfig, Network, Service};

use crate::auth::AuthSettings;
use crate::error::Error;
use crate::wire::Mode;

/// A floating address and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Vip {
    /// `eth0` or `eth0:1` (the label).
    pub device: String,
    pub ip: IpAddr,
    pub prefix: u8,
}

/// Everything pulse needs from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    pub master: bool,
    pub backup_active: bool,
    /// This node's public and private heartbeat addresses.
    pub own: IpAddr,
    pub own_private: Option<IpAddr>,
    pub partner: Option<IpAddr>,
    pub partner_private: Option<IpAddr>,
    pub port: u16,
    pub keepalive: Duration,
    pub deadtime: Duration,
    /// The unique addresses of the active blocks, in file order.
    pub vips: Vec<Vip>,
    /// `nat_router` when `network = nat`.
    pub nat_router: Option<Vip>,
    /// `syncd_iface` and `syncd_id` when `syncdaemon = 1`.
    pub sync: Option<(String, u8)>,
    pub active_cmd: Option<String>,
    pub inactive_cmd: Option<String>,
    pub monitor_links: bool,
    /// Notes for the log (settings piranha corrected at start-up).
    pub notes: Vec<String>,
    /// FOS: the failover blocks as read, to tell whether a reload changed them.
    pub fos_blocks: String,
    /// Authenticated heartbeats (`heartbeat_key_file`), with the keys read.
    pub auth: Option<AuthSettings>,
    /// `config_sync`: this file's version, sent with each heartbeat.
    pub file_version: Option<crate::sync_plan::Version>,
    /// `config_sync`: the file's text as read (what the partner is sent) and the TCP port.
    pub file_text: Option<String>,
    pub sync_port: u16,
    /// `announce = bird`: the VIPs are on `lo` and lvsd announces them through BIRD.
    pub announce_bird: bool,
    /// LVS `hot_standby = 1` (not with `announce = bird`, where every director is active):
    /// lvsd runs on the inactive director too.
    pub hot_standby: bool,
}

impl Settings {
    /// Every address pulse may put up: the VIPs, then the NAT router.
    pub fn floating(&self) -> impl Iterator<Item = &Vip> {
        self.vips.iter().chain(self.nat_router.as_ref())
    }

    /// Whether a datagram from `ip` may be a heartbeat: from the partner's public address,
    /// or its private one when this node has a private socket too (spec §2.3).
    pub fn is_partner(&self, ip: IpAddr) -> bool {
        self.partner == Some(ip) || (self.own_private.is_some() && self.partner_private == Some(ip))
    }
}

/// Where the VIPs go with `announce = bird`.
pub const LOOPBACK: &str = "lo";

fn default_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

/// Host names resolved one way, with the keyword in the message when one fails.
struct Resolver<'a> {
    resolve: &'a dyn Fn(&Host) -> std::io::Result<IpAddr>,
}

impl Resolver<'_> {
    fn ip(&self, h: &Host, what: impl FnOnce() -> String) -> Result<IpAddr, Error> {
        (self.resolve)(h).map_err(|source| Error::Resolve {
            what: what(),
            source,
        })
    }

    /// An optional address; `0.0.0.0` counts as none.
    fn opt(&self, h: &Option<Host>, what: &str) -> Result<Option<IpAddr>, Error> {
        match h {
            None => Ok(None),
            Some(h) if h.is_unspecified() => Ok(None),
            Some(h) => self.ip(h, || what.to_owned()).map(Some),
        }
    }
}

/// The heartbeat addresses: this node's and the partner's.
#[derive(Debug)]
struct Peers {
    master: bool,
    backup_active: bool,
    own: IpAddr,
    own_private: Option<IpAddr>,
    partner: Option<IpAddr>,
    partner_private: Option<IpAddr>,
    notes: Vec<String>,
}

fn peers(cfg: &LvsConfig, local: &[IpAddr], r: &Resolver<'_>) -> Result<Peers, Error> {
    let primary = r.opt(&cfg.primary, "primary")?.ok_or(Error::NoPrimary)?;
    let primary_private = r.opt(&cfg.primary_private, "primary_private")?;
    let backup = r.opt(&cfg.backup, "backup")?;
    let backup_private = r.opt(&cfg.backup_private, "backup_private")?;
    let mut notes = Vec::new();
    let mut backup_active = cfg.backup_active;
    if backup_active && backup.is_none() {
        notes.push("Undefined backup node marked as active? -- clearing that!".to_owned());
        backup_active = false;
    }
    let master = local.contains(&primary);
    let (own, own_private, partner, partner_private) = if master {
        (primary, primary_private, backup, backup_private)
    } else {
        let own = backup.ok_or(Error::NoBackup)?;
        (own, backup_private, Some(primary), primary_private)
    };
    // As piranha: a private socket only when the private address differs from the public one.
    let own_private = own_private.filter(|p| *p != own);
    let partner_private = partner_private.filter(|p| Some(*p) != partner);
    Ok(Peers {
        master,
        backup_active,
        own,
        own_private,
        partner: partner.filter(|_| backup_active),
        partner_private: partner_private.filter(|_| backup_active),
        notes,
    })
}

/// The unique addresses of the active blocks, in file order, and the NAT router.
fn floating(
    cfg: &LvsConfig,
    blocks: &[&lvscf::VirtualServer],
    r: &Resolver<'_>,
) -> Result<(Vec<Vip>, Option<Vip>), Error> {
    let mut vips: Vec<Vip> = Vec::new();
    for b in blocks {
        let Some(a) = &b.address else { continue };
        let ip = r.ip(&a.address, || format!("the address of {}", b.name))?;
        if vips.iter().any(|v| v.ip == ip) {
            continue;
        }
        // Announced through BIRD, the VIPs live on the loopback device as host addresses:
        // the routers learn them from BGP, not from ARP.
        vips.push(if cfg.announce == lvscf::Announce::Bird {
            Vip {
                device: LOOPBACK.into(),
                ip,
                prefix: default_prefix(ip),
            }
        } else {
            Vip {
                device: a.device.clone(),
                ip,
                prefix: b.vip_nmask.map_or(default_prefix(ip), |m| m.prefix_len()),
            }
        });
    }
    let nat_router = match (&cfg.network, &cfg.nat_router) {
        (Network::Nat, Some(n)) if !n.address.is_unspecified() => {
            let ip = r.ip(&n.address, || "nat_router".to_owned())?;
            Some(Vip {
                device: n.device.clone(),
                ip,
                prefix: cfg.nat_nmask.map_or(default_prefix(ip), |m| m.prefix_len()),
            })
        }
        _ => None,
    };
    Ok((vips, nat_router))
}

/// Build the settings. `local` lists this host's addresses; `resolve` turns a host name into
/// an address.
pub fn build(
    cfg: &LvsConfig,
    config_path: &str,
    local: &[IpAddr],
    resolve: &dyn Fn(&Host) -> std::io::Result<IpAddr>,
) -> Result<Settings, Error> {
    let r = Resolver { resolve };
    let p = peers(cfg, local, &r)?;
    let (mode, kind) = match cfg.service {
        Service::Lvs => (Mode::Lvs, "lvs"),
        Service::Fos => (Mode::Fos, "fos"),
    };
    let blocks: Vec<_> = cfg.selected_blocks().iter().filter(|b| b.active).collect();
    if blocks.is_empty() {
        return Err(Error::NoActiveServices {
            kind,
            path: config_path.to_owned(),
        });
    }
    let (vips, nat_router) = floating(cfg, &blocks, &r)?;
    let notes = p.notes;
    Ok(Settings {
        mode,
        master: p.master,
        backup_active: p.backup_active,
        own: p.own,
        own_private: p.own_private,
        partner: p.partner,
        partner_private: p.partner_private,
        port: cfg.heartbeat_port,
        keepalive: cfg.keepalive.as_duration(),
        deadtime: cfg.deadtime.as_duration(),
        vips,
        nat_router,
        sync: cfg
            .syncdaemon
            .then(|| (cfg.syncd_iface.clone(), cfg.syncd_id)),
        active_cmd: cfg.active_cmd.clone(),
        inactive_cmd: cfg.inactive_cmd.clone(),
        monitor_links: cfg.monitor_links && p.backup_active,
        notes,
        fos_blocks: if mode == Mode::Fos {
            format!("{:?}", cfg.failover_services)
        } else {
            String::new()
        },
        auth: None,
        file_version: None,
        file_text: None,
        sync_port: cfg.sync_port.unwrap_or(cfg.heartbeat_port),
        announce_bird: cfg.announce == lvscf::Announce::Bird,
        hot_standby: cfg.hot_standby && mode == Mode::Lvs && cfg.announce != lvscf::Announce::Bird,
    })
}

/// Read lvs.cf and build the settings against this host's addresses.
///
/// Reading the file and resolving its host names block (a slow name server can take many
/// seconds), so they run on tokio's blocking pool: the caller's thread, which carries the
/// heartbeats, is never held up by them.
pub async fn load(path: &Path) -> Result<Settings, Error> {
    let local = netif::local_addresses().await;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let loaded = lvscf::load(&path)?;
        let Some(cfg) = loaded.parsed.config() else {
            return Err(Error::Invalid(loaded.render().trim_end().to_owned()));
        };
        let mut s = build(cfg, &path.display().to_string(), &local, &|h| h.resolve())?;
        if let Some(k) = &cfg.heartbeat_key_file {
            let keys = crate::auth::keys::load(Path::new(k))?;
            s.auth = Some(AuthSettings::new(keys, cfg.heartbeat_auth));
        }
        if cfg.config_sync {
            s.file_version = Some(crate::sync_plan::Version::of(
                cfg.serial_no,
                loaded.text.as_bytes(),
            ));
            s.file_text = Some(loaded.text.clone());
        }
        Ok(s)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
serial_no = 1
primary = 10.0.0.1
primary_private = 192.168.0.1
backup = 10.0.0.2
backup_private = 192.168.0.2
backup_active = 1
service = lvs
heartbeat_port = 1539
keepalive = 0.5
deadtime = 1.5
network = nat
nat_router = 10.1.0.254 eth1:1
nat_nmask = 255.255.255.0
syncdaemon = 1
syncd_iface = eth1
syncd_id = 7
monitor_links = 1
active_cmd = "/bin/true one"
virtual web {
    active = 1
    address = 10.0.0.50 eth0:1
    vip_nmask = 255.255.255.0
    port = 80
    server a {
        address = 10.1.0.11
        active = 1
    }
}
virtual webs {
    active = 1
    address = 10.0.0.50 eth0:1
    port = 443
    server a {
        address = 10.1.0.11
        active = 1
    }
}
virtual off {
    active = 0
    address = 10.0.0.60 eth0:2
    port = 80
}
"#;

    fn cfg(text: &str) -> LvsConfig {
        let p = lvscf::parse(text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config().unwrap().clone()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn res(h: &Host) -> std::io::Result<IpAddr> {
        h.resolve()
    }

    #[test]
    fn with_bird_the_vips_go_on_the_loopback_as_host_addresses() {
        let text = FILE.replace("backup_active = 1", "backup_active = 0") + "announce = bird\n";
        let s = build(&cfg(&text), "/etc/lvs.cf", &[ip("10.0.0.1")], &res).unwrap();
        assert_eq!(
            s.vips,
            [Vip {
                device: "lo".into(),
                ip: ip("10.0.0.50"),
                prefix: 32,
            }]
        );
        assert_eq!(
            s.nat_router.unwrap().device,
            "eth1:1",
            "the NAT router stays on its link"
        );
    }

    #[test]
    fn master_by_address_and_partner_addresses() {
        let c = cfg(FILE);
        let s = build(&c, "/etc/lvs.cf", &[ip("127.0.0.1"), ip("10.0.0.1")], &res).unwrap();
        assert!(s.master);
        assert_eq!(
            (s.own, s.own_private),
            (ip("10.0.0.1"), Some(ip("192.168.0.1")))
        );
        assert_eq!(
            (s.partner, s.partner_private),
            (Some(ip("10.0.0.2")), Some(ip("192.168.0.2")))
        );
        assert_eq!(s.port, 1539);
        assert_eq!(
            (s.keepalive, s.deadtime),
            (Duration::from_millis(500), Duration::from_millis(1500))
        );
        // One address for the two blocks that share it; the inactive block's is not taken.
        assert_eq!(
            s.vips,
            [Vip {
                device: "eth0:1".into(),
                ip: ip("10.0.0.50"),
                prefix: 24
            }]
        );
        assert_eq!(
            s.nat_router,
            Some(Vip {
                device: "eth1:1".into(),
                ip: ip("10.1.0.254"),
                prefix: 24
            })
        );
        assert_eq!(s.floating().count(), 2);
        assert_eq!(s.sync, Some(("eth1".into(), 7)));
        assert!(s.monitor_links);
        assert!(s.is_partner(ip("192.168.0.2")) && !s.is_partner(ip("10.0.0.1")));

        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.2")], &res).unwrap();
        assert!(!s.master);
        assert_eq!(s.own, ip("10.0.0.2"));
        assert_eq!(s.partner, Some(ip("10.0.0.1")));
    }

    #[test]
    fn no_backup_and_no_service() {
        let c = cfg(&FILE.replace("backup_active = 1", "backup_active = 0"));
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.1")], &res).unwrap();
        assert!(!s.backup_active && !s.monitor_links);
        assert_eq!(s.partner, None);
        // lvscf rejects such a file; pulse still says piranha's line if handed one.
        let mut c = cfg(FILE);
        for v in &mut c.virtual_servers {
            v.active = false;
        }
        assert_eq!(
            build(&c, "/etc/lvs.cf", &[ip("10.0.0.1")], &res)
                .unwrap_err()
                .to_string(),
            "no active lvs services defined in /etc/lvs.cf"
        );
    }

    #[test]
    fn private_equal_to_public_means_none() {
        let c = cfg(&FILE
            .replace(
                "primary_private = 192.168.0.1",
                "primary_private = 10.0.0.1",
            )
            .replace("backup_private = 192.168.0.2", "backup_private = 10.0.0.2"));
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.1")], &res).unwrap();
        assert_eq!((s.own_private, s.partner_private), (None, None));
    }
}
