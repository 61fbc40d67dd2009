//! The library's errors.

/// What can go wrong in this crate outside the command line (whose failures are
/// [`opts::Fail`](crate::opts::Fail), carrying ipvsadm's exit status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// /proc/net/ip_vs_conn had not even its title line.
    #[error("unexpected input from /proc/net/ip_vs_conn")]
    ConnInput,
}
