//! popt's option table as ipvsadm declares it: every option's short and long name, whether it
//! takes a value, and what it stands for; the commands and the tracked-option bits.

/// Commands, in the row order of ipvsadm's `commands_v_options` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Cmd {
    /// `cmdnames[]`, used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::AddDest => "add-server",
            Cmd::DelDest => "delete-server",
            Cmd::EditDest => "edit-server",
            Cmd::Timeout => "set",
            Cmd::StartDaemon => "start-daemon",
            Cmd::StopDaemon => "stop-daemon",
            Cmd::Restore => "restore",
            Cmd::Save => "save",
            Cmd::Zero => "zero",
        }
    }
}

/// Tracked options, in the column order of the matrix (bit numbers).
pub mod opt {
    pub const NUMERIC: u8 = 0;
    pub const CONNECTION: u8 = 1;
    pub const SERVICE: u8 = 2;
    pub const SCHEDULER: u8 = 3;
    pub const PERSISTENT: u8 = 4;
    pub const NETMASK: u8 = 5;
    pub const SERVER: u8 = 6;
    pub const FORWARD: u8 = 7;
    pub const WEIGHT: u8 = 8;
    pub const UTHRESHOLD: u8 = 9;
    pub const LTHRESHOLD: u8 = 10;
    pub const MCAST: u8 = 11;
    pub const TIMEOUT: u8 = 12;
    pub const DAEMON: u8 = 13;
    pub const STATS: u8 = 14;
    pub const RATE: u8 = 15;
    pub const THRESHOLDS: u8 = 16;
    pub const PERSISTENTCONN: u8 = 17;
    pub const NOSORT: u8 = 18;
    pub const SYNCID: u8 = 19;
    pub const EXACT: u8 = 20;
    pub const ONEPACKET: u8 = 21;
    pub const PE: u8 = 22;
    pub const SCHED_FLAGS: u8 = 23;
    pub const MCAST_GROUP: u8 = 24;
    pub const MCAST_PORT: u8 = 25;
    pub const MCAST_TTL: u8 = 26;
    pub const SYNC_MAXLEN: u8 = 27;
    pub const TUN_INFO: u8 = 28;
    pub const TUN_TYPE: u8 = 29;
    pub const TUN_PORT: u8 = 30;
    pub const TUN_NOCSUM: u8 = 31;
    pub const TUN_CSUM: u8 = 32;
    pub const TUN_REMCSUM: u8 = 33;

    /// `optnames[]`, used in error messages.
    pub const NAMES: [&str; 34] = [
        "numeric",
        "connection",
        "service-address",
        "scheduler",
        "persistent",
        "netmask",
        "real-server",
        "forwarding-method",
        "weight",
        "u-threshold",
        "l-threshold",
        "mcast-interface",
        "timeout",
        "daemon",
        "stats",
        "rate",
        "thresholds",
        "persistent-conn",
        "nosort",
        "syncid",
        "exact",
        "ops",
        "pe",
        "sched-flags",
        "mcast-group",
        "mcast-port",
        "mcast-ttl",
        "sync-maxlen",
        "tun-info",
        "tun-type",
        "tun-port",
        "tun-nocsum",
        "tun-csum",
        "tun-remcsum",
    ];
}

/// Option table (popt's `struct poptOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arg {
    None,
    Required,
    Optional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Cmd(Cmd),
    Help,
    Version,
    /// An option of the virtual service.
    Svc(SvcKey),
    /// An option of the real server.
    Dest(DestKey),
    /// An option of the sync daemon.
    Daemon(DaemonKey),
    /// A switch that only sets its bit (listing options).
    Flag(u8),
    /// `--sort`: accepted, does nothing.
    Sort,
}

/// Options that fill the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SvcKey {
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Ipv6,
    Scheduler,
    Persistent,
    Netmask,
    Ops,
    Pe,
    SchedFlags,
}

/// Options that fill the real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DestKey {
    Server,
    Gatewaying,
    Ipip,
    Masquerading,
    Weight,
    UThreshold,
    LThreshold,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

/// Options that fill the sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DaemonKey {
    McastInterface,
    SyncId,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
}

pub(super) const TABLE: &[(Option<char>, &str, Arg, Key)] = &[
    (Some('A'), "add-service", Arg::None, Key::Cmd(Cmd::Add)),
    (Some('E'), "edit-service", Arg::None, Key::Cmd(Cmd::Edit)),
    (Some('D'), "delete-service", Arg::None, Key::Cmd(Cmd::Del)),
    (Some('C'), "clear", Arg::None, Key::Cmd(Cmd::Flush)),
    (Some('L'), "list", Arg::None, Key::Cmd(Cmd::List)),
    (Some('l'), "", Arg::None, Key::Cmd(Cmd::List)),
    (Some('Z'), "zero", Arg::None, Key::Cmd(Cmd::Zero)),
    (Some('a'), "add-server", Arg::None, Key::Cmd(Cmd::AddDest)),
    (Some('e'), "edit-server", Arg::None, Key::Cmd(Cmd::EditDest)),
    (
        Some('d'),
        "delete-server",
        Arg::None,
        Key::Cmd(Cmd::DelDest),
    ),
    (None, "set", Arg::None, Key::Cmd(Cmd::Timeout)),
    (
        None,
        "start-daemon",
        Arg::Required,
        Key::Cmd(Cmd::StartDaemon),
    ),
    (
        None,
        "stop-daemon",
        Arg::Required,
        Key::Cmd(Cmd::StopDaemon),
    ),
    (Some('R'), "restore", Arg::None, Key::Cmd(Cmd::Restore)),
    (Some('S'), "save", Arg::None, Key::Cmd(Cmd::Save)),
    (Some('h'), "help", Arg::None, Key::Help),
    (Some('v'), "version", Arg::None, Key::Version),
    (
        Some('t'),
        "tcp-service",
        Arg::Required,
        Key::Svc(SvcKey::Tcp),
    ),
    (
        Some('u'),
        "udp-service",
        Arg::Required,
        Key::Svc(SvcKey::Udp),
    ),
    (None, "sctp-service", Arg::Required, Key::Svc(SvcKey::Sctp)),
    (
        Some('f'),
        "fwmark-service",
        Arg::Required,
        Key::Svc(SvcKey::Fwmark),
    ),
    (Some('6'), "ipv6", Arg::None, Key::Svc(SvcKey::Ipv6)),
    (
        Some('s'),
        "scheduler",
        Arg::Required,
        Key::Svc(SvcKey::Scheduler),
    ),
    (
        Some('p'),
        "persistent",
        Arg::Optional,
        Key::Svc(SvcKey::Persistent),
    ),
    (
        Some('M'),
        "netmask",
        Arg::Required,
        Key::Svc(SvcKey::Netmask),
    ),
    (
        Some('r'),
        "real-server",
        Arg::Required,
        Key::Dest(DestKey::Server),
    ),
    (
        Some('g'),
        "gatewaying",
        Arg::None,
        Key::Dest(DestKey::Gatewaying),
    ),
    (Some('i'), "ipip", Arg::None, Key::Dest(DestKey::Ipip)),
    (
        Some('m'),
        "masquerading",
        Arg::None,
        Key::Dest(DestKey::Masquerading),
    ),
    (
        Some('w'),
        "weight",
        Arg::Required,
        Key::Dest(DestKey::Weight),
    ),
    (
        Some('x'),
        "u-threshold",
        Arg::Required,
        Key::Dest(DestKey::UThreshold),
    ),
    (
        Some('y'),
        "l-threshold",
        Arg::Required,
        Key::Dest(DestKey::LThreshold),
    ),
    (
        Some('c'),
        "connection",
        Arg::None,
        Key::Flag(opt::CONNECTION),
    ),
    (Some('n'), "numeric", Arg::None, Key::Flag(opt::NUMERIC)),
    (
        None,
        "mcast-interface",
        Arg::Required,
        Key::Daemon(DaemonKey::McastInterface),
    ),
    (
        None,
        "syncid",
        Arg::Required,
        Key::Daemon(DaemonKey::SyncId),
    ),
    (None, "timeout", Arg::None, Key::Flag(opt::TIMEOUT)),
    (None, "daemon", Arg::None, Key::Flag(opt::DAEMON)),
    (None, "stats", Arg::None, Key::Flag(opt::STATS)),
    (None, "rate", Arg::None, Key::Flag(opt::RATE)),
    (None, "thresholds", Arg::None, Key::Flag(opt::THRESHOLDS)),
    (
        None,
        "persistent-conn",
        Arg::None,
        Key::Flag(opt::PERSISTENTCONN),
    ),
    (None, "nosort", Arg::None, Key::Flag(opt::NOSORT)),
    (None, "sort", Arg::None, Key::Sort),
    (Some('X'), "exact", Arg::None, Key::Flag(opt::EXACT)),
    (Some('o'), "ops", Arg::None, Key::Svc(SvcKey::Ops)),
    (None, "pe", Arg::Required, Key::Svc(SvcKey::Pe)),
    (
        Some('b'),
        "sched-flags",
        Arg::Required,
        Key::Svc(SvcKey::SchedFlags),
    ),
    (
        None,
        "mcast-group",
        Arg::Required,
        Key::Daemon(DaemonKey::McastGroup),
    ),
    (
        None,
        "mcast-port",
        Arg::Required,
        Key::Daemon(DaemonKey::McastPort),
    ),
    (
        None,
        "mcast-ttl",
        Arg::Required,
        Key::Daemon(DaemonKey::McastTtl),
    ),
    (
        None,
        "sync-maxlen",
        Arg::Required,
        Key::Daemon(DaemonKey::SyncMaxlen),
    ),
    (None, "tun-info", Arg::None, Key::Flag(opt::TUN_INFO)),
    (None, "tun-type", Arg::Required, Key::Dest(DestKey::TunType)),
    (None, "tun-port", Arg::Required, Key::Dest(DestKey::TunPort)),
    (None, "tun-nocsum", Arg::None, Key::Dest(DestKey::TunNocsum)),
    (None, "tun-csum", Arg::None, Key::Dest(DestKey::TunCsum)),
    (
        None,
        "tun-remcsum",
        Arg::None,
        Key::Dest(DestKey::TunRemcsum),
    ),
];
