//! Stage one: lossless syntax tree of an lvs.cf file.
//!
//! Every physical line of the input ends up in exactly one place of the tree (a blank line,
//! a comment, a statement, a block header or a block's closing line), so the tree reproduces
//! the file byte for byte ([`SyntaxTree::reconstruct`]). This stage knows the lexical rules
//! (blanks, quotes, `#` comments, `=`, braces) but no keywords; keyword and value checks are
//! stage two ([`crate::lower`]).
//!
//! Lexical rules, piranha's plus the documented extensions:
//! - tokens are separated by blanks (space, tab);
//! - a token starting with `"` or `'` runs to the next same quote; the quotes are not part of
//!   the value and there is no escape for the quote itself; text glued to the closing quote
//!   is a quotation mismatch;
//! - `=` may be glued to the key (`key=value`, extension);
//! - a line whose first non-blank character is `#` is a comment; a `#` starting a token after
//!   the first value, or in a block header, starts a trailing comment (extension; piranha had
//!   none). The first value itself may start with `#` (`expect = #`), as in piranha.
//!
//! The tree is compact (offsets are `u32`, a line's end is where the next line starts) because
//! it lives next to the model while a 10,000-service file is validated.
//!
//! `lex` splits one line into tokens, `tree` holds the tree's types (re-exported here), and
//! this module places each line in the tree: blank and comment lines, statements, block
//! headers and closing braces.

mod lex;
mod tree;

use lex::{LineKind, Pos, tokenize};
pub use tree::*;

use crate::diag::{Category, Diagnostic};
use crate::keywords::BLOCK_KEYWORDS;
use crate::span::{self, Span};

/// Items of the open blocks wait on one shared stack and move into an exactly sized `Vec`
/// when their block closes: no per-block growth, no slack capacity.
struct Builder {
    top: Vec<Item>,
    /// Open blocks, innermost last, each with where its items start in `pending`.
    open: Vec<(Block, usize)>,
    pending: Vec<Item>,
}

impl Builder {
    fn push(&mut self, item: Item) {
        if self.open.is_empty() {
            self.top.push(item);
        } else {
            self.pending.push(item);
        }
    }

    fn open(&mut self, b: Block) {
        self.open.push((b, self.pending.len()));
    }

    /// Close the innermost block; `None` when no block is open.
    fn close(&mut self, close: Option<Close>) -> Option<&Block> {
        let (mut b, mark) = self.open.pop()?;
        b.items = self.pending.split_off(mark);
        b.close = close;
        self.push(Item::Block(Box::new(b)));
        let last = if self.open.is_empty() {
            self.top.last()
        } else {
            self.pending.last()
        };
        match last {
            Some(Item::Block(b)) => Some(b),
            _ => None,
        }
    }
}

/// Parse `src` into a syntax tree. Syntax errors are returned alongside; the tree is always
/// complete (erroneous lines become [`Item::Invalid`]), so later stages can go on and report
/// every error of the file in one run. A text of 4 GiB or more gives one error and no tree.
pub fn parse(src: &str) -> (SyntaxTree, Vec<Diagnostic>) {
    if src.len() >= DAMAGED as usize {
        let too_big = Diagnostic::new(
            crate::diag::Severity::Error,
            Category::BadArgument,
            None,
            "the file is 4 GiB or larger",
        );
        return (SyntaxTree { items: Vec::new() }, vec![too_big]);
    }
    let mut p = LineParser {
        src,
        pos: Pos(src.as_bytes()),
        tree: Builder {
            top: Vec::new(),
            open: Vec::new(),
            pending: Vec::new(),
        },
        tokens: Vec::with_capacity(8),
        diags: Vec::new(),
    };
    for (start, end, _) in span::lines(src) {
        p.line(start, end);
    }
    p.unclosed();
    (SyntaxTree { items: p.tree.top }, p.diags)
}

/// Places each line of one text in the tree.
struct LineParser<'s> {
    src: &'s str,
    pos: Pos<'s>,
    tree: Builder,
    /// The tokens of the current line.
    tokens: Vec<Token>,
    diags: Vec<Diagnostic>,
}

impl LineParser<'_> {
    /// The physical line `start..end` (terminator excluded).
    fn line(&mut self, start: usize, end: usize) {
        let line = start as u32;
        let bytes = &self.src.as_bytes()[start..end];
        let (kind, damaged) = match tokenize(self.pos, bytes, &mut self.tokens, true) {
            Ok(k) => (k, false),
            Err(d) => {
                self.diags.push(d);
                let k = tokenize(self.pos, bytes, &mut self.tokens, false)
                    .expect("without quotes a line always tokenizes");
                (k, true)
            }
        };
        match kind {
            LineKind::Blank => self.tree.push(Item::Blank(line)),
            LineKind::Comment => self.tree.push(Item::Comment(line)),
            LineKind::Tokens { eq, comment } => self.tokens_line(line, eq, comment, damaged),
        }
    }

    /// A line with tokens: a block's close or header, or a statement.
    fn tokens_line(&mut self, line: u32, eq: Option<(usize, u32)>, comment: u32, damaged: bool) {
        let first = self.tokens[0];
        let last = self.tokens[self.tokens.len() - 1];
        let text = first.text(self.src);
        if eq.is_some() {
            return self.stmt(line, eq, comment, damaged);
        }
        if first.quote == Quote::None && text.bytes().all(|b| b == b'}') {
            return self.close(line, comment);
        }
        let braced = last.is_bare(self.src, "{");
        let keyword_header = first.quote == Quote::None && BLOCK_KEYWORDS.contains(&text);
        if braced && self.tokens.len() == 1 {
            self.diags.push(Diagnostic::error(
                Category::BadCommand,
                first.span(),
                "`{` must follow a block keyword and name on the same line (`virtual NAME {`)",
            ));
            self.tree.push(Item::Invalid(line));
        } else if braced || keyword_header {
            self.open(line, braced, comment);
        } else {
            self.stmt(line, eq, comment, damaged);
        }
    }

    /// `}` closes a block. piranha wanted it alone on its line; text after it or `}}` is
    /// reported, but the blocks are closed all the same so that one typo does not swallow the
    /// rest of the file.
    fn close(&mut self, line: u32, comment: u32) {
        let first = self.tokens[0];
        let last = self.tokens[self.tokens.len() - 1];
        let text = first.text(self.src);
        if self.tokens.len() > 1 {
            self.diags.push(Diagnostic::error(
                Category::ExtraArgs,
                self.tokens[1].span().to(last.span()),
                "nothing may follow `}` on its line",
            ));
        }
        if text.len() > 1 {
            self.diags.push(Diagnostic::error(
                Category::ExtraArgs,
                first.span(),
                format!("`{text}`: each `}}` goes on its own line"),
            ));
        }
        for n in 0..text.len() {
            let close = (n == 0).then_some(Close {
                line,
                brace: first.start,
                comment,
            });
            if self.tree.close(close).is_none() {
                if n == 0 {
                    self.diags.push(
                        Diagnostic::error(
                            Category::BadCommand,
                            first.span(),
                            "`}` without an open block",
                        )
                        .with_help("remove it, or look for a block closed twice"),
                    );
                    self.tree.push(Item::Invalid(line));
                }
                break;
            }
        }
    }

    /// `KEYWORD NAME {`, or a header without its `{` (reported; the block is opened anyway).
    fn open(&mut self, line: u32, braced: bool, comment: u32) {
        let tokens = &self.tokens;
        let (first, last) = (tokens[0], tokens[tokens.len() - 1]);
        let body = if braced {
            &tokens[1..tokens.len() - 1]
        } else {
            &tokens[1..]
        };
        let kw = first.text(self.src);
        if !braced {
            self.diags.push(
                Diagnostic::error(
                    Category::MissingArgs,
                    Span::at(last.end as usize),
                    format!("expected `{{` at the end of the `{kw}` line"),
                )
                .with_help(format!("write `{kw} NAME {{` on one line")),
            );
        }
        match body.len() {
            0 => self.diags.push(Diagnostic::error(
                Category::MissingArgs,
                first.span(),
                format!("`{kw}` needs a name: `{kw} NAME {{`"),
            )),
            1 => {}
            _ => self.diags.push(
                Diagnostic::error(
                    Category::ExtraArgs,
                    body[1].span().to(body[body.len() - 1].span()),
                    "a block name is a single word",
                )
                .with_help("replace the blanks in the name with `_`"),
            ),
        }
        self.tree.open(Block {
            line,
            keyword: first,
            name: body.first().copied(),
            open: if braced { last.start } else { NONE },
            comment,
            items: Vec::new(),
            close: None,
        });
    }

    /// `KEY = VALUE...`, or a line that starts like one (its `=` may be missing).
    fn stmt(&mut self, line: u32, eq: Option<(usize, u32)>, comment: u32, damaged: bool) {
        let (values, eq) = match eq {
            Some((at, e)) => (&self.tokens[at..], e),
            None => (&self.tokens[1..], NONE),
        };
        let stmt = Stmt {
            line,
            key: self.tokens[0],
            eq: if damaged { DAMAGED } else { eq },
            comment,
            values: values.into(),
        };
        self.tree.push(Item::Stmt(stmt));
    }

    /// Close blocks left open by the end of the file, innermost first.
    fn unclosed(&mut self) {
        let src = self.src;
        while let Some(b) = self.tree.close(None) {
            let what = match b.name {
                Some(n) => format!("`{} {}`", b.keyword.text(src), n.text(src)),
                None => format!("`{}`", b.keyword.text(src)),
            };
            self.diags.push(
                Diagnostic::error(
                    Category::UnexpectedEof,
                    Span::at(src.len()),
                    format!("block {what} is not closed"),
                )
                .with_note(Some(b.header_span()), format!("{what} opened here"))
                .with_help("add a line with a single `}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(src: &str) -> (Vec<String>, bool, Option<String>) {
        let (tree, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        match &tree.items[0] {
            Item::Stmt(s) => (
                std::iter::once(&s.key)
                    .chain(s.values.iter())
                    .map(|t| t.text(src).to_string())
                    .collect(),
                s.eq().is_some(),
                s.comment(src).map(|c| src[c.range()].to_string()),
            ),
            other => panic!("not a statement: {other:?}"),
        }
    }

    #[test]
    fn key_value_forms() {
        for src in [
            "port = 80",
            "port=80",
            "port =80",
            "port= 80",
            "\tport\t=\t80\t",
        ] {
            assert_eq!(
                stmt(src),
                (vec!["port".into(), "80".into()], true, None),
                "{src:?}"
            );
        }
    }

    #[test]
    fn quotes_are_removed_and_may_hold_blanks_and_the_other_quote() {
        let (t, _, _) = stmt(r#"send = "GET / HTTP/1.0\r\n\r\n""#);
        assert_eq!(t[1], r"GET / HTTP/1.0\r\n\r\n");
        let (t, _, _) = stmt(r#"expect = 'say "hi"'"#);
        assert_eq!(t[1], r#"say "hi""#);
        let (t, _, _) = stmt(r#"expect = """#);
        assert_eq!(t[1], "");
    }

    #[test]
    fn trailing_comment_after_values_but_not_as_first_value() {
        assert_eq!(
            stmt("port = 80 # web 'x\r\n"),
            (
                vec!["port".into(), "80".into()],
                true,
                Some("# web 'x".into())
            )
        );
        assert_eq!(
            stmt("expect = #"),
            (vec!["expect".into(), "#".into()], true, None)
        );
        assert_eq!(
            stmt("expect = a#b"),
            (vec!["expect".into(), "a#b".into()], true, None)
        );
    }

    #[test]
    fn quote_errors() {
        let (_, d) = parse("send = \"abc\n");
        assert_eq!(d[0].category, Category::BadQuoting);
        assert_eq!(d[0].span, Some(Span::new(7, 11)));
        let (_, d) = parse("send = \"abc\"def x\n");
        assert_eq!(d[0].category, Category::BadQuoting);
        assert_eq!(d[0].span, Some(Span::new(7, 15)));
    }

    #[test]
    fn blocks_nest_and_record_their_lines() {
        let src = "virtual web {\r\n  server a {\r\n    address = 1.2.3.4\r\n  }\r\n}\r\n";
        let (tree, diags) = parse(src);
        assert!(diags.is_empty());
        let Item::Block(v) = &tree.items[0] else {
            panic!()
        };
        assert_eq!(v.name.unwrap().text(src), "web");
        let Item::Block(s) = &v.items[0] else {
            panic!()
        };
        assert_eq!(s.keyword.text(src), "server");
        assert!(s.close.is_some() && v.close.is_some());
        assert_eq!(tree.reconstruct(src), src);
    }

    #[test]
    fn unclosed_and_stray_braces_are_reported() {
        let (tree, d) = parse("virtual web {\nport = 80\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].category, Category::UnexpectedEof);
        assert_eq!(d[0].notes[0].span, Some(Span::new(0, 13)));
        assert!(matches!(&tree.items[0], Item::Block(b) if b.close.is_none()));
        let (_, d) = parse("}\n");
        assert_eq!(d[0].category, Category::BadCommand);
    }

    #[test]
    fn header_without_brace_is_reported_and_still_opens_a_block() {
        let src = "virtual web\nport = 80\n}\n";
        let (tree, d) = parse(src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].category, Category::MissingArgs);
        assert!(
            matches!(&tree.items[0], Item::Block(b) if b.items.len() == 1 && b.close.is_some())
        );
    }

    #[test]
    fn reconstruct_is_lossless_for_odd_input() {
        for src in [
            "",
            "\n\n",
            "a = b\r\n# c\r\n",
            "x\ry\r\n\n}\n{\n\"unterminated\n",
            "virtual a {\n server b {\n",
            "no newline at end",
            "= x\n==\n",
        ] {
            let (tree, _) = parse(src);
            assert_eq!(tree.reconstruct(src), src, "{src:?}");
        }
    }
}
