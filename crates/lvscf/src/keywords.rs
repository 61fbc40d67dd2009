//! The keywords of lvs.cf, in one place: each scope's table is an enum (for exhaustive
//! dispatch when a statement is read) and the list of names in the same order (for lookup,
//! suggestions and the man-page test), both generated from one list.
//!
//! Keyword set and arity are piranha 0.8.6's (`lvsconfig.c`); the extensions are listed in
//! lvs.cf(5).

/// One keyword table: `enum Name` with a variant per keyword, and `const NAMES: &[&str]`
/// holding the keywords in variant order (so `NAMES[k as usize] == k.name()`).
macro_rules! keyword_table {
    (
        $(#[$edoc:meta])* enum $Enum:ident;
        $(#[$ndoc:meta])* const $NAMES:ident;
        { $($Var:ident = $name:literal,)+ }
    ) => {
        $(#[$edoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $Enum {
            $($Var,)+
        }

        $(#[$ndoc])*
        pub const $NAMES: &[&str] = &[$($name,)+];

        impl $Enum {
            /// Every keyword, in table order.
            pub const ALL: &'static [$Enum] = &[$($Enum::$Var,)+];

            /// The keyword as written in lvs.cf.
            pub const fn name(self) -> &'static str {
                $NAMES[self as usize]
            }

            /// The keyword spelt `key`, if it is one of this table.
            pub fn from_name(key: &str) -> Option<Self> {
                intern(key, $NAMES).map(|i| Self::ALL[i])
            }
        }
    };
}

keyword_table! {
    /// A global keyword of piranha 0.8.6 (or one of our extensions).
    enum GlobalKey;
    /// Global keywords of piranha 0.8.6.
    const GLOBAL_KEYWORDS;
    {
        Service = "service",
        Primary = "primary",
        PrimaryPrivate = "primary_private",
        PrimaryShared = "primary_shared",
        Backup = "backup",
        BackupPrivate = "backup_private",
        BackupShared = "backup_shared",
        BackupActive = "backup_active",
        Heartbeat = "heartbeat",
        HeartbeatPort = "heartbeat_port",
        Keepalive = "keepalive",
        Deadtime = "deadtime",
        RshCommand = "rsh_command",
        Network = "network",
        NatRouter = "nat_router",
        NatNmask = "nat_nmask",
        DebugLevel = "debug_level",
        MonitorLinks = "monitor_links",
        Syncdaemon = "syncdaemon",
        SyncdIface = "syncd_iface",
        SyncdId = "syncd_id",
        TcpTimeout = "tcp_timeout",
        TcpfinTimeout = "tcpfin_timeout",
        UdpTimeout = "udp_timeout",
        HardShutdown = "hard_shutdown",
        Dataplane = "dataplane",
        ActiveCmd = "active_cmd",
        InactiveCmd = "inactive_cmd",
        Ipvsadm = "ipvsadm",
        ReservationConflictAction = "reservation_conflict_action",
        SerialNo = "serial_no",
        Sync = "sync",
        HeartbeatKeyFile = "heartbeat_key_file",
        HeartbeatAuth = "heartbeat_auth",
        ConfigSync = "config_sync",
        SyncPort = "sync_port",
        Announce = "announce",
        BirdSocket = "bird_socket",
        AnnounceFile = "announce_file",
        AnnounceDrain = "announce_drain",
        HotStandby = "hot_standby",
    }
}

keyword_table! {
    /// A keyword of `virtual` and `failover` blocks.
    enum VirtualKey;
    /// Keywords of `virtual` and `failover` blocks.
    const VIRTUAL_KEYWORDS;
    {
        Address = "address",
        VipNmask = "vip_nmask",
        Active = "active",
        Port = "port",
        Protocol = "protocol",
        Fwmark = "fwmark",
        Scheduler = "scheduler",
        Persistent = "persistent",
        Pmask = "pmask",
        Send = "send",
        Expect = "expect",
        UseRegex = "use_regex",
        SendProgram = "send_program",
        Timeout = "timeout",
        Reentry = "reentry",
        LoadMonitor = "load_monitor",
        QuiesceServer = "quiesce_server",
        SorryServer = "sorry_server",
        ClientMonitor = "client_monitor",
        StartCmd = "start_cmd",
        StopCmd = "stop_cmd",
        Master = "master",
        Dirs = "dirs",
        ConnectTimeout = "connect_timeout",
        Retries = "retries",
        SchedFlags = "sched_flags",
        HotStandby = "hot_standby",
    }
}

keyword_table! {
    /// A keyword of `server` blocks.
    enum ServerKey;
    /// Keywords of `server` blocks.
    const SERVER_KEYWORDS;
    {
        Address = "address",
        Active = "active",
        Weight = "weight",
        Port = "port",
    }
}

/// Keywords older piranha versions or its GUI wrote, which no daemon reads: accepted with a
/// warning so old files still load.
pub const LEGACY_GLOBAL: &[&str] = &["nmask"];
/// As [`LEGACY_GLOBAL`], in `virtual` and `failover` blocks.
pub const LEGACY_VIRTUAL: &[&str] = &["heartbeat", "deadtime", "expect_program", "nmask"];
/// As [`LEGACY_GLOBAL`], in `server` blocks.
pub const LEGACY_SERVER: &[&str] = &["nmask"];

/// Block keywords at the top level of the file.
pub const TOP_BLOCKS: &[&str] = &["virtual", "failover"];
/// Block keywords inside a `virtual` or `failover` block.
pub const INNER_BLOCKS: &[&str] = &["server"];
/// Every block keyword (the lexer's recovery after a missing `}` looks for them).
pub const BLOCK_KEYWORDS: &[&str] = &["virtual", "failover", "server"];

/// Scope of a statement: which table its key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Global,
    Virtual,
    Server,
}

impl Scope {
    pub(crate) const ALL: [Scope; 3] = [Scope::Global, Scope::Virtual, Scope::Server];

    pub(crate) fn keywords(self) -> &'static [&'static str] {
        match self {
            Scope::Global => GLOBAL_KEYWORDS,
            Scope::Virtual => VIRTUAL_KEYWORDS,
            Scope::Server => SERVER_KEYWORDS,
        }
    }

    pub(crate) fn legacy(self) -> &'static [&'static str] {
        match self {
            Scope::Global => LEGACY_GLOBAL,
            Scope::Virtual => LEGACY_VIRTUAL,
            Scope::Server => LEGACY_SERVER,
        }
    }
}

// Keyword ids pack the table in two bits and the index in six.
const _: () = assert!(
    GLOBAL_KEYWORDS.len() <= 64 && VIRTUAL_KEYWORDS.len() <= 64 && SERVER_KEYWORDS.len() <= 64
);

/// A keyword of any scope in one byte (the source map keeps one per statement): the scope in
/// the two high bits, the position in its table in the six low ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyId(u8);

impl KeyId {
    pub(crate) fn new(scope: Scope, index: usize) -> KeyId {
        debug_assert!(index < scope.keywords().len());
        let base = match scope {
            Scope::Global => 0,
            Scope::Virtual => 64,
            Scope::Server => 128,
        };
        KeyId(base + index as u8)
    }

    /// Position in its scope's table.
    pub(crate) fn index(self) -> usize {
        (self.0 & 63) as usize
    }

    pub(crate) fn name(self) -> &'static str {
        let table = match self.0 >> 6 {
            0 => GLOBAL_KEYWORDS,
            1 => VIRTUAL_KEYWORDS,
            _ => SERVER_KEYWORDS,
        };
        table[self.index()]
    }
}

impl From<GlobalKey> for KeyId {
    fn from(k: GlobalKey) -> KeyId {
        KeyId::new(Scope::Global, k as usize)
    }
}

impl From<VirtualKey> for KeyId {
    fn from(k: VirtualKey) -> KeyId {
        KeyId::new(Scope::Virtual, k as usize)
    }
}

impl From<ServerKey> for KeyId {
    fn from(k: ServerKey) -> KeyId {
        KeyId::new(Scope::Server, k as usize)
    }
}

/// Position of `key` in `table`.
pub(crate) fn intern(key: &str, table: &[&'static str]) -> Option<usize> {
    // Length and first byte rule out almost every entry without a memcmp call.
    let (len, first) = (key.len(), key.as_bytes().first().copied());
    table
        .iter()
        .position(|k| k.len() == len && k.as_bytes().first().copied() == first && *k == key)
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The largest edit distance at which `candidate` is still suggested.
fn allowed(candidate: &str) -> usize {
    2.max(candidate.len() / 4)
}

/// The closest candidate within a small edit distance.
///
/// The distance is at least the difference in length, so a candidate whose length is too far
/// off is skipped without computing it: an unknown word (or a long run of junk) costs a few
/// comparisons instead of one distance table per keyword.
pub(crate) fn suggest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let len = word.chars().count();
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|c| len.abs_diff(c.len()) <= allowed(c))
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, c)| *d <= allowed(c) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("protocl", VIRTUAL_KEYWORDS), Some("protocol"));
        assert_eq!(suggest("keepalve", GLOBAL_KEYWORDS), Some("keepalive"));
        assert_eq!(suggest("PORT", VIRTUAL_KEYWORDS), Some("port"));
        assert_eq!(suggest("zzzzzz", VIRTUAL_KEYWORDS), None);
        // Length filter: one letter short or long is still found, far longer is not.
        assert_eq!(suggest("schedule", VIRTUAL_KEYWORDS), Some("scheduler"));
        assert_eq!(suggest("schedulerr", VIRTUAL_KEYWORDS), Some("scheduler"));
        assert_eq!(suggest(&"scheduler".repeat(50), VIRTUAL_KEYWORDS), None);
    }

    #[test]
    fn enums_and_names_agree() {
        for (i, k) in GlobalKey::ALL.iter().enumerate() {
            assert_eq!(GlobalKey::from_name(k.name()), Some(*k));
            assert_eq!(KeyId::from(*k).name(), GLOBAL_KEYWORDS[i]);
        }
        for (i, k) in VirtualKey::ALL.iter().enumerate() {
            assert_eq!(VirtualKey::from_name(k.name()), Some(*k));
            assert_eq!(KeyId::from(*k).name(), VIRTUAL_KEYWORDS[i]);
        }
        for (i, k) in ServerKey::ALL.iter().enumerate() {
            assert_eq!(ServerKey::from_name(k.name()), Some(*k));
            assert_eq!(KeyId::from(*k).index(), i);
        }
        assert_eq!(GlobalKey::from_name("nmask"), None);
    }
}
