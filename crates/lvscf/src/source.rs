//! Where everything in a lowered model came from: the [`SourceMap`], built by [`lower`] and
//! read by [`check`] (for locations) and [`writer`] (which keys the file had).
//!
//! [`lower`]: crate::lower
//! [`check`]: crate::check
//! [`writer`]: crate::writer

use crate::keywords::KeyId;
use crate::span::Span;

/// Where a block is in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    pub failover: bool,
    pub index: usize,
}

/// One statement's position: 16 bytes, as a 10,000-service file has 300,000 of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyPos {
    pub(crate) key: KeyId,
    pub(crate) key_start: u32,
    pub(crate) value: Span,
}

impl KeyPos {
    /// Key to last value.
    pub(crate) fn stmt(&self) -> Span {
        Span {
            start: self.key_start,
            end: self.value.end.max(self.key_start),
        }
    }
}

/// Positions of the statements of one scope, in file order.
#[derive(Debug, Clone, Default)]
pub struct KeySpans {
    pub(crate) entries: Vec<KeyPos>,
    /// Keys whose statement was rejected: later checks do not second-guess their defaults.
    failed: Vec<KeyId>,
}

impl KeySpans {
    pub(crate) fn with_capacity(n: usize) -> Self {
        KeySpans {
            entries: Vec::with_capacity(n),
            failed: Vec::new(),
        }
    }

    fn last(&self, key: &str) -> Option<&KeyPos> {
        self.entries.iter().rev().find(|e| e.key.name() == key)
    }

    /// Span of the statement that set `key` last (the one in effect), key to last value.
    pub fn stmt(&self, key: &str) -> Option<Span> {
        self.last(key).map(KeyPos::stmt)
    }

    /// Span of the value(s) that set `key` last.
    pub fn value(&self, key: &str) -> Option<Span> {
        self.last(key).map(|e| e.value)
    }

    /// True when a statement for `key` was present but rejected.
    pub fn failed(&self, key: &str) -> bool {
        self.failed.iter().any(|id| id.name() == key)
    }

    pub(crate) fn fail(&mut self, key: KeyId) {
        self.failed.push(key);
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

/// Where everything in a lowered [`LvsConfig`](crate::LvsConfig) came from. Indexes follow
/// the model's vectors.
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
