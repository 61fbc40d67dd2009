//! Byte spans into the source text and their translation to line and column.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` into the text a syntax tree was parsed from.
/// Offsets are `u32` to keep syntax trees small; [`crate::parse`] rejects texts of 4 GiB or more.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// An empty span at `at`.
    pub const fn at(at: usize) -> Self {
        Span::new(at, at)
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A position for humans: 1-based line and column (columns count characters; a tab is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// The physical lines of `text` as `(content_start, content_end, next_line_start)`. Every
/// `\n`, `\r\n` and lone `\r` ends one line, so line numbers match what an editor shows, also
/// for DOS files (piranha doubled them). Text after the last terminator is a line; an empty
/// text has none.
pub fn lines(text: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let from = start;
        match memchr2(bytes, from) {
            Some(i) => {
                let next = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                start = next;
                Some((from, i, next))
            }
            None => {
                start = bytes.len();
                Some((from, bytes.len(), bytes.len()))
            }
        }
    })
}

/// Position of the next `\r` or `\n` at or after `from`.
fn memchr2(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', &bytes[from..]).map(|i| from + i)
}

/// End of the line content that starts at or contains `offset` (the next `\r`/`\n` or EOF).
pub fn line_end(text: &str, offset: usize) -> usize {
    memchr2(text.as_bytes(), offset.min(text.len())).unwrap_or(text.len())
}

/// Line table of a text, for turning offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    lines: Vec<(usize, usize, usize)>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut lines: Vec<_> = lines(text).collect();
        if lines.is_empty() {
            lines.push((0, 0, 0));
        }
        LineIndex { lines }
    }

    /// Number of physical lines (at least one).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The span of line `n` (0-based) without its terminator.
    pub fn content(&self, n: usize) -> Span {
        let (s, e, _) = self.lines[n];
        Span::new(s, e)
    }

    /// The span of line `n` (0-based) including its terminator.
    pub fn full(&self, n: usize) -> Span {
        let (s, _, next) = self.lines[n];
        Span::new(s, next)
    }

    /// 0-based index of the line holding byte `offset` (an offset inside a terminator belongs
    /// to the line it ends; the end of the text belongs to the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        match self.lines.binary_search_by(|&(s, _, _)| s.cmp(&offset)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        }
    }

    /// 1-based line and column of byte `offset` in `text`.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let n = self.line_of(offset);
        let (s, e, _) = self.lines[n];
        let upto = offset.clamp(s, e);
        let col = text.get(s..upto).map_or(upto - s, |t| t.chars().count()) + 1;
        LineCol { line: n + 1, col }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_dos_and_mac_endings_count_physical_lines() {
        let text = "a\nb\r\nc\rd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.line_col(text, 0), LineCol { line: 1, col: 1 });
        assert_eq!(idx.line_col(text, 2), LineCol { line: 2, col: 1 });
        assert_eq!(idx.line_col(text, 5), LineCol { line: 3, col: 1 });
        assert_eq!(idx.line_col(text, 7), LineCol { line: 4, col: 1 });
        assert_eq!(&text[idx.content(1).range()], "b");
        assert_eq!(idx.full(1), Span::new(2, 5));
        assert_eq!(line_end(text, 2), 3);
        assert_eq!(line_end(text, 7), 8);
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "é = x";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 4), LineCol { line: 1, col: 4 });
    }

    #[test]
    fn trailing_newline_adds_no_phantom_line_but_empty_text_has_one() {
        assert_eq!(LineIndex::new("a\n").len(), 1);
        assert_eq!(LineIndex::new("").len(), 1);
        assert_eq!(lines("").count(), 0);
    }
}
