//! pulse's error type: why a configuration cannot be used.

/// Why pulse cannot use a configuration (at start-up: exit 1; after SIGHUP: the running one
/// is kept). The messages are pulse's log lines.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{0}")]
    Load(#[from] lvscf::LoadError),
    /// The file has errors: lvscf's rendered diagnostics.
    #[error("{0}")]
    Invalid(String),
    /// A host name in the file did not resolve.
    #[error("cannot resolve {what}: {source}")]
    Resolve {
        what: String,
        source: std::io::Error,
    },
    #[error("no primary address in the file")]
    NoPrimary,
    #[error("this host does not hold the primary address, and no backup is defined")]
    NoBackup,
    /// piranha's line for a file with no active block.
    #[error("no active {kind} services defined in {path}")]
    NoActiveServices { kind: &'static str, path: String },
    /// The heartbeat key file cannot be used.
    #[error("{0}")]
    KeyFile(#[from] crate::auth::KeyFileError),
    /// The reading task died (a panic while reading the file).
    #[error("cannot read the configuration: {0}")]
    Task(String),
}
