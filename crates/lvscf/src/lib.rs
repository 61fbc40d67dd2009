//! `lvscf`: the one reader and writer of piranha's cluster configuration, lvs.cf
//! (`/etc/sysconfig/ha/lvs.cf`, else `/etc/lvs.cf`: see [`default_path()`]).
//!
//! Every daemon of the suite (pulse, lvsd, fos, and nanny's callers) reads the file through
//! this crate, so they all agree on its meaning. It reads piranha 0.8.6's files with the same
//! meaning (values piranha's parser took but its daemons then failed on, such as a negative
//! weight, are rejected: see docs/DECISIONS.md), adds documented extensions (IPv6, all kernel
//! schedulers, fractional `keepalive`/`deadtime`, `key=value` without blanks, trailing `#`
//! comments), and rejects broken files with precise diagnostics.
//!
//! # Layout
//!
//! Reading is three stages, each usable on its own:
//! 1. [`syntax`]: text → lossless [`SyntaxTree`] (lexical rules only);
//! 2. [`lower`]: tree → typed [`LvsConfig`] with a [`SourceMap`] (keywords, values, defaults);
//! 3. [`check`]: semantic checks on the model (duplicate services, impossible timings...).
//!
//! [`parse`] runs all three and collects every [`Diagnostic`]; [`load`] reads a file.
//! [`writer`] turns a model back into canonical text, [`Renderer`] formats diagnostics as
//! `FILE:LINE:COLUMN: error: message` with the source line and a caret. [`edit`] applies typed
//! edits (the web tool's) to a model and rewrites the file with its comments.
//!
//! ```
//! let parsed = lvscf::parse("virtual web {\n active = 1\n address = 10.0.0.1 eth0:1\n\
//!     server a {\n address = 10.1.0.1\n active = 1\n }\n}\n");
//! let cfg = parsed.config().expect("valid");
//! assert_eq!(cfg.virtual_servers[0].servers[0].port, 80);
//! ```

pub mod bump;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod default_path;
pub mod diag;
pub mod edit;
pub mod keywords;
pub mod lower;
pub mod model;
pub mod services;
pub mod source;
pub mod span;
pub mod syntax;
pub mod trivia;
pub mod value;
pub mod words;
pub mod writer;

use std::path::{Path, PathBuf};

pub use diag::{Category, Diagnostic, Renderer, Severity};
pub use model::*;
pub use services::Services;
pub use source::SourceMap;
pub use span::Span;
pub use syntax::SyntaxTree;
pub use trivia::Trivia;
pub use words::split_words;
pub use writer::{WriteError, WriteOptions};

pub use default_path::{DEFAULT_HELP, DEFAULT_PATH, FALLBACK_PATH, default_path};

/// Everything learned from one text.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub tree: SyntaxTree,
    /// The model; meaningful only when [`Parsed::has_errors`] is false.
    pub model: LvsConfig,
    pub source: SourceMap,
    pub trivia: Trivia,
    /// Errors and warnings of every stage, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The validated configuration, or `None` when there is any error.
    pub fn config(&self) -> Option<&LvsConfig> {
        (!self.has_errors()).then_some(&self.model)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// Canonical text of the file, keeping its comments and the keys it set.
    pub fn format(&self) -> Result<String, WriteError> {
        writer::write_with(
            &self.model,
            WriteOptions {
                trivia: Some(&self.trivia),
                source: Some(&self.source),
                explicit: false,
            },
        )
    }
}

/// Parse and validate `src`, with service names from /etc/services.
pub fn parse(src: &str) -> Parsed {
    parse_with(src, Services::system())
}

/// Parse and validate `src` with the given service-name table.
pub fn parse_with(src: &str, services: &Services) -> Parsed {
    let (tree, mut diagnostics) = syntax::parse(src);
    let lowered = lower::lower(src, &tree, services);
    diagnostics.extend(lowered.diagnostics);
    let partial = diagnostics.iter().any(Diagnostic::is_error);
    diagnostics.extend(check::check(&lowered.config, &lowered.source, partial));
    // File order; diagnostics without a location (file-wide) last.
    diagnostics.sort_by_key(|d| d.span.map_or((1, 0), |s| (0, s.start)));
    Parsed {
        tree,
        model: lowered.config,
        source: lowered.source,
        trivia: lowered.trivia,
        diagnostics,
    }
}

/// A configuration file read from disk.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// The text as parsed (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
    pub parsed: Parsed,
}

impl Loaded {
    /// Render every diagnostic against the file.
    pub fn render(&self) -> String {
        if self.parsed.diagnostics.is_empty() {
            return String::new();
        }
        let path = self.path.display().to_string();
        Renderer::new(&path, &self.text).render_all(&self.parsed.diagnostics)
    }

    /// 1-based line of the first error (piranha's daemons log `error parsing FILE on line N`).
    pub fn first_error_line(&self) -> Option<usize> {
        let d = self.parsed.diagnostics.iter().find(|d| d.is_error())?;
        let span = d.span?;
        Some(
            span::LineIndex::new(&self.text)
                .line_col(&self.text, span.start as usize)
                .line,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `lvscf FILE` with `-` for the file.
    #[error("cannot read standard input: {source}")]
    Stdin {
        #[source]
        source: std::io::Error,
    },
}

/// The bytes as text, without a copy when they are UTF-8 (invalid sequences become U+FFFD).
pub fn text_of(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Read and parse a file. An unreadable file is an error; a file with errors is returned with
/// its diagnostics (see [`Parsed::config`]).
pub fn load(path: impl AsRef<Path>) -> Result<Loaded, LoadError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = text_of(bytes);
    let parsed = parse(&text);
    Ok(Loaded {
        path: path.to_path_buf(),
        text,
        parsed,
    })
}
