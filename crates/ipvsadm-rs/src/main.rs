//! `ipvsadm-rs`: see [`ipvsadm_rs`].

use std::process::ExitCode;

use ipvs::{IpvsError, IpvsTable, NetlinkIpvs};
use ipvsadm_rs::run::{Io, Outcome, run};

/// ipvsadm warns below IPVS 1.1.4.
const MIN_IPVS_VERSION: u32 = 0x010104;

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

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let program = argv.first().cloned().unwrap_or_else(|| "ipvsadm-rs".into());
    let args = &argv[1..];
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        program,
        conn_file: "/proc/net/ip_vs_conn".into(),
    };
    // As ipvsadm: reach the kernel first (loading ip_vs once if its family is missing),
    // then read the command line.
    let open = || NetlinkIpvs::new().and_then(|mut t| t.info().map(|info| (t, info)));
    let opened = match open() {
        Err(IpvsError::NoFamily) if modprobe_ip_vs() => open(),
        other => other,
    };
    let mut table = match opened {
        Ok((t, info)) => {
            if info.version < MIN_IPVS_VERSION {
                let v = |x: u32| format!("{}.{}.{}", (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff);
                let _ = std::io::Write::write_all(
                    io.err,
                    format!(
                        "Warning: IPVS version mismatch: \n  Kernel compiled with IPVS version {}\n  ipvsadm v1.31  requires minimum IPVS version {}\n\n",
                        v(info.version),
                        v(MIN_IPVS_VERSION)
                    )
                    .as_bytes(),
                );
            }
            t
        }
        Err(e) => {
            let why = match e {
                IpvsError::NoFamily => "Protocol not available".to_string(),
                other => other.to_string(),
            };
            let _ = std::io::Write::write_all(
                io.err,
                format!(
                    "Can't initialize ipvs: {why}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
                )
                .as_bytes(),
            );
            return ExitCode::from(2);
        }
    };
    let outcome = if args.is_empty() {
        // No arguments: list with names, as `ipvsadm -L`.
        run(&["-L".to_string()], &mut table, &mut io, false)
    } else {
        run(args, &mut table, &mut io, false)
    };
    let _ = std::io::Write::flush(io.out);
    ExitCode::from(match outcome {
        Outcome::Exit(s) => s,
        Outcome::Return(r) => r as u8,
    })
}
