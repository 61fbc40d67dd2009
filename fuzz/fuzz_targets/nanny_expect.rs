//! libFuzzer entry for `fuzzkit::nanny_expect` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::nanny_expect(data));
