//! libFuzzer entry for `fuzzkit::heartbeat_auth` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::heartbeat_auth(data));
