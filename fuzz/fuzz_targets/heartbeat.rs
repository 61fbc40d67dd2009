//! Fuzz pulse's authenticated heartbeat decoder and its replay checks: any bytes must be
//! refused or accepted without panicking; what the decoder accepts must be exactly what the
//! encoder makes of its fields; and a node must never accept the same datagram twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse::auth::codec::{self, Key};
use pulse::auth::{AuthSettings, Authenticator, keys};
use pulse::wire::Mode;

const KEYS: &str = "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\
                    7 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n";

fuzz_target!(|data: &[u8]| {
    let set = keys::parse(KEYS, "fuzz").expect("valid keys");
    if let Ok(f) = codec::decode(data, set.all()) {
        let key: &Key = set.all().iter().find(|k| k.id == f.key_id).expect("its key");
        assert_eq!(&f.encode(key)[..], data);
    }
    // The input as a stream of datagrams (split at 0xff) to one node, in both modes.
    for permissive in [false, true] {
        let mut node = Authenticator::new(
            AuthSettings {
                keys: set.clone(),
                permissive,
            },
            1,
            2,
        );
        let mut accepted: Vec<&[u8]> = Vec::new();
        for d in data.split(|b| *b == 0xff) {
            if node.accept(d, Mode::Lvs, || 3).is_ok() && d.len() == codec::LEN {
                assert!(!accepted.contains(&d), "accepted twice");
                accepted.push(d);
            }
        }
    }
});
