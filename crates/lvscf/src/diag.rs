//! Diagnostics: errors and warnings with a source location, and their rendering as
//! `FILE:LINE:COLUMN: error: message` followed by the source line and a caret.

use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::span::{LineIndex, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// The category of a diagnostic. The syntax categories are piranha's parser errors
/// (`lvsStrerror` in 0.8.6) and keep its texts, so scripts grepping for them still work;
/// the rest are checks piranha never made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Empty,
    BadQuoting,
    UnexpectedEof,
    ExtraArgs,
    EqualExpected,
    MissingArgs,
    BadHostname,
    BadArgument,
    IntExpected,
    BoolExpected,
    BadCommand,
    ListExpected,
    BadNetmask,
    /// A semantic problem found after parsing (duplicate services, impossible timings, ...).
    Semantic,
}

impl Category {
    /// piranha's own text for the category (semantic checks have none).
    pub fn piranha_text(self) -> Option<&'static str> {
        Some(match self {
            Category::Empty => "Empty configuration",
            Category::BadQuoting => "quotation mismatch",
            Category::UnexpectedEof => "unexpected end of file",
            Category::ExtraArgs => "unexpected arguments",
            Category::EqualExpected => "equal (=) expected after command",
            Category::MissingArgs => "missing arguments",
            Category::BadHostname => "invalid host name or ip address",
            Category::BadArgument => "invalid argument",
            Category::IntExpected => "integer expected",
            Category::BoolExpected => "boolean expected",
            Category::BadCommand => "unknown command",
            Category::ListExpected => "list expected",
            Category::BadNetmask => "Bad subnet mask specified",
            Category::Semantic => return None,
        })
    }
}

/// A secondary location attached to a diagnostic ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub span: Option<Span>,
    pub message: String,
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub category: Category,
    /// The full message; for syntax categories it starts with piranha's text.
    pub message: String,
    /// Where the problem is; `None` for a model that did not come from a file.
    pub span: Option<Span>,
    pub notes: Vec<Note>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error whose message is piranha's category text followed by `detail`.
    pub fn error(category: Category, span: Span, detail: impl fmt::Display) -> Self {
        Self::new(Severity::Error, category, Some(span), detail)
    }

    pub fn new(
        severity: Severity,
        category: Category,
        span: Option<Span>,
        detail: impl fmt::Display,
    ) -> Self {
        let detail = detail.to_string();
        let message = match category.piranha_text() {
            Some(head) if detail.is_empty() => head.to_string(),
            Some(head) => format!("{head}: {detail}"),
            None => detail,
        };
        Diagnostic {
            severity,
            category,
            message,
            span,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(span: Option<Span>, message: impl fmt::Display) -> Self {
        Self::new(Severity::Warning, Category::Semantic, span, message)
    }

    pub fn semantic(span: Option<Span>, message: impl fmt::Display) -> Self {
        Self::new(Severity::Error, Category::Semantic, span, message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, span: Option<Span>, message: impl Into<String>) -> Self {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Renders diagnostics against the text they refer to.
#[derive(Debug)]
pub struct Renderer<'a> {
    path: &'a str,
    text: &'a str,
    index: LineIndex,
}

impl<'a> Renderer<'a> {
    pub fn new(path: &'a str, text: &'a str) -> Self {
        Renderer {
            path,
            text,
            index: LineIndex::new(text),
        }
    }

    /// `path:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let lc = self.index.line_col(self.text, span.start as usize);
        format!("{}:{}:{}", self.path, lc.line, lc.col)
    }

    /// One diagnostic: the headline, the source line with a caret under the span, then notes
    /// (each with its own location and line) and help.
    pub fn render(&self, d: &Diagnostic) -> String {
        let mut out = String::new();
        match d.span {
            Some(span) => {
                let _ = writeln!(
                    out,
                    "{}: {}: {}",
                    self.location(span),
                    d.severity,
                    d.message
                );
                self.snippet(&mut out, span);
            }
            None => {
                let _ = writeln!(out, "{}: {}: {}", self.path, d.severity, d.message);
            }
        }
        for note in &d.notes {
            match note.span {
                Some(span) => {
                    let _ = writeln!(out, "{}: note: {}", self.location(span), note.message);
                    self.snippet(&mut out, span);
                }
                None => {
                    let _ = writeln!(out, "{}: note: {}", self.path, note.message);
                }
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
        out
    }

    /// Every diagnostic in order, then nothing else (the caller prints any summary).
    pub fn render_all(&self, diags: &[Diagnostic]) -> String {
        diags.iter().map(|d| self.render(d)).collect()
    }

    fn snippet(&self, out: &mut String, span: Span) {
        let n = self.index.line_of(span.start as usize);
        let line = self.index.content(n).range();
        let src = self.text.get(line.clone()).unwrap_or("");
        let number = (n + 1).to_string();
        let gutter = " ".repeat(number.len());
        let _ = writeln!(out, " {number} | {src}");
        // Keep tabs in the caret line so the caret lines up under the token in a terminal.
        let start = (span.start as usize).clamp(line.start, line.end);
        let end = (span.end as usize).clamp(start, line.end);
        let prefix: String = self
            .text
            .get(line.start..start)
            .unwrap_or("")
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = self
            .text
            .get(start..end)
            .map_or(1, |t| t.chars().count())
            .max(1);
        let _ = writeln!(out, " {gutter} | {prefix}{}", "^".repeat(width));
    }
}

/// `N errors, M warnings` with correct plurals.
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}
