//! libFuzzer entry for `fuzzkit::gui_bodies` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::gui_bodies(data));
