//! The lvs.cf transfer of `config_sync`, free of I/O: the node with the older file connects
//! to its partner's `sync_port` (TCP) and sends a random 16-byte nonce; the partner answers
//! with its file, authenticated with the heartbeat key over the nonce (so an answer cannot
//! be replayed), and closes the connection.
//!
//! ```text
//! answer: "PLVS" | version 1 | key id | serial_no (8, big-endian) | length (4, big-endian)
//!         | file | HMAC-SHA256(key, "pulse lvs.cf sync" || nonce || everything before)
//! ```
//!
//! The receiver takes the file only when it is authentic, newer than its own, says the
//! serial it was sent with, and is a valid lvs.cf ([`check_received`]).

use crate::auth::codec::Key;
use crate::sync_plan::{self, Version};

/// The nonce's length.
pub const NONCE: usize = 16;
/// The largest file sent.
pub const MAX_FILE: usize = 4 << 20;
const MAGIC: &[u8; 4] = b"PLVS";
const HEAD: usize = 18;
const CONTEXT: &[u8] = b"pulse lvs.cf sync";

/// Why an answer or a received file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the answer is truncated or malformed")]
    Malformed,
    #[error("the file is larger than {MAX_FILE} bytes")]
    TooLarge,
    #[error("the answer is signed with key {0}, which this node does not have")]
    UnknownKey(u8),
    #[error("the answer's authentication tag is wrong")]
    Forged,
    #[error("the partner's file (serial {got}) is not newer than this one (serial {own})")]
    NotNewer { own: i64, got: i64 },
    #[error("the file says serial_no {inside}, but was sent as serial {sent}")]
    SerialMismatch { sent: i64, inside: i64 },
    #[error("the partner's file is invalid: {0}")]
    Invalid(String),
}

/// The answer to `nonce`: `text` with its serial, signed with `key`.
pub fn answer(key: &Key, nonce: &[u8; NONCE], serial: i64, text: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEAD + text.len() + 32);
    b.extend_from_slice(MAGIC);
    b.push(1);
    b.push(key.id);
    b.extend_from_slice(&serial.to_be_bytes());
    b.extend_from_slice(&(text.len() as u32).to_be_bytes());
    b.extend_from_slice(text);
    let tag = key.tag_parts(&[CONTEXT, nonce, &b]);
    b.extend_from_slice(&tag);
    b
}

/// How many bytes a whole answer has, once its head is in (`None` before 18 bytes).
pub fn answer_len(head: &[u8]) -> Option<usize> {
    let len = u32::from_be_bytes(head.get(14..HEAD)?.try_into().ok()?) as usize;
    Some(HEAD + len + 32)
}

/// The serial and text of an authentic answer to `nonce`.
pub fn read_answer(keys: &[Key], nonce: &[u8; NONCE], b: &[u8]) -> Result<(i64, Vec<u8>), Refused> {
    if b.len() < HEAD + 32 || &b[..4] != MAGIC || b[4] != 1 {
        return Err(Refused::Malformed);
    }
    let len = answer_len(b).ok_or(Refused::Malformed)?;
    if len - HEAD - 32 > MAX_FILE {
        return Err(Refused::TooLarge);
    }
    if b.len() != len {
        return Err(Refused::Malformed);
    }
    let key = keys
        .iter()
        .find(|k| k.id == b[5])
        .ok_or(Refused::UnknownKey(b[5]))?;
    let (body, tag) = b.split_at(len - 32);
    if !key.verifies_parts(&[CONTEXT, nonce, body], tag) {
        return Err(Refused::Forged);
    }
    let mut serial = [0u8; 8];
    serial.copy_from_slice(&b[6..14]);
    Ok((i64::from_be_bytes(serial), body[HEAD..].to_vec()))
}

/// Whether a received file may replace this node's (`own`): its version when it may.
pub fn check_received(own: Version, serial: i64, text: &[u8]) -> Result<Version, Refused> {
    let got = Version::of(serial, text);
    if !sync_plan::may_replace(own, got) {
        return Err(Refused::NotNewer {
            own: own.serial,
            got: serial,
        });
    }
    let src = String::from_utf8_lossy(text);
    let parsed = lvscf::parse(&src);
    if parsed.has_errors() {
        let first = parsed
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| d.message.clone())
            .unwrap_or_default();
        return Err(Refused::Invalid(first));
    }
    if parsed.model.serial_no != serial {
        return Err(Refused::SerialMismatch {
            sent: serial,
            inside: parsed.model.serial_no,
        });
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "serial_no = 7\nprimary = 10.0.0.1\nvirtual web {\n    active = 1\n    address = 10.0.0.100 eth0:1\n    server a {\n        address = 10.0.1.1\n        active = 1\n    }\n}\n";

    fn key(id: u8) -> Key {
        Key::new(id, &[id; 32])
    }

    #[test]
    fn an_answer_reads_back_only_with_its_nonce_and_key() {
        let n = [4u8; NONCE];
        let a = answer(&key(1), &n, 7, FILE.as_bytes());
        assert_eq!(answer_len(&a), Some(a.len()));
        assert_eq!(
            read_answer(&[key(1)], &n, &a),
            Ok((7, FILE.as_bytes().to_vec()))
        );
        // Replayed to another request, or with another key: refused.
        assert_eq!(
            read_answer(&[key(1)], &[5; NONCE], &a),
            Err(Refused::Forged)
        );
        assert_eq!(read_answer(&[key(2)], &n, &a), Err(Refused::UnknownKey(1)));
        let mut other = key(1);
        other = Key::new(other.id, &[9; 32]);
        assert_eq!(read_answer(&[other], &n, &a), Err(Refused::Forged));
        assert_eq!(
            read_answer(&[key(1)], &n, &a[..30]),
            Err(Refused::Malformed)
        );
        let mut changed = a.clone();
        changed[HEAD + 3] ^= 1;
        assert_eq!(read_answer(&[key(1)], &n, &changed), Err(Refused::Forged));
    }

    #[test]
    fn a_received_file_must_be_newer_valid_and_say_its_serial() {
        let own = Version::of(6, b"old");
        assert_eq!(check_received(own, 7, FILE.as_bytes()).unwrap().serial, 7);
        assert_eq!(
            check_received(Version::of(7, b"x"), 7, FILE.as_bytes()),
            Err(Refused::NotNewer { own: 7, got: 7 })
        );
        assert_eq!(
            check_received(own, 8, FILE.as_bytes()),
            Err(Refused::SerialMismatch { sent: 8, inside: 7 })
        );
        let bad = FILE.replace("active = 1\n    address", "active = 2\n    address");
        assert!(matches!(
            check_received(own, 7, bad.as_bytes()),
            Err(Refused::Invalid(_))
        ));
    }
}
