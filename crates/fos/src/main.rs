//! fos: see fos(8). All logic lives in the library.

fn main() {
    std::process::exit(fos::start::main(std::env::args_os().collect()));
}
