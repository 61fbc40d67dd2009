//! Start-up as ipvsadm does it: reach the kernel first (loading `ip_vs` once if its netlink
//! family is missing), warn about an old IPVS, then run the command line.

use ipvs::{Info, IpvsError, IpvsTable, NetlinkIpvs};

use crate::run::{Io, run};

/// ipvsadm warns below IPVS 1.1.4.
pub const MIN_IPVS_VERSION: u32 = 0x010104;

/// `modprobe -- ip_vs`, as ipvsadm does when the kernel has no IPVS yet; true if it ran and
/// succeeded.
fn modprobe_ip_vs() -> bool {
    std::process::Command::new("/sbin/modprobe")
        .args(["--", "ip_vs"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The warning ipvsadm prints when the kernel's IPVS is older than it needs.
pub fn version_warning(version: u32) -> Option<String> {
    if version >= MIN_IPVS_VERSION {
        return None;
    }
    let v = |x: u32| format!("{}.{}.{}", (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff);
    Some(format!(
        "Warning: IPVS version mismatch: \n  Kernel compiled with IPVS version {}\n  ipvsadm v1.31  requires minimum IPVS version {}\n\n",
        v(version),
        v(MIN_IPVS_VERSION)
    ))
}

/// What ipvsadm prints when it cannot reach IPVS at all (it then exits 2).
pub fn init_failure(e: &IpvsError) -> String {
    let why = match e {
        IpvsError::NoFamily => "Protocol not available".to_string(),
        other => other.to_string(),
    };
    format!(
        "Can't initialize ipvs: {why}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
    )
}

fn open_kernel() -> Result<(NetlinkIpvs, Info), IpvsError> {
    let open = || NetlinkIpvs::new().and_then(|mut t| t.info().map(|info| (t, info)));
    match open() {
        Err(IpvsError::NoFamily) if modprobe_ip_vs() => open(),
        other => other,
    }
}

/// The whole program: `argv` as the process got it; returns the exit status.
pub fn main(argv: Vec<String>, io: &mut Io<'_>) -> u8 {
    let mut table = match open_kernel() {
        Ok((t, info)) => {
            if let Some(w) = version_warning(info.version) {
                let _ = io.err.write_all(w.as_bytes());
            }
            t
        }
        Err(e) => {
            let _ = io.err.write_all(init_failure(&e).as_bytes());
            return 2;
        }
    };
    let args = argv.get(1..).unwrap_or_default();
    let outcome = if args.is_empty() {
        // No arguments: list with names, as `ipvsadm -L`.
        run(&["-L".to_string()], &mut table, io, false)
    } else {
        run(args, &mut table, io, false)
    };
    let _ = io.out.flush();
    outcome.status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_below_1_1_4() {
        assert_eq!(version_warning(0x010201), None);
        assert_eq!(version_warning(MIN_IPVS_VERSION), None);
        let w = version_warning(0x010103).unwrap();
        assert!(w.contains("Kernel compiled with IPVS version 1.1.3\n"));
        assert!(w.contains("requires minimum IPVS version 1.1.4\n\n"));
    }

    #[test]
    fn missing_family_reads_like_enoprotoopt() {
        assert_eq!(
            init_failure(&IpvsError::NoFamily),
            "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
        );
    }
}
