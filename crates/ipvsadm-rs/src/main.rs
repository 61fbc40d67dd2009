//! `ipvsadm-rs`: see [`ipvsadm_rs`].

use std::process::ExitCode;

use ipvs::{IpvsError, IpvsTable, NetlinkIpvs};
use ipvsadm_rs::run::{Io, Outcome, run};

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
    // As ipvsadm: reach the kernel first, then read the command line.
    let mut table = match NetlinkIpvs::new().and_then(|mut t| t.info().map(|_| t)) {
        Ok(t) => t,
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
