//! Stage two's output: the typed, validated configuration with every default filled in.
//!
//! Field names are the lvs.cf keywords; defaults are piranha 0.8.6's (`lvsParseConfig`,
//! `lvsInitVirtualServer`). The model serialises to JSON with serde (lvscf `dump --json`, the
//! status and web tools).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An address as written in lvs.cf: an IP, or a host name that the daemon using it resolves
/// when it starts (never at parse time, unlike piranha).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    /// The address if it is literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(ip) => Some(*ip),
            Host::Name(_) => None,
        }
    }

    /// True for `0.0.0.0` / `::`, piranha's "not set".
    pub fn is_unspecified(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }

    /// The address, resolving a name with the system resolver (first address returned).
    pub fn resolve(&self) -> std::io::Result<IpAddr> {
        match self {
            Host::Ip(ip) => Ok(*ip),
            Host::Name(name) => (name.as_str(), 0)
                .to_socket_addrs()?
                .next()
                .map(|sa| sa.ip())
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{name}: no address found"),
                    )
                }),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// Text that is neither an IP address nor a host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host name or ip address: {0}")]
pub struct InvalidHost(pub String);

/// Text that is not a netmask (dotted, contiguous, or a prefix length 1..=128).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid netmask: {0}")]
pub struct InvalidNetmask(pub String);

impl FromStr for Host {
    type Err = InvalidHost;
    fn from_str(s: &str) -> Result<Self, InvalidHost> {
        crate::value::parse_host(s).ok_or_else(|| InvalidHost(s.to_string()))
    }
}

impl FromStr for Netmask {
    type Err = InvalidNetmask;
    fn from_str(s: &str) -> Result<Self, InvalidNetmask> {
        match crate::value::parse_netmask(s) {
            Some(crate::value::MaskValue::Mask(m)) => Ok(m),
            _ => Err(InvalidNetmask(s.to_string())),
        }
    }
}

/// A duration in whole milliseconds, written in lvs.cf as seconds (`2`, `0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(u64);

impl Seconds {
    pub const fn from_secs(s: u64) -> Self {
        Seconds(s * 1000)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Seconds(ms)
    }
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    pub fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, ms) = (self.0 / 1000, self.0 % 1000);
        if ms == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{ms:03}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_u64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !(0.0..=1e12).contains(&v) {
            return Err(serde::de::Error::custom("seconds out of range"));
        }
        Ok(Seconds((v * 1000.0).round() as u64))
    }
}

/// A netmask: dotted IPv4, or a prefix length (extension, for IPv6 services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    V4(Ipv4Addr),
    Prefix(u8),
}

impl Netmask {
    /// Number of leading one bits.
    pub fn prefix_len(self) -> u8 {
        match self {
            Netmask::V4(m) => u32::from(m).leading_ones() as u8,
            Netmask::Prefix(p) => p,
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => m.fmt(f),
            Netmask::Prefix(p) => p.fmt(f),
        }
    }
}

/// Serialise through `Display`/`FromStr`-like parsing, as the text of lvs.cf.
macro_rules! serde_as_text {
    ($ty:ty, $parse:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                #[allow(clippy::redundant_closure_call)]
                ($parse)(text.as_str()).map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Host, |s: &str| s.parse::<Host>());
serde_as_text!(Netmask, |s: &str| s.parse::<Netmask>());

/// Keyword enums: the text in lvs.cf is the serde name.
macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $var),+ }
        impl $name {
            /// Every value with its lvs.cf spelling.
            pub const ALL: &'static [($name, &'static str)] = &[$(($name::$var, $text)),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),+ }
            }
            pub fn from_keyword(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$var),)+ _ => None }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

keyword_enum!(
    /// `service`: which set of blocks pulse runs.
    Service { Lvs = "lvs", Fos = "fos" }
);
keyword_enum!(
    /// `network`: the IPVS forwarding method of every real server.
    Network { Nat = "nat", Direct = "direct", Tunnel = "tunnel" }
);
keyword_enum!(
    /// `protocol` of a virtual service.
    Protocol { Tcp = "tcp", Udp = "udp" }
);
keyword_enum!(
    /// `scheduler`: every IPVS scheduler of current kernels (piranha knew the first eight).
    Scheduler {
        Lc = "lc", Rr = "rr", Wlc = "wlc", Wrr = "wrr", Lblc = "lblc", Lblcr = "lblcr",
        Dh = "dh", Sh = "sh", Sed = "sed", Nq = "nq", Fo = "fo", Ovf = "ovf", Mh = "mh",
    }
);
keyword_enum!(
    /// A `sched_flags` flag (extension): ipvsadm's `-b` flags of `sh` and `mh`.
    SchedFlag {
        ShFallback = "sh-fallback", ShPort = "sh-port", MhFallback = "mh-fallback", MhPort = "mh-port",
    }
);
keyword_enum!(
    /// `dataplane` (extension): what carries the traffic of the virtual servers.
    Dataplane { Auto = "auto", Ipvs = "ipvs", Userspace = "userspace" }
);
keyword_enum!(
    /// `heartbeat_auth` (extension): whether plain heartbeats are accepted beside
    /// authenticated ones.
    HeartbeatAuth { Enforce = "enforce", Permissive = "permissive" }
);
keyword_enum!(
    /// `announce` (extension): how the VIPs reach the routers: `none` (gratuitous ARP from
    /// pulse, one active director) or `bird` (routes in a BIRD configuration fragment).
    Announce { None = "none", Bird = "bird" }
);
keyword_enum!(
    /// `reservation_conflict_action` for shared SCSI in FOS mode.
    ConflictAction { Nothing = "nothing", Preempt = "preempt" }
);

/// `load_monitor`: how nanny reads a real server's load.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoadMonitor {
    None,
    /// `uptime` through `rsh_command`.
    Uptime,
    Rup,
    Ruptime,
    /// Any other text: a command run by nanny.
    Command(String),
}

impl LoadMonitor {
    pub fn from_text(s: &str) -> LoadMonitor {
        match s {
            "none" => LoadMonitor::None,
            "uptime" => LoadMonitor::Uptime,
            "rup" => LoadMonitor::Rup,
            "ruptime" => LoadMonitor::Ruptime,
            other => LoadMonitor::Command(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            LoadMonitor::None => "none",
            LoadMonitor::Uptime => "uptime",
            LoadMonitor::Rup => "rup",
            LoadMonitor::Ruptime => "ruptime",
            LoadMonitor::Command(c) => c,
        }
    }
}

impl fmt::Display for LoadMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

serde_as_text!(LoadMonitor, |s: &str| Ok::<_, String>(
    LoadMonitor::from_text(s)
));

/// `IP DEVICE`, as in a virtual `address` and `nat_router`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interface {
    pub address: Host,
    pub device: String,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LvsConfig {
    pub serial_no: i64,
    pub service: Service,
    pub primary: Option<Host>,
    /// Defaults to `primary` (piranha copies it when `primary_private` is absent).
    pub primary_private: Option<Host>,
    pub primary_shared: Option<String>,
    pub backup: Option<Host>,
    /// Defaults to `backup`, under the same rule as `primary_private`.
    pub backup_private: Option<Host>,
    pub backup_shared: Option<String>,
    pub backup_active: bool,
    pub heartbeat: bool,
    pub heartbeat_port: u16,
    pub keepalive: Seconds,
    pub deadtime: Seconds,
    pub rsh_command: String,
    pub network: Network,
    pub nat_router: Option<Interface>,
    pub nat_nmask: Option<Netmask>,
    pub debug_level: String,
    pub monitor_links: bool,
    pub syncdaemon: bool,
    pub syncd_iface: String,
    pub syncd_id: u8,
    pub tcp_timeout: u32,
    pub tcpfin_timeout: u32,
    pub udp_timeout: u32,
    pub hard_shutdown: bool,
    /// Extension: the kernel's IPVS, the userspace data plane, or `auto` (IPVS when the
    /// kernel has it).
    #[serde(default = "default_dataplane")]
    pub dataplane: Dataplane,
    pub active_cmd: Option<String>,
    pub inactive_cmd: Option<String>,
    pub ipvsadm: String,
    pub reservation_conflict_action: Option<ConflictAction>,
    pub sync: bool,
    /// Extension: the file of heartbeat keys; when set, heartbeats are authenticated.
    #[serde(default)]
    pub heartbeat_key_file: Option<String>,
    /// Extension: `enforce` (the default with a key file) or `permissive`.
    #[serde(default)]
    pub heartbeat_auth: Option<HeartbeatAuth>,
    /// Extension: the directors keep one lvs.cf (needs `heartbeat_key_file`).
    #[serde(default)]
    pub config_sync: bool,
    /// Extension: the TCP port of the file transfer; `heartbeat_port` when unset.
    #[serde(default)]
    pub sync_port: Option<u16>,
    /// Extension: `bird` announces the VIPs through BIRD (several active directors).
    #[serde(default = "default_announce")]
    pub announce: Announce,
    /// Extension: BIRD's control socket; [`DEFAULT_BIRD_SOCKET`] when unset.
    #[serde(default)]
    pub bird_socket: Option<String>,
    /// Extension: the BIRD fragment lvsd owns; [`DEFAULT_ANNOUNCE_FILE`] when unset.
    #[serde(default)]
    pub announce_file: Option<String>,
    /// Extension: how long lvsd serves after withdrawing the VIPs on shutdown;
    /// [`DEFAULT_ANNOUNCE_DRAIN`] when unset.
    #[serde(default)]
    pub announce_drain: Option<Seconds>,
    /// `hot_standby` (extension): the backup director runs lvsd and its nannies all the
    /// time, so taking over only moves the addresses.
    #[serde(default)]
    pub hot_standby: bool,
    pub virtual_servers: Vec<VirtualServer>,
    pub failover_services: Vec<VirtualServer>,
}

impl SchedFlag {
    /// The scheduler the flag belongs to.
    pub fn scheduler(self) -> Scheduler {
        match self {
            SchedFlag::ShFallback | SchedFlag::ShPort => Scheduler::Sh,
            SchedFlag::MhFallback | SchedFlag::MhPort => Scheduler::Mh,
        }
    }

    /// IPVS's service flag bit: `IP_VS_SVC_F_SCHED1` for the fallbacks, `SCHED2` for the
    /// ports.
    pub fn ipvs_bit(self) -> u32 {
        match self {
            SchedFlag::ShFallback | SchedFlag::MhFallback => 0x0008,
            SchedFlag::ShPort | SchedFlag::MhPort => 0x0010,
        }
    }
}

impl Default for LvsConfig {
    fn default() -> Self {
        LvsConfig {
            serial_no: 0,
            service: Service::Lvs,
            primary: None,
            primary_private: None,
            primary_shared: None,
            backup: None,
            backup_private: None,
            backup_shared: None,
            backup_active: false,
            heartbeat: false,
            heartbeat_port: 539,
            keepalive: Seconds::from_secs(2),
            deadtime: Seconds::from_secs(5),
            rsh_command: "rsh".into(),
            network: Network::Nat,
            nat_router: None,
            nat_nmask: None,
            debug_level: "NONE".into(),
            monitor_links: false,
            syncdaemon: false,
            syncd_iface: "eth0".into(),
            syncd_id: 0,
            tcp_timeout: 0,
            tcpfin_timeout: 0,
            udp_timeout: 0,
            hard_shutdown: true,
            dataplane: Dataplane::Auto,
            active_cmd: None,
            inactive_cmd: None,
            ipvsadm: "/sbin/ipvsadm".into(),
            reservation_conflict_action: None,
            sync: false,
            heartbeat_key_file: None,
            heartbeat_auth: None,
            config_sync: false,
            sync_port: None,
            announce: Announce::None,
            bird_socket: None,
            announce_file: None,
            announce_drain: None,
            hot_standby: false,
            virtual_servers: Vec::new(),
            failover_services: Vec::new(),
        }
    }
}

fn default_dataplane() -> Dataplane {
    Dataplane::Auto
}

fn default_announce() -> Announce {
    Announce::None
}

/// `bird_socket` when unset: where Debian's BIRD 2 listens.
pub const DEFAULT_BIRD_SOCKET: &str = "/run/bird/bird.ctl";
/// `announce_file` when unset.
pub const DEFAULT_ANNOUNCE_FILE: &str = "/run/piranha/announce.conf";
/// `announce_drain` when unset, in seconds.
pub const DEFAULT_ANNOUNCE_DRAIN: u64 = 2;

impl LvsConfig {
    /// The blocks `service` selects: virtual servers for `lvs`, failover services for `fos`.
    pub fn selected_blocks(&self) -> &[VirtualServer] {
        match self.service {
            Service::Lvs => &self.virtual_servers,
            Service::Fos => &self.failover_services,
        }
    }

    /// `bird_socket`, or its default.
    pub fn bird_socket(&self) -> &str {
        self.bird_socket.as_deref().unwrap_or(DEFAULT_BIRD_SOCKET)
    }

    /// `announce_file`, or its default.
    pub fn announce_file(&self) -> &str {
        self.announce_file
            .as_deref()
            .unwrap_or(DEFAULT_ANNOUNCE_FILE)
    }

    /// `announce_drain`, or its default.
    pub fn announce_drain(&self) -> Seconds {
        self.announce_drain
            .unwrap_or(Seconds::from_secs(DEFAULT_ANNOUNCE_DRAIN))
    }

    /// Serialise as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the model always serialises")
    }
}

/// A `virtual` block, or a `failover` block (same keywords; piranha used one struct too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    pub name: String,
    /// The VIP and the interface (alias label) pulse brings it up on.
    pub address: Option<Interface>,
    pub vip_nmask: Option<Netmask>,
    pub active: bool,
    pub port: u16,
    pub protocol: Protocol,
    /// `fwmark = 0` is no mark.
    pub fwmark: Option<u32>,
    pub scheduler: Scheduler,
    /// `persistent = 0` is no persistence.
    pub persistent: Option<u32>,
    /// `pmask = 255.255.255.255` is no mask.
    pub pmask: Option<Netmask>,
    /// Quotes removed; backslash escapes kept for nanny.
    pub send: Option<String>,
    pub expect: Option<String>,
    pub use_regex: bool,
    pub send_program: Option<String>,
    /// Check interval and per-operation timeout of nanny, seconds.
    pub timeout: u32,
    pub reentry: u32,
    /// Unset means nanny gets no `-U` (it then reads no load).
    pub load_monitor: Option<LoadMonitor>,
    pub quiesce_server: bool,
    pub sorry_server: Option<IpAddr>,
    pub client_monitor: String,
    pub start_cmd: Option<String>,
    pub stop_cmd: Option<String>,
    pub master: Option<Host>,
    pub dirs: Option<Vec<String>>,
    /// `connect_timeout` (extension): how long the userspace data plane waits for a real
    /// server to accept a connection before it tries the next one; unset is 1 s.
    #[serde(default)]
    pub connect_timeout: Option<Seconds>,
    /// `retries` (extension): how many other real servers the userspace data plane tries
    /// when connecting to the chosen one fails; unset is 2.
    #[serde(default)]
    pub retries: Option<u32>,
    /// `sched_flags` (extension): the scheduler's flags (ipvsadm `-b`), in file order.
    #[serde(default)]
    pub sched_flags: Vec<SchedFlag>,
    /// `hot_standby` (extension, `failover` blocks): the service runs on both nodes; taking
    /// over only moves its address.
    #[serde(default)]
    pub hot_standby: bool,
    pub servers: Vec<RealServer>,
}

impl VirtualServer {
    pub fn new(name: impl Into<String>) -> Self {
        VirtualServer {
            name: name.into(),
            address: None,
            vip_nmask: None,
            active: false,
            port: 80,
            protocol: Protocol::Tcp,
            fwmark: None,
            scheduler: Scheduler::Wlc,
            persistent: None,
            pmask: None,
            send: None,
            expect: None,
            use_regex: false,
            send_program: None,
            timeout: 10,
            reentry: 180,
            load_monitor: None,
            quiesce_server: false,
            sorry_server: None,
            client_monitor: "/usr/sbin/nanny".into(),
            start_cmd: None,
            stop_cmd: None,
            master: None,
            dirs: None,
            connect_timeout: None,
            retries: None,
            sched_flags: Vec::new(),
            hot_standby: false,
            servers: Vec::new(),
        }
    }

    /// The VIP if it is a literal address.
    pub fn vip(&self) -> Option<IpAddr> {
        self.address.as_ref().and_then(|a| a.address.ip())
    }
}

/// A `server` block: one real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    pub name: String,
    pub address: Option<Host>,
    pub active: bool,
    pub weight: u32,
    /// Defaults to the virtual `port` in force when the `server` line was read.
    pub port: u16,
}

impl RealServer {
    pub fn new(name: impl Into<String>, port: u16) -> Self {
        RealServer {
            name: name.into(),
            address: None,
            active: false,
            weight: 1,
            port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_display_and_json() {
        assert_eq!(Seconds::from_millis(2000).to_string(), "2");
        assert_eq!(Seconds::from_millis(100).to_string(), "0.1");
        assert_eq!(Seconds::from_millis(1250).to_string(), "1.25");
        assert_eq!(
            serde_json::to_string(&Seconds::from_millis(100)).unwrap(),
            "0.1"
        );
        assert_eq!(serde_json::to_string(&Seconds::from_secs(5)).unwrap(), "5");
        let s: Seconds = serde_json::from_str("0.25").unwrap();
        assert_eq!(s, Seconds::from_millis(250));
    }

    #[test]
    fn json_round_trip_of_defaults() {
        let mut cfg = LvsConfig::default();
        let mut vs = VirtualServer::new("web");
        vs.load_monitor = Some(LoadMonitor::Command("/bin/load %h".into()));
        vs.servers.push(RealServer::new("a", 80));
        cfg.virtual_servers.push(vs);
        let json = cfg.to_json();
        assert!(json.contains("\"scheduler\": \"wlc\""), "{json}");
        let back: LvsConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
    }
}
