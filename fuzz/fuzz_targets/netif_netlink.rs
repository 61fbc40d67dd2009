//! libFuzzer entry for `fuzzkit::netif_netlink` (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzzkit::netif_netlink(data));
