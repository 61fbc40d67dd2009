//! libFuzzer entry for `fuzzkit::lvscf` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::lvscf(data));
