//! piranha-passwd: see piranha-passwd(8). All logic lives in the library.

fn main() {
    std::process::exit(gui::passwd_cmd::main());
}
