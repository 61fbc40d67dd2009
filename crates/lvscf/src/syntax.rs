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

use nom::bytes::complete::{take_till, take_till1, take_while};
use nom::character::complete::{char, one_of};
use nom::{IResult, Input, Parser};
use nom_locate::LocatedSpan;

use crate::diag::{Category, Diagnostic};
use crate::span::{LineIndex, Span};

type In<'a> = LocatedSpan<&'a str>;

/// One token. `span` covers the quotes of a quoted token, `inner` only its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub span: Span,
    pub inner: Span,
    pub quote: Option<char>,
}

impl Token {
    /// The token's value (quotes removed) in `src`, the text the tree was parsed from.
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        &src[self.inner.start..self.inner.end]
    }

    /// True for an unquoted token equal to `s`.
    pub fn is_bare(&self, src: &str, s: &str) -> bool {
        self.quote.is_none() && self.text(src) == s
    }
}

/// `KEY = VALUE...` (or a malformed line that starts like one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The whole physical line, terminator included.
    pub line: Span,
    pub key: Token,
    /// The `=`; `None` when it is missing (stage two reports it for known keywords).
    pub eq: Option<Span>,
    pub values: Vec<Token>,
    /// A trailing `# ...` comment.
    pub comment: Option<Span>,
}

impl Stmt {
    /// Span from the key to the last value: what a diagnostic about the whole statement marks.
    pub fn span(&self) -> Span {
        let mut s = self.key.span;
        if let Some(eq) = self.eq {
            s = s.to(eq);
        }
        if let Some(v) = self.values.last() {
            s = s.to(v.span);
        }
        s
    }

    /// Span of all values, or of the `=`/key when there are none.
    pub fn values_span(&self) -> Span {
        match (self.values.first(), self.values.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => {
                let at = self.eq.unwrap_or(self.key.span).end;
                Span::new(at, at)
            }
        }
    }
}

/// `KEYWORD NAME {` ... `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header's physical line, terminator included.
    pub line: Span,
    pub keyword: Token,
    pub name: Option<Token>,
    /// The `{`; `None` when the header lacks it (reported; the block is still assumed open).
    pub open: Option<Span>,
    pub comment: Option<Span>,
    pub items: Vec<Item>,
    /// The closing line; `None` when the file ends first (reported).
    pub close: Option<Close>,
}

impl Block {
    /// Span of the header from keyword to brace (or name).
    pub fn header_span(&self) -> Span {
        let mut s = self.keyword.span;
        if let Some(n) = self.name {
            s = s.to(n.span);
        }
        if let Some(o) = self.open {
            s = s.to(o);
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub line: Span,
    pub brace: Span,
    pub comment: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An empty or blanks-only line.
    Blank(Span),
    /// A `#` comment line; the span is the whole line, the comment text is in it.
    Comment(Span),
    Stmt(Stmt),
    Block(Block),
    /// A line that could not be read as anything (a diagnostic was emitted for it).
    Invalid(Span),
}

impl Item {
    /// The first physical line of the item (the header line for a block).
    pub fn line(&self) -> Span {
        match self {
            Item::Blank(s) | Item::Comment(s) | Item::Invalid(s) => *s,
            Item::Stmt(st) => st.line,
            Item::Block(b) => b.line,
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxTree {
    pub items: Vec<Item>,
}

impl SyntaxTree {
    /// Concatenate every line of the tree: equals the parsed text.
    pub fn reconstruct(&self, src: &str) -> String {
        let mut out = String::with_capacity(src.len());
        fn walk(items: &[Item], src: &str, out: &mut String) {
            for item in items {
                out.push_str(&src[item.line().start..item.line().end]);
                if let Item::Block(b) = item {
                    walk(&b.items, src, out);
                    if let Some(c) = b.close {
                        out.push_str(&src[c.line.start..c.line.end]);
                    }
                }
            }
        }
        walk(&self.items, src, &mut out);
        out
    }
}

/// What one line holds, before it is placed in the tree.
#[derive(Debug)]
enum LineKind {
    Blank,
    Comment,
    Tokens {
        tokens: Vec<Token>,
        /// Index of the first token after `=` and the `=` span.
        eq: Option<(usize, Span)>,
        comment: Option<Span>,
    },
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn blanks(i: In<'_>) -> IResult<In<'_>, In<'_>> {
    take_while(is_blank).parse(i)
}

fn span_of(i: &In<'_>) -> Span {
    Span::new(
        i.location_offset(),
        i.location_offset() + i.fragment().len(),
    )
}

/// A quoted token: opening quote, body up to the same quote, closing quote.
fn quoted(i: In<'_>) -> IResult<In<'_>, (char, In<'_>)> {
    let (i, q) = one_of("\"'").parse(i)?;
    let (i, body) = take_till(move |c| c == q).parse(i)?;
    let (i, _) = char(q).parse(i)?;
    Ok((i, (q, body)))
}

/// Split one line (terminator excluded) into tokens.
fn tokenize(line: In<'_>) -> Result<LineKind, Diagnostic> {
    let (mut rest, _) = blanks(line).expect("blanks cannot fail");
    if rest.fragment().is_empty() {
        return Ok(LineKind::Blank);
    }
    if rest.fragment().starts_with('#') {
        return Ok(LineKind::Comment);
    }
    let mut tokens = Vec::with_capacity(2);
    let mut eq = None;
    let mut comment = None;
    loop {
        let (r, _) = blanks(rest).expect("blanks cannot fail");
        rest = r;
        let frag = *rest.fragment();
        if frag.is_empty() {
            break;
        }
        let first_value = eq.is_some_and(|(at, _)| at == tokens.len());
        if frag.starts_with('#') && !tokens.is_empty() && !first_value {
            comment = Some(span_of(&rest));
            break;
        }
        if tokens.len() == 1 && eq.is_none() && frag.starts_with('=') {
            let (r, e) = rest.take_split(1);
            eq = Some((1, span_of(&e)));
            rest = r;
            continue;
        }
        if frag.starts_with(['"', '\'']) {
            match quoted(rest) {
                Ok((r, (q, body))) => {
                    let start = rest.location_offset();
                    if r.fragment().starts_with(|c: char| !is_blank(c)) {
                        let glued = take_till1::<_, _, nom::error::Error<In<'_>>>(is_blank)
                            .parse(r)
                            .map(|(_, g)| span_of(&g).end)
                            .unwrap_or(r.location_offset());
                        return Err(Diagnostic::error(
                            Category::BadQuoting,
                            Span::new(start, glued),
                            "text follows the closing quote",
                        )
                        .with_help("put the whole value inside the quotes"));
                    }
                    tokens.push(Token {
                        span: Span::new(start, r.location_offset()),
                        inner: span_of(&body),
                        quote: Some(q),
                    });
                    rest = r;
                }
                Err(_) => {
                    let q = frag.chars().next().unwrap_or('"');
                    return Err(Diagnostic::error(
                        Category::BadQuoting,
                        span_of(&rest),
                        format!("no closing {q} on this line"),
                    )
                    .with_help("a quoted value must end on the line it starts on"));
                }
            }
            continue;
        }
        // A bare token; the first one (the key) also ends at `=`.
        let key_position = tokens.is_empty();
        let res: IResult<In<'_>, In<'_>> = if key_position {
            take_till1(|c| is_blank(c) || c == '=').parse(rest)
        } else {
            take_till1(is_blank).parse(rest)
        };
        let (r, tok) = res.expect("a non-empty fragment not at a blank yields a token");
        let s = span_of(&tok);
        tokens.push(Token {
            span: s,
            inner: s,
            quote: None,
        });
        rest = r;
    }
    Ok(LineKind::Tokens {
        tokens,
        eq,
        comment,
    })
}

/// Block keywords known to the syntax stage: a header line may lack its `{` (reported) when it
/// starts with one of these.
const BLOCK_KEYWORDS: [&str; 3] = ["virtual", "failover", "server"];

/// Parse `src` into a syntax tree. Syntax errors are returned alongside; the tree is always
/// complete (erroneous lines become [`Item::Invalid`]), so later stages can go on and report
/// every error of the file in one run.
pub fn parse(src: &str) -> (SyntaxTree, Vec<Diagnostic>) {
    let index = LineIndex::new(src);
    let mut diags = Vec::new();
    // Stack of open blocks; the bottom level is the file.
    let mut stack: Vec<Block> = Vec::new();
    let mut top: Vec<Item> = Vec::new();
    let mut cursor = In::new(src);

    for n in 0..index.len() {
        let full = index.full(n);
        let content = index.content(n);
        if full.is_empty() {
            continue; // the single line of an empty text
        }
        cursor = cursor.take_from(content.start - cursor.location_offset());
        let line_in = cursor.take(content.len());
        let item = match tokenize(line_in) {
            Ok(LineKind::Blank) => Item::Blank(full),
            Ok(LineKind::Comment) => Item::Comment(full),
            Err(d) => {
                diags.push(d);
                Item::Invalid(full)
            }
            Ok(LineKind::Tokens {
                tokens,
                eq,
                comment,
            }) => {
                let first = tokens[0];
                let last = tokens[tokens.len() - 1];
                if tokens.len() == 1 && eq.is_none() && first.is_bare(src, "}") {
                    let close = Close {
                        line: full,
                        brace: first.span,
                        comment,
                    };
                    match stack.pop() {
                        Some(mut b) => {
                            b.close = Some(close);
                            let done = Item::Block(b);
                            match stack.last_mut() {
                                Some(parent) => parent.items.push(done),
                                None => top.push(done),
                            }
                        }
                        None => {
                            diags.push(
                                Diagnostic::error(
                                    Category::BadCommand,
                                    first.span,
                                    "`}` without an open block",
                                )
                                .with_help("remove it, or look for a block closed twice"),
                            );
                            top.push(Item::Invalid(full));
                        }
                    }
                    continue;
                }
                let braced = eq.is_none() && last.is_bare(src, "{");
                let keyword_header = eq.is_none()
                    && first.quote.is_none()
                    && BLOCK_KEYWORDS.contains(&first.text(src));
                if braced && tokens.len() == 1 {
                    diags.push(Diagnostic::error(
                        Category::BadCommand,
                        first.span,
                        "`{` must follow a block keyword and name on the same line (`virtual NAME {`)",
                    ));
                    Item::Invalid(full)
                } else if braced || keyword_header {
                    let body = if braced {
                        &tokens[1..tokens.len() - 1]
                    } else {
                        &tokens[1..]
                    };
                    let kw = first.text(src);
                    if !braced {
                        diags.push(
                            Diagnostic::error(
                                Category::MissingArgs,
                                Span::new(last.span.end, last.span.end),
                                format!("expected `{{` at the end of the `{kw}` line"),
                            )
                            .with_help(format!("write `{kw} NAME {{` on one line")),
                        );
                    }
                    match body.len() {
                        0 => diags.push(Diagnostic::error(
                            Category::MissingArgs,
                            first.span,
                            format!("`{kw}` needs a name: `{kw} NAME {{`"),
                        )),
                        1 => {}
                        _ => diags.push(
                            Diagnostic::error(
                                Category::ExtraArgs,
                                body[1].span.to(body[body.len() - 1].span),
                                "a block name is a single word",
                            )
                            .with_help("replace the blanks in the name with `_`"),
                        ),
                    }
                    stack.push(Block {
                        line: full,
                        keyword: first,
                        name: body.first().copied(),
                        open: braced.then_some(last.span),
                        comment,
                        items: Vec::new(),
                        close: None,
                    });
                    continue;
                } else {
                    let (values, eq_span) = match eq {
                        Some((at, s)) => (tokens[at..].to_vec(), Some(s)),
                        None => (tokens[1..].to_vec(), None),
                    };
                    Item::Stmt(Stmt {
                        line: full,
                        key: first,
                        eq: eq_span,
                        values,
                        comment,
                    })
                }
            }
        };
        match stack.last_mut() {
            Some(b) => b.items.push(item),
            None => top.push(item),
        }
    }

    // Close blocks left open by the end of the file, innermost first.
    while let Some(b) = stack.pop() {
        let what = match b.name {
            Some(n) => format!("`{} {}`", b.keyword.text(src), n.text(src)),
            None => format!("`{}`", b.keyword.text(src)),
        };
        diags.push(
            Diagnostic::error(
                Category::UnexpectedEof,
                Span::new(src.len(), src.len()),
                format!("block {what} is not closed"),
            )
            .with_note(Some(b.header_span()), format!("{what} opened here"))
            .with_help("add a line with a single `}`"),
        );
        let done = Item::Block(b);
        match stack.last_mut() {
            Some(parent) => parent.items.push(done),
            None => top.push(done),
        }
    }
    (SyntaxTree { items: top }, diags)
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
                    .chain(&s.values)
                    .map(|t| t.text(src).to_string())
                    .collect(),
                s.eq.is_some(),
                s.comment.map(|c| src[c.start..c.end].to_string()),
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
            stmt("port = 80 # web 'x"),
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
        ] {
            let (tree, _) = parse(src);
            assert_eq!(tree.reconstruct(src), src, "{src:?}");
        }
    }
}
