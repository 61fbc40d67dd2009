//! `ipvsadm-rs`: see [`ipvsadm_rs`].

use std::process::ExitCode;

use ipvsadm_rs::run::Io;

fn main() -> ExitCode {
    // Arguments that are not UTF-8 reach the parser (and its error messages) lossily
    // instead of panicking.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = argv.first().cloned().unwrap_or_else(|| "ipvsadm-rs".into());
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        program,
        conn_file: "/proc/net/ip_vs_conn".into(),
    };
    ExitCode::from(ipvsadm_rs::start::main(argv, &mut io))
}
