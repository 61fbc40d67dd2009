//! libFuzzer entry for `fuzzkit::nanny_escape` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::nanny_escape(data));
