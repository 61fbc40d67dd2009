//! nanny: see nanny(8). All logic lives in the library.

fn main() {
    std::process::exit(nanny::start::main(std::env::args_os().collect()));
}
