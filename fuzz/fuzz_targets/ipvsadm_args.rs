//! libFuzzer entry for `fuzzkit::ipvsadm_args` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::ipvsadm_args(data));
