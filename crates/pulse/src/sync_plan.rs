//! What `config_sync` should do about lvs.cf, given this node's file and what the partner's
//! heartbeats say about its own: pure, so that every rule is a unit test. (The transfer, the
//! atomic write and the heartbeat fields that carry the partner's serial and digest are not
//! built yet; this is the rule they will follow.)
//!
//! `serial_no` is the version. The node with the higher serial sends; a node never
//! overwrites a higher serial; the same serial with another digest is a conflict that
//! nothing resolves silently.

/// One node's file as the other sees it: `serial_no` and a digest of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub serial: i64,
    pub digest: [u8; 8],
}

impl Version {
    /// The version of a file: its `serial_no` and the first 8 bytes of the SHA-256 of its
    /// text.
    pub fn of(serial: i64, text: &[u8]) -> Version {
        use sha2::Digest;
        let full = sha2::Sha256::digest(text);
        let mut digest = [0u8; 8];
        digest.copy_from_slice(&full[..8]);
        Version { serial, digest }
    }

    /// The digest in hexadecimal.
    pub fn digest_hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStep {
    /// The files are the same.
    InSync,
    /// This node's file is newer: send it to the partner.
    Send,
    /// The partner's file is newer: wait for it (never send this one).
    Receive,
    /// Same serial, different text: report it, change nothing.
    Conflict,
}

impl SyncStep {
    /// The name in the status report: this node's file is `in_sync`, `newer`, `older`, or in
    /// `conflict` with the partner's.
    pub fn name(self) -> &'static str {
        match self {
            SyncStep::InSync => "in_sync",
            SyncStep::Send => "newer",
            SyncStep::Receive => "older",
            SyncStep::Conflict => "conflict",
        }
    }
}

/// The step for `own` against the partner's `theirs`.
pub fn plan(own: Version, theirs: Version) -> SyncStep {
    use std::cmp::Ordering::*;
    match own.serial.cmp(&theirs.serial) {
        Greater => SyncStep::Send,
        Less => SyncStep::Receive,
        Equal if own.digest == theirs.digest => SyncStep::InSync,
        Equal => SyncStep::Conflict,
    }
}

/// Whether a file received with version `got` may replace this node's `own`: only a higher
/// serial (a transfer that raced with a local bump must not undo it).
pub fn may_replace(own: Version, got: Version) -> bool {
    got.serial > own.serial
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(serial: i64, d: u8) -> Version {
        Version {
            serial,
            digest: [d; 8],
        }
    }

    #[test]
    fn the_higher_serial_sends_and_equal_serials_must_agree() {
        assert_eq!(plan(v(3, 1), v(2, 9)), SyncStep::Send);
        assert_eq!(plan(v(2, 9), v(3, 1)), SyncStep::Receive);
        assert_eq!(plan(v(3, 1), v(3, 1)), SyncStep::InSync);
        assert_eq!(plan(v(3, 1), v(3, 2)), SyncStep::Conflict);
        // Both sides agree on who sends.
        for (a, b) in [(v(1, 1), v(5, 5)), (v(-2, 0), v(-3, 0)), (v(7, 1), v(7, 2))] {
            let (x, y) = (plan(a, b), plan(b, a));
            assert!(
                matches!(
                    (x, y),
                    (SyncStep::Send, SyncStep::Receive)
                        | (SyncStep::Receive, SyncStep::Send)
                        | (SyncStep::Conflict, SyncStep::Conflict)
                ),
                "{x:?} {y:?}"
            );
        }
    }

    #[test]
    fn a_version_is_the_serial_and_a_digest_of_the_text() {
        let a = Version::of(4, b"serial_no = 4\n");
        assert_eq!(a.serial, 4);
        assert_eq!(a.digest_hex().len(), 16);
        assert_eq!(a, Version::of(4, b"serial_no = 4\n"));
        assert_ne!(a.digest, Version::of(4, b"serial_no = 4\n# x\n").digest);
        assert_eq!(SyncStep::Conflict.name(), "conflict");
    }

    #[test]
    fn never_overwrite_a_higher_or_equal_serial() {
        assert!(may_replace(v(2, 0), v(3, 0)));
        assert!(!may_replace(v(3, 0), v(3, 1)));
        assert!(!may_replace(v(4, 0), v(3, 0)));
    }
}
