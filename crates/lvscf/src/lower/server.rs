//! `server` blocks (real servers) inside a `virtual` or `failover` block.

use super::{Lowerer, set};
use crate::diag::{Category, Diagnostic};
use crate::keywords::{BLOCK_KEYWORDS, KeyId, Scope, ServerKey};
use crate::model::RealServer;
use crate::source::{BlockRef, BlockSource, KeySpans};
use crate::syntax::{Block, Item, Stmt};
use crate::trivia::Anchor;

impl Lowerer<'_> {
    /// Returns the server, its source, and whether it had its own `port`.
    pub(super) fn server_block(
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
                    if BLOCK_KEYWORDS.contains(&kw) {
                        self.rejected(inner, kw);
                    }
                }
                Item::Stmt(st) => self.server_stmt(&mut rs, &mut bs.keys, st, r, idx),
            }
        }
        self.flush(Anchor::ServerEnd(r, idx));
        if let Some(c) = b.close {
            self.trailing(Anchor::ServerEnd(r, idx), c.comment(self.src));
        }
        let explicit = bs.keys.stmt("port").is_some();
        (rs, bs, explicit)
    }

    fn server_stmt(
        &mut self,
        rs: &mut RealServer,
        keys: &mut KeySpans,
        st: &Stmt,
        r: BlockRef,
        idx: usize,
    ) {
        let Some(id) = self.key(st, Scope::Server, keys) else {
            return;
        };
        let key = ServerKey::ALL[id.index()];
        let k = key.name();
        self.attach(Anchor::ServerKey(r, idx, k), st);
        use ServerKey as K;
        let ok = match key {
            K::Address => set!(
                rs.address,
                self.read(st, k, |l, t, k| l.host(t, k, true)).map(Some)
            ),
            K::Active => set!(rs.active, self.read(st, k, Self::boolean)),
            K::Weight => set!(
                rs.weight,
                self.read(st, k, |l, t, k| l.int(t, k, 0, i32::MAX.into()))
                    .map(|v| v as u32)
            ),
            K::Port => set!(
                rs.port,
                self.read(st, k, |l, t, k| l.port_at(
                    t,
                    k,
                    Anchor::ServerKey(r, idx, "port")
                ))
            ),
        };
        self.record(keys, KeyId::from(key), st, ok);
    }
}
