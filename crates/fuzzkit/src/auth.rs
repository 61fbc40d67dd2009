//! pulse's authenticated heartbeats (`heartbeat_key_file`) and the lvs.cf transfer of
//! `config_sync`.

use pulse::auth::codec::{self, Key};
use pulse::auth::{AuthSettings, Authenticator, keys};
use pulse::sync_plan::Version;
use pulse::sync_transfer;
use pulse::wire::Mode;

const KEYS: &str = "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\
                    7 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n";

/// A datagram, then a stream of datagrams (split at 0xff), as a node with keys 1 and 7
/// receives them: what the decoder accepts is exactly what the encoder makes of its fields,
/// and no node accepts the same authenticated datagram twice, in either mode.
pub fn heartbeat_auth(data: &[u8]) {
    let set = keys::parse(KEYS, "fuzz").expect("valid keys");
    if let Ok(f) = codec::decode(data, set.all()) {
        let key: &Key = set
            .all()
            .iter()
            .find(|k| k.id == f.key_id)
            .expect("its key");
        assert_eq!(&f.encode(key)[..], data);
    }
    for permissive in [false, true] {
        let settings = AuthSettings {
            keys: set.clone(),
            permissive,
        };
        let mut node = Authenticator::new(settings, 1, 2);
        let mut accepted: Vec<&[u8]> = Vec::new();
        for d in data.split(|b| *b == 0xff) {
            if node.accept(d, Mode::Lvs, || 3).is_ok() && d.len() != 4 {
                assert!(!accepted.contains(&d), "accepted twice");
                accepted.push(d);
            }
        }
    }
    // The same bytes as a transfer answer: refused or read, never a panic.
    let nonce = [7u8; sync_transfer::NONCE];
    if let Ok((serial, text)) = sync_transfer::read_answer(set.all(), &nonce, data) {
        let _ = sync_transfer::check_received(
            Version::of(serial.saturating_sub(1), b""),
            serial,
            &text,
        );
    }
}
