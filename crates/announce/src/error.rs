//! Why an announcement did not reach BIRD.

use std::path::PathBuf;

/// An announcement that failed; each is logged and retried, never fatal.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fragment could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// BIRD's control socket could not be reached (BIRD not running, wrong path, …).
    #[error("cannot reach BIRD at {}: {source}", socket.display())]
    Connect {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the control socket failed, or BIRD did not answer in time.
    #[error("BIRD at {} did not answer: {source}", socket.display())]
    Io {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// BIRD answered something that is not its protocol.
    #[error("BIRD sent an unexpected reply: {0:?}")]
    Protocol(String),
    /// BIRD refused: a configuration error (8002), shutting down (0006), …
    #[error("BIRD refused the configuration: {code:04} {message}")]
    Refused { code: u16, message: String },
}
