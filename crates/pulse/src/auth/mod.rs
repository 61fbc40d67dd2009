//! Authenticated heartbeats (lvs.cf's `heartbeat_key_file`, `heartbeat_auth`), free of I/O
//! and clocks except [`keys::load`]:
//!
//! - [`codec`]: the 70-byte datagram (piranha's magic first) and its HMAC-SHA256 tag;
//! - [`verifier`]: replay protection with a challenge answered by every new sender id;
//! - [`keys`]: the key file;
//! - [`Authenticator`]: one node's signing and checking, as the main loop uses it.

pub mod codec;
pub mod keys;
pub mod verifier;

use lvscf::HeartbeatAuth;

use crate::sync_plan::Version as FileVersion;
use crate::wire::{self, Magic, Mode};
use codec::Invalid;
pub use keys::{KeyFileError, KeySet};
use verifier::{Fresh, Stale, Verifier};

/// What `heartbeat_key_file` and `heartbeat_auth` make of heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub keys: KeySet,
    /// Plain piranha heartbeats are accepted too (and counted).
    pub permissive: bool,
}

impl AuthSettings {
    pub fn new(keys: KeySet, mode: Option<HeartbeatAuth>) -> AuthSettings {
        AuthSettings {
            keys,
            permissive: mode == Some(HeartbeatAuth::Permissive),
        }
    }

    /// `enforce` or `permissive`.
    pub fn mode_name(&self) -> &'static str {
        if self.permissive {
            "permissive"
        } else {
            "enforce"
        }
    }
}

/// Why a datagram was refused by authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A plain 4-byte heartbeat while authentication is enforced.
    Unauthenticated,
    Truncated,
    Oversized,
    BadVersion,
    UnknownKey,
    Forged,
    Replayed,
    Unchallenged,
    /// Authentic (or plain and permitted), but a magic this node does not accept.
    Magic(wire::Rejected),
}

impl From<Invalid> for Refused {
    fn from(i: Invalid) -> Refused {
        match i {
            Invalid::Plain => Refused::Unauthenticated,
            Invalid::Truncated => Refused::Truncated,
            Invalid::Oversized => Refused::Oversized,
            Invalid::BadVersion => Refused::BadVersion,
            Invalid::UnknownKey => Refused::UnknownKey,
            Invalid::Forged => Refused::Forged,
        }
    }
}

impl From<Stale> for Refused {
    fn from(s: Stale) -> Refused {
        match s {
            Stale::Replayed => Refused::Replayed,
            Stale::Unchallenged => Refused::Unchallenged,
        }
    }
}

/// An accepted heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub magic: Magic,
    /// A plain heartbeat, accepted in permissive mode.
    pub plain: bool,
    /// The first heartbeat of a new sender id (partner start or restart).
    pub new_sender: bool,
    /// The partner's lvs.cf version, when it sends it (`config_sync`).
    pub file: Option<FileVersion>,
}

/// One node's authentication: its sender id and sequence, its keys, its replay checks.
#[derive(Debug, Clone)]
pub struct Authenticator {
    settings: AuthSettings,
    sender: u64,
    seq: u64,
    verifier: Verifier,
    /// This node's lvs.cf version, sent with each heartbeat (`config_sync`).
    file: Option<FileVersion>,
}

impl Authenticator {
    /// `sender` and `challenge` are random, chosen at start.
    pub fn new(settings: AuthSettings, sender: u64, challenge: u64) -> Authenticator {
        Authenticator {
            settings,
            sender,
            seq: 0,
            verifier: Verifier::new(challenge),
            file: None,
        }
    }

    /// New keys or mode (SIGHUP); the sender id, sequence and replay state stay.
    pub fn set(&mut self, settings: AuthSettings) {
        self.settings = settings;
    }

    /// The lvs.cf version to send from now on (`config_sync`), or none.
    pub fn set_file(&mut self, file: Option<FileVersion>) {
        self.file = file;
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// This node's sender id.
    pub fn sender(&self) -> u64 {
        self.sender
    }

    /// The partner's accepted sender id.
    pub fn partner_sender(&self) -> Option<u64> {
        self.verifier.sender()
    }

    /// The next datagram carrying `m`, signed with the first key.
    pub fn sign(&mut self, m: Magic) -> Vec<u8> {
        self.seq += 1;
        codec::Fields {
            magic: m.value(),
            key_id: 0,
            sender: self.sender,
            seq: self.seq,
            challenge: self.verifier.challenge(),
            echo: self.verifier.echo(),
            file: self.file,
        }
        .encode(self.settings.keys.signing())
    }

    /// A datagram carrying `m` with the sequence number `seq` given (one kept for it, see
    /// [`crate::watchdog::LAST_SEQ`]), signed now to be sent later by someone without the
    /// key; this node's own sequence does not move.
    pub fn sign_reserved(&self, m: Magic, seq: u64) -> Vec<u8> {
        codec::Fields {
            magic: m.value(),
            key_id: 0,
            sender: self.sender,
            seq,
            challenge: self.verifier.challenge(),
            echo: self.verifier.echo(),
            file: self.file,
        }
        .encode(self.settings.keys.signing())
    }

    /// Check a datagram from the partner's address. `fresh` gives a random number when a
    /// new challenge is needed.
    pub fn accept(
        &mut self,
        data: &[u8],
        mode: Mode,
        fresh: impl FnOnce() -> u64,
    ) -> Result<Accepted, Refused> {
        let f = match codec::decode(data, self.settings.keys.all()) {
            Err(Invalid::Plain) if self.settings.permissive => {
                let magic = wire::decode(data, mode).map_err(Refused::Magic)?;
                return Ok(Accepted {
                    magic,
                    plain: true,
                    new_sender: false,
                    file: None,
                });
            }
            r => r?,
        };
        let magic = wire::decode(&f.magic.to_le_bytes(), mode).map_err(Refused::Magic)?;
        let fresh = self
            .verifier
            .check(f.sender, f.seq, f.challenge, f.echo, fresh)?;
        Ok(Accepted {
            magic,
            plain: false,
            new_sender: fresh == Fresh::NewSender,
            file: f.file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    const K2: &str = "2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n";

    fn node(keys: &str, permissive: bool, sender: u64, challenge: u64) -> Authenticator {
        let keys = keys::parse(keys, "/k").unwrap();
        Authenticator::new(AuthSettings { keys, permissive }, sender, challenge)
    }

    /// Exchange heartbeats until both accept each other.
    fn handshake(a: &mut Authenticator, b: &mut Authenticator) {
        for _ in 0..2 {
            let d = a.sign(Magic::Running);
            let _ = b.accept(&d, Mode::Lvs, || 77);
            let d = b.sign(Magic::Stopped);
            let _ = a.accept(&d, Mode::Lvs, || 78);
        }
        assert!(a.partner_sender() == Some(b.sender()) && b.partner_sender() == Some(a.sender()));
    }

    #[test]
    fn two_nodes_handshake_then_accept_every_heartbeat() {
        let mut a = node(K1, false, 1, 10);
        let mut b = node(K1, false, 2, 20);
        // a's first heartbeat cannot echo b's challenge yet.
        let d = a.sign(Magic::Running);
        assert_eq!(b.accept(&d, Mode::Lvs, || 0), Err(Refused::Unchallenged));
        // b echoes a's challenge: a accepts b at once.
        let d = b.sign(Magic::Stopped);
        assert_eq!(
            a.accept(&d, Mode::Lvs, || 11),
            Ok(Accepted {
                magic: Magic::Stopped,
                plain: false,
                new_sender: true,
                file: None
            })
        );
        let d = a.sign(Magic::Running);
        assert!(b.accept(&d, Mode::Lvs, || 21).unwrap().new_sender);
        for _ in 0..5 {
            let d = a.sign(Magic::Running);
            assert_eq!(b.accept(&d, Mode::Lvs, || 0).unwrap().magic, Magic::Running);
            // The same datagram again: a replay.
            assert_eq!(b.accept(&d, Mode::Lvs, || 0), Err(Refused::Replayed));
        }
    }

    #[test]
    fn plain_heartbeats_need_permissive_mode() {
        let mut a = node(K1, false, 1, 10);
        assert_eq!(
            a.accept(&Magic::Running.encode(), Mode::Lvs, || 0),
            Err(Refused::Unauthenticated)
        );
        let mut p = node(K1, true, 1, 10);
        assert_eq!(
            p.accept(&Magic::Running.encode(), Mode::Lvs, || 0),
            Ok(Accepted {
                magic: Magic::Running,
                plain: true,
                new_sender: false,
                file: None
            })
        );
        // Permissive mode does not take a failed authenticated datagram as a plain one.
        let mut other = node(K2, false, 5, 50);
        let d = other.sign(Magic::Running);
        assert_eq!(p.accept(&d, Mode::Lvs, || 0), Err(Refused::UnknownKey));
        assert!(matches!(
            p.accept(&Magic::FosRunning.encode(), Mode::Lvs, || 0),
            Err(Refused::Magic(_))
        ));
    }

    #[test]
    fn rotation_one_node_at_a_time() {
        let mut a = node(K1, false, 1, 10);
        let mut b = node(K1, false, 2, 20);
        handshake(&mut a, &mut b);
        // Both learn key 2 (second: verifies only), then a signs with it, then b.
        let both = keys::parse(&format!("{K1}{K2}"), "/k").unwrap();
        let new_first = keys::parse(&format!("{K2}{K1}"), "/k").unwrap();
        a.set(AuthSettings::new(both.clone(), None));
        b.set(AuthSettings::new(both, None));
        a.set(AuthSettings::new(new_first.clone(), None));
        let d = a.sign(Magic::Running);
        assert_eq!(d[5], 2);
        assert!(b.accept(&d, Mode::Lvs, || 0).is_ok());
        b.set(AuthSettings::new(new_first, None));
        let d = b.sign(Magic::Stopped);
        assert!(a.accept(&d, Mode::Lvs, || 0).is_ok());
        // Key 1 removed everywhere: a datagram signed with it is an unknown key.
        let only2 = keys::parse(K2, "/k").unwrap();
        a.set(AuthSettings::new(only2, None));
        let mut old = node(K1, false, 2, 20);
        assert_eq!(
            a.accept(&old.sign(Magic::Running), Mode::Lvs, || 0),
            Err(Refused::UnknownKey)
        );
    }

    #[test]
    fn the_file_version_travels_with_the_heartbeat() {
        let mut a = node(K1, false, 1, 10);
        let mut b = node(K1, false, 2, 20);
        handshake(&mut a, &mut b);
        let v = FileVersion {
            serial: 12,
            digest: [3; 8],
        };
        a.set_file(Some(v));
        let d = a.sign(Magic::Running);
        assert_eq!(d.len(), codec::LEN_WITH_FILE);
        assert_eq!(b.accept(&d, Mode::Lvs, || 0).unwrap().file, Some(v));
        a.set_file(None);
        let d = a.sign(Magic::Running);
        assert_eq!(b.accept(&d, Mode::Lvs, || 0).unwrap().file, None);
    }

    #[test]
    fn mismatched_keys_never_pair() {
        let mut a = node(K1, false, 1, 10);
        let mut b = node(&K2.replace("2 ", "1 "), false, 2, 20);
        for _ in 0..3 {
            assert_eq!(
                b.accept(&a.sign(Magic::Running), Mode::Lvs, || 0),
                Err(Refused::Forged)
            );
            assert_eq!(
                a.accept(&b.sign(Magic::Stopped), Mode::Lvs, || 0),
                Err(Refused::Forged)
            );
        }
    }

    #[test]
    fn a_restarted_partner_is_accepted_and_its_old_datagrams_are_not() {
        let mut a = node(K1, false, 1, 10);
        let mut b = node(K1, false, 2, 20);
        handshake(&mut a, &mut b);
        let recorded: Vec<_> = (0..3).map(|_| b.sign(Magic::Stopped)).collect();
        let mut b2 = node(K1, false, 3, 30);
        handshake(&mut a, &mut b2);
        for d in &recorded {
            assert_eq!(a.accept(d, Mode::Lvs, || 0), Err(Refused::Replayed));
        }
    }
}
