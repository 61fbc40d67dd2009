//! Stage three: semantic checks on a typed configuration. piranha made none of these; each
//! catches a file that parses but breaks or surprises at run time.
//!
//! The checks take a [`SourceMap`] for locations; a model that did not come from a file
//! (the web tool's JSON) is checked with an empty map and gets diagnostics without spans.

mod block;
mod duplicates;
mod globals;
mod servers;

use std::net::IpAddr;

use crate::diag::Diagnostic;
use crate::model::{Host, LvsConfig, Service};
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

struct Checker<'a> {
    cfg: &'a LvsConfig,
    map: &'a SourceMap,
    diags: Vec<Diagnostic>,
    /// Stands in for the source of a block when the model has no source map.
    empty: &'a BlockSource,
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
}

/// `1.2.3.4:80` or `[::1]:80`.
pub fn join_host_port(h: &Host, port: u16) -> String {
    match h {
        Host::Ip(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        other => format!("{other}:{port}"),
    }
}
