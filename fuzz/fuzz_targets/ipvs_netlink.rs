//! libFuzzer entry for `fuzzkit::ipvs_netlink` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::ipvs_netlink(data));
