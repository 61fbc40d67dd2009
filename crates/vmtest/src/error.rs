//! The harness's failures.

use crate::host::Missing;

/// The harness's failures.
#[derive(Debug)]
pub enum VmError {
    Missing(Missing),
    Setup(String),
    /// The guest did not finish in time; what it printed so far.
    Timeout(String),
}

impl std::fmt::Display for VmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VmError::Missing(m) => m.fmt(f),
            VmError::Setup(s) => write!(f, "VM setup failed: {s}"),
            VmError::Timeout(out) => write!(f, "the guest timed out; its console:\n{out}"),
        }
    }
}

impl std::error::Error for VmError {}

pub(crate) fn setup(msg: impl std::fmt::Display) -> VmError {
    VmError::Setup(msg.to_string())
}
