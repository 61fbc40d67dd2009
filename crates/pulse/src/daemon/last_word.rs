//! pulse's last word, said by the watchdog if pulse dies: a STOPPED heartbeat to each of the
//! partner's addresses, from the matching address of this node, kept ready in the
//! [`Guard`](crate::watchdog::Guard) after every step of the main loop. With
//! `heartbeat_key_file` it is signed now with a sequence number kept for it
//! ([`LAST_SEQ`]), so the watchdog never holds a key: the partner accepts it after everything
//! pulse sent (higher than any sequence pulse uses while it lives) and nothing from this
//! sender id after it, which is right, as pulse is gone.

use std::net::SocketAddr;

use super::Daemon;
use crate::watchdog::{Datagram, LAST_SEQ};
use crate::wire::{Magic, Mode};

impl Daemon {
    /// The datagrams the watchdog sends if pulse dies now.
    fn last_word(&self) -> Vec<Datagram> {
        let m = match self.settings.mode {
            Mode::Lvs => Magic::Stopped,
            Mode::Fos => Magic::FosStopped,
        };
        let s = &self.settings;
        let mut paths = vec![(Some(s.own), s.partner)];
        if self.sockets.has_private() {
            paths.push((s.own_private, s.partner_private));
        }
        paths
            .into_iter()
            .zip(LAST_SEQ)
            .filter_map(|((from, to), seq)| {
                let (from, to) = (from?, to?);
                let data = match &self.auth {
                    None => m.encode().to_vec(),
                    Some(a) => a.sign_reserved(m, seq),
                };
                Some(Datagram {
                    from,
                    to: SocketAddr::new(to, s.port),
                    data,
                })
            })
            .collect()
    }

    /// Keep the watchdog's copy of the last word current (written only when it changed:
    /// new keys, a partner that restarted, a reload).
    pub(super) fn tell_watchdog(&self) {
        self.watchdog.set_last(self.last_word());
    }
}
