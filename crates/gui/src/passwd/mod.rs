//! Apache-style password files: `user:hash` lines, blank lines and `#` comments.
//!
//! [`load`] reads a file (refusing one that others may read or change, see [`load`]),
//! [`Passwords::verify`] checks a user's password against every hash format Apache's
//! `htpasswd` writes ([`Hash`](enum@Hash)); plaintext passwords are refused, as Apache on Unix does.
//! [`Document`] edits a file line by line, keeping comments and the other users' lines, and
//! [`store`] writes it back atomically with mode 0600.
//!
//! Nothing here panics on bad input: a malformed line or hash is an [`Error`] naming the file
//! and line.

mod apr1;
mod crypt64;
mod document;
mod error;
mod hash;
mod load;
mod passwords;
mod store;
mod unix_crypt;

pub use document::{Document, Line};
pub use error::{Error, HashError};
pub use hash::{BCRYPT_COST, BCRYPT_MAX_PASSWORD, Hash, hash_password};
pub use load::{DEFAULT_PATH, check_metadata, load};
pub use passwords::Passwords;
pub use store::store;
pub use unix_crypt::Scheme as CryptScheme;

/// The one user of the web GUI, as in piranha.
pub const USER: &str = "piranha";
