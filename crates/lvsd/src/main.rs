//! lvsd: see lvsd(8). All logic lives in the library.

fn main() {
    std::process::exit(lvsd::start::main(std::env::args_os().collect()));
}
