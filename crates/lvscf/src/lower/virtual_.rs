//! `virtual` and `failover` blocks: their statements, their `server` blocks and piranha's
//! order rule for a real server's default port.

use super::{Lowerer, set};
use crate::diag::{Category, Diagnostic};
use crate::keywords::{INNER_BLOCKS, KeyId, Scope, VirtualKey, suggest};
use crate::model::{LoadMonitor, Protocol, SchedFlag, Scheduler, VirtualServer};
use crate::source::{BlockRef, BlockSource, KeySpans};
use crate::syntax::{Block, Item, Stmt, Token};
use crate::trivia::Anchor;

impl Lowerer<'_> {
    pub(super) fn virtual_block(&mut self, b: &Block, r: BlockRef) -> (VirtualServer, BlockSource) {
        self.flush(Anchor::Block(r));
        self.trailing(Anchor::Block(r), b.comment(self.src));
        let mut vs = VirtualServer::new(b.name.map(|n| self.string(n)).unwrap_or_default());
        let servers = b
            .items
            .iter()
            .filter(|i| matches!(i, Item::Block(_)))
            .count();
        vs.servers.reserve_exact(servers);
        let mut bs = BlockSource {
            header: b.header_span(),
            keys: KeySpans::with_capacity(b.items.len()),
            servers: Vec::with_capacity(servers),
        };
        // Real servers that took the virtual port as their default, with that port.
        let mut defaulted: Vec<(usize, u16)> = Vec::new();
        for item in &b.items {
            match item {
                Item::Invalid(_) => {}
                Item::Blank(_) => self.blank(),
                Item::Comment(s) => self.comment(*s),
                Item::Stmt(st) => self.virtual_stmt(&mut vs, &mut bs.keys, st, r),
                Item::Block(sb) if sb.keyword.text(self.src) == "server" => {
                    let idx = vs.servers.len();
                    let (rs, src, explicit_port) = self.server_block(sb, r, idx, vs.port);
                    if !explicit_port {
                        defaulted.push((idx, vs.port));
                    }
                    vs.servers.push(rs);
                    bs.servers.push(src);
                }
                Item::Block(sb) => self.misplaced_block(b, sb),
            }
        }
        self.flush(Anchor::BlockEnd(r));
        if let Some(c) = b.close {
            self.trailing(Anchor::BlockEnd(r), c.comment(self.src));
        }
        self.late_port(&vs, &bs, &defaulted);
        (vs, bs)
    }

    /// A block other than `server` inside a `virtual` or `failover` block.
    fn misplaced_block(&mut self, b: &Block, sb: &Block) {
        match sb.keyword.text(self.src) {
            kw @ ("virtual" | "failover") => {
                self.diags.push(
                    Diagnostic::error(
                        Category::BadCommand,
                        sb.keyword.span(),
                        format!("a `{kw}` block cannot be inside another block"),
                    )
                    .with_note(Some(b.header_span()), "the enclosing block starts here")
                    .with_help("close the enclosing block with `}` first"),
                );
                self.rejected(sb, kw);
            }
            other => {
                self.unknown_block(sb.keyword.span(), other, INNER_BLOCKS);
                if suggest(other, INNER_BLOCKS).is_some() {
                    self.rejected(sb, "server");
                }
            }
        }
    }

    /// piranha's order rule: a real server's default port is the virtual port at the time its
    /// `server` line is read. Warn where a later `port` line makes that surprising.
    fn late_port(&mut self, vs: &VirtualServer, bs: &BlockSource, defaulted: &[(usize, u16)]) {
        for &(idx, port) in defaulted {
            if port != vs.port {
                let rs = &vs.servers[idx];
                self.diags.push(
                    Diagnostic::warning(
                        Some(bs.servers[idx].header),
                        format!(
                            "real server `{}` uses port {port}: the virtual `port = {}` comes after it, and a real server takes the virtual port in force when its `server` line is read",
                            rs.name, vs.port
                        ),
                    )
                    .with_note(bs.keys.stmt("port"), "the virtual port is set here")
                    .with_help("move `port` above the `server` blocks, or give the server its own `port`"),
                );
            }
        }
    }

    fn virtual_stmt(
        &mut self,
        vs: &mut VirtualServer,
        keys: &mut KeySpans,
        st: &Stmt,
        r: BlockRef,
    ) {
        let Some(id) = self.key(st, Scope::Virtual, keys) else {
            return;
        };
        let key = VirtualKey::ALL[id.index()];
        self.attach(Anchor::BlockKey(r, key.name()), st);
        let ok = self.virtual_value(vs, key, st, r);
        self.record(keys, KeyId::from(key), st, ok);
    }

    /// Read the value of a block keyword into `vs`; false if it was rejected.
    fn virtual_value(
        &mut self,
        vs: &mut VirtualServer,
        key: VirtualKey,
        st: &Stmt,
        r: BlockRef,
    ) -> bool {
        use VirtualKey as K;
        let k = key.name();
        match key {
            K::Address => set!(vs.address, self.interface(st, k, true).map(Some)),
            K::Dirs => set!(vs.dirs, self.list(st, k).map(Some)),
            K::ConnectTimeout => set!(
                vs.connect_timeout,
                self.read(st, k, Self::seconds).map(Some)
            ),
            K::Retries => set!(vs.retries, self.read(st, k, Self::u32).map(Some)),
            K::SchedFlags => set!(vs.sched_flags, self.read(st, k, Self::sched_flags)),
            K::HotStandby => set!(vs.hot_standby, self.read(st, k, Self::boolean)),
            K::VipNmask => set!(vs.vip_nmask, self.read(st, k, Self::mask)),
            K::Active => set!(vs.active, self.read(st, k, Self::boolean)),
            K::Port => set!(
                vs.port,
                self.read(st, k, |l, t, k| l.port_at(
                    t,
                    k,
                    Anchor::BlockKey(r, "port")
                ))
            ),
            K::Protocol => set!(
                vs.protocol,
                self.read(st, k, |l, t, k| l.choice(t, k, Protocol::ALL))
            ),
            K::Fwmark => set!(vs.fwmark, self.read(st, k, Self::u32_or_unset)),
            K::Scheduler => set!(vs.scheduler, self.read(st, k, Self::scheduler)),
            K::Persistent => set!(vs.persistent, self.read(st, k, Self::u32_or_unset)),
            // 255.255.255.255 means "no mask" (lvsd never passes it to ipvsadm).
            K::Pmask => set!(vs.pmask, self.read(st, k, |l, t, _| l.pmask(t))),
            K::Send => set!(vs.send, self.read_string(st, k).map(Some)),
            K::Expect => set!(vs.expect, self.read_string(st, k).map(Some)),
            K::UseRegex => set!(vs.use_regex, self.read(st, k, Self::boolean)),
            K::SendProgram => set!(vs.send_program, self.read_string(st, k).map(Some)),
            K::Timeout => set!(vs.timeout, self.read(st, k, Self::u32)),
            K::Reentry => set!(vs.reentry, self.read(st, k, Self::u32)),
            K::LoadMonitor => set!(
                vs.load_monitor,
                self.read(st, k, |l, t, _| Some(Some(LoadMonitor::from_text(
                    l.text(t)
                ))))
            ),
            K::QuiesceServer => set!(vs.quiesce_server, self.read(st, k, Self::boolean)),
            K::SorryServer => set!(
                vs.sorry_server,
                self.read(st, k, |l, t, k| l
                    .ip(t, k)
                    .map(|ip| (!ip.is_unspecified()).then_some(ip)))
            ),
            K::ClientMonitor => set!(vs.client_monitor, self.read_string(st, k)),
            K::StartCmd => set!(vs.start_cmd, self.read_string(st, k).map(Some)),
            K::StopCmd => set!(vs.stop_cmd, self.read_string(st, k).map(Some)),
            K::Master => set!(
                vs.master,
                self.read(st, k, |l, t, k| l.host(t, k, true)).map(Some)
            ),
        }
    }

    /// A number where 0 means "none" (`fwmark`, `persistent`).
    fn u32_or_unset(&mut self, t: Token, key: &str) -> Option<Option<u32>> {
        self.u32(t, key).map(|v| (v != 0).then_some(v))
    }

    /// `sched_flags`: flags separated by commas, as ipvsadm's `-b` (`mh-port,mh-fallback`).
    fn sched_flags(&mut self, t: Token, key: &str) -> Option<Vec<SchedFlag>> {
        let mut flags = Vec::new();
        for word in self.text(t).split(',') {
            let Some(f) = SchedFlag::from_keyword(word) else {
                let names: Vec<&str> = SchedFlag::ALL.iter().map(|(_, n)| *n).collect();
                let mut d = Diagnostic::error(
                    Category::BadArgument,
                    t.span(),
                    format!(
                        "`{key}` takes {} separated by commas, not `{word}`",
                        names.join(", ")
                    ),
                );
                if let Some(sug) = suggest(word, &names) {
                    d = d.with_help(format!("did you mean `{sug}`?"));
                }
                self.diags.push(d);
                return None;
            };
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
        Some(flags)
    }

    /// `scheduler`, with piranha's old name for `lc`.
    fn scheduler(&mut self, t: Token, key: &str) -> Option<Scheduler> {
        if self.text(t) == "pcc" {
            self.diags.push(Diagnostic::warning(
                Some(t.span()),
                "scheduler `pcc` was renamed `lc` in September 2000; `lc` is used",
            ));
            Some(Scheduler::Lc)
        } else {
            self.choice(t, key, Scheduler::ALL)
        }
    }
}
