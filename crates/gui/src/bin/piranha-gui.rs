//! piranha-gui: the web service of piranha. See [`gui::gui_cmd`].

fn main() {
    std::process::exit(gui::gui_cmd::main(std::env::args_os().collect()));
}
