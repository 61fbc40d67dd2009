//! The writer: canonical lvs.cf text from a model.
//!
//! Keys come in the order piranha's GUI wrote them (`parse.php`), followed by the keywords the
//! GUI did not know. Failover blocks precede virtual blocks, as in the GUI. Indentation is four
//! spaces per level and every statement is `key = value`. For every model the parser can
//! produce, parsing the output gives the same model back.
//!
//! Which keys are written: the ones that identify a service (`active`, `address`, `port`, ...)
//! always, the others when they differ from their default; with a [`SourceMap`], also every key
//! the original file had (so `lvscf fmt` keeps what the admin wrote); with `explicit`, all.
//!
//! A model built elsewhere (the web tool's JSON) may spell a value in a way lvs.cf cannot
//! (`fwmark: 0` for "no mark"); [`normalize`] maps it to the parser's spelling first, so
//! `parse(write(m)) == normalize(m)` for every model that can be written at all.

//!
//! `normalize` holds [`normalize`], `quote` the quoting of one token, `global` the global keys
//! and `block` the `virtual`, `failover` and `server` blocks.

mod block;
mod global;
mod normalize;
mod quote;

use std::fmt::Write as _;

pub use normalize::normalize;

use crate::model::LvsConfig;
use crate::source::{BlockRef, SourceMap};
use crate::trivia::{Anchor, Trivia};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// lvs.cf has no escape for quotes and no line continuation.
    #[error("{what} cannot be written to lvs.cf: {value:?} {why}")]
    Unrepresentable {
        what: String,
        value: String,
        why: &'static str,
    },
}

/// What to write besides the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions<'a> {
    /// Comments to put back.
    pub trivia: Option<&'a Trivia>,
    /// The keys the original file had (written even when they hold the default).
    pub source: Option<&'a SourceMap>,
    /// Write every key, defaults included.
    pub explicit: bool,
}

/// Canonical text of `cfg`.
pub fn write(cfg: &LvsConfig) -> Result<String, WriteError> {
    write_with(cfg, WriteOptions::default())
}

/// Canonical text of `cfg` with comments, kept keys or all defaults (see [`WriteOptions`]).
pub fn write_with(cfg: &LvsConfig, opts: WriteOptions<'_>) -> Result<String, WriteError> {
    let cfg = normalize(cfg)?;
    let mut w = Writer {
        opts,
        out: String::new(),
    };
    w.config(&cfg)?;
    Ok(w.out)
}

const INDENT: &str = "    ";

struct Writer<'a> {
    opts: WriteOptions<'a>,
    out: String,
}

/// Which statements a key belongs to, for presence in the source and comment anchors.
#[derive(Clone, Copy)]
enum Owner {
    Global,
    Block(BlockRef),
    Server(BlockRef, usize),
}

impl Writer<'_> {
    fn present(&self, scope: Owner, key: &str) -> bool {
        let Some(src) = self.opts.source else {
            return false;
        };
        match scope {
            Owner::Global => src.global.stmt(key).is_some(),
            Owner::Block(r) => src.block(r).is_some_and(|b| b.keys.stmt(key).is_some()),
            Owner::Server(r, i) => src
                .block(r)
                .and_then(|b| b.servers.get(i))
                .is_some_and(|s| s.keys.stmt(key).is_some()),
        }
    }

    fn anchor(scope: Owner, key: &'static str) -> Anchor {
        match scope {
            Owner::Global => Anchor::Global(key),
            Owner::Block(r) => Anchor::BlockKey(r, key),
            Owner::Server(r, i) => Anchor::ServerKey(r, i, key),
        }
    }

    fn leading(&mut self, anchor: Anchor, indent: &str) {
        if let Some(lines) = self.opts.trivia.and_then(|t| t.leading.get(&anchor)) {
            for l in lines {
                if l.is_empty() {
                    // One blank line at most, and none at the top of the file.
                    if !self.out.is_empty() && !self.out.ends_with("\n\n") {
                        self.out.push('\n');
                    }
                } else {
                    let _ = writeln!(self.out, "{indent}{l}");
                }
            }
        }
    }

    fn end_line(&mut self, anchor: Anchor) {
        if let Some(c) = self.opts.trivia.and_then(|t| t.trailing.get(&anchor)) {
            self.out.push(' ');
            self.out.push_str(c);
        }
        self.out.push('\n');
    }

    /// Write `key = value` when `wanted` (or explicit, or present in the source).
    fn kv(
        &mut self,
        scope: Owner,
        indent: &str,
        key: &'static str,
        value: Option<String>,
        wanted: bool,
    ) {
        self.kv_or(scope, indent, key, value, None, wanted);
    }

    /// As [`Writer::kv`]; an unset value that the source file did write is written as
    /// `unset` (`fwmark = 0`, `pmask = 255.255.255.255`), which reads back as unset.
    fn kv_or(
        &mut self,
        scope: Owner,
        indent: &str,
        key: &'static str,
        value: Option<String>,
        unset: Option<&str>,
        wanted: bool,
    ) {
        let present = self.present(scope, key);
        let value = match (value, unset) {
            (Some(v), _) => v,
            (None, Some(u)) if present => u.to_string(),
            (None, _) => return,
        };
        if !(wanted || self.opts.explicit || present) {
            return;
        }
        let anchor = Self::anchor(scope, key);
        // Keep a service name the file used for this value (`port = http`).
        let value = match self.opts.trivia.and_then(|t| t.spelled.get(&anchor)) {
            Some((name, number)) if value == number.to_string() => name.clone(),
            _ => value,
        };
        self.leading(anchor, indent);
        let _ = write!(self.out, "{indent}{key} = {value}");
        self.end_line(anchor);
    }
}

fn bool01(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}
