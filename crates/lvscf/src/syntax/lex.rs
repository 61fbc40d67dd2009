//! The lexer: one physical line into tokens (blanks, quotes, `=`, trailing comments).

use nom::bytes::complete::tag;
use nom::bytes::complete::{take_till, take_till1, take_while};
use nom::{IResult, Parser};

use super::tree::{NONE, Quote, Token};
use crate::diag::{Category, Diagnostic};
use crate::span::Span;

/// Input of the nom parsers: bytes of the source text. Every delimiter of lvs.cf is ASCII, so
/// byte positions always fall on character boundaries. Positions are recovered from a slice's
/// address ([`Pos`]), which costs nothing per token (nom_locate's `LocatedSpan` counted
/// newlines on every slice: see docs/DECISIONS.md).
pub(super) type In<'a> = &'a [u8];

/// Turns slices of one source text back into byte offsets.
#[derive(Clone, Copy)]
pub(super) struct Pos<'a>(pub(super) &'a [u8]);

impl Pos<'_> {
    fn of(self, part: &[u8]) -> usize {
        part.as_ptr() as usize - self.0.as_ptr() as usize
    }

    fn span(self, part: &[u8]) -> Span {
        let start = self.of(part);
        Span::new(start, start + part.len())
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
pub(super) enum LineKind {
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
pub(super) fn tokenize(
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
        if quotes && (frag[0] == b'"' || frag[0] == b'\'') {
            let (r, token) = quoted_token(pos, rest)?;
            tokens.push(token);
            rest = r;
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

/// A quoted token at the start of `rest`, which must end at a blank or the end of the line.
fn quoted_token<'a>(pos: Pos<'_>, rest: In<'a>) -> Result<(In<'a>, Token), Diagnostic> {
    let start = pos.of(rest);
    let Ok((r, q)) = quoted(rest) else {
        let q = rest[0] as char;
        return Err(Diagnostic::error(
            Category::BadQuoting,
            pos.span(rest),
            format!("no closing {q} on this line"),
        )
        .with_help("a quoted value must end on the line it starts on"));
    };
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
    let token = Token {
        start: start as u32,
        end: pos.of(r) as u32,
        quote: if q == b'"' {
            Quote::Double
        } else {
            Quote::Single
        },
    };
    Ok((r, token))
}
