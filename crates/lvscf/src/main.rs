//! `lvscf`: check, dump and format /etc/lvs.cf. The work is in [`lvscf::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lvscf::cli::Cli::parse();
    let code = lvscf::cli::run(&cli, &mut std::io::stdout(), &mut std::io::stderr());
    ExitCode::from(code)
}
