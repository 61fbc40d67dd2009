//! Who may use the service: Basic credentials and browser sessions ([`headers`],
//! [`sessions`]), failed-login limits ([`limiter`]), the password file ([`password_file`]) and the
//! Basic credentials verified lately ([`verified`]).
//! The request guard that puts them together is [`crate::server::guard`].

pub mod headers;
pub mod limiter;
pub mod password_file;
pub mod sessions;
pub mod verified;

pub use headers::{COOKIE, REALM};
pub use limiter::Limiter;
pub use password_file::PasswordFile;
pub use sessions::{Session, Sessions};
pub use verified::Verified;
