//! nanny's errors; each text is the log line (or, prefixed with `nanny: `, the terminal line).

use ipvs::IpvsError;

/// What can go wrong outside the command line ([`crate::opts::UsageError`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `regcomp` refused the `--regex` pattern: the C library's own words.
    #[error("{0}")]
    Regex(String),
    #[error("pattern contains a NUL byte")]
    RegexNul,
    /// Standalone `--lvs` needs a virtual service to change.
    #[error("no virtual address (-V) or firewall mark (-f) to change IPVS with")]
    NoTarget,
    #[error("bad virtual address -- {0}")]
    BadVirtualAddress(String),
    /// lvsd's pipe is gone.
    #[error("cannot report to lvsd: {0}")]
    Report(#[source] std::io::Error),
    /// The kernel refused an IPVS change (ipvsadm's wording).
    #[error("{0}")]
    Ipvs(#[from] IpvsError),
}
