//! The errors of the password file.

use std::path::PathBuf;

/// What is wrong with a password file, or with reading or writing it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file could not be written (or its directory created).
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not a regular file.
    #[error("{}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    /// Group or other permission bits let others read or change the file.
    #[error(
        "{}: mode {mode:04o} is too open: others may read or change the password hashes \
         (allowed: 0600, or 0640 to let a group read it; run `chmod 600 {}`)",
        path.display(),
        path.display()
    )]
    Permissions { path: PathBuf, mode: u32 },
    /// The file belongs to someone other than root or the user reading it.
    #[error(
        "{}: owned by uid {owner}, expected root or the user running this program (uid {euid})",
        path.display()
    )]
    Owner {
        path: PathBuf,
        owner: u32,
        euid: u32,
    },
    /// The file is not UTF-8 text.
    #[error("{}:{line}: not UTF-8 text", path.display())]
    NotText { path: PathBuf, line: usize },
    /// A line is neither blank, a comment nor `user:hash`.
    #[error("{}:{line}: expected `user:hash`, a `#` comment or a blank line", path.display())]
    Syntax { path: PathBuf, line: usize },
    /// A user name is empty or has characters a user name cannot have.
    #[error("{}:{line}: bad user name {user:?}", path.display())]
    BadUser {
        path: PathBuf,
        line: usize,
        user: String,
    },
    /// A user's hash is not one this program accepts.
    #[error("{}:{line}: user {user}: {source}", path.display())]
    BadHash {
        path: PathBuf,
        line: usize,
        user: String,
        source: HashError,
    },
    /// The same user has two lines.
    #[error("{}:{line}: second entry for user {user} (the first is on line {first})", path.display())]
    Duplicate {
        path: PathBuf,
        line: usize,
        first: usize,
        user: String,
    },
    /// Hashing a new password failed.
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

/// Why a hash string is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not the form of any hash `htpasswd` writes: a plaintext password, or garbage.
    #[error(
        "not a password hash htpasswd writes (bcrypt, $apr1$, {{SHA}}, crypt, $1$, $5$, $6$); \
         plaintext passwords are refused"
    )]
    Unrecognized,
    /// It starts like a known format but does not follow it.
    #[error("malformed {format} hash: {why}")]
    Malformed {
        format: &'static str,
        why: &'static str,
    },
}
