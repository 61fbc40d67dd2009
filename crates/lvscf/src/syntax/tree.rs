//! The syntax tree: tokens, statements, blocks and the lines between them, in compact form
//! (offsets are `u32`, a line's end is where the next line starts).

use crate::span::{self, Span};

/// Sentinel for "absent" in the compact `u32` position fields.
pub(super) const NONE: u32 = u32::MAX;
/// `Stmt::eq` of a line with a quoting error.
pub(super) const DAMAGED: u32 = u32::MAX - 1;

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
    pub(super) eq: u32,
    pub(super) comment: u32,
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
    pub(super) open: u32,
    pub(super) comment: u32,
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
    pub(super) comment: u32,
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
