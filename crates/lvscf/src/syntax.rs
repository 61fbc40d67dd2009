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

use nom::bytes::complete::tag;
use nom::bytes::complete::{take_till, take_till1, take_while};
use nom::{IResult, Parser};

use crate::diag::{Category, Diagnostic};
use crate::keywords::BLOCK_KEYWORDS;
use crate::span::{self, Span};

/// Input of the nom parsers: bytes of the source text. Every delimiter of lvs.cf is ASCII, so
/// byte positions always fall on character boundaries. Positions are recovered from a slice's
/// address ([`Pos`]), which costs nothing per token (nom_locate's `LocatedSpan` counted
/// newlines on every slice: see docs/DECISIONS.md).
type In<'a> = &'a [u8];

/// Turns slices of one source text back into byte offsets.
#[derive(Clone, Copy)]
struct Pos<'a>(&'a [u8]);

impl Pos<'_> {
    fn of(self, part: &[u8]) -> usize {
        part.as_ptr() as usize - self.0.as_ptr() as usize
    }

    fn span(self, part: &[u8]) -> Span {
        let start = self.of(part);
        Span::new(start, start + part.len())
    }
}

/// Sentinel for "absent" in the compact `u32` position fields.
const NONE: u32 = u32::MAX;
/// `Stmt::eq` of a line with a quoting error.
const DAMAGED: u32 = u32::MAX - 1;

fn opt(v: u32) -> Option<u32> {
    (v < DAMAGED).then_some(v)
}

/// Quote characters of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Double,
    Single,
}

/// One token. Its span covers the quotes of a quoted token; [`Token::inner`] only the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    pub end: u32,
    pub quote: Quote,
}

impl Token {
    pub fn span(&self) -> Span {
        Span {
            start: self.start,
            end: self.end,
        }
    }

    /// The value's span, quotes excluded.
    pub fn inner(&self) -> Span {
        match self.quote {
            Quote::None => self.span(),
            _ => Span {
                start: self.start + 1,
                end: self.end - 1,
            },
        }
    }

    /// The token's value (quotes removed) in `src`, the text the tree was parsed from.
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        &src[self.inner().range()]
    }

    /// True for an unquoted token equal to `s`.
    pub fn is_bare(&self, src: &str, s: &str) -> bool {
        self.quote == Quote::None && self.text(src) == s
    }
}

/// The values of a statement; one value (the usual case) is stored inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    One(Token),
    /// No value, or several (`address = IP DEV`); boxed to keep statements small.
    Many(Box<Vec<Token>>),
}

impl std::ops::Deref for Values {
    type Target = [Token];
    fn deref(&self) -> &[Token] {
        match self {
            Values::One(t) => std::slice::from_ref(t),
            Values::Many(ts) => ts,
        }
    }
}

impl From<&[Token]> for Values {
    fn from(ts: &[Token]) -> Self {
        match ts {
            [one] => Values::One(*one),
            many => Values::Many(Box::new(many.to_vec())),
        }
    }
}

/// `KEY = VALUE...` (or a malformed line that starts like one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// Start of the physical line.
    pub line: u32,
    pub key: Token,
    /// Offset of the `=`, [`NONE`], or [`DAMAGED`] (kept in this field to keep `Stmt` at
    /// 40 bytes).
    eq: u32,
    comment: u32,
    pub values: Values,
}

impl Stmt {
    /// The line had a quoting error (already reported); its tokens were split at blanks only,
    /// so that the file's structure survives, and its values mean nothing.
    pub fn damaged(&self) -> bool {
        self.eq == DAMAGED
    }

    /// The `=`; `None` when it is missing (stage two reports it for known keywords).
    pub fn eq(&self) -> Option<Span> {
        opt(self.eq).map(|e| Span::new(e as usize, e as usize + 1))
    }

    /// A trailing `# ...` comment.
    pub fn comment(&self, src: &str) -> Option<Span> {
        comment_span(src, self.comment)
    }

    /// Span from the key to the last value: what a diagnostic about the whole statement marks.
    pub fn span(&self) -> Span {
        let mut s = self.key.span();
        if let Some(eq) = self.eq() {
            s = s.to(eq);
        }
        if let Some(v) = self.values.last() {
            s = s.to(v.span());
        }
        s
    }

    /// Span of all values, or an empty span after the `=` (or key) when there are none.
    pub fn values_span(&self) -> Span {
        match (self.values.first(), self.values.last()) {
            (Some(a), Some(b)) => a.span().to(b.span()),
            _ => Span {
                start: self.eq().unwrap_or(self.key.span()).end,
                end: self.eq().unwrap_or(self.key.span()).end,
            },
        }
    }
}

fn comment_span(src: &str, start: u32) -> Option<Span> {
    opt(start).map(|c| Span::new(c as usize, span::line_end(src, c as usize)))
}

/// `KEYWORD NAME {` ... `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Start of the header's physical line.
    pub line: u32,
    pub keyword: Token,
    pub name: Option<Token>,
    open: u32,
    comment: u32,
    pub items: Vec<Item>,
    /// The closing line; `None` when the file ends first (reported).
    pub close: Option<Close>,
}

impl Block {
    /// The `{`; `None` when the header lacks it (reported; the block is still assumed open).
    pub fn open(&self) -> Option<Span> {
        opt(self.open).map(|o| Span::new(o as usize, o as usize + 1))
    }

    /// A trailing comment on the header line.
    pub fn comment(&self, src: &str) -> Option<Span> {
        comment_span(src, self.comment)
    }

    /// Span of the header from keyword to brace (or name).
    pub fn header_span(&self) -> Span {
        let mut s = self.keyword.span();
        if let Some(n) = self.name {
            s = s.to(n.span());
        }
        if let Some(o) = self.open() {
            s = s.to(o);
        }
        s
    }
}

/// The `}` line of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub line: u32,
    pub brace: u32,
    comment: u32,
}

impl Close {
    pub fn comment(&self, src: &str) -> Option<Span> {
        comment_span(src, self.comment)
    }
}

/// One line of the file, or a block with all its lines. Line positions are the starts of
/// physical lines; a line ends where the next one (in tree order) starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An empty or blanks-only line.
    Blank(u32),
    /// A `#` comment line.
    Comment(u32),
    Stmt(Stmt),
    Block(Box<Block>),
    /// A line that could not be read as anything (a diagnostic was emitted for it).
    Invalid(u32),
}

impl Item {
    /// Start of the item's first physical line (the header line for a block).
    pub fn line(&self) -> u32 {
        match self {
            Item::Blank(s) | Item::Comment(s) | Item::Invalid(s) => *s,
            Item::Stmt(st) => st.line,
            Item::Block(b) => b.line,
        }
    }
}

/// The text of a comment line starting at `line` (blanks before `#` and the terminator removed).
pub fn comment_text(src: &str, line: u32) -> &str {
    src[line as usize..span::line_end(src, line as usize)].trim_start_matches([' ', '\t'])
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxTree {
    pub items: Vec<Item>,
}

impl SyntaxTree {
    /// Concatenate every line of the tree in tree order: equals the parsed text.
    pub fn reconstruct(&self, src: &str) -> String {
        fn starts(items: &[Item], out: &mut Vec<u32>) {
            for item in items {
                out.push(item.line());
                if let Item::Block(b) = item {
                    starts(&b.items, out);
                    if let Some(c) = b.close {
                        out.push(c.line);
                    }
                }
            }
        }
        let mut s = Vec::new();
        starts(&self.items, &mut s);
        s.push(src.len() as u32);
        s.windows(2)
            .map(|w| &src[w[0] as usize..w[1] as usize])
            .collect()
    }
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn blanks(i: In<'_>) -> IResult<In<'_>, In<'_>> {
    take_while(is_blank).parse(i)
}

/// A quoted token: opening quote, body up to the same quote, closing quote.
fn quoted(i: In<'_>) -> IResult<In<'_>, u8> {
    let q = i[0];
    let quote: &[u8] = if q == b'"' { b"\"" } else { b"'" };
    let (i, _) = tag(quote).parse(i)?;
    let (i, _) = take_till(move |c| c == q).parse(i)?;
    let (i, _) = tag(quote).parse(i)?;
    Ok((i, q))
}

/// What one line holds, before it is placed in the tree.
#[derive(Debug)]
enum LineKind {
    Blank,
    Comment,
    /// Tokens are in the tokenizer's buffer.
    Tokens {
        /// Index of the first token after `=` and the `=` offset.
        eq: Option<(usize, u32)>,
        comment: u32,
    },
}

/// Split one line (terminator excluded) into tokens, appended to `tokens` (cleared first).
/// Without `quotes`, quote characters are ordinary (used to recover a line with a quoting
/// error, so its braces still count).
fn tokenize(
    pos: Pos<'_>,
    line: In<'_>,
    tokens: &mut Vec<Token>,
    quotes: bool,
) -> Result<LineKind, Diagnostic> {
    tokens.clear();
    let (mut rest, _) = blanks(line).expect("blanks cannot fail");
    if rest.is_empty() {
        return Ok(LineKind::Blank);
    }
    if rest.starts_with(b"#") {
        return Ok(LineKind::Comment);
    }
    let mut eq: Option<(usize, u32)> = None;
    let mut comment = NONE;
    loop {
        let (r, _) = blanks(rest).expect("blanks cannot fail");
        rest = r;
        let frag = rest;
        if frag.is_empty() {
            break;
        }
        // `#` starts a trailing comment except where piranha read it as a word: the first
        // value after `=`, and the word after the first one on a line without `=` (a block
        // name: `server #1 {`) unless that first word is `}`.
        let first_value = eq.is_some_and(|(at, _)| at == tokens.len());
        let second_word = eq.is_none()
            && tokens.len() == 1
            && !pos.0[tokens[0].start as usize..tokens[0].end as usize]
                .iter()
                .all(|&b| b == b'}');
        if frag[0] == b'#' && !tokens.is_empty() && !first_value && !second_word {
            comment = pos.of(rest) as u32;
            break;
        }
        if tokens.len() == 1 && eq.is_none() && frag[0] == b'=' {
            eq = Some((1, pos.of(rest) as u32));
            rest = &rest[1..];
            continue;
        }
        let start = pos.of(rest);
        if quotes && (frag[0] == b'"' || frag[0] == b'\'') {
            match quoted(rest) {
                Ok((r, q)) => {
                    if r.first().is_some_and(|&c| !is_blank(c)) {
                        let glued = take_till1::<_, _, nom::error::Error<In<'_>>>(is_blank)
                            .parse(r)
                            .map(|(_, g)| pos.of(g) + g.len())
                            .unwrap_or(pos.of(r));
                        return Err(Diagnostic::error(
                            Category::BadQuoting,
                            Span::new(start, glued),
                            "text follows the closing quote",
                        )
                        .with_help("put the whole value inside the quotes"));
                    }
                    tokens.push(Token {
                        start: start as u32,
                        end: pos.of(r) as u32,
                        quote: if q == b'"' {
                            Quote::Double
                        } else {
                            Quote::Single
                        },
                    });
                    rest = r;
                }
                Err(_) => {
                    let q = frag[0] as char;
                    return Err(Diagnostic::error(
                        Category::BadQuoting,
                        pos.span(rest),
                        format!("no closing {q} on this line"),
                    )
                    .with_help("a quoted value must end on the line it starts on"));
                }
            }
            continue;
        }
        // A bare token; the first one (the key) also ends at `=` unless it starts with one.
        let key_position = tokens.is_empty() && frag[0] != b'=';
        let res: IResult<In<'_>, In<'_>> = if key_position {
            take_till1(|c| is_blank(c) || c == b'=').parse(rest)
        } else {
            take_till1(is_blank).parse(rest)
        };
        let (r, tok) = res.expect("a non-empty fragment not at a blank yields a token");
        let s = pos.span(tok);
        tokens.push(Token {
            start: s.start,
            end: s.end,
            quote: Quote::None,
        });
        rest = r;
    }
    Ok(LineKind::Tokens { eq, comment })
}

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
    let mut diags = Vec::new();
    if src.len() >= DAMAGED as usize {
        diags.push(Diagnostic::new(
            crate::diag::Severity::Error,
            Category::BadArgument,
            None,
            "the file is 4 GiB or larger",
        ));
        return (SyntaxTree { items: Vec::new() }, diags);
    }
    let mut tree = Builder {
        top: Vec::new(),
        open: Vec::new(),
        pending: Vec::new(),
    };
    let pos = Pos(src.as_bytes());
    let mut tokens: Vec<Token> = Vec::with_capacity(8);

    for (start, end, _) in span::lines(src) {
        let line = start as u32;
        let bytes = &src.as_bytes()[start..end];
        let (kind, damaged) = match tokenize(pos, bytes, &mut tokens, true) {
            Ok(k) => (k, false),
            Err(d) => {
                diags.push(d);
                let k = tokenize(pos, bytes, &mut tokens, false)
                    .expect("without quotes a line always tokenizes");
                (k, true)
            }
        };
        let item = match kind {
            LineKind::Blank => Item::Blank(line),
            LineKind::Comment => Item::Comment(line),
            LineKind::Tokens { eq, comment } => {
                let first = tokens[0];
                let last = tokens[tokens.len() - 1];
                let text = first.text(src);
                if eq.is_none() && first.quote == Quote::None && text.bytes().all(|b| b == b'}') {
                    // `}` closes a block. piranha wanted it alone on its line; text after it
                    // or `}}` is reported, but the blocks are closed all the same so that one
                    // typo does not swallow the rest of the file.
                    if tokens.len() > 1 {
                        diags.push(Diagnostic::error(
                            Category::ExtraArgs,
                            tokens[1].span().to(last.span()),
                            "nothing may follow `}` on its line",
                        ));
                    }
                    if text.len() > 1 {
                        diags.push(Diagnostic::error(
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
                        if tree.close(close).is_none() {
                            if n == 0 {
                                diags.push(
                                    Diagnostic::error(
                                        Category::BadCommand,
                                        first.span(),
                                        "`}` without an open block",
                                    )
                                    .with_help("remove it, or look for a block closed twice"),
                                );
                                tree.push(Item::Invalid(line));
                            }
                            break;
                        }
                    }
                    continue;
                }
                let braced = eq.is_none() && last.is_bare(src, "{");
                let keyword_header = eq.is_none()
                    && first.quote == Quote::None
                    && BLOCK_KEYWORDS.contains(&first.text(src));
                if braced && tokens.len() == 1 {
                    diags.push(Diagnostic::error(
                        Category::BadCommand,
                        first.span(),
                        "`{` must follow a block keyword and name on the same line (`virtual NAME {`)",
                    ));
                    Item::Invalid(line)
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
                                Span::at(last.end as usize),
                                format!("expected `{{` at the end of the `{kw}` line"),
                            )
                            .with_help(format!("write `{kw} NAME {{` on one line")),
                        );
                    }
                    match body.len() {
                        0 => diags.push(Diagnostic::error(
                            Category::MissingArgs,
                            first.span(),
                            format!("`{kw}` needs a name: `{kw} NAME {{`"),
                        )),
                        1 => {}
                        _ => diags.push(
                            Diagnostic::error(
                                Category::ExtraArgs,
                                body[1].span().to(body[body.len() - 1].span()),
                                "a block name is a single word",
                            )
                            .with_help("replace the blanks in the name with `_`"),
                        ),
                    }
                    tree.open(Block {
                        line,
                        keyword: first,
                        name: body.first().copied(),
                        open: if braced { last.start } else { NONE },
                        comment,
                        items: Vec::new(),
                        close: None,
                    });
                    continue;
                } else {
                    let (values, eq) = match eq {
                        Some((at, e)) => (&tokens[at..], e),
                        None => (&tokens[1..], NONE),
                    };
                    Item::Stmt(Stmt {
                        line,
                        key: first,
                        eq: if damaged { DAMAGED } else { eq },
                        comment,
                        values: values.into(),
                    })
                }
            }
        };
        tree.push(item);
    }

    // Close blocks left open by the end of the file, innermost first.
    while let Some(b) = tree.close(None) {
        let what = match b.name {
            Some(n) => format!("`{} {}`", b.keyword.text(src), n.text(src)),
            None => format!("`{}`", b.keyword.text(src)),
        };
        diags.push(
            Diagnostic::error(
                Category::UnexpectedEof,
                Span::at(src.len()),
                format!("block {what} is not closed"),
            )
            .with_note(Some(b.header_span()), format!("{what} opened here"))
            .with_help("add a line with a single `}`"),
        );
    }
    (SyntaxTree { items: tree.top }, diags)
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
