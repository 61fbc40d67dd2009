//! libFuzzer entry for `fuzzkit::heartbeat` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::heartbeat(data));
