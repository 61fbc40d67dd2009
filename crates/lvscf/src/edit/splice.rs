//! Keeping the untouched parts of a file byte for byte: the canonical text of an edited model
//! is spliced into the original text, block by block and global statement by statement.
//!
//! Blocks keep their relative order under every edit (new ones are appended to their list), so
//! the original blocks map one to one, in order, onto the surviving ones: an unchanged block
//! keeps its text, a changed one gets its canonical text, a deleted one is cut out with its
//! leading comments, and new ones follow the last block of their list. A changed global key
//! gets its canonical line in place (or after the last global statement, when the file did not
//! have it). Lines end as the file's first line does. The caller checks that the result reads
//! back as the edited model, and falls back to the canonical text otherwise.

use serde_json::Value;

use super::Origins;
use crate::Parsed;
use crate::model::{LvsConfig, VirtualServer};
use crate::syntax::{self, Item};
use crate::trivia::Anchor;

/// One change of the original text: `start..end` becomes `with`.
struct Cut {
    start: usize,
    end: usize,
    with: String,
}

/// Top-level items of a text with their byte ranges (an item ends where the next one starts).
struct Layout<'a> {
    items: &'a [Item],
    len: usize,
}

impl Layout<'_> {
    fn range(&self, i: usize) -> (usize, usize) {
        let start = self.items[i].line() as usize;
        let end = self
            .items
            .get(i + 1)
            .map_or(self.len, |n| n.line() as usize);
        (start, end)
    }

    /// Indexes of the top-level blocks of one list (`virtual` or `failover`), in order.
    fn blocks(&self, src: &str, failover: bool) -> Vec<usize> {
        let kw = if failover { "failover" } else { "virtual" };
        (0..self.items.len())
            .filter(|&i| matches!(&self.items[i], Item::Block(b) if b.keyword.text(src) == kw))
            .collect()
    }

    /// The last top-level statement setting `key`.
    fn stmt(&self, src: &str, key: &str) -> Option<usize> {
        (0..self.items.len())
            .rev()
            .find(|&i| matches!(&self.items[i], Item::Stmt(s) if s.key.text(src) == key))
    }
}

/// The original `text` with the canonical text `canon` of the edited model `new` spliced in
/// where `parsed.model` and `new` (both normalised) differ; `None` when that cannot be done.
pub(super) fn splice(
    text: &str,
    parsed: &Parsed,
    origins: &Origins,
    new: &LvsConfig,
    canon: &str,
) -> Option<String> {
    let (canon_tree, _) = syntax::parse(canon);
    let old = Layout {
        items: &parsed.tree.items,
        len: text.len(),
    };
    let can = Layout {
        items: &canon_tree.items,
        len: canon.len(),
    };
    let mut cuts = globals(text, &old, canon, &can, &parsed.model, new)?;
    for failover in [false, true] {
        let (before, after, list) = if failover {
            (
                &parsed.model.failover_services,
                &new.failover_services,
                &origins.failover_services,
            )
        } else {
            (
                &parsed.model.virtual_servers,
                &new.virtual_servers,
                &origins.virtual_servers,
            )
        };
        let lists = Lists {
            text,
            old: &old,
            canon,
            can: &can,
            parsed,
            failover,
        };
        lists.blocks(before, after, list, &mut cuts)?;
    }
    cuts.sort_by_key(|c| (c.start, c.end));
    // The canonical text ends its lines with `\n`; a file written with `\r\n` keeps them.
    let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
    let mut out = String::with_capacity(text.len() + canon.len() / 8);
    let mut at = 0;
    for c in cuts {
        if c.start < at {
            return None;
        }
        out.push_str(&text[at..c.start]);
        if crlf {
            out.push_str(&c.with.replace('\n', "\r\n"));
        } else {
            out.push_str(&c.with);
        }
        at = c.end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// The global fields of a model by name (the lvs.cf keywords), without the block lists.
fn global_fields(cfg: &LvsConfig) -> serde_json::Map<String, Value> {
    let mut c = cfg.clone();
    c.virtual_servers.clear();
    c.failover_services.clear();
    match serde_json::to_value(c) {
        Ok(Value::Object(mut m)) => {
            m.remove("virtual_servers");
            m.remove("failover_services");
            m
        }
        _ => serde_json::Map::new(),
    }
}

/// A changed global key: its canonical line replaces the original one, or follows the last
/// global statement when the file did not have the key; a line the canonical text lacks goes.
fn globals(
    text: &str,
    old: &Layout<'_>,
    canon: &str,
    can: &Layout<'_>,
    before: &LvsConfig,
    after: &LvsConfig,
) -> Option<Vec<Cut>> {
    let (b, a) = (global_fields(before), global_fields(after));
    let mut cuts = Vec::new();
    let last_stmt = (0..old.items.len())
        .rev()
        .find(|&i| matches!(old.items[i], Item::Stmt(_)));
    for (key, value) in &a {
        if b.get(key) == Some(value) {
            continue;
        }
        let line = |l: &Layout<'_>, src: &str, i: usize| {
            let (start, _) = l.range(i);
            (start, crate::span::line_end(src, start))
        };
        match (old.stmt(text, key), can.stmt(canon, key)) {
            (Some(o), Some(c)) => {
                let (start, end) = line(old, text, o);
                let (cs, ce) = line(can, canon, c);
                cuts.push(Cut {
                    start,
                    end,
                    with: canon[cs..ce].to_owned(),
                });
            }
            (Some(o), None) => {
                let (start, end) = old.range(o);
                cuts.push(Cut {
                    start,
                    end,
                    with: String::new(),
                });
            }
            (None, Some(c)) => {
                let (_, at) = old.range(last_stmt?);
                let (cs, ce) = line(can, canon, c);
                let nl = if text[..at].ends_with('\n') { "" } else { "\n" };
                cuts.push(Cut {
                    start: at,
                    end: at,
                    with: format!("{nl}{}\n", &canon[cs..ce]),
                });
            }
            // Derived from other keys (`primary_private` copying `primary`...).
            (None, None) => {}
        }
    }
    Some(cuts)
}

/// One list of blocks (`virtual` or `failover`) in both texts.
struct Lists<'a> {
    text: &'a str,
    old: &'a Layout<'a>,
    canon: &'a str,
    can: &'a Layout<'a>,
    parsed: &'a Parsed,
    failover: bool,
}

impl Lists<'_> {
    fn blocks(
        &self,
        before: &[VirtualServer],
        after: &[VirtualServer],
        origins: &[super::BlockOrigin],
        cuts: &mut Vec<Cut>,
    ) -> Option<()> {
        let old_items = self.old.blocks(self.text, self.failover);
        let can_items = self.can.blocks(self.canon, self.failover);
        if old_items.len() != before.len() || can_items.len() != after.len() {
            return None;
        }
        let mut new_of = vec![None; before.len()];
        for (n, o) in origins.iter().enumerate() {
            if let Some(f) = o.from {
                *new_of.get_mut(f)? = Some(n);
            }
        }
        let mut last_kept = None;
        for (o, n) in new_of.iter().enumerate() {
            let item = old_items[o];
            match n {
                None => cuts.push(self.deletion(item, o)),
                Some(n) => {
                    last_kept = Some(item);
                    if before[o] != after[*n] {
                        let (start, end) = self.old.range(item);
                        let (cs, ce) = self.can.range(can_items[*n]);
                        cuts.push(Cut {
                            start,
                            end,
                            with: self.canon[cs..ce].to_owned(),
                        });
                    }
                }
            }
        }
        let fresh: Vec<usize> = (0..after.len())
            .filter(|&n| origins[n].from.is_none())
            .collect();
        if fresh.is_empty() {
            return Some(());
        }
        let at = last_kept.map_or(self.text.len(), |i| self.old.range(i).1);
        let mut with = String::new();
        if !self.text[..at].ends_with('\n') && at > 0 {
            with.push('\n');
        }
        for n in fresh {
            let (cs, ce) = self.can.range(can_items[n]);
            with.push('\n');
            with.push_str(&self.canon[cs..ce]);
        }
        cuts.push(Cut {
            start: at,
            end: at,
            with,
        });
        Some(())
    }

    /// Block `o` of the list (top-level item `item`) goes with its leading comments and the
    /// blank lines before them, but not the blank lines after a file header.
    fn deletion(&self, item: usize, o: usize) -> Cut {
        let items = self.old.items;
        let anchor = Anchor::Block(crate::source::BlockRef {
            failover: self.failover,
            index: o,
        });
        let mut comments = self
            .parsed
            .trivia
            .leading
            .get(&anchor)
            .map_or(0, |l| l.iter().filter(|l| !l.is_empty()).count());
        let mut i = item;
        while i > 0 {
            match items[i - 1] {
                Item::Comment(_) if comments > 0 => comments -= 1,
                Item::Blank(_) => {}
                _ => break,
            }
            i -= 1;
        }
        if i > 0 && matches!(items[i - 1], Item::Comment(_)) {
            while i < item && matches!(items[i], Item::Blank(_)) {
                i += 1;
            }
        }
        Cut {
            start: self.old.range(i).0,
            end: self.old.range(item).1,
            with: String::new(),
        }
    }
}
