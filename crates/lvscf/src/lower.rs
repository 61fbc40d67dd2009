//! Stage two: the syntax tree becomes a typed [`LvsConfig`], with a [`SourceMap`] that says
//! where every value came from (for later diagnostics) and the comments ([`Trivia`]) that
//! `lvscf fmt` keeps.
//!
//! Keyword set, arity, value types and defaults are piranha 0.8.6's (`lvsconfig.c`); the
//! extensions are listed in lvs.cf(5).

use std::collections::HashMap;

use crate::diag::{Category, Diagnostic};
use crate::model::{
    ConflictAction, Dataplane, Interface, LoadMonitor, LvsConfig, Network, Protocol, RealServer,
    Scheduler, Service, VirtualServer,
};
use crate::services::Services;
use crate::span::Span;
use crate::syntax::{Block, Item, Stmt, SyntaxTree, Token};
use crate::value::{self, MaskValue};

/// Global keywords of piranha 0.8.6.
pub const GLOBAL_KEYWORDS: &[&str] = &[
    "service",
    "primary",
    "primary_private",
    "primary_shared",
    "backup",
    "backup_private",
    "backup_shared",
    "backup_active",
    "heartbeat",
    "heartbeat_port",
    "keepalive",
    "deadtime",
    "rsh_command",
    "network",
    "nat_router",
    "nat_nmask",
    "debug_level",
    "monitor_links",
    "syncdaemon",
    "syncd_iface",
    "syncd_id",
    "tcp_timeout",
    "tcpfin_timeout",
    "udp_timeout",
    "hard_shutdown",
    "dataplane",
    "active_cmd",
    "inactive_cmd",
    "ipvsadm",
    "reservation_conflict_action",
    "serial_no",
    "sync",
];

/// Keywords of `virtual` and `failover` blocks.
pub const VIRTUAL_KEYWORDS: &[&str] = &[
    "address",
    "vip_nmask",
    "active",
    "port",
    "protocol",
    "fwmark",
    "scheduler",
    "persistent",
    "pmask",
    "send",
    "expect",
    "use_regex",
    "send_program",
    "timeout",
    "reentry",
    "load_monitor",
    "quiesce_server",
    "sorry_server",
    "client_monitor",
    "start_cmd",
    "stop_cmd",
    "master",
    "dirs",
];

/// Keywords of `server` blocks.
pub const SERVER_KEYWORDS: &[&str] = &["address", "active", "weight", "port"];

/// Keywords older piranha versions or its GUI wrote, which no daemon reads: accepted with a
/// warning so old files still load.
const LEGACY_GLOBAL: &[&str] = &["nmask"];
const LEGACY_VIRTUAL: &[&str] = &["heartbeat", "deadtime", "expect_program", "nmask"];
const LEGACY_SERVER: &[&str] = &["nmask"];

/// Where a block is in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    pub failover: bool,
    pub index: usize,
}

// Keyword ids pack the table in two bits and the index in six.
const _: () = assert!(
    GLOBAL_KEYWORDS.len() <= 64 && VIRTUAL_KEYWORDS.len() <= 64 && SERVER_KEYWORDS.len() <= 64
);

fn key_name(id: u8) -> &'static str {
    let table = match id >> 6 {
        0 => GLOBAL_KEYWORDS,
        1 => VIRTUAL_KEYWORDS,
        _ => SERVER_KEYWORDS,
    };
    table[(id & 63) as usize]
}

/// One statement's position: 16 bytes, as a 10,000-service file has 300,000 of them.
#[derive(Debug, Clone, Copy)]
struct KeyPos {
    key: u8,
    key_start: u32,
    value: Span,
}

/// Positions of the statements of one scope, in file order.
#[derive(Debug, Clone, Default)]
pub struct KeySpans {
    entries: Vec<KeyPos>,
    /// Keys whose statement was rejected: later checks do not second-guess their defaults.
    failed: Vec<u8>,
}

impl KeySpans {
    fn with_capacity(n: usize) -> Self {
        KeySpans {
            entries: Vec::with_capacity(n),
            failed: Vec::new(),
        }
    }

    fn last(&self, key: &str) -> Option<&KeyPos> {
        self.entries.iter().rev().find(|e| key_name(e.key) == key)
    }

    /// Span of the statement that set `key` last (the one in effect), key to last value.
    pub fn stmt(&self, key: &str) -> Option<Span> {
        self.last(key).map(|e| Span {
            start: e.key_start,
            end: e.value.end.max(e.key_start),
        })
    }

    /// Span of the value(s) that set `key` last.
    pub fn value(&self, key: &str) -> Option<Span> {
        self.last(key).map(|e| e.value)
    }

    /// True when a statement for `key` was present but rejected.
    pub fn failed(&self, key: &str) -> bool {
        self.failed.iter().any(|id| key_name(*id) == key)
    }

    fn fail(&mut self, key: Kw) {
        self.failed.push(key.id);
    }
}

/// Where a block and its statements are.
#[derive(Debug, Clone, Default)]
pub struct BlockSource {
    /// `KEYWORD NAME {`.
    pub header: Span,
    pub keys: KeySpans,
    pub servers: Vec<BlockSource>,
}

/// Where everything in a lowered [`LvsConfig`] came from. Indexes follow the model's vectors.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub global: KeySpans,
    pub virtual_servers: Vec<BlockSource>,
    pub failover_services: Vec<BlockSource>,
}

impl SourceMap {
    pub fn block(&self, b: BlockRef) -> Option<&BlockSource> {
        if b.failover {
            self.failover_services.get(b.index)
        } else {
            self.virtual_servers.get(b.index)
        }
    }
}

/// What a comment is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    FileStart,
    FileEnd,
    Global(&'static str),
    Block(BlockRef),
    BlockKey(BlockRef, &'static str),
    BlockEnd(BlockRef),
    Server(BlockRef, usize),
    ServerKey(BlockRef, usize, &'static str),
    ServerEnd(BlockRef, usize),
}

/// Comments of the file: whole-line comments before an item (`leading`, one entry per line,
/// `""` for a blank line between comment groups) and `# ...` after a value (`trailing`).
#[derive(Debug, Clone, Default)]
pub struct Trivia {
    pub leading: HashMap<Anchor, Vec<String>>,
    pub trailing: HashMap<Anchor, String>,
    /// Values written as a name (`port = http`): the name and the number it stood for.
    pub spelled: HashMap<Anchor, (String, u16)>,
}

/// Result of stage two.
#[derive(Debug, Clone)]
pub struct Lowered {
    pub config: LvsConfig,
    pub source: SourceMap,
    pub trivia: Trivia,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lower a syntax tree of `src`.
pub fn lower(src: &str, tree: &SyntaxTree, services: &Services) -> Lowered {
    let mut l = Lowerer {
        src,
        services,
        diags: Vec::new(),
        trivia: Trivia::default(),
        pending: Vec::new(),
        blank_before: false,
    };
    let mut cfg = LvsConfig::default();
    let mut map = SourceMap::default();
    if src.is_empty() {
        l.diags.push(Diagnostic::error(
            Category::Empty,
            Span::new(0, 0),
            "the file is empty",
        ));
    }
    let mut seen_item = false;
    for item in &tree.items {
        match item {
            Item::Blank(_) => {
                if !seen_item && !l.pending.is_empty() {
                    // Comments at the top of the file, followed by a blank line: a header
                    // that stays at the top whatever the key order.
                    let header = std::mem::take(&mut l.pending);
                    let start = l.trivia.leading.entry(Anchor::FileStart).or_default();
                    if !start.is_empty() {
                        start.push(String::new());
                    }
                    start.extend(header.into_iter().skip_while(String::is_empty));
                } else {
                    l.blank();
                }
            }
            Item::Comment(s) => l.comment(*s),
            Item::Invalid(_) => {}
            Item::Stmt(st) => {
                seen_item = true;
                l.global_stmt(&mut cfg, &mut map.global, st);
            }
            Item::Block(b) => {
                seen_item = true;
                let kw = b.keyword.text(src);
                match kw {
                    "virtual" | "failover" => {
                        let failover = kw == "failover";
                        let r = BlockRef {
                            failover,
                            index: if failover {
                                cfg.failover_services.len()
                            } else {
                                cfg.virtual_servers.len()
                            },
                        };
                        let (vs, bs) = l.virtual_block(b, r);
                        if failover {
                            cfg.failover_services.push(vs);
                            map.failover_services.push(bs);
                        } else {
                            cfg.virtual_servers.push(vs);
                            map.virtual_servers.push(bs);
                        }
                    }
                    "server" => {
                        l.diags.push(
                            Diagnostic::error(
                                Category::BadCommand,
                                b.keyword.span(),
                                "`server` blocks belong inside a `virtual` block",
                            )
                            .with_help("move it into the virtual server it belongs to"),
                        );
                        l.rejected(b, "server");
                    }
                    other => {
                        l.unknown_block(b.keyword.span(), other, &["virtual", "failover"]);
                        if let Some(meant) = suggest(other, &["virtual", "failover"]) {
                            l.rejected(b, meant);
                        }
                    }
                }
            }
        }
    }
    l.flush(Anchor::FileEnd);

    // piranha copies the public addresses into the private ones when `primary_private` is
    // absent, overwriting any `backup_private` (lvsParseConfig).
    if cfg.primary.is_some() && cfg.primary_private.is_none() {
        if let Some(span) = map.global.stmt("backup_private") {
            l.diags.push(
                Diagnostic::warning(
                    Some(span),
                    "`backup_private` is ignored because `primary_private` is not set: both private addresses default to the public ones",
                )
                .with_help("set `primary_private` too, or remove `backup_private`"),
            );
        }
        cfg.primary_private = cfg.primary.clone();
        cfg.backup_private = cfg.backup.clone();
    }

    Lowered {
        config: cfg,
        source: map,
        trivia: l.trivia,
        diagnostics: l.diags,
    }
}

/// `set!(field, Option<value>)`: store a value that was read; false when it was rejected.
macro_rules! set {
    ($field:expr, $val:expr) => {
        match $val {
            Some(v) => {
                $field = v;
                true
            }
            None => false,
        }
    };
}

struct Lowerer<'a> {
    src: &'a str,
    services: &'a Services,
    diags: Vec<Diagnostic>,
    trivia: Trivia,
    /// Comment lines waiting for the item they precede (`""` for a blank line among them).
    pending: Vec<String>,
    /// A blank line came since the last item and before any pending comment.
    blank_before: bool,
}

/// Scope of a statement, for keyword tables and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Global,
    Virtual,
    Server,
}

impl Scope {
    fn keywords(self) -> &'static [&'static str] {
        match self {
            Scope::Global => GLOBAL_KEYWORDS,
            Scope::Virtual => VIRTUAL_KEYWORDS,
            Scope::Server => SERVER_KEYWORDS,
        }
    }

    fn legacy(self) -> &'static [&'static str] {
        match self {
            Scope::Global => LEGACY_GLOBAL,
            Scope::Virtual => LEGACY_VIRTUAL,
            Scope::Server => LEGACY_SERVER,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Scope::Global => "a global setting",
            Scope::Virtual => "a `virtual`/`failover` block keyword",
            Scope::Server => "a `server` block keyword",
        }
    }
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

/// The closest candidate within a small edit distance.
pub(crate) fn suggest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Position of `key` in `table`.
fn intern(key: &str, table: &[&'static str]) -> Option<usize> {
    // Length and first byte rule out almost every entry without a memcmp call.
    let (len, first) = (key.len(), key.as_bytes().first().copied());
    table
        .iter()
        .position(|k| k.len() == len && k.as_bytes().first().copied() == first && *k == key)
}

/// A keyword found in its scope's table, with its compact id.
#[derive(Debug, Clone, Copy)]
struct Kw {
    name: &'static str,
    id: u8,
}

impl<'a> Lowerer<'a> {
    fn text(&self, t: Token) -> &'a str {
        t.text(self.src)
    }

    fn comment(&mut self, line: u32) {
        if self.pending.is_empty() && std::mem::take(&mut self.blank_before) {
            self.pending.push(String::new());
        }
        self.pending
            .push(crate::syntax::comment_text(self.src, line).to_string());
    }

    /// Blank lines separate comment groups; runs of them count as one.
    fn blank(&mut self) {
        match self.pending.last() {
            None => self.blank_before = true,
            Some(l) if !l.is_empty() => self.pending.push(String::new()),
            Some(_) => {}
        }
    }

    fn flush(&mut self, anchor: Anchor) {
        self.blank_before = false;
        while self.pending.last().is_some_and(String::is_empty) {
            self.pending.pop();
        }
        if !self.pending.is_empty() {
            let lines = std::mem::take(&mut self.pending);
            self.trivia.leading.entry(anchor).or_default().extend(lines);
        }
    }

    fn trailing(&mut self, anchor: Anchor, comment: Option<Span>) {
        if let Some(c) = comment {
            let text = self.src[c.range()].trim_end().to_string();
            // A repeated key: the earlier line's comment moves above the line that stays.
            if let Some(old) = self.trivia.trailing.insert(anchor, text) {
                self.trivia.leading.entry(anchor).or_default().push(old);
            }
        }
    }

    fn unknown_block(&mut self, at: Span, kw: &str, expected: &[&str]) {
        let mut d = Diagnostic::error(
            Category::BadCommand,
            at,
            format!(
                "`{kw}` is not a block keyword here; expected {}",
                expected
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        );
        if let Some(s) = suggest(kw, expected) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    /// Resolve the key of `st` in `scope`. Reports unknown keys, ignored legacy keys and a
    /// missing `=`; returns the interned key when the statement should be read.
    fn key(&mut self, st: &Stmt, scope: Scope, keys: &mut KeySpans) -> Option<Kw> {
        let key = self.text(st.key);
        let kw_at = |index: usize| {
            let base = match scope {
                Scope::Global => 0,
                Scope::Virtual => 64,
                Scope::Server => 128,
            };
            Kw {
                name: scope.keywords()[index],
                id: base + index as u8,
            }
        };
        let known = intern(key, scope.keywords()).map(kw_at);
        if st.damaged() {
            // Its quoting error is reported; keep later checks from guessing about it.
            if let Some(kw) = known {
                keys.fail(kw);
            }
            return None;
        }
        let Some(kw) = known else {
            if intern(key, scope.legacy()).is_some() {
                self.diags.push(Diagnostic::warning(
                    Some(st.key.span()),
                    format!("`{key}` is ignored: old piranha versions or its GUI wrote it, but no daemon reads it"),
                ));
                // `fmt` drops the line: keep its comment as a comment line.
                if let Some(c) = st.comment(self.src) {
                    self.pending
                        .push(self.src[c.range()].trim_end().to_string());
                }
                return None;
            }
            let mut d = Diagnostic::error(
                Category::BadCommand,
                st.key.span(),
                format!("`{key}` is not {}", scope.what()),
            );
            let elsewhere = [Scope::Global, Scope::Virtual, Scope::Server]
                .into_iter()
                .find(|s| *s != scope && s.keywords().contains(&key));
            if let Some(s) = suggest(key, scope.keywords()) {
                d = d.with_help(format!("did you mean `{s}`?"));
                // Most likely the admin meant that key: no check should assume its default.
                if let Some(i) = intern(s, scope.keywords()) {
                    keys.fail(kw_at(i));
                }
            } else if let Some(other) = elsewhere {
                let place = match other {
                    Scope::Global => "outside any block (it is a global setting)",
                    Scope::Virtual => "in a `virtual` or `failover` block",
                    Scope::Server => "in a `server` block",
                };
                d = d.with_help(format!("`{key}` belongs {place}"));
            } else if key == "debug" {
                d = d.with_help(
                    "the keyword is `debug_level` (lvs.cf(5) of piranha called it `debug`)",
                );
            }
            self.diags.push(d);
            return None;
        };
        if st.eq().is_none() {
            let at = st.values.first().map_or(st.key.span(), |v| v.span());
            let example = match st.values.first() {
                Some(v) => format!("{key} = {}", self.text(*v)),
                None => format!("{key} = VALUE"),
            };
            self.diags.push(Diagnostic::error(
                Category::EqualExpected,
                at,
                format!("write `{example}`"),
            ));
            keys.fail(kw);
            return None;
        }
        Some(kw)
    }

    /// Exactly one value.
    fn one(&mut self, st: &Stmt, key: &str) -> Option<Token> {
        match &st.values[..] {
            [] => {
                self.diags.push(Diagnostic::error(
                    Category::MissingArgs,
                    st.values_span(),
                    format!("`{key}` needs a value"),
                ));
                None
            }
            [v] => Some(*v),
            [_, extra @ ..] => {
                self.extra(extra, key, "one value");
                None
            }
        }
    }

    /// Exactly two values (`IP DEVICE`).
    fn two(&mut self, st: &Stmt, key: &str, what: &str) -> Option<(Token, Token)> {
        match &st.values[..] {
            [a, b] => Some((*a, *b)),
            [_, _, extra @ ..] => {
                self.extra(extra, key, what);
                None
            }
            short => {
                let at = short
                    .first()
                    .map_or(st.values_span(), |t| Span::at(t.end as usize));
                self.diags.push(
                    Diagnostic::error(Category::MissingArgs, at, format!("`{key}` takes {what}"))
                        .with_help(format!("for example `{key} = 192.168.1.10 eth0:1`")),
                );
                None
            }
        }
    }

    fn extra(&mut self, extra: &[Token], key: &str, what: &str) {
        let span = extra[0].span().to(extra[extra.len() - 1].span());
        let mut d = Diagnostic::error(Category::ExtraArgs, span, format!("`{key}` takes {what}"));
        d = d.with_help(
            "quote a value that contains blanks: `send = \"GET / HTTP/1.0\\r\\n\\r\\n\"`",
        );
        self.diags.push(d);
    }

    fn int(&mut self, t: Token, key: &str, min: i64, max: i64) -> Option<i64> {
        let s = self.text(t);
        let Some(v) = value::parse_int(s) else {
            let mut d = Diagnostic::error(
                Category::IntExpected,
                t.span(),
                format!("`{key}` takes an integer, not `{s}`"),
            );
            if s.starts_with('0') && s.chars().all(|c| c.is_ascii_digit()) {
                d = d.with_help(
                    "a leading 0 makes the number octal (as in C); write it without the 0",
                );
            } else if value::parse_seconds(s).is_some() {
                d = d.with_help("only whole numbers are accepted here");
            }
            self.diags.push(d);
            return None;
        };
        if v < min || v > max {
            self.diags.push(Diagnostic::error(
                Category::BadArgument,
                t.span(),
                format!("`{key}` must be between {min} and {max}, not {v}"),
            ));
            return None;
        }
        Some(v)
    }

    fn boolean(&mut self, t: Token, key: &str) -> Option<bool> {
        let s = self.text(t);
        match value::parse_int(s) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            Some(v) => {
                self.diags.push(Diagnostic::error(
                    Category::BoolExpected,
                    t.span(),
                    format!("`{key}` is 0 or 1, not {v}"),
                ));
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Category::IntExpected,
                        t.span(),
                        format!("`{key}` is 0 or 1, not `{s}`"),
                    )
                    .with_help("booleans are written 0 (off) or 1 (on)"),
                );
                None
            }
        }
    }

    fn port(&mut self, t: Token, key: &str) -> Option<u16> {
        let s = self.text(t);
        if let Some(v) = value::parse_int(s) {
            return match u16::try_from(v) {
                Ok(p) => Some(p),
                Err(_) => {
                    self.diags.push(Diagnostic::error(
                        Category::BadArgument,
                        t.span(),
                        format!("`{key}` must be a port between 0 and 65535, not {v}"),
                    ));
                    None
                }
            };
        }
        match self.services.lookup(s) {
            Some(p) => Some(p),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Category::BadArgument,
                        t.span(),
                        format!("`{s}` is neither a port number nor a TCP service name"),
                    )
                    .with_help("service names come from /etc/services (`http`, `ftp`, ...)"),
                );
                None
            }
        }
    }

    /// A port; a service name is remembered so that `fmt` writes it back as the admin did.
    fn port_at(&mut self, t: Token, key: &str, anchor: Anchor) -> Option<u16> {
        let p = self.port(t, key)?;
        let s = self.text(t);
        if value::parse_int(s).is_none() {
            self.trivia.spelled.insert(anchor, (s.to_string(), p));
        }
        Some(p)
    }

    fn host(&mut self, t: Token, key: &str, allow_unspecified: bool) -> Option<crate::model::Host> {
        let s = self.text(t);
        match value::parse_host(s) {
            Some(h) if !allow_unspecified && h.is_unspecified() => {
                self.diags.push(Diagnostic::error(
                    Category::BadHostname,
                    t.span(),
                    format!("`{key}` cannot be {s}"),
                ));
                None
            }
            Some(h) => Some(h),
            None => {
                self.diags.push(Diagnostic::error(
                    Category::BadHostname,
                    t.span(),
                    format!("`{s}` is not an IP address or a host name"),
                ));
                None
            }
        }
    }

    fn ip(&mut self, t: Token, key: &str) -> Option<std::net::IpAddr> {
        let s = self.text(t);
        let ip = value::parse_ip(s);
        if ip.is_none() {
            self.diags.push(Diagnostic::error(
                Category::BadHostname,
                t.span(),
                format!("`{key}` takes an IP address, not `{s}`"),
            ));
        }
        ip
    }

    fn mask(&mut self, t: Token, key: &str) -> Option<Option<crate::model::Netmask>> {
        let s = self.text(t);
        match value::parse_netmask(s) {
            Some(MaskValue::None) => Some(None),
            Some(MaskValue::Mask(m)) => Some(Some(m)),
            Some(MaskValue::NonContiguous(_)) => {
                self.diags.push(Diagnostic::error(
                    Category::BadNetmask,
                    t.span(),
                    format!("`{s}` is not a netmask: its one bits are not contiguous"),
                ));
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(Category::BadNetmask, t.span(), format!("`{key}` = `{s}`"))
                        .with_help(
                            "write a dotted mask (`255.255.255.0`) or a prefix length (`24`)",
                        ),
                );
                None
            }
        }
    }

    /// `pmask`: 255.255.255.255 means no mask; a mask whose bits are not contiguous was
    /// ignored by lvsd, so it is a warning here, not an error.
    fn pmask(&mut self, t: Token) -> Option<Option<crate::model::Netmask>> {
        let s = self.text(t);
        match value::parse_netmask(s) {
            Some(MaskValue::NonContiguous(_)) => {
                self.diags.push(Diagnostic::warning(
                    Some(t.span()),
                    format!("`pmask` = `{s}` is ignored: its one bits are not contiguous"),
                ));
                Some(None)
            }
            _ => self.mask(t, "pmask").map(|m| {
                m.filter(|m| *m != crate::model::Netmask::V4(std::net::Ipv4Addr::BROADCAST))
            }),
        }
    }

    fn seconds(&mut self, t: Token, key: &str) -> Option<crate::model::Seconds> {
        let s = self.text(t);
        let v = value::parse_seconds(s);
        if v.is_none() {
            self.diags.push(
                Diagnostic::error(
                    Category::IntExpected,
                    t.span(),
                    format!("`{key}` takes seconds, not `{s}`"),
                )
                .with_help(
                    "write whole seconds (`2`) or a decimal with up to three places (`0.5`)",
                ),
            );
        }
        v
    }

    fn choice<T: Copy>(&mut self, t: Token, key: &str, all: &[(T, &'static str)]) -> Option<T> {
        let s = self.text(t);
        if let Some((v, _)) = all.iter().find(|(_, n)| *n == s) {
            return Some(*v);
        }
        let names: Vec<&str> = all.iter().map(|(_, n)| *n).collect();
        let mut d = Diagnostic::error(
            Category::BadArgument,
            t.span(),
            format!("`{key}` is one of {}, not `{s}`", names.join(", ")),
        );
        if let Some(sug) = suggest(s, &names) {
            d = d.with_help(format!("did you mean `{sug}`?"));
        }
        self.diags.push(d);
        None
    }

    fn string(&self, t: Token) -> String {
        self.text(t).to_string()
    }

    /// Record a statement that was read, warning when it repeats an earlier one.
    fn record(&mut self, keys: &mut KeySpans, kw: Kw, st: &Stmt) {
        let (id, key) = (kw.id, kw.name);
        let value = st.values_span();
        if let Some(prev) = keys.entries.iter().rev().find(|e| e.key == id) {
            let prev = Span {
                start: prev.key_start,
                end: prev.value.end.max(prev.key_start),
            };
            self.diags.push(
                Diagnostic::warning(
                    Some(st.span()),
                    format!("`{key}` is set again; this value replaces the earlier one"),
                )
                .with_note(Some(prev), "earlier value"),
            );
        }
        keys.entries.push(KeyPos {
            key: id,
            key_start: st.key.start,
            value,
        });
    }

    fn global_stmt(&mut self, cfg: &mut LvsConfig, keys: &mut KeySpans, st: &Stmt) {
        let Some(kw) = self.key(st, Scope::Global, keys) else {
            return;
        };
        let key = kw.name;
        self.flush(Anchor::Global(key));
        self.trailing(Anchor::Global(key), st.comment(self.src));
        let ok = match key {
            "nat_router" => self
                .two(st, key, "an address and a device")
                .and_then(|(a, d)| {
                    let address = self.host(a, key, false)?;
                    Some(Interface {
                        address,
                        device: self.string(d),
                    })
                })
                .map(|i| cfg.nat_router = Some(i))
                .is_some(),
            _ => match self.one(st, key) {
                None => false,
                Some(t) => self.global_value(cfg, key, t),
            },
        };
        if ok {
            self.record(keys, kw, st);
        } else {
            keys.fail(kw);
        }
    }

    /// Read the single value of a global keyword into `cfg`; false if it was rejected.
    fn global_value(&mut self, cfg: &mut LvsConfig, key: &'static str, t: Token) -> bool {
        match key {
            "service" => set!(cfg.service, self.choice(t, key, Service::ALL)),
            "primary" => set!(cfg.primary, self.host(t, key, false).map(Some)),
            "primary_private" => set!(cfg.primary_private, self.host(t, key, false).map(Some)),
            "backup" => set!(
                cfg.backup,
                self.host(t, key, true)
                    .map(|h| (!h.is_unspecified()).then_some(h))
            ),
            "backup_private" => set!(
                cfg.backup_private,
                self.host(t, key, true)
                    .map(|h| (!h.is_unspecified()).then_some(h))
            ),
            "primary_shared" => set!(cfg.primary_shared, Some(Some(self.string(t)))),
            "backup_shared" => set!(cfg.backup_shared, Some(Some(self.string(t)))),
            "backup_active" => set!(cfg.backup_active, self.boolean(t, key)),
            "heartbeat" => set!(cfg.heartbeat, self.boolean(t, key)),
            "heartbeat_port" => set!(
                cfg.heartbeat_port,
                self.port_at(t, key, Anchor::Global("heartbeat_port"))
            ),
            "keepalive" => set!(cfg.keepalive, self.seconds(t, key)),
            "deadtime" => set!(cfg.deadtime, self.seconds(t, key)),
            "rsh_command" => set!(cfg.rsh_command, Some(self.string(t))),
            "network" => set!(cfg.network, self.choice(t, key, Network::ALL)),
            "nat_nmask" => set!(cfg.nat_nmask, self.mask(t, key)),
            "debug_level" => set!(cfg.debug_level, Some(self.string(t))),
            "monitor_links" => set!(
                cfg.monitor_links,
                self.int(t, key, i32::MIN.into(), i32::MAX.into())
                    .map(|v| v != 0)
            ),
            "syncdaemon" => set!(cfg.syncdaemon, self.boolean(t, key)),
            "syncd_iface" => set!(cfg.syncd_iface, Some(self.string(t))),
            "syncd_id" => {
                let v = self.int(t, key, i32::MIN.into(), i32::MAX.into());
                if let Some(v) = v.filter(|v| !(0..=255).contains(v)) {
                    self.diags.push(Diagnostic::warning(
                        Some(t.span()),
                        format!("`syncd_id` is 0 to 255; {v} is used as {}", v & 0xff),
                    ));
                }
                set!(cfg.syncd_id, v.map(|v| (v & 0xff) as u8))
            }
            "tcp_timeout" => set!(cfg.tcp_timeout, self.u32(t, key)),
            "tcpfin_timeout" => set!(cfg.tcpfin_timeout, self.u32(t, key)),
            "udp_timeout" => set!(cfg.udp_timeout, self.u32(t, key)),
            "hard_shutdown" => set!(cfg.hard_shutdown, self.boolean(t, key)),
            "dataplane" => set!(cfg.dataplane, self.choice(t, key, Dataplane::ALL)),
            "active_cmd" => set!(cfg.active_cmd, Some(Some(self.string(t)))),
            "inactive_cmd" => set!(cfg.inactive_cmd, Some(Some(self.string(t)))),
            "ipvsadm" => set!(cfg.ipvsadm, Some(self.string(t))),
            "reservation_conflict_action" => set!(
                cfg.reservation_conflict_action,
                self.choice(t, key, ConflictAction::ALL).map(Some)
            ),
            "serial_no" => set!(cfg.serial_no, self.int(t, key, i64::MIN, i64::MAX)),
            "sync" => set!(cfg.sync, self.boolean(t, key)),
            _ => unreachable!("every global keyword is handled: {key}"),
        }
    }

    fn u32(&mut self, t: Token, key: &str) -> Option<u32> {
        self.int(t, key, 0, u32::MAX.into()).map(|v| v as u32)
    }

    /// Read a block that is in the wrong place (or misspelt) as the `kind` it most likely is,
    /// only to report the errors inside it; nothing of it enters the model.
    fn rejected(&mut self, b: &Block, kind: &str) {
        let nowhere = BlockRef {
            failover: kind == "failover",
            index: usize::MAX,
        };
        let trivia = std::mem::take(&mut self.trivia);
        if kind == "server" {
            self.server_block(b, nowhere, 0, 80);
        } else {
            self.virtual_block(b, nowhere);
        }
        self.trivia = trivia;
    }

    fn virtual_block(&mut self, b: &Block, r: BlockRef) -> (VirtualServer, BlockSource) {
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
                Item::Block(sb) => match sb.keyword.text(self.src) {
                    "server" => {
                        let idx = vs.servers.len();
                        let (rs, src, explicit_port) = self.server_block(sb, r, idx, vs.port);
                        if !explicit_port {
                            defaulted.push((idx, vs.port));
                        }
                        vs.servers.push(rs);
                        bs.servers.push(src);
                    }
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
                        self.unknown_block(sb.keyword.span(), other, &["server"]);
                        if suggest(other, &["server"]).is_some() {
                            self.rejected(sb, "server");
                        }
                    }
                },
            }
        }
        self.flush(Anchor::BlockEnd(r));
        if let Some(c) = b.close {
            self.trailing(Anchor::BlockEnd(r), c.comment(self.src));
        }
        // piranha's order rule: a real server's default port is the virtual port at the time
        // its `server` line is read. Warn where a later `port` line makes that surprising.
        for (idx, port) in defaulted {
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
        (vs, bs)
    }

    fn virtual_stmt(
        &mut self,
        vs: &mut VirtualServer,
        keys: &mut KeySpans,
        st: &Stmt,
        r: BlockRef,
    ) {
        let Some(kw) = self.key(st, Scope::Virtual, keys) else {
            return;
        };
        let key = kw.name;
        self.flush(Anchor::BlockKey(r, key));
        self.trailing(Anchor::BlockKey(r, key), st.comment(self.src));
        let ok = match key {
            "address" => {
                let v = self
                    .two(st, key, "an address and a device")
                    .and_then(|(a, d)| {
                        let address = self.host(a, key, true)?;
                        Some(Interface {
                            address,
                            device: self.string(d),
                        })
                    });
                set!(vs.address, v.map(Some))
            }
            "dirs" => {
                let v = self.list(st, key);
                set!(vs.dirs, v.map(Some))
            }
            _ => match self.one(st, key) {
                None => false,
                Some(t) => match key {
                    "vip_nmask" => set!(vs.vip_nmask, self.mask(t, key)),
                    "active" => set!(vs.active, self.boolean(t, key)),
                    "port" => set!(vs.port, self.port_at(t, key, Anchor::BlockKey(r, "port"))),
                    "protocol" => set!(vs.protocol, self.choice(t, key, Protocol::ALL)),
                    "fwmark" => set!(vs.fwmark, self.u32(t, key).map(|v| (v != 0).then_some(v))),
                    "scheduler" => {
                        let v = if self.text(t) == "pcc" {
                            self.diags.push(Diagnostic::warning(
                                Some(t.span()),
                                "scheduler `pcc` was renamed `lc` in September 2000; `lc` is used",
                            ));
                            Some(Scheduler::Lc)
                        } else {
                            self.choice(t, key, Scheduler::ALL)
                        };
                        set!(vs.scheduler, v)
                    }
                    "persistent" => set!(
                        vs.persistent,
                        self.u32(t, key).map(|v| (v != 0).then_some(v))
                    ),
                    // 255.255.255.255 means "no mask" (lvsd never passes it to ipvsadm).
                    "pmask" => set!(vs.pmask, self.pmask(t)),
                    "send" => set!(vs.send, Some(Some(self.string(t)))),
                    "expect" => set!(vs.expect, Some(Some(self.string(t)))),
                    "use_regex" => set!(vs.use_regex, self.boolean(t, key)),
                    "send_program" => set!(vs.send_program, Some(Some(self.string(t)))),
                    "timeout" => set!(vs.timeout, self.u32(t, key)),
                    "reentry" => set!(vs.reentry, self.u32(t, key)),
                    "load_monitor" => set!(
                        vs.load_monitor,
                        Some(Some(LoadMonitor::from_text(self.text(t))))
                    ),
                    "quiesce_server" => set!(vs.quiesce_server, self.boolean(t, key)),
                    "sorry_server" => set!(
                        vs.sorry_server,
                        self.ip(t, key)
                            .map(|ip| (!ip.is_unspecified()).then_some(ip))
                    ),
                    "client_monitor" => set!(vs.client_monitor, Some(self.string(t))),
                    "start_cmd" => set!(vs.start_cmd, Some(Some(self.string(t)))),
                    "stop_cmd" => set!(vs.stop_cmd, Some(Some(self.string(t)))),
                    "master" => set!(vs.master, self.host(t, key, true).map(Some)),
                    _ => unreachable!("every virtual keyword is handled: {key}"),
                },
            },
        };
        if ok {
            self.record(keys, kw, st);
        } else {
            keys.fail(kw);
        }
    }

    /// `dirs = [ a b ... ]`, brackets as separate tokens.
    fn list(&mut self, st: &Stmt, key: &str) -> Option<Vec<String>> {
        let vals = &st.values;
        let open = vals.first().is_some_and(|t| t.is_bare(self.src, "["));
        let close = vals.len() >= 2 && vals[vals.len() - 1].is_bare(self.src, "]");
        if !open || !close {
            self.diags.push(
                Diagnostic::error(
                    Category::ListExpected,
                    st.values_span(),
                    format!("`{key}` takes a list: `{key} = [ a b ]`"),
                )
                .with_help("the brackets are separate words"),
            );
            return None;
        }
        Some(
            vals[1..vals.len() - 1]
                .iter()
                .map(|t| self.string(*t))
                .collect(),
        )
    }

    /// Returns the server, its source, and whether it had its own `port`.
    fn server_block(
        &mut self,
        b: &Block,
        r: BlockRef,
        idx: usize,
        default_port: u16,
    ) -> (RealServer, BlockSource, bool) {
        self.flush(Anchor::Server(r, idx));
        self.trailing(Anchor::Server(r, idx), b.comment(self.src));
        let mut rs = RealServer::new(
            b.name.map(|n| self.string(n)).unwrap_or_default(),
            default_port,
        );
        let mut bs = BlockSource {
            header: b.header_span(),
            keys: KeySpans::with_capacity(b.items.len()),
            servers: Vec::new(),
        };
        for item in &b.items {
            match item {
                Item::Invalid(_) => {}
                Item::Blank(_) => self.blank(),
                Item::Comment(s) => self.comment(*s),
                Item::Block(inner) => {
                    self.diags.push(
                        Diagnostic::error(
                            Category::BadCommand,
                            inner.keyword.span(),
                            "a `server` block cannot contain blocks",
                        )
                        .with_note(Some(b.header_span()), "the server block starts here")
                        .with_help("close the `server` block with `}` first"),
                    );
                    let kw = inner.keyword.text(self.src);
                    if matches!(kw, "virtual" | "failover" | "server") {
                        self.rejected(inner, kw);
                    }
                }
                Item::Stmt(st) => {
                    let Some(kw) = self.key(st, Scope::Server, &mut bs.keys) else {
                        continue;
                    };
                    let key = kw.name;
                    self.flush(Anchor::ServerKey(r, idx, key));
                    self.trailing(Anchor::ServerKey(r, idx, key), st.comment(self.src));
                    let Some(t) = self.one(st, key) else {
                        bs.keys.fail(kw);
                        continue;
                    };
                    let ok = match key {
                        "address" => self
                            .host(t, key, true)
                            .map(|h| rs.address = Some(h))
                            .is_some(),
                        "active" => self.boolean(t, key).map(|v| rs.active = v).is_some(),
                        "weight" => self
                            .int(t, key, 0, i32::MAX.into())
                            .map(|v| rs.weight = v as u32)
                            .is_some(),
                        "port" => set!(
                            rs.port,
                            self.port_at(t, key, Anchor::ServerKey(r, idx, "port"))
                        ),
                        _ => unreachable!("every server keyword is handled: {key}"),
                    };
                    if ok {
                        self.record(&mut bs.keys, kw, st);
                    } else {
                        bs.keys.fail(kw);
                    }
                }
            }
        }
        self.flush(Anchor::ServerEnd(r, idx));
        if let Some(c) = b.close {
            self.trailing(Anchor::ServerEnd(r, idx), c.comment(self.src));
        }
        let explicit = bs.keys.stmt("port").is_some();
        (rs, bs, explicit)
    }
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
    }
}
