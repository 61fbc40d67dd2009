//! libFuzzer entry for `fuzzkit::ipvsadm_restore` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::ipvsadm_restore(data));
