//! Stage three: semantic checks on a typed configuration. piranha made none of these; each
//! catches a file that parses but breaks or surprises at run time.
//!
//! The checks take a [`SourceMap`] for locations; a model that did not come from a file
//! (the web tool's JSON) is checked with an empty map and gets diagnostics without spans.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use crate::diag::Diagnostic;
use crate::model::{Host, LvsConfig, Netmask, Network, Service, VirtualServer};
use crate::source::{BlockRef, BlockSource, KeySpans, SourceMap};
use crate::span::Span;

/// Run every check. `partial` says the model comes from a file with errors: checks about the
/// file as a whole (no active service at all) are skipped then, since a rejected line could
/// be the cause.
pub fn check(cfg: &LvsConfig, map: &SourceMap, partial: bool) -> Vec<Diagnostic> {
    let empty = BlockSource::default();
    let mut c = Checker {
        cfg,
        map,
        diags: Vec::new(),
        empty: &empty,
    };
    c.globals(partial);
    for failover in [false, true] {
        let list = if failover {
            &cfg.failover_services
        } else {
            &cfg.virtual_servers
        };
        let selected = failover == (cfg.service == Service::Fos);
        let mark = c.diags.len();
        c.duplicates(list, failover);
        if !selected {
            c.downgrade(
                mark,
                &format!("`service = {}` does not run this block", cfg.service),
            );
        }
        for (index, vs) in list.iter().enumerate() {
            let mark = c.diags.len();
            c.block(vs, BlockRef { failover, index });
            // piranha ran files whose unused blocks were broken: for a block pulse will not
            // run, a problem is a warning (it becomes an error when the block is used).
            if !selected {
                c.downgrade(
                    mark,
                    &format!("`service = {}` does not run this block", cfg.service),
                );
            } else if !vs.active {
                c.downgrade(mark, "the block is not active");
            }
        }
    }
    c.diags
}

/// A small multiplicative hasher: the keys here are our own addresses and names, not
/// attacker-chosen, and SipHash was a tenth of validation time on large files.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

struct Checker<'a> {
    cfg: &'a LvsConfig,
    map: &'a SourceMap,
    diags: Vec<Diagnostic>,
    /// Stands in for the source of a block when the model has no source map.
    empty: &'a BlockSource,
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

impl<'a> Checker<'a> {
    /// Turn the errors pushed since `mark` into warnings that say why.
    fn downgrade(&mut self, mark: usize, why: &str) {
        for d in &mut self.diags[mark..] {
            if d.is_error() {
                d.severity = crate::diag::Severity::Warning;
                d.message = format!("{} ({why})", d.message);
            }
        }
    }

    fn src(&self, r: BlockRef) -> &'a BlockSource {
        self.map.block(r).unwrap_or(self.empty)
    }

    /// Span of `key`'s value in a block, else the block header.
    fn at(&self, r: BlockRef, key: &str) -> Option<Span> {
        let b = self.src(r);
        b.keys
            .value(key)
            .or(Some(b.header).filter(|h| !h.is_empty()))
    }

    fn header(&self, r: BlockRef) -> Option<Span> {
        Some(self.src(r).header).filter(|h| !h.is_empty())
    }

    fn g(&self) -> &'a KeySpans {
        &self.map.global
    }

    fn globals(&mut self, partial: bool) {
        let cfg = self.cfg;
        let g = self.g();
        if cfg.backup_active && cfg.backup.is_none() && !g.failed("backup") {
            self.diags.push(
                Diagnostic::semantic(
                    g.stmt("backup_active"),
                    "`backup_active = 1` but no `backup` address is set: pulse would run without a backup",
                )
                .with_help("set `backup = ADDRESS` of the backup director, or `backup_active = 0`"),
            );
        }
        if cfg.primary.is_none() && !g.failed("primary") {
            self.diags.push(
                Diagnostic::warning(
                    None,
                    "no `primary` address is set: pulse cannot tell which director is the primary",
                )
                .with_help("set `primary = ADDRESS` of the primary director"),
            );
        }
        if let (Some(p), Some(b)) = (&cfg.primary, &cfg.backup)
            && p == b
        {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("backup"),
                    "`backup` is the same address as `primary`",
                )
                .with_note(g.value("primary"), "`primary` is set here"),
            );
        }
        if cfg.backup_active && cfg.primary_private != cfg.primary && cfg.backup_private.is_none() {
            self.diags.push(
                Diagnostic::warning(
                    g.stmt("primary_private"),
                    "`primary_private` is set but `backup_private` is not: heartbeats on the private network would go to 0.0.0.0",
                )
                .with_help("set `backup_private` to the backup's address on the private network"),
            );
        }
        if g.failed("keepalive") || g.failed("deadtime") {
            // A rejected timing leaves its default: comparing it would mislead.
        } else if cfg.keepalive.as_millis() == 0 {
            self.diags.push(Diagnostic::semantic(
                g.value("keepalive"),
                "`keepalive` must be greater than 0",
            ));
        } else if cfg.deadtime <= cfg.keepalive {
            self.diags.push(
                Diagnostic::semantic(
                    g.value("deadtime").or(g.value("keepalive")),
                    format!(
                        "`deadtime` ({}) must be longer than `keepalive` ({}): the partner would be declared dead between two heartbeats",
                        cfg.deadtime, cfg.keepalive
                    ),
                )
                .with_help("make `deadtime` at least twice `keepalive`, e.g. keepalive 2, deadtime 5"),
            );
        }
        if cfg.heartbeat_port == 0 {
            self.diags.push(Diagnostic::semantic(
                g.value("heartbeat_port"),
                "`heartbeat_port` cannot be 0",
            ));
        }
        if cfg.service == Service::Fos
            && (cfg.primary_shared.is_some() || cfg.backup_shared.is_some())
            && cfg.reservation_conflict_action.is_none()
        {
            self.diags.push(
                Diagnostic::warning(
                    g.stmt("primary_shared").or(g.stmt("backup_shared")),
                    "a shared SCSI disk is set but `reservation_conflict_action` is not (piranha's pulse crashed on this)",
                )
                .with_help("set `reservation_conflict_action = nothing` or `preempt`"),
            );
        }
        if cfg.nat_router.is_some() && cfg.network != Network::Nat {
            self.diags.push(Diagnostic::warning(
                g.stmt("nat_router"),
                format!(
                    "`nat_router` is only used with `network = nat`; this file has `network = {}`",
                    cfg.network
                ),
            ));
        }
        if !partial {
            let (kind, other) = match cfg.service {
                Service::Lvs => ("virtual", "failover"),
                Service::Fos => ("failover", "virtual"),
            };
            if !cfg.selected_blocks().iter().any(|b| b.active) {
                let others = match cfg.service {
                    Service::Lvs => &cfg.failover_services,
                    Service::Fos => &cfg.virtual_servers,
                };
                let mut d = Diagnostic::semantic(
                    g.stmt("service"),
                    format!(
                        "`service = {}` but no `{kind}` block is active: pulse would refuse to start",
                        cfg.service
                    ),
                );
                if others.iter().any(|b| b.active) {
                    d = d.with_help(format!(
                        "this file has active `{other}` blocks: did you mean `service = {}`?",
                        if cfg.service == Service::Lvs {
                            "fos"
                        } else {
                            "lvs"
                        }
                    ));
                } else {
                    d = d.with_help(format!("set `active = 1` in a `{kind}` block"));
                }
                self.diags.push(d);
            }
        }
    }

    /// Two active blocks of one list that would create the same IPVS service (or, for
    /// failover, monitor the same address and port).
    fn duplicates(&mut self, list: &[VirtualServer], failover: bool) {
        #[derive(PartialEq, Eq, Hash)]
        enum Key<'k> {
            Mark(u32),
            Addr(&'k Host, &'static str, u16),
        }
        let mut seen: FastMap<Key<'_>, usize> = FastMap::default();
        let mut names: FastMap<&str, usize> = FastMap::default();
        for (index, vs) in list.iter().enumerate() {
            let r = BlockRef { failover, index };
            if !vs.name.is_empty()
                && let Some(first) = names.insert(&vs.name, index)
            {
                self.diags.push(
                    Diagnostic::warning(
                        self.header(r),
                        format!(
                            "another block is also named `{}`; log lines will not tell them apart",
                            vs.name
                        ),
                    )
                    .with_note(
                        self.header(BlockRef {
                            failover,
                            index: first,
                        }),
                        "first block with this name",
                    ),
                );
            }
            // A key that failed to parse (or was misspelt) leaves its default in the model:
            // comparing that would report a duplicate the admin did not write.
            let keys = &self.src(r).keys;
            if !vs.active
                || ["address", "port", "protocol", "fwmark"]
                    .iter()
                    .any(|k| keys.failed(k))
            {
                continue;
            }
            let key = match (vs.fwmark, &vs.address) {
                (Some(m), _) if !failover => Key::Mark(m),
                (_, Some(a)) if !a.address.is_unspecified() => {
                    Key::Addr(&a.address, vs.protocol.as_str(), vs.port)
                }
                _ => continue,
            };
            match seen.get(&key) {
                Some(&first) => {
                    let what = match &key {
                        Key::Mark(m) => format!("firewall mark {m}"),
                        Key::Addr(h, p, port) => format!("{p} {}", join_host_port(h, *port)),
                    };
                    let at = if vs.fwmark.is_some() && !failover {
                        "fwmark"
                    } else {
                        "address"
                    };
                    self.diags.push(
                        Diagnostic::semantic(
                            self.at(r, at),
                            format!(
                                "`{}` and `{}` are both active for {what}",
                                list[first].name, vs.name
                            ),
                        )
                        .with_note(
                            self.header(BlockRef {
                                failover,
                                index: first,
                            }),
                            "the first one is here",
                        )
                        .with_help("deactivate one of them, or change its address, port or fwmark"),
                    );
                }
                None => {
                    seen.insert(key, index);
                }
            }
        }
    }

    fn block(&mut self, vs: &VirtualServer, r: BlockRef) {
        let keys = &self.src(r).keys;
        let kind = if r.failover { "failover" } else { "virtual" };
        if vs.timeout == 0 {
            self.diags.push(
                Diagnostic::semantic(self.at(r, "timeout"), "`timeout` must be at least 1 second")
                    .with_help("`timeout` is nanny's check interval and its connect/read timeout"),
            );
        } else if vs.reentry != 0
            && vs.reentry < vs.timeout
            && !keys.failed("timeout")
            && !keys.failed("reentry")
        {
            self.diags.push(
                Diagnostic::warning(
                    self.at(r, "reentry"),
                    format!(
                        "`reentry` ({}) is shorter than `timeout` ({}): a failed server comes back after its first successful check",
                        vs.reentry, vs.timeout
                    ),
                )
                .with_help("a server needs reentry/timeout consecutive good checks to come back"),
            );
        }
        let vip = vs.vip();
        if vs.active && !keys.failed("address") {
            match &vs.address {
                None => self.diags.push(
                    Diagnostic::semantic(
                        self.header(r),
                        format!("active {kind} block `{}` has no `address`", vs.name),
                    )
                    .with_help("add `address = VIP DEVICE`, e.g. `address = 192.168.1.10 eth0:1`"),
                ),
                Some(a) if a.address.is_unspecified() => self.diags.push(Diagnostic::semantic(
                    self.at(r, "address"),
                    format!(
                        "active {kind} block `{}` has the unspecified address {}",
                        vs.name, a.address
                    ),
                )),
                Some(_) => {}
            }
        }
        if vs.active
            && !r.failover
            && vs.port == 0
            && vs.fwmark.is_none()
            && vs.persistent.is_none()
        {
            self.diags.push(Diagnostic::semantic(
                self.at(r, "port"),
                "port 0 is only allowed for a persistent or fwmark service",
            ));
        }
        if let Some(pmask) = vs.pmask {
            if vs.persistent.is_none() && !keys.failed("persistent") {
                self.diags.push(Diagnostic::warning(
                    self.at(r, "pmask"),
                    "`pmask` has no effect without `persistent`",
                ));
            }
            self.mask_family(r, "pmask", pmask, vip);
        }
        if let Some(m) = vs.vip_nmask {
            self.mask_family(r, "vip_nmask", m, vip);
        }
        if vs.use_regex && vs.expect.is_none() && !keys.failed("expect") {
            self.diags.push(Diagnostic::warning(
                self.at(r, "use_regex"),
                "`use_regex = 1` has no effect without `expect`",
            ));
        }
        if vs.send_program.is_some() && vs.send.is_some() {
            self.diags.push(
                Diagnostic::warning(
                    self.at(r, "send"),
                    "`send` is ignored: `send_program` replaces it",
                )
                .with_note(self.at(r, "send_program"), "`send_program` is set here"),
            );
        }
        if r.failover {
            if !vs.servers.is_empty() {
                self.diags.push(Diagnostic::warning(
                    self.src(r).servers.first().map(|s| s.header),
                    "`server` blocks inside a `failover` block are ignored",
                ));
            }
            if vs.active && self.cfg.service == Service::Fos {
                for cmd in ["start_cmd", "stop_cmd"] {
                    let set = if cmd == "start_cmd" {
                        &vs.start_cmd
                    } else {
                        &vs.stop_cmd
                    };
                    if set.is_none() && !self.src(r).keys.failed(cmd) {
                        self.diags.push(Diagnostic::warning(
                            self.header(r),
                            format!(
                                "failover service `{}` has no `{cmd}`: fos cannot {} it",
                                vs.name,
                                &cmd[..cmd.len() - 4]
                            ),
                        ));
                    }
                }
            }
            return;
        }
        self.servers(vs, r, vip);
    }

    fn mask_family(&mut self, r: BlockRef, key: &str, m: Netmask, vip: Option<IpAddr>) {
        let bad = match (m, vip) {
            (Netmask::V4(_), Some(IpAddr::V6(_))) => {
                Some("a dotted mask cannot apply to an IPv6 address; write a prefix length")
            }
            (Netmask::Prefix(p), Some(IpAddr::V4(_))) if p > 32 => {
                Some("an IPv4 prefix length is at most 32")
            }
            _ => None,
        };
        if let Some(why) = bad {
            self.diags.push(Diagnostic::semantic(
                self.at(r, key),
                format!("`{key}` = {m}: {why}"),
            ));
        }
    }

    fn servers(&mut self, vs: &VirtualServer, r: BlockRef, vip: Option<IpAddr>) {
        let src = self.src(r);
        let server_at = |i: usize, key: &str| {
            src.servers
                .get(i)
                .and_then(|s| s.keys.value(key).or(Some(s.header)))
        };
        if vs.active
            && !vs.servers.iter().any(|s| s.active)
            && !vs
                .servers
                .iter()
                .enumerate()
                .any(|(i, _)| src.servers.get(i).is_some_and(|s| s.keys.failed("active")))
        {
            let mut d = Diagnostic::warning(
                self.header(r),
                format!(
                    "active virtual server `{}` has no active real server: it will take no traffic",
                    vs.name
                ),
            );
            d = d.with_help(match vs.sorry_server {
                Some(_) => {
                    "only the sorry server will answer; set `active = 1` in a `server` block"
                        .to_string()
                }
                None => "set `active = 1` in a `server` block".to_string(),
            });
            self.diags.push(d);
        }
        for (i, rs) in vs.servers.iter().enumerate() {
            let failed = src.servers.get(i).is_some_and(|s| s.keys.failed("address"));
            if rs.active && vs.active && !failed {
                match &rs.address {
                    None => self.diags.push(Diagnostic::semantic(
                        server_at(i, "address"),
                        format!("active real server `{}` has no `address`", rs.name),
                    )),
                    Some(h) if h.is_unspecified() => self.diags.push(Diagnostic::semantic(
                        server_at(i, "address"),
                        format!(
                            "active real server `{}` has the unspecified address {h}",
                            rs.name
                        ),
                    )),
                    _ => {}
                }
            }
            let Some(addr) = &rs.address else { continue };
            if let (Some(v), Some(a)) = (vip, addr.ip())
                && v.is_ipv4() != a.is_ipv4()
                && self.cfg.network != Network::Tunnel
            {
                self.diags.push(
                    Diagnostic::semantic(
                        server_at(i, "address"),
                        format!(
                            "real server `{}` is {} but the virtual address is {}",
                            rs.name,
                            family(a),
                            family(v)
                        ),
                    )
                    .with_help("IPVS mixes address families only with `network = tunnel`"),
                );
            }
            // Real servers per service are few: a scan beats a hash map here.
            let twin = || {
                vs.servers[..i]
                    .iter()
                    .position(|o| o.active && o.port == rs.port && o.address.as_ref() == Some(addr))
            };
            if rs.active && !addr.is_unspecified() {
                if let Some(first) = twin() {
                    self.diags.push(
                        Diagnostic::warning(
                            src.servers.get(i).map(|s| s.header),
                            format!(
                                "real servers `{}` and `{}` are both {}: only one is used",
                                vs.servers[first].name,
                                rs.name,
                                join_host_port(addr, rs.port)
                            ),
                        )
                        .with_note(
                            src.servers.get(first).map(|s| s.header),
                            "the first one is here",
                        ),
                    );
                }
            }
        }
        if let (Some(sorry), Some(v)) = (vs.sorry_server, vip)
            && sorry.is_ipv4() != v.is_ipv4()
            && self.cfg.network != Network::Tunnel
        {
            self.diags.push(Diagnostic::semantic(
                self.at(r, "sorry_server"),
                format!(
                    "`sorry_server` is {} but the virtual address is {}",
                    family(sorry),
                    family(v)
                ),
            ));
        }
    }
}

/// `1.2.3.4:80` or `[::1]:80`.
pub fn join_host_port(h: &Host, port: u16) -> String {
    match h {
        Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        other => format!("{other}:{port}"),
    }
}
