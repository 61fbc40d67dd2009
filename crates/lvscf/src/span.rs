//! Byte spans into the source text and their translation to line and column.

use serde::{Deserialize, Serialize};

/// A half-open byte range `start..end` into the text a syntax tree was parsed from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A position for humans: 1-based line and column (columns count characters; a tab is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// Physical lines of a text. Every `\n`, `\r\n` and lone `\r` ends one line, so line numbers
/// match what an editor shows, also for DOS files (piranha doubled them).
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// `(content_start, content_end, next_line_start)` for every line.
    lines: Vec<(usize, usize, usize)>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    lines.push((start, i, i + 1));
                    i += 1;
                    start = i;
                }
                b'\r' => {
                    let next = if bytes.get(i + 1) == Some(&b'\n') {
                        i + 2
                    } else {
                        i + 1
                    };
                    lines.push((start, i, next));
                    i = next;
                    start = i;
                }
                _ => i += 1,
            }
        }
        if start < bytes.len() || lines.is_empty() {
            lines.push((start, bytes.len(), bytes.len()));
        }
        LineIndex { lines }
    }

    /// Number of physical lines.
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
        assert_eq!(&text[idx.content(1).start..idx.content(1).end], "b");
        assert_eq!(idx.full(1), Span::new(2, 5));
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
    }
}
