//! Setting and removing the statements of one scope of lvs.cf (the global keywords, one
//! `virtual`/`failover` block or one `server` block) in the file's text, as a form asks:
//! everything the form did not change keeps its bytes, comments included. Pure.
//!
//! The result says where each field's statement now is, so that lvscf's diagnostics on the new
//! text can be shown next to the field they are about.

use std::ops::Range;

use lvscf::Span;

/// Where one scope's statements are in the text.
#[derive(Debug, Clone, Default)]
pub struct ScopeText {
    /// Statements present (keyword, key to last value), any order.
    pub stmts: Vec<(&'static str, Span)>,
    /// The block's `KEYWORD NAME {`, and its keyword (none for the global scope).
    pub header: Option<(Span, &'static str)>,
    /// New statements go first in the block (a new block: what the admin typed comes before
    /// the defaults lvscf wrote), else after the last one.
    pub new_first: bool,
}

/// What a form does with one keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `KEY = VALUE` (the value as lvs.cf spells it).
    Set(String),
    Remove,
    Keep,
}

/// The text after the changes, and where each field's statement is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub fields: Vec<(String, Range<usize>)>,
}

impl Edited {
    /// The field whose statement is on the line of `offset`.
    pub fn field_at(&self, offset: usize) -> Option<&str> {
        let line = line_range(&self.text, offset);
        self.fields
            .iter()
            .find(|(_, r)| r.start < line.end && r.end >= line.start)
            .map(|(f, _)| f.as_str())
    }
}

/// The line holding `offset`, without its `\n`.
fn line_range(text: &str, offset: usize) -> Range<usize> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    start..end
}

struct Op {
    range: Range<usize>,
    with: String,
    /// The fields it writes, and where in `with` their statements are.
    fields: Vec<(String, Range<usize>)>,
}

/// Apply `changes` (keyword, change) to the scope; `rename` rewrites the block's header with a
/// new name (reported as the field `name`). New statements go after the scope's last one.
pub fn edit(
    text: &str,
    scope: &ScopeText,
    rename: Option<&str>,
    changes: &[(&str, Change)],
) -> Edited {
    let mut ops = Vec::new();
    if let Some((h, kind)) = scope.header {
        let with = match rename {
            Some(n) => format!("{kind} {n} {{"),
            None => text[h.range()].to_owned(),
        };
        let len = with.len();
        ops.push(Op {
            range: h.range(),
            with,
            fields: vec![("name".into(), 0..len)],
        });
    }
    let (at, indent) = insertion_point(text, scope);
    let mut inserted = Vec::new();
    let mut tail = String::new();
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        tail.push('\n');
    }
    for (key, change) in changes {
        let present = scope.stmts.iter().find(|(k, _)| k == key).map(|(_, s)| *s);
        match (change, present) {
            (Change::Keep, Some(s)) => ops.push(keep(text, key, s)),
            (Change::Keep | Change::Remove, None) => {}
            (Change::Remove, Some(s)) => ops.push(Op {
                range: removal(text, s),
                with: String::new(),
                fields: vec![],
            }),
            (Change::Set(v), Some(s)) => {
                let with = format!("{key} = {v}");
                let len = with.len();
                ops.push(Op {
                    range: s.range(),
                    with,
                    fields: vec![((*key).to_owned(), 0..len)],
                });
            }
            (Change::Set(v), None) => {
                let start = tail.len() + indent.len();
                tail.push_str(&format!("{indent}{key} = {v}"));
                inserted.push(((*key).to_owned(), start..tail.len()));
                tail.push('\n');
            }
        }
    }
    if !inserted.is_empty() {
        ops.push(Op {
            range: at..at,
            with: tail,
            fields: inserted,
        });
    }
    splice(text, ops)
}

fn keep(text: &str, key: &str, s: Span) -> Op {
    let with = text[s.range()].to_owned();
    let len = with.len();
    Op {
        range: s.range(),
        with,
        fields: vec![(key.to_owned(), 0..len)],
    }
}

/// Apply `ops` in the order of their places (an insertion before what starts there).
fn splice(text: &str, mut ops: Vec<Op>) -> Edited {
    ops.sort_by_key(|o| (o.range.start, o.range.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut fields = Vec::new();
    let mut pos = 0;
    for o in ops {
        if o.range.start < pos {
            continue; // overlaps an earlier change
        }
        out.push_str(&text[pos..o.range.start]);
        let base = out.len();
        fields.extend(
            o.fields
                .into_iter()
                .map(|(f, r)| (f, base + r.start..base + r.end)),
        );
        out.push_str(&o.with);
        pos = o.range.end;
    }
    out.push_str(&text[pos..]);
    Edited { text: out, fields }
}

/// Where new statements go (just after the line of the scope's last statement, or of the
/// header when `new_first`, else after the block's header line, else at the start of the
/// file) and their indentation.
fn insertion_point(text: &str, scope: &ScopeText) -> (usize, String) {
    let after_line = |offset: usize| {
        text[offset..]
            .find('\n')
            .map_or(text.len(), |i| offset + i + 1)
    };
    let indent_of = |offset: usize| {
        let l = line_range(text, offset);
        let line = &text[l];
        line[..line.len() - line.trim_start().len()].to_owned()
    };
    let first = scope.stmts.iter().min_by_key(|(_, s)| s.start);
    if let (true, Some((h, _)), Some((_, s))) = (scope.new_first, scope.header, first) {
        return (after_line(h.end as usize), indent_of(s.start as usize));
    }
    if let Some((_, s)) = scope.stmts.iter().max_by_key(|(_, s)| s.end) {
        return (after_line(s.end as usize), indent_of(s.start as usize));
    }
    match scope.header {
        Some((h, _)) => (
            after_line(h.end as usize),
            format!("{}    ", indent_of(h.start as usize)),
        ),
        None => (0, String::new()),
    }
}

/// What removing a statement removes: its whole line when nothing but blanks precede it
/// there (a trailing comment goes with it), else the statement alone.
fn removal(text: &str, s: Span) -> Range<usize> {
    let line = line_range(text, s.start as usize);
    if text[line.start..s.start as usize].trim().is_empty() {
        let end = (line.end + 1).min(text.len());
        line.start..end
    } else {
        s.range()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "# top\nserial_no = 7 # keep me\nprimary = 10.0.0.1\n\nvirtual web {\n    \
active = 1\n    address = 10.0.0.100 eth0:1 # the VIP\n    server a {\n        address = 10.1.0.1\n    \
}\n}\n";

    fn span_of(text: &str, needle: &str) -> Span {
        let start = text.find(needle).unwrap();
        Span {
            start: start as u32,
            end: (start + needle.len()) as u32,
        }
    }

    fn web() -> ScopeText {
        ScopeText {
            stmts: vec![
                ("active", span_of(CF, "active = 1")),
                ("address", span_of(CF, "address = 10.0.0.100 eth0:1")),
            ],
            header: Some((span_of(CF, "virtual web {"), "virtual")),
            new_first: false,
        }
    }

    #[test]
    fn set_replace_insert_remove_keep() {
        let e = edit(
            CF,
            &web(),
            None,
            &[
                ("active", Change::Remove),
                ("address", Change::Set("10.0.0.101 eth0:2".into())),
                ("port", Change::Set("8080".into())),
                ("send", Change::Set("\"GET /\"".into())),
                ("expect", Change::Remove),
            ],
        );
        assert_eq!(
            e.text,
            "# top\nserial_no = 7 # keep me\nprimary = 10.0.0.1\n\nvirtual web {\n    \
address = 10.0.0.101 eth0:2 # the VIP\n    port = 8080\n    send = \"GET /\"\n    server a {\n        \
address = 10.1.0.1\n    }\n}\n"
        );
        let at = |f: &str| {
            let r = e.fields.iter().find(|(k, _)| k == f).unwrap().1.clone();
            &e.text[r]
        };
        assert_eq!(at("address"), "address = 10.0.0.101 eth0:2");
        assert_eq!(at("port"), "port = 8080");
        assert_eq!(at("send"), "send = \"GET /\"");
        assert_eq!(at("name"), "virtual web {");
        let off = e.text.find("8080").unwrap();
        assert_eq!(e.field_at(off), Some("port"));
        assert_eq!(e.field_at(e.text.find("# top").unwrap()), None);
    }

    #[test]
    fn a_new_blocks_typed_values_come_first() {
        let scope = ScopeText {
            new_first: true,
            ..web()
        };
        let e = edit(
            CF,
            &scope,
            None,
            &[
                ("active", Change::Set("0".into())),
                ("port", Change::Set("81".into())),
            ],
        );
        assert!(
            e.text
                .contains("virtual web {\n    port = 81\n    active = 0\n    address"),
            "{}",
            e.text
        );
        let port = e.text.find("81").unwrap();
        assert_eq!(e.field_at(port), Some("port"));
        assert_eq!(e.field_at(e.text.find("active").unwrap()), Some("active"));
    }

    #[test]
    fn keeping_everything_changes_nothing_and_rename_rewrites_the_header() {
        let e = edit(
            CF,
            &web(),
            None,
            &[("active", Change::Keep), ("address", Change::Keep)],
        );
        assert_eq!(e.text, CF);
        assert_eq!(e.field_at(CF.find("active").unwrap()), Some("active"));
        let e = edit(CF, &web(), Some("www"), &[]);
        assert_eq!(e.text, CF.replace("virtual web {", "virtual www {"));
        assert_eq!(e.field_at(e.text.find("www").unwrap()), Some("name"));
    }

    #[test]
    fn an_empty_block_gets_indented_lines_after_its_header() {
        let cf = "virtual v {\n}\n";
        let scope = ScopeText {
            stmts: vec![],
            header: Some((span_of(cf, "virtual v {"), "virtual")),
            new_first: false,
        };
        let e = edit(cf, &scope, None, &[("port", Change::Set("80".into()))]);
        assert_eq!(e.text, "virtual v {\n    port = 80\n}\n");
    }

    #[test]
    fn the_global_scope_without_statements_starts_the_file() {
        let e = edit(
            "virtual v {\n}",
            &ScopeText::default(),
            None,
            &[("primary", Change::Set("10.0.0.1".into()))],
        );
        assert_eq!(e.text, "primary = 10.0.0.1\nvirtual v {\n}");
        // After a last statement without a newline at the end of the file.
        let cf = "primary = 1.2.3.4";
        let scope = ScopeText {
            stmts: vec![("primary", span_of(cf, "primary = 1.2.3.4"))],
            header: None,
            new_first: false,
        };
        let e = edit(cf, &scope, None, &[("keepalive", Change::Set("2".into()))]);
        assert_eq!(e.text, "primary = 1.2.3.4\nkeepalive = 2\n");
        assert_eq!(e.field_at(e.text.len() - 2), Some("keepalive"));
    }
}
