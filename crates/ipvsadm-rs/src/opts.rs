//! ipvsadm 1.31's command line: popt's tokenizing, ipvsadm's option handling, its
//! command × option matrix and its semantic checks, with the same messages and exit codes.
//!
//! clap cannot reproduce popt here (the command must be the first option, `-p` takes an
//! optional argument only when the next word does not start with `-`, errors have popt's and
//! ipvsadm's texts), so this is a hand parser; see docs/DECISIONS.md.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::consts::{IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use ipvs::{Forward, TunnelType, tun_flags};

use crate::names;

/// A fatal command-line error: the message and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub status: u8,
    /// Printed on stderr, followed by a newline.
    pub message: String,
    /// Also print ipvsadm's "Try `... -h'" line.
    pub tryhelp: bool,
}

fn fail(message: impl Into<String>) -> Fail {
    Fail {
        status: 2,
        message: message.into(),
        tryhelp: false,
    }
}

/// `tryhelp_exit(-1)`: only the "Try ..." line, status 255.
fn tryhelp() -> Fail {
    Fail {
        status: 255,
        message: String::new(),
        tryhelp: true,
    }
}

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

    /// Which options are required (`+`), illegal (`x`), exclusive (`1`) or optional (`.`).
    fn matrix(self) -> &'static [u8; 34] {
        match self {
            Cmd::Add | Cmd::Edit => b"xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx",
            Cmd::Del => b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Flush | Cmd::Timeout | Cmd::Restore => b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::List => b".11xxxxxxxxx11.......xxxxxxx.xxxxx",
            Cmd::AddDest | Cmd::EditDest => b"xx+xxx+....xxxxxxxxxxxxxxxxxx.....",
            Cmd::DelDest => b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::StartDaemon => b"xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx",
            Cmd::StopDaemon => b"xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx",
            Cmd::Save => b".xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            Cmd::Zero => b"xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
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

/// ipvsadm's `ipvs_service_t`, as the options fill it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svc {
    pub af: u16,
    pub protocol: u16,
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub fwmark: u32,
    pub sched_name: String,
    pub flags: u32,
    pub timeout: u32,
    pub netmask: u32,
    pub pe_name: String,
}

/// ipvsadm's `ipvs_dest_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestSpec {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub forward: Forward,
    pub weight: i32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    pub tun_port: u16,
    pub tun_flags: u16,
}

/// The parsed command line (`struct ipvs_command_entry` plus options and format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub cmd: Cmd,
    pub svc: Svc,
    pub dest: DestSpec,
    /// The sync daemon of `--start-daemon`/`--stop-daemon` (ipvsadm's `ipvs_daemon_t`).
    pub daemon: ipvs::Daemon,
    pub timeouts: [u32; 3],
    pub options: u64,
    /// The `-b` list as written (checked against the final scheduler).
    pub sched_flags_text: String,
}

impl Entry {
    pub fn has(&self, o: u8) -> bool {
        self.options & (1 << o) != 0
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Entry>),
    /// `-h`: usage on stdout, status 0.
    Help,
    /// `-v`: version on stdout, status 0.
    Version,
}

/// Option table (popt's `struct poptOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Cmd(Cmd),
    Help,
    Version,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Ipv6,
    Scheduler,
    Persistent,
    Netmask,
    Server,
    Gatewaying,
    Ipip,
    Masquerading,
    Weight,
    UThreshold,
    LThreshold,
    Connection,
    Numeric,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

const TABLE: &[(Option<char>, &str, Arg, Key)] = &[
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
    (Some('t'), "tcp-service", Arg::Required, Key::Tcp),
    (Some('u'), "udp-service", Arg::Required, Key::Udp),
    (None, "sctp-service", Arg::Required, Key::Sctp),
    (Some('f'), "fwmark-service", Arg::Required, Key::Fwmark),
    (Some('6'), "ipv6", Arg::None, Key::Ipv6),
    (Some('s'), "scheduler", Arg::Required, Key::Scheduler),
    (Some('p'), "persistent", Arg::Optional, Key::Persistent),
    (Some('M'), "netmask", Arg::Required, Key::Netmask),
    (Some('r'), "real-server", Arg::Required, Key::Server),
    (Some('g'), "gatewaying", Arg::None, Key::Gatewaying),
    (Some('i'), "ipip", Arg::None, Key::Ipip),
    (Some('m'), "masquerading", Arg::None, Key::Masquerading),
    (Some('w'), "weight", Arg::Required, Key::Weight),
    (Some('x'), "u-threshold", Arg::Required, Key::UThreshold),
    (Some('y'), "l-threshold", Arg::Required, Key::LThreshold),
    (Some('c'), "connection", Arg::None, Key::Connection),
    (Some('n'), "numeric", Arg::None, Key::Numeric),
    (None, "mcast-interface", Arg::Required, Key::McastInterface),
    (None, "syncid", Arg::Required, Key::SyncId),
    (None, "timeout", Arg::None, Key::Timeout),
    (None, "daemon", Arg::None, Key::Daemon),
    (None, "stats", Arg::None, Key::Stats),
    (None, "rate", Arg::None, Key::Rate),
    (None, "thresholds", Arg::None, Key::Thresholds),
    (None, "persistent-conn", Arg::None, Key::PersistentConn),
    (None, "nosort", Arg::None, Key::NoSort),
    (None, "sort", Arg::None, Key::Sort),
    (Some('X'), "exact", Arg::None, Key::Exact),
    (Some('o'), "ops", Arg::None, Key::Ops),
    (None, "pe", Arg::Required, Key::Pe),
    (Some('b'), "sched-flags", Arg::Required, Key::SchedFlags),
    (None, "mcast-group", Arg::Required, Key::McastGroup),
    (None, "mcast-port", Arg::Required, Key::McastPort),
    (None, "mcast-ttl", Arg::Required, Key::McastTtl),
    (None, "sync-maxlen", Arg::Required, Key::SyncMaxlen),
    (None, "tun-info", Arg::None, Key::TunInfo),
    (None, "tun-type", Arg::Required, Key::TunType),
    (None, "tun-port", Arg::Required, Key::TunPort),
    (None, "tun-nocsum", Arg::None, Key::TunNocsum),
    (None, "tun-csum", Arg::None, Key::TunCsum),
    (None, "tun-remcsum", Arg::None, Key::TunRemcsum),
];

/// popt's tokenizer: options in order (permuting over non-option words), then the leftover
/// words.
struct Popt<'a> {
    args: &'a [String],
    next: usize,
    /// Remaining characters of a short-option bundle (`-Ln`).
    bundle: Option<(usize, usize)>,
    leftovers: Vec<String>,
    done: bool,
}

/// One result of `poptGetNextOpt`: the option, its value, and how it was written.
enum Next {
    Opt(Key, Option<String>, String),
    End,
    /// popt's error: the offending option text and popt's message.
    Error(String, &'static str),
}

impl<'a> Popt<'a> {
    fn new(args: &'a [String]) -> Self {
        Popt {
            args,
            next: 0,
            bundle: None,
            leftovers: Vec::new(),
            done: false,
        }
    }

    /// The value of an option that takes one: the rest of the bundle, or the next word.
    fn value(&mut self, arg: Arg, attached: Option<String>) -> Result<Option<String>, ()> {
        if let Some(v) = attached {
            return Ok(Some(v));
        }
        match arg {
            Arg::None => Ok(None),
            Arg::Required => match self.args.get(self.next) {
                Some(v) => {
                    self.next += 1;
                    Ok(Some(v.clone()))
                }
                None => Err(()),
            },
            // An optional value is taken only when the next word is not an option.
            Arg::Optional => match self.args.get(self.next) {
                Some(v) if !v.starts_with('-') => {
                    self.next += 1;
                    Ok(Some(v.clone()))
                }
                _ => Ok(None),
            },
        }
    }

    fn get(&mut self) -> Next {
        // Continue a bundle of short options. popt names the whole word in its messages
        // (`-nq: unknown option`, ipvsadm's ``invalid option `-LA'``).
        if let Some((word, at)) = self.bundle {
            let w = &self.args[word];
            let c = w[at..].chars().next().expect("bundle not empty");
            let after = at + c.len_utf8();
            self.bundle = (after < w.len()).then_some((word, after));
            let Some(&(_, _, arg, key)) = TABLE.iter().find(|e| e.0 == Some(c)) else {
                return Next::Error(w.clone(), "unknown option");
            };
            // popt: `-n=...` is an unwanted argument; `-s=rr` is `-s rr`.
            if arg == Arg::None && w[after..].starts_with('=') {
                self.bundle = None;
                return Next::Error(w.clone(), "option does not take an argument");
            }
            let attached = if arg != Arg::None && after < w.len() {
                self.bundle = None;
                let v = &w[after..];
                Some(v.strip_prefix('=').unwrap_or(v).to_string())
            } else {
                None
            };
            let written = w.clone();
            return match self.value(arg, attached) {
                Ok(v) => Next::Opt(key, v, written),
                Err(()) => Next::Error(written, "missing argument"),
            };
        }
        loop {
            let Some(w) = self.args.get(self.next) else {
                return Next::End;
            };
            self.next += 1;
            if self.done || w == "-" || !w.starts_with('-') {
                self.leftovers.push(w.clone());
                continue;
            }
            if w == "--" {
                self.done = true;
                continue;
            }
            if let Some(long) = w.strip_prefix("--") {
                let (name, attached) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                let Some(&(_, _, arg, key)) = TABLE.iter().find(|e| !e.1.is_empty() && e.1 == name)
                else {
                    return Next::Error(w.clone(), "unknown option");
                };
                if arg == Arg::None && attached.is_some() {
                    return Next::Error(w.clone(), "option does not take an argument");
                }
                return match self.value(arg, attached) {
                    Ok(v) => Next::Opt(key, v, format!("--{name}")),
                    Err(()) => Next::Error(w.clone(), "missing argument"),
                };
            }
            self.bundle = Some((self.next - 1, 1));
            return self.get();
        }
    }
}

/// `string_to_number`: base-10 `strtol` of the whole word, within `min..=max`.
fn number(s: &str, min: i64, max: i64) -> Option<i64> {
    let t = s.trim_start_matches(names::is_c_space);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = t.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// `parse_fwmark`: base-10 `strtoul`, 1..=UINT_MAX.
fn fwmark(s: &str) -> Option<u32> {
    let t = s.trim_start_matches(names::is_c_space);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || neg {
        return None;
    }
    let v: u64 = digits.parse().ok()?;
    (1..=u64::from(u32::MAX)).contains(&v).then_some(v as u32)
}

/// What `parse_service` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedAddr {
    pub addr: IpAddr,
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service`: `host[:port]`, `[v6]:port` or a bare IPv6 address; an
/// all-digit word is refused; the port is a number or a service name of `protocol`.
pub fn parse_addr(buf: &str, protocol: u16) -> Option<ParsedAddr> {
    if buf.is_empty() || buf.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // As the C code: brackets must be followed by `:`; what is inside is an IPv6 address
    // (the port follows the brackets) or else is split at its own last `:` (so the port
    // after `[10.1.1.1]:` is ignored).
    let (inside, bracket_port) = match buf.strip_prefix('[') {
        Some(rest) => {
            let (h, after) = rest.split_once(']')?;
            (h, Some(after.strip_prefix(':')?))
        }
        None => (buf, None),
    };
    let (host, port) = if inside.parse::<Ipv6Addr>().is_ok() {
        (inside, bracket_port)
    } else {
        match inside.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (inside, None),
        }
    };
    let addr = if let Ok(v6) = host.parse::<Ipv6Addr>() {
        IpAddr::V6(v6)
    } else {
        IpAddr::V4(names::inet_aton(host).or_else(|| names::host_to_ipv4(host))?)
    };
    let port = match port {
        None => None,
        Some(p) => Some(match number(p, 0, 65535) {
            Some(n) => n as u16,
            None => names::service_to_port(p, protocol)?,
        }),
    };
    Some(ParsedAddr { addr, port })
}

const MAX_TIMEOUT: i64 = 86400 * 31;
const DEF_PERSISTENT_TIMEOUT: u32 = 360;

impl Entry {
    fn set_option(&mut self, o: u8) -> Result<(), Fail> {
        if self.has(o) {
            return Err(fail(format!(
                "multiple '{}' options specified",
                opt::NAMES[o as usize]
            )));
        }
        self.options |= 1 << o;
        Ok(())
    }
}

fn blank(cmd: Cmd) -> Entry {
    Entry {
        cmd,
        svc: Svc {
            af: ipvs::consts::AF_INET,
            protocol: 0,
            addr: None,
            port: 0,
            fwmark: 0,
            sched_name: String::new(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: String::new(),
        },
        dest: DestSpec {
            addr: None,
            port: 0,
            forward: Forward::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: 0,
        },
        daemon: ipvs::Daemon::new(ipvs::SyncState::Master, "", 0),
        timeouts: [0; 3],
        options: 0,
        sched_flags_text: String::new(),
    }
}

/// Parse `args` (without `argv[0]`). `restoring` is true for a line of `-R` input, where a
/// nested `-R` is refused.
pub fn parse(args: &[String], restoring: bool) -> Result<Parsed, Fail> {
    let mut p = Popt::new(args);
    // The first option must be a command, -h or -v.
    let first = match p.get() {
        Next::Opt(k, v, _) => (k, v),
        _ => return Err(tryhelp()),
    };
    let mut e = match first {
        (Key::Help, _) => return Ok(Parsed::Help),
        (Key::Version, _) => return Ok(Parsed::Version),
        (Key::Cmd(Cmd::Restore), _) if restoring => return Err(tryhelp()),
        (Key::Cmd(c), v) => {
            let mut e = blank(c);
            command_arg(&mut e, c, v)?;
            e
        }
        _ => return Err(tryhelp()),
    };
    loop {
        match p.get() {
            Next::End => break,
            Next::Error(opt, why) => {
                return Err(Fail {
                    status: 255,
                    message: format!("{opt}: {why}"),
                    tryhelp: false,
                });
            }
            // A command (or -h, -v) after the first option is not an option of it.
            Next::Opt(Key::Cmd(_) | Key::Help | Key::Version, _, written) => {
                return Err(fail(format!("invalid option `{written}'")));
            }
            Next::Opt(key, val, _) => option(&mut e, key, val)?,
        }
    }
    // Scheduler flags are checked against the scheduler the whole line asks for.
    if e.has(opt::SCHED_FLAGS) {
        check_sched_flags(&e.svc.sched_name, &e.sched_flags_text)?;
    }
    let mut rest = p.leftovers.into_iter();
    if e.cmd == Cmd::Timeout {
        let vals: Vec<String> = rest.by_ref().take(3).collect();
        if vals.len() < 3 {
            return Err(fail("--set option requires 3 timeout values"));
        }
        for (i, v) in vals.iter().enumerate() {
            e.timeouts[i] = number(v, 0, MAX_TIMEOUT)
                .ok_or_else(|| fail(format!("invalid timeout value `{v}' specified")))?
                as u32;
        }
    }
    if let Some(extra) = rest.next() {
        return Err(fail(format!("unexpected argument {extra}")));
    }
    check(&mut e)?;
    Ok(Parsed::Run(Box::new(e)))
}

/// The argument of `--start-daemon`/`--stop-daemon`.
fn command_arg(e: &mut Entry, c: Cmd, v: Option<String>) -> Result<(), Fail> {
    match c {
        Cmd::StartDaemon => {
            e.daemon.state = daemon_state(v.as_deref())
                .ok_or_else(|| fail("illegal start-daemon parameter specified"))?;
            e.daemon.mcast_ifn = "eth0".into();
        }
        Cmd::StopDaemon => {
            e.daemon.state =
                daemon_state(v.as_deref()).ok_or_else(|| fail("illegal start_daemon specified"))?;
        }
        _ => {}
    }
    Ok(())
}

fn daemon_state(v: Option<&str>) -> Option<ipvs::SyncState> {
    match v? {
        "master" => Some(ipvs::SyncState::Master),
        "backup" => Some(ipvs::SyncState::Backup),
        _ => None,
    }
}

fn option(e: &mut Entry, key: Key, val: Option<String>) -> Result<(), Fail> {
    let v = val.clone().unwrap_or_default();
    match key {
        Key::Cmd(_) | Key::Help | Key::Version => unreachable!("handled by the caller"),
        Key::Tcp | Key::Udp | Key::Sctp => {
            e.set_option(opt::SERVICE)?;
            e.svc.protocol = match key {
                Key::Tcp => IPPROTO_TCP,
                Key::Udp => IPPROTO_UDP,
                _ => IPPROTO_SCTP,
            };
            let a = parse_addr(&v, e.svc.protocol)
                .ok_or_else(|| fail("illegal virtual server address[:port] specified"))?;
            e.svc.addr = Some(a.addr);
            e.svc.af = if a.addr.is_ipv6() {
                e.svc.netmask = 128;
                ipvs::consts::AF_INET6
            } else {
                ipvs::consts::AF_INET
            };
            if let Some(port) = a.port {
                e.svc.port = port;
            }
        }
        Key::Fwmark => {
            e.set_option(opt::SERVICE)?;
            e.svc.fwmark =
                fwmark(&v).ok_or_else(|| fail(format!("invalid fwmark value `{v}' specified")))?;
            e.svc.af = ipvs::consts::AF_INET;
            e.svc.protocol = IPPROTO_TCP;
        }
        Key::Ipv6 => {
            if e.svc.fwmark == 0 {
                return Err(fail("-6 used before -f\n"));
            }
            e.svc.af = ipvs::consts::AF_INET6;
            e.svc.netmask = 128;
        }
        Key::Scheduler => {
            e.set_option(opt::SCHEDULER)?;
            e.svc.sched_name = c_name(&v);
        }
        Key::Persistent => {
            e.set_option(opt::PERSISTENT)?;
            e.svc.flags |= ipvs::consts::svc_flags::PERSISTENT;
            e.svc.timeout = match &val {
                None => DEF_PERSISTENT_TIMEOUT,
                Some(t) => number(t, 1, MAX_TIMEOUT)
                    .ok_or_else(|| fail(format!("invalid timeout value `{t}' specified")))?
                    as u32,
            };
        }
        Key::Netmask => {
            e.set_option(opt::NETMASK)?;
            if e.svc.af != ipvs::consts::AF_INET6 {
                let m = names::inet_aton(&v)
                    .or_else(|| names::host_to_ipv4(&v))
                    .ok_or_else(|| fail("illegal virtual server persistent mask specified"))?;
                e.svc.netmask = u32::from(m);
            } else {
                e.svc.netmask = atoi(&v)
                    .filter(|n| (1..=128).contains(n))
                    .ok_or_else(|| fail("illegal ipv6 netmask specified"))?
                    as u32;
            }
        }
        Key::Server => {
            e.set_option(opt::SERVER)?;
            let a = parse_addr(&v, e.svc.protocol)
                .ok_or_else(|| fail("illegal real server address[:port] specified"))?;
            e.dest.addr = Some(a.addr);
            // Without a port, the real server listens on the virtual port (as set so far).
            e.dest.port = a.port.unwrap_or(e.svc.port);
        }
        Key::Gatewaying | Key::Ipip | Key::Masquerading => {
            e.set_option(opt::FORWARD)?;
            e.dest.forward = match key {
                Key::Gatewaying => Forward::Route,
                Key::Ipip => Forward::Tunnel,
                _ => Forward::Masq,
            };
        }
        Key::Weight => {
            e.set_option(opt::WEIGHT)?;
            e.dest.weight = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal weight specified"))?
                as i32;
        }
        Key::UThreshold => {
            e.set_option(opt::UTHRESHOLD)?;
            e.dest.u_threshold = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal u_threshold specified"))?
                as u32;
        }
        Key::LThreshold => {
            e.set_option(opt::LTHRESHOLD)?;
            e.dest.l_threshold = number(&v, 0, i32::MAX.into())
                .ok_or_else(|| fail("illegal l_threshold specified"))?
                as u32;
        }
        Key::Connection => e.set_option(opt::CONNECTION)?,
        Key::Numeric => e.set_option(opt::NUMERIC)?,
        Key::McastInterface => {
            e.set_option(opt::MCAST)?;
            e.daemon.mcast_ifn = c_name(&v);
        }
        Key::SyncId => {
            e.set_option(opt::SYNCID)?;
            e.daemon.syncid =
                number(&v, 0, 255).ok_or_else(|| fail("illegal syncid specified"))? as u32;
        }
        Key::Timeout => e.set_option(opt::TIMEOUT)?,
        Key::Daemon => e.set_option(opt::DAEMON)?,
        Key::Stats => e.set_option(opt::STATS)?,
        Key::Rate => e.set_option(opt::RATE)?,
        Key::Thresholds => e.set_option(opt::THRESHOLDS)?,
        Key::PersistentConn => e.set_option(opt::PERSISTENTCONN)?,
        Key::NoSort => e.set_option(opt::NOSORT)?,
        Key::Sort => {}
        Key::Exact => e.set_option(opt::EXACT)?,
        Key::Ops => {
            e.set_option(opt::ONEPACKET)?;
            e.svc.flags |= ipvs::consts::svc_flags::ONEPACKET;
        }
        Key::Pe => {
            e.set_option(opt::PE)?;
            e.svc.pe_name = c_name(&v);
        }
        Key::SchedFlags => {
            e.set_option(opt::SCHED_FLAGS)?;
            use ipvs::consts::svc_flags::{SCHED1, SCHED2, SCHED3};
            e.svc.flags &= !(SCHED1 | SCHED2 | SCHED3);
            e.svc.flags |= sched_flags(&v)?;
            e.sched_flags_text = v;
        }
        Key::McastGroup => {
            e.set_option(opt::MCAST_GROUP)?;
            if v.contains(':') {
                match v.parse::<Ipv6Addr>() {
                    Ok(g) if g.is_multicast() => e.daemon.mcast_group = Some(IpAddr::V6(g)),
                    _ => return Err(fail(format!("invalid IPv6 mcast-group `{v}'"))),
                }
            } else {
                match v.parse::<Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => e.daemon.mcast_group = Some(IpAddr::V4(g)),
                    _ => return Err(fail(format!("invalid IPv4 mcast-group `{v}'"))),
                }
            }
        }
        Key::McastPort => {
            e.set_option(opt::MCAST_PORT)?;
            e.daemon.mcast_port =
                number(&v, 1, 65535).ok_or_else(|| fail("illegal mcast-port specified"))? as u16;
        }
        Key::McastTtl => {
            e.set_option(opt::MCAST_TTL)?;
            e.daemon.mcast_ttl =
                number(&v, 1, 255).ok_or_else(|| fail("illegal mcast-ttl specified"))? as u8;
        }
        Key::SyncMaxlen => {
            e.set_option(opt::SYNC_MAXLEN)?;
            e.daemon.sync_maxlen = number(&v, 1, 65535 - 20 - 8)
                .ok_or_else(|| fail("illegal sync-maxlen specified"))?
                as u16;
        }
        Key::TunInfo => e.set_option(opt::TUN_INFO)?,
        Key::TunType => {
            e.set_option(opt::TUN_TYPE)?;
            e.dest.tun_type = match v.as_str() {
                "ipip" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                _ => return Err(fail("illegal tunnel type specified")),
            };
        }
        Key::TunPort => {
            e.set_option(opt::TUN_PORT)?;
            e.dest.tun_port =
                number(&v, 1, 65535).ok_or_else(|| fail("illegal tunnel port specified"))? as u16;
        }
        Key::TunNocsum => {
            e.set_option(opt::TUN_NOCSUM)?;
        }
        Key::TunCsum => {
            e.set_option(opt::TUN_CSUM)?;
            e.dest.tun_flags |= tun_flags::CSUM;
        }
        Key::TunRemcsum => {
            e.set_option(opt::TUN_REMCSUM)?;
            e.dest.tun_flags |= tun_flags::REMCSUM;
        }
    }
    Ok(())
}

/// A name copied into a 16-byte C buffer (`IP_VS_SCHEDNAME_MAXLEN`, `IP_VS_PENAME_MAXLEN`,
/// `IP_VS_IFNAME_MAXLEN`): at most 15 bytes, cut back to a whole UTF-8 character.
fn c_name(v: &str) -> String {
    let mut end = v.len().min(15);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_string()
}

/// C `atoi`: leading blanks, optional sign, digits; anything after is ignored.
fn atoi(s: &str) -> Option<i64> {
    let t = s.trim_start_matches(names::is_c_space);
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(sign * digits.parse::<i64>().unwrap_or(0))
}

/// The flags of a `-b` list, and the scheduler each needs.
fn flag_bits(flag: &str) -> Option<(u32, Option<&'static str>)> {
    use ipvs::consts::svc_flags::{SCHED1, SCHED2, SCHED3};
    Some(match flag {
        "flag-1" => (SCHED1, None),
        "flag-2" => (SCHED2, None),
        "flag-3" => (SCHED3, None),
        "sh-fallback" => (SCHED1, Some("sh")),
        "sh-port" => (SCHED2, Some("sh")),
        "mh-fallback" => (SCHED1, Some("mh")),
        "mh-port" => (SCHED2, Some("mh")),
        _ => return None,
    })
}

/// `parse_sched_flags`: a comma list of known flags.
fn sched_flags(list: &str) -> Result<u32, Fail> {
    let mut flags = 0;
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        let (bit, _) =
            flag_bits(flag).ok_or_else(|| fail(format!("invalid scheduler flag `{flag}'")))?;
        flags |= bit;
    }
    Ok(flags)
}

/// `sh-*` and `mh-*` flags need that scheduler.
fn check_sched_flags(sched: &str, list: &str) -> Result<(), Fail> {
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        if let Some((_, Some(needs))) = flag_bits(flag)
            && needs != sched
        {
            return Err(fail(format!("incompatible scheduler flag `{flag}'")));
        }
    }
    Ok(())
}

/// The matrix, the tunnel-type matrix and the semantic checks, then the defaults.
fn check(e: &mut Entry) -> Result<(), Fail> {
    let m = e.cmd.matrix();
    let mut first_exclusive: Option<usize> = None;
    for (i, rule) in m.iter().enumerate() {
        let set = e.options & (1 << i) != 0;
        match (rule, set) {
            (b'+', false) => {
                return Err(fail(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    opt::NAMES[i],
                    e.cmd.name()
                )));
            }
            (b'x', true) => {
                return Err(fail(format!(
                    "Illegal '{}' option with the '{}' command",
                    opt::NAMES[i],
                    e.cmd.name()
                )));
            }
            (b'1', true) => match first_exclusive {
                None => first_exclusive = Some(i),
                Some(f) => {
                    return Err(fail(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        opt::NAMES[i],
                        opt::NAMES[f],
                        e.cmd.name()
                    )));
                }
            },
            _ => {}
        }
    }
    let tun_opts = [
        opt::TUN_TYPE,
        opt::TUN_PORT,
        opt::TUN_NOCSUM,
        opt::TUN_CSUM,
        opt::TUN_REMCSUM,
    ];
    if matches!(e.cmd, Cmd::AddDest | Cmd::EditDest) && tun_opts.iter().any(|o| e.has(*o)) {
        if e.dest.forward != Forward::Tunnel {
            return Err(fail("Tunnel options conflict with forward method"));
        }
        // Columns: tun-port, nocsum, csum, remcsum.
        let (name, rules): (&str, &[u8; 4]) = match e.dest.tun_type {
            TunnelType::Gue => ("gue", b"+111"),
            TunnelType::Gre => ("gre", b"x11x"),
            _ => ("ipip", b"xxxx"),
        };
        let mut first: Option<u8> = None;
        for (j, o) in tun_opts[1..].iter().enumerate() {
            let set = e.has(*o);
            let oname = opt::NAMES[*o as usize];
            match (rules[j], set) {
                (b'+', false) => {
                    return Err(fail(format!(
                        "You need to supply the '{oname}' option for the '{name}' tunnel type"
                    )));
                }
                (b'x', true) => {
                    return Err(fail(format!(
                        "Illegal '{oname}' option with the '{name}' tunnel type"
                    )));
                }
                (b'1', true) => match first {
                    None => first = Some(*o),
                    Some(f) => {
                        return Err(fail(format!(
                            "The option '{oname}' conflicts with the '{}' option in the '{name}' tunnel type",
                            opt::NAMES[f as usize]
                        )));
                    }
                },
                _ => {}
            }
        }
    }
    if matches!(e.cmd, Cmd::Add | Cmd::Edit) {
        if e.svc.fwmark == 0
            && e.svc.port == 0
            && e.svc.flags & ipvs::consts::svc_flags::PERSISTENT == 0
        {
            return Err(fail("Zero port specified for non-persistent service"));
        }
        if e.svc.flags & ipvs::consts::svc_flags::ONEPACKET != 0
            && e.svc.fwmark == 0
            && e.svc.protocol != IPPROTO_UDP
        {
            return Err(fail(
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
        if e.svc.sched_name.is_empty() {
            e.svc.sched_name = "wlc".into();
        }
    }
    if matches!(e.cmd, Cmd::AddDest | Cmd::EditDest) {
        // Direct routing and tunnels cannot change the port.
        if matches!(e.dest.forward, Forward::Tunnel | Forward::Route) && e.svc.fwmark == 0 {
            e.dest.port = e.svc.port;
        }
        if let Some(d) = e.dest.addr
            && d.is_ipv6() != (e.svc.af == ipvs::consts::AF_INET6)
            && e.dest.forward != Forward::Tunnel
        {
            return Err(fail(
                "Different address family is allowed only for tunneling servers",
            ));
        }
    }
    let list_conflict = e.cmd == Cmd::List
        && ((e.has(opt::CONNECTION) || e.has(opt::TIMEOUT) || e.has(opt::DAEMON))
            && (e.has(opt::STATS) || e.has(opt::RATE) || e.has(opt::THRESHOLDS))
            || (e.has(opt::TIMEOUT) || e.has(opt::DAEMON)) && e.has(opt::PERSISTENTCONN));
    if list_conflict {
        return Err(fail("options conflicts in the list command"));
    }
    Ok(())
}
