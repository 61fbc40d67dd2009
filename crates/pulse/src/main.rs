//! pulse: see pulse(8). All logic lives in the library.

fn main() {
    std::process::exit(pulse::start::main(std::env::args_os().collect()));
}
