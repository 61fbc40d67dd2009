//! Stage two: the syntax tree becomes a typed [`LvsConfig`], with a [`SourceMap`] that says
//! where every value came from (for later diagnostics) and the comments ([`Trivia`]) that
//! `lvscf fmt` keeps.
//!
//! Keyword set, arity, value types and defaults are piranha 0.8.6's (`lvsconfig.c`); the
//! extensions are listed in lvs.cf(5). The keyword tables are in [`crate::keywords`]; here,
//! `keys` resolves a statement's key in its scope, `values` reads and checks values, and
//! `global`, `virtual_` and `server` read each scope's statements into the model.

mod global;
mod keys;
mod server;
mod values;
mod virtual_;

use crate::diag::{Category, Diagnostic};
use crate::keywords::{INNER_BLOCKS, KeyId, TOP_BLOCKS, suggest};
use crate::model::LvsConfig;
use crate::services::Services;
use crate::source::KeyPos;
use crate::span::Span;
use crate::syntax::{Block, Item, Stmt, SyntaxTree};

// The items of this stage that moved to their own modules, at their old paths.
pub use crate::keywords::{GLOBAL_KEYWORDS, SERVER_KEYWORDS, VIRTUAL_KEYWORDS};
pub use crate::source::{BlockRef, BlockSource, KeySpans, SourceMap};
pub use crate::trivia::{Anchor, Trivia};

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
            Item::Blank(_) if !seen_item && !l.pending.is_empty() => l.file_header(),
            Item::Blank(_) => l.blank(),
            Item::Comment(s) => l.comment(*s),
            Item::Invalid(_) => {}
            Item::Stmt(st) => {
                seen_item = true;
                l.global_stmt(&mut cfg, &mut map.global, st);
            }
            Item::Block(b) => {
                seen_item = true;
                l.top_block(&mut cfg, &mut map, b);
            }
        }
    }
    l.flush(Anchor::FileEnd);
    l.copy_private_addresses(&mut cfg, &map);
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
use set;

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

impl<'a> Lowerer<'a> {
    /// A block at the top level of the file.
    fn top_block(&mut self, cfg: &mut LvsConfig, map: &mut SourceMap, b: &Block) {
        match b.keyword.text(self.src) {
            kw @ ("virtual" | "failover") => {
                let failover = kw == "failover";
                let (blocks, sources) = if failover {
                    (&mut cfg.failover_services, &mut map.failover_services)
                } else {
                    (&mut cfg.virtual_servers, &mut map.virtual_servers)
                };
                let r = BlockRef {
                    failover,
                    index: blocks.len(),
                };
                let (vs, bs) = self.virtual_block(b, r);
                blocks.push(vs);
                sources.push(bs);
            }
            "server" => {
                self.diags.push(
                    Diagnostic::error(
                        Category::BadCommand,
                        b.keyword.span(),
                        "`server` blocks belong inside a `virtual` block",
                    )
                    .with_help("move it into the virtual server it belongs to"),
                );
                self.rejected(b, "server");
            }
            other => {
                self.unknown_block(b.keyword.span(), other, TOP_BLOCKS);
                if let Some(meant) = suggest(other, TOP_BLOCKS) {
                    self.rejected(b, meant);
                }
            }
        }
    }

    /// piranha copies the public addresses into the private ones when `primary_private` is
    /// absent, overwriting any `backup_private` (lvsParseConfig).
    fn copy_private_addresses(&mut self, cfg: &mut LvsConfig, map: &SourceMap) {
        if cfg.primary.is_none() || cfg.primary_private.is_some() {
            return;
        }
        if let Some(span) = map.global.stmt("backup_private") {
            self.diags.push(
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

    /// Comments at the top of the file, followed by a blank line: a header that stays at the
    /// top whatever the key order.
    fn file_header(&mut self) {
        let header = std::mem::take(&mut self.pending);
        let start = self.trivia.leading.entry(Anchor::FileStart).or_default();
        if !start.is_empty() {
            start.push(String::new());
        }
        start.extend(header.into_iter().skip_while(String::is_empty));
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

    /// The comments before a statement and after its value go to `anchor`.
    fn attach(&mut self, anchor: Anchor, st: &Stmt) {
        self.flush(anchor);
        self.trailing(anchor, st.comment(self.src));
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

    /// Record a statement whose value was read (`ok`), warning when it repeats an earlier
    /// one; or remember that it was rejected.
    fn record(&mut self, keys: &mut KeySpans, id: KeyId, st: &Stmt, ok: bool) {
        if !ok {
            keys.fail(id);
            return;
        }
        if let Some(prev) = keys.entries.iter().rev().find(|e| e.key == id) {
            self.diags.push(
                Diagnostic::warning(
                    Some(st.span()),
                    format!(
                        "`{}` is set again; this value replaces the earlier one",
                        id.name()
                    ),
                )
                .with_note(Some(prev.stmt()), "earlier value"),
            );
        }
        keys.entries.push(KeyPos {
            key: id,
            key_start: st.key.start,
            value: st.values_span(),
        });
    }

    /// Read a block that is in the wrong place (or misspelt) as the `kind` it most likely is,
    /// only to report the errors inside it; nothing of it enters the model.
    fn rejected(&mut self, b: &Block, kind: &str) {
        let nowhere = BlockRef {
            failover: kind == "failover",
            index: usize::MAX,
        };
        let trivia = std::mem::take(&mut self.trivia);
        if INNER_BLOCKS.contains(&kind) {
            self.server_block(b, nowhere, 0, 80);
        } else {
            self.virtual_block(b, nowhere);
        }
        self.trivia = trivia;
    }
}
