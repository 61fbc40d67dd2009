//! Usage errors: what a daemon prints after `<program>: ` before exiting.

/// A usage error. Its text is the whole message; the program adds `<program>: ` in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// clap's first line without its `error: ` prefix (after the program's own prefix, see
    /// [`crate::Program::clap_prefix`]).
    #[error("{0}")]
    Clap(String),
    /// Seconds out of range or not a number.
    #[error("bad argument {option} {text}: seconds expected")]
    Seconds { option: String, text: String },
    /// A count out of its range or not a number.
    #[error("bad argument {option} {text}: {min} to {max}")]
    Count {
        option: String,
        text: String,
        min: u32,
        max: u32,
    },
    /// Words after the options (pulse and fos take none).
    #[error("unexpected arguments")]
    Extra,
    /// `--json` without `--status`.
    #[error("--json goes with --status")]
    JsonWithoutStatus,
    /// A program's own check, in its own words.
    #[error("{0}")]
    Other(String),
}
