//! The authenticated heartbeat datagram, free of I/O and clocks: 70 bytes, piranha's magic
//! first so that the message type is unchanged (a piranha that reads 4 bytes sees a plain
//! heartbeat), then the fields below and an HMAC-SHA256 tag over everything before it.
//!
//! ```text
//! offset size field
//!      0    4 magic        piranha's 32-bit magic, little-endian (wire::Magic)
//!      4    1 version      1
//!      5    1 key id       which key of the key file signed it (0..=255)
//!      6    8 sender id    random, chosen once per start of the sender
//!     14    8 sequence     big-endian, strictly increasing per sender id, from 1
//!     22    8 challenge    the sender's current challenge to its partner (random)
//!     30    8 echo         the partner's challenge as last heard by the sender, or 0
//!     38   32 tag          HMAC-SHA256(key, bytes 0..38)
//! ```
//!
//! With `config_sync` the sender's lvs.cf version follows the echo (format version 2, 86
//! bytes): `serial_no` (8, big-endian, signed) at 38, the first 8 bytes of the SHA-256 of
//! the file at 46, and the tag at 54 over bytes 0..54.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sync_plan::Version as FileVersion;
use crate::wire::Magic;

/// The length of an authenticated heartbeat.
pub const LEN: usize = 70;
/// The length of one that carries the sender's lvs.cf version.
pub const LEN_WITH_FILE: usize = 86;
/// The format version of [`LEN`] datagrams.
pub const VERSION: u8 = 1;
/// The format version of [`LEN_WITH_FILE`] datagrams.
pub const VERSION_WITH_FILE: u8 = 2;
/// Where the fields end (and the file version or the tag starts).
const FIELDS_END: usize = 38;

/// One heartbeat key: its id in the key file and a keyed HMAC ready to be cloned.
#[derive(Clone)]
pub struct Key {
    pub id: u8,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A key from its bytes (any length is accepted by HMAC; the key file asks for 32 or more).
    pub fn new(id: u8, secret: &[u8]) -> Key {
        let mac = match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(m) => m,
            // HMAC takes keys of every length; this arm is never taken.
            Err(_) => Hmac::<Sha256>::new(&Default::default()),
        };
        Key { id, mac }
    }

    fn tag(&self, signed: &[u8]) -> [u8; 32] {
        self.tag_parts(&[signed])
    }

    /// The tag over the concatenation of `parts`.
    pub fn tag_parts(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.mac.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Whether `tag` is the tag over the concatenation of `parts`, in constant time.
    pub fn verifies_parts(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.mac.clone();
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }

    /// Whether `tag` is this key's tag over `signed`, compared in constant time.
    fn verifies(&self, signed: &[u8], tag: &[u8]) -> bool {
        let mut m = self.mac.clone();
        m.update(signed);
        m.verify_slice(tag).is_ok()
    }
}

/// The fields of an authenticated heartbeat, without the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    /// The raw magic (the caller decides whether this node accepts it).
    pub magic: u32,
    pub key_id: u8,
    pub sender: u64,
    pub seq: u64,
    pub challenge: u64,
    pub echo: u64,
    /// The sender's lvs.cf version (`config_sync`).
    pub file: Option<FileVersion>,
}

impl Fields {
    /// The datagram, signed with `key` (whose id replaces `key_id`).
    pub fn encode(&self, key: &Key) -> Vec<u8> {
        let mut b = vec![
            0u8;
            if self.file.is_some() {
                LEN_WITH_FILE
            } else {
                LEN
            }
        ];
        b[0..4].copy_from_slice(&self.magic.to_le_bytes());
        b[4] = if self.file.is_some() {
            VERSION_WITH_FILE
        } else {
            VERSION
        };
        b[5] = key.id;
        b[6..14].copy_from_slice(&self.sender.to_be_bytes());
        b[14..22].copy_from_slice(&self.seq.to_be_bytes());
        b[22..30].copy_from_slice(&self.challenge.to_be_bytes());
        b[30..38].copy_from_slice(&self.echo.to_be_bytes());
        let mut end = FIELDS_END;
        if let Some(f) = self.file {
            b[38..46].copy_from_slice(&f.serial.to_be_bytes());
            b[46..54].copy_from_slice(&f.digest);
            end = 54;
        }
        let tag = key.tag(&b[..end]);
        b[end..].copy_from_slice(&tag);
        b
    }
}

/// Why a datagram is not an authentic heartbeat, before any replay check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// 4 bytes: a plain piranha heartbeat.
    Plain,
    /// Fewer than [`LEN`] bytes (and not exactly 4), or between [`LEN`] and
    /// [`LEN_WITH_FILE`].
    Truncated,
    /// More than [`LEN_WITH_FILE`] bytes.
    Oversized,
    /// A format version this node does not know, or that does not fit the length.
    BadVersion,
    UnknownKey,
    /// The tag does not match: forged, corrupted, or signed with another key of that id.
    Forged,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Read and authenticate a datagram against `keys`: the fields when the tag is right.
pub fn decode(datagram: &[u8], keys: &[Key]) -> Result<Fields, Invalid> {
    let (version, end) = match datagram.len() {
        4 => return Err(Invalid::Plain),
        LEN => (VERSION, FIELDS_END),
        LEN_WITH_FILE => (VERSION_WITH_FILE, 54),
        n if n > LEN_WITH_FILE => return Err(Invalid::Oversized),
        _ => return Err(Invalid::Truncated),
    };
    if datagram[4] != version {
        return Err(Invalid::BadVersion);
    }
    let key_id = datagram[5];
    let key = keys
        .iter()
        .find(|k| k.id == key_id)
        .ok_or(Invalid::UnknownKey)?;
    if !key.verifies(&datagram[..end], &datagram[end..]) {
        return Err(Invalid::Forged);
    }
    let file = (version == VERSION_WITH_FILE).then(|| {
        let mut digest = [0u8; 8];
        digest.copy_from_slice(&datagram[46..54]);
        FileVersion {
            serial: u64_at(datagram, 38) as i64,
            digest,
        }
    });
    Ok(Fields {
        magic: u32::from_le_bytes([datagram[0], datagram[1], datagram[2], datagram[3]]),
        key_id,
        sender: u64_at(datagram, 6),
        seq: u64_at(datagram, 14),
        challenge: u64_at(datagram, 22),
        echo: u64_at(datagram, 30),
        file,
    })
}

/// The magic of an authenticated datagram, for a caller that checks it is one this node
/// accepts.
pub fn magic(f: &Fields) -> Option<Magic> {
    Magic::from_value(f.magic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(id: u8, b: u8) -> Key {
        Key::new(id, &[b; 32])
    }

    fn fields() -> Fields {
        Fields {
            magic: Magic::Running.value(),
            key_id: 1,
            sender: 0x0102_0304_0506_0708,
            seq: 7,
            challenge: 0xaaaa,
            echo: 0xbbbb,
            file: None,
        }
    }

    #[test]
    fn layout_and_round_trip() {
        let k = key(1, 0x11);
        let b = fields().encode(&k);
        assert_eq!(&b[..4], &Magic::Running.encode());
        assert_eq!((b[4], b[5]), (1, 1));
        assert_eq!(&b[6..14], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[14..22], &[0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(decode(&b, &[key(9, 0x99), k.clone()]), Ok(fields()));
        assert_eq!(magic(&fields()), Some(Magic::Running));
        // With the file's version: 86 bytes, format 2.
        let f = Fields {
            file: Some(FileVersion {
                serial: -5,
                digest: [9; 8],
            }),
            ..fields()
        };
        let b = f.encode(&k);
        assert_eq!((b.len(), b[4]), (LEN_WITH_FILE, 2));
        assert_eq!(&b[38..46], &(-5i64).to_be_bytes());
        assert_eq!(decode(&b, std::slice::from_ref(&k)), Ok(f));
        // A version 1 datagram padded to 86 bytes, or a version 2 one cut to 70: refused.
        let mut v = b.clone();
        v[4] = 1;
        assert_eq!(
            decode(&v, std::slice::from_ref(&k)),
            Err(Invalid::BadVersion)
        );
        assert_eq!(
            decode(&b[..80], std::slice::from_ref(&k)),
            Err(Invalid::Truncated)
        );
    }

    #[test]
    fn every_cause() {
        let k = key(1, 0x11);
        let b = fields().encode(&k);
        let ks = std::slice::from_ref(&k);
        assert_eq!(decode(&b[..4], ks), Err(Invalid::Plain));
        assert_eq!(decode(&b[..3], ks), Err(Invalid::Truncated));
        assert_eq!(decode(&b[..69], ks), Err(Invalid::Truncated));
        let mut long = b.to_vec();
        long.extend_from_slice(&[0; 17]);
        assert_eq!(decode(&long, ks), Err(Invalid::Oversized));
        let mut v = b.clone();
        v[4] = 2;
        assert_eq!(decode(&v, ks), Err(Invalid::BadVersion));
        assert_eq!(decode(&b, &[key(2, 0x11)]), Err(Invalid::UnknownKey));
        // The same id with another secret: a forgery.
        assert_eq!(decode(&b, &[key(1, 0x12)]), Err(Invalid::Forged));
        // Any bit changed, anywhere, is a forgery (or a bad version or key id).
        for i in 0..LEN {
            let mut v = b.clone();
            v[i] ^= 0x40;
            assert!(decode(&v, ks).is_err(), "byte {i}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = format!("{:?}", key(3, 0xab));
        assert!(
            s.contains("id: 3") && !s.contains("171") && !s.contains("ab"),
            "{s}"
        );
    }

    proptest! {
        #[test]
        fn garbage_never_panics_and_never_passes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let k = key(bytes.get(5).copied().unwrap_or(0), 0x11);
            prop_assert!(decode(&bytes, &[k]).is_err());
        }

        #[test]
        fn what_is_encoded_decodes(magic in any::<u32>(), id in any::<u8>(), sender in any::<u64>(),
                                   seq in any::<u64>(), challenge in any::<u64>(), echo in any::<u64>()) {
            let k = key(id, 0x5a);
            let file = (seq % 2 == 0).then_some(FileVersion { serial: challenge as i64, digest: echo.to_be_bytes() });
            let f = Fields { magic, key_id: id, sender, seq, challenge, echo, file };
            prop_assert_eq!(decode(&f.encode(&k), &[k]), Ok(f));
        }
    }
}
