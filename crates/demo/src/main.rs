//! piranha-demo: a small cluster on loopback, without root and without IPVS.
//!
//! It starts three web servers (127.0.0.1:9001-9003), then lvsd on `etc/lvs.cf.demo` with
//! the userspace data plane and one nanny per web server, sends requests through the virtual
//! address 127.0.0.80:8080 every second and prints who answered, stops web2 for a while so
//! nanny takes it out and puts it back, and stops everything on Ctrl-C.
//!
//! The one binary is also `lvsd` and `nanny`: it links both and dispatches on the name it was
//! started as (the demo runs them through symbolic links), so `cargo run` builds all it needs.

mod demo;
mod web;

use std::path::Path;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let code = match name.as_str() {
        "nanny" => nanny::start::main(args),
        "lvsd" => lvsd::start::main(args),
        _ => match demo::run(&args) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("piranha-demo: {e:#}");
                1
            }
        },
    };
    std::process::exit(code);
}
