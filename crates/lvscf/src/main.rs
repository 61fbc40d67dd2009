//! `lvscf`: check, dump and format /etc/lvs.cf. The work is in [`lvscf::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lvscf::cli::Cli::parse();
    let (code, loaded) = lvscf::cli::run_keep(&cli, &mut std::io::stdout(), &mut std::io::stderr());
    // The process ends here: let the OS reclaim the parsed file instead of freeing it piece
    // by piece (about 10 ms for a 10,000-service file).
    std::mem::forget(loaded);
    ExitCode::from(code)
}
