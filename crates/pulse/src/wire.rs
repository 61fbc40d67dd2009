//! The heartbeat datagram (spec §2.3): exactly one 32-bit magic, in the byte order of the
//! x86 machines piranha ran on (little-endian), with no other field.

use std::fmt;

/// A heartbeat magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Magic {
    /// LVS mode: the sender is active.
    Running,
    /// LVS mode: the sender is inactive.
    Stopped,
    /// FOS mode: active.
    FosRunning,
    /// FOS mode: inactive.
    FosStopped,
    /// FOS: "I am taking over, go inactive".
    StopMe,
    /// Accepted by piranha, but its handling was disabled.
    Hold,
    /// Accepted by piranha, but its handling was disabled.
    Held,
}

impl Magic {
    pub const fn value(self) -> u32 {
        match self {
            Magic::Running => 0xbdad_dbda,
            Magic::Stopped => 0xadbd_dabd,
            Magic::FosRunning => 0xbeef_babe,
            Magic::FosStopped => 0xdead_beef,
            Magic::StopMe => 0xdead_dada,
            Magic::Hold => 0xdeaf_babe,
            Magic::Held => 0xdeaf_dada,
        }
    }

    pub fn from_value(v: u32) -> Option<Magic> {
        [
            Magic::Running,
            Magic::Stopped,
            Magic::FosRunning,
            Magic::FosStopped,
            Magic::StopMe,
            Magic::Hold,
            Magic::Held,
        ]
        .into_iter()
        .find(|m| m.value() == v)
    }

    /// The 4 bytes on the wire.
    pub const fn encode(self) -> [u8; 4] {
        self.value().to_le_bytes()
    }
}

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.value())
    }
}

/// Which set of heartbeats a node speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lvs,
    Fos,
}

impl Mode {
    /// The magic a node in this mode sends when active or inactive.
    pub fn magic(self, active: bool) -> Magic {
        match (self, active) {
            (Mode::Lvs, true) => Magic::Running,
            (Mode::Lvs, false) => Magic::Stopped,
            (Mode::Fos, true) => Magic::FosRunning,
            (Mode::Fos, false) => Magic::FosStopped,
        }
    }
}

/// Why a datagram was not taken as a heartbeat; the `Display` is piranha's log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Fewer than 4 bytes.
    Short(usize),
    /// A magic of the other mode, of a big-endian sender, or garbage.
    Incompatible(u32),
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Short(_) => f.write_str("bad heartbeat packet"),
            Rejected::Incompatible(_) => f.write_str(
                "Incompatible heartbeat received -- other system not using identical services",
            ),
        }
    }
}

/// What a node in `mode` accepts (spec §2.3 rule 4): its own running and stopped magics,
/// STOPME, HOLD and HELD. Only the first 4 bytes count, as piranha's 4-byte `recvfrom`.
pub fn decode(datagram: &[u8], mode: Mode) -> Result<Magic, Rejected> {
    let Some(bytes) = datagram.get(..4) else {
        return Err(Rejected::Short(datagram.len()));
    };
    let v = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    match Magic::from_value(v) {
        Some(m) if m == mode.magic(true) || m == mode.magic(false) => Ok(m),
        Some(m @ (Magic::StopMe | Magic::Hold | Magic::Held)) => Ok(m),
        _ => Err(Rejected::Incompatible(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_on_the_wire_are_piranhas() {
        assert_eq!(Magic::Running.encode(), [0xda, 0xdb, 0xad, 0xbd]);
        assert_eq!(Magic::Stopped.encode(), [0xbd, 0xda, 0xbd, 0xad]);
        assert_eq!(Magic::FosRunning.encode(), [0xbe, 0xba, 0xef, 0xbe]);
        assert_eq!(Magic::FosStopped.encode(), [0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(Magic::StopMe.encode(), [0xda, 0xda, 0xad, 0xde]);
        assert_eq!(Magic::Hold.encode(), [0xbe, 0xba, 0xaf, 0xde]);
        assert_eq!(Magic::Held.encode(), [0xda, 0xda, 0xaf, 0xde]);
    }

    #[test]
    fn acceptance_rules() {
        assert_eq!(
            decode(&[0xda, 0xdb, 0xad, 0xbd], Mode::Lvs),
            Ok(Magic::Running)
        );
        assert_eq!(
            decode(&[0xbd, 0xda, 0xbd, 0xad], Mode::Lvs),
            Ok(Magic::Stopped)
        );
        // Longer datagrams are cut to 4 bytes, as piranha's recvfrom did.
        assert_eq!(
            decode(&[0xda, 0xdb, 0xad, 0xbd, 9, 9], Mode::Lvs),
            Ok(Magic::Running)
        );
        assert_eq!(
            decode(&[0xda, 0xdb, 0xad], Mode::Lvs),
            Err(Rejected::Short(3))
        );
        assert_eq!(
            decode(&[], Mode::Lvs).unwrap_err().to_string(),
            "bad heartbeat packet"
        );
        // The other mode's magics, and a big-endian sender, are incompatible.
        assert!(matches!(
            decode(&Magic::FosRunning.encode(), Mode::Lvs),
            Err(Rejected::Incompatible(_))
        ));
        assert!(matches!(
            decode(&Magic::Running.encode(), Mode::Fos),
            Err(Rejected::Incompatible(_))
        ));
        let be = Magic::Running.value().to_be_bytes();
        assert_eq!(
            decode(&be, Mode::Lvs).unwrap_err().to_string(),
            "Incompatible heartbeat received -- other system not using identical services"
        );
        for m in [Magic::StopMe, Magic::Hold, Magic::Held] {
            assert_eq!(decode(&m.encode(), Mode::Lvs), Ok(m));
            assert_eq!(decode(&m.encode(), Mode::Fos), Ok(m));
        }
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics_and_only_known_magics_pass(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16)) {
            if let Ok(m) = decode(&bytes, Mode::Lvs) {
                proptest::prop_assert_eq!(&m.encode()[..], &bytes[..4]);
            }
        }
    }
}
