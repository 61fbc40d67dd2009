//! Failures of IPVS operations, with ipvsadm's wording for each kernel errno.

use std::fmt;

/// The operation that failed: ipvsadm words the same errno differently per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Init,
    AddService,
    EditService,
    DelService,
    ZeroService,
    Zero,
    Flush,
    GetServices,
    GetService,
    GetDests,
    AddDest,
    EditDest,
    DelDest,
    GetInfo,
    GetTimeouts,
    SetTimeouts,
    StartDaemon,
    StopDaemon,
    GetDaemons,
}

/// errno values (Linux).
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const ENOMEM: i32 = 12;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ERANGE: i32 = 34;
    pub const EMSGSIZE: i32 = 90;
    pub const ENOPROTOOPT: i32 = 92;
    pub const EOPNOTSUPP: i32 = 95;
    pub const EAFNOSUPPORT: i32 = 97;
}

#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The kernel refused the operation.
    #[error("{}", ipvsadm_message(*op, *errno))]
    Kernel { op: Op, errno: i32 },
    /// The IPVS generic-netlink family does not exist: no `ip_vs` module in this kernel.
    #[error("Protocol not available")]
    NoFamily,
    #[error("netlink: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed reply from the kernel: {0}")]
    Decode(String),
    /// A table other than the kernel's cannot do this (the userspace data plane and
    /// firewall marks, for example); the text says what and why.
    #[error("{0}")]
    Unsupported(String),
    /// A table other than the kernel's failed with a system error (binding a VIP).
    #[error("{0}")]
    System(std::io::Error),
}

impl IpvsError {
    /// The kernel's errno, if the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::NoFamily => Some(errno::ENOPROTOOPT),
            IpvsError::Io(e) => e.raw_os_error(),
            IpvsError::Decode(_) => None,
            IpvsError::Unsupported(_) => Some(errno::EOPNOTSUPP),
            IpvsError::System(e) => e.raw_os_error(),
        }
    }
}

/// `strerror(errno)` without Rust's " (os error N)" suffix.
pub fn strerror(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// ipvsadm 1.31's `ipvs_strerror()`: the message for `errno` after operation `op`.
pub fn ipvsadm_message(op: Op, e: i32) -> String {
    use errno::*;
    let specific = match (op, e) {
        (Op::AddService, EEXIST) => Some("Service already exists"),
        (Op::AddService | Op::EditService, ENOENT) => {
            Some("Scheduler or persistence engine not found")
        }
        (Op::EditService | Op::DelService | Op::ZeroService | Op::Zero, ESRCH) => {
            Some("No such service")
        }
        (Op::AddDest | Op::EditDest | Op::DelDest, ESRCH) => Some("Service not defined"),
        (Op::AddDest, EEXIST) => Some("Destination already exists"),
        (Op::EditDest | Op::DelDest, ENOENT) => Some("No such destination"),
        (Op::StartDaemon, EEXIST) => Some("Daemon has already run"),
        (Op::StopDaemon, ESRCH) => Some("No daemon is running"),
        (Op::GetServices | Op::GetDests | Op::GetService, ESRCH) => Some("No such service"),
        _ => None,
    };
    if let Some(s) = specific {
        return s.to_string();
    }
    match e {
        EPERM => "Permission denied (you must be root)".into(),
        EINVAL => {
            "Invalid operation.  Possibly wrong module version, address not unicast, ...".into()
        }
        ENOPROTOOPT => "Protocol not available".into(),
        ENOMEM => "Memory allocation problem".into(),
        EOPNOTSUPP => "Operation not supported with IPv6".into(),
        EAFNOSUPPORT => "Operation not supported with specified address family".into(),
        EMSGSIZE => "Module is wrong version".into(),
        other => strerror(other),
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_ipvsadm() {
        assert_eq!(
            ipvsadm_message(Op::AddService, errno::EEXIST),
            "Service already exists"
        );
        assert_eq!(
            ipvsadm_message(Op::DelService, errno::ESRCH),
            "No such service"
        );
        assert_eq!(
            ipvsadm_message(Op::AddDest, errno::ESRCH),
            "Service not defined"
        );
        assert_eq!(
            ipvsadm_message(Op::EditDest, errno::ENOENT),
            "No such destination"
        );
        assert_eq!(
            ipvsadm_message(Op::AddService, errno::ENOENT),
            "Scheduler or persistence engine not found"
        );
        assert_eq!(
            ipvsadm_message(Op::Flush, errno::EPERM),
            "Permission denied (you must be root)"
        );
        assert_eq!(
            ipvsadm_message(Op::AddDest, errno::EINVAL),
            "Invalid operation.  Possibly wrong module version, address not unicast, ..."
        );
        assert_eq!(
            ipvsadm_message(Op::AddDest, errno::ERANGE),
            "Numerical result out of range"
        );
        assert_eq!(
            ipvsadm_message(Op::StartDaemon, errno::ENODEV),
            "No such device"
        );
        // The same errno reads differently after another operation.
        assert_eq!(
            ipvsadm_message(Op::AddDest, errno::EEXIST),
            "Destination already exists"
        );
        assert_eq!(
            ipvsadm_message(Op::StartDaemon, errno::EEXIST),
            "Daemon has already run"
        );
        assert_eq!(ipvsadm_message(Op::Flush, errno::EEXIST), "File exists");
    }
}
