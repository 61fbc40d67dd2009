//! Heartbeats in and out of the main loop: a datagram from the partner's address becomes a
//! machine input or a counted rejection; with `heartbeat_key_file`, through the
//! [`Authenticator`], which also signs what goes out.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, info};

use super::{Daemon, lock};
use crate::auth::{AuthSettings, Authenticator, Refused};
use crate::machine::Input;
use crate::status::{AuthStatus, RejectCause};
use crate::wire::{self, Magic};

/// A random number from the system (a fixed fallback is never needed on Linux; if the
/// source fails, the clock's nanoseconds stand in).
pub(super) fn random() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        return t ^ u64::from(std::process::id()) << 32;
    }
    u64::from_ne_bytes(b)
}

/// A new authenticator for these settings, with a random sender id and challenge.
pub(super) fn authenticator(s: Option<&AuthSettings>) -> Option<Authenticator> {
    s.map(|s| Authenticator::new(s.clone(), random(), random()))
}

fn cause(r: &Refused) -> RejectCause {
    match r {
        Refused::Unauthenticated => RejectCause::Unauthenticated,
        Refused::Truncated => RejectCause::Truncated,
        Refused::Oversized => RejectCause::Oversized,
        Refused::BadVersion => RejectCause::BadVersion,
        Refused::UnknownKey => RejectCause::UnknownKey,
        Refused::Forged => RejectCause::Forged,
        Refused::Replayed => RejectCause::Replayed,
        Refused::Unchallenged => RejectCause::Unchallenged,
        Refused::Magic(wire::Rejected::Short(_)) => RejectCause::TooShort,
        Refused::Magic(wire::Rejected::Incompatible(_)) => RejectCause::BadMagic,
    }
}

/// Log the 1st, 2nd, 4th, 8th, ... of a repeated event, so that a steady stream (a partner
/// with another key, every keepalive) does not flood the log.
fn worth_logging(n: u64) -> bool {
    n.is_power_of_two()
}

fn magic_name(m: Magic) -> &'static str {
    match m {
        Magic::Running | Magic::FosRunning => "active",
        Magic::Stopped | Magic::FosStopped => "inactive",
        Magic::StopMe => "stopme",
        Magic::Hold => "hold",
        Magic::Held => "held",
    }
}

impl Daemon {
    /// A datagram on a heartbeat socket: accepted (a machine input) or counted as rejected.
    pub(super) fn datagram(
        &mut self,
        private: bool,
        from: SocketAddr,
        data: &[u8],
    ) -> Option<Input> {
        if !self.settings.is_partner(from.ip()) {
            debug!("Unexpected heartbeat from {}", from.ip());
            self.rejected(RejectCause::UnexpectedSource, from);
            return None;
        }
        let m = match &mut self.auth {
            None => match wire::decode(data, self.settings.mode) {
                Ok(m) => m,
                Err(r) => {
                    info!("{r}");
                    if let wire::Rejected::Incompatible(v) = r {
                        debug!("heartbeat from {from} carried {v:#010x}");
                    }
                    self.rejected(cause(&Refused::Magic(r)), from);
                    return None;
                }
            },
            Some(a) => match a.accept(data, self.settings.mode, random) {
                Ok(acc) => {
                    if let Some(v) = acc.file {
                        self.sync_partner_version(v);
                    }
                    let mut sh = lock(&self.shared);
                    if let Some(st) = sh.status.auth.as_mut() {
                        if acc.new_sender {
                            st.partner_starts += 1;
                            info!("partner's heartbeats authenticated (new sender id from {from})");
                        }
                        if acc.plain {
                            st.plain_accepted += 1;
                            if worth_logging(st.plain_accepted) {
                                info!(
                                    "accepted a plain heartbeat from {from} (heartbeat_auth = permissive; {} so far)",
                                    st.plain_accepted
                                );
                            }
                        }
                    }
                    acc.magic
                }
                Err(r) => {
                    self.rejected(cause(&r), from);
                    return None;
                }
            },
        };
        let mut sh = lock(&self.shared);
        sh.last_heard = Some(Instant::now());
        sh.status.partner_state = Some(magic_name(m).into());
        sh.status.heartbeats_received += 1;
        drop(sh);
        (!private || self.sockets.has_private()).then_some(Input::Heartbeat(m))
    }

    fn rejected(&self, c: RejectCause, from: SocketAddr) {
        let mut sh = lock(&self.shared);
        sh.status.reject(c, &from.to_string());
        let n = sh.status.heartbeats_rejected_by_cause.by_name();
        let count = n
            .iter()
            .find(|(k, _)| *k == c.name())
            .map_or(0, |(_, v)| *v);
        drop(sh);
        let auth_failure = !matches!(
            c,
            RejectCause::UnexpectedSource | RejectCause::TooShort | RejectCause::BadMagic
        );
        if auth_failure && worth_logging(count) {
            info!(
                "heartbeat authentication failure: {} from {from} ({count} so far)",
                c.name()
            );
        }
    }

    /// Send heartbeat `m` to the partner, signed when authentication is on.
    pub(super) async fn send_heartbeat(&mut self, m: Magic) {
        let n = match &mut self.auth {
            None => {
                self.sockets
                    .send(&mut || m.encode().to_vec(), &self.settings)
                    .await
            }
            Some(a) => self.sockets.send(&mut || a.sign(m), &self.settings).await,
        };
        lock(&self.shared).status.heartbeats_sent += n;
    }

    /// Take the authentication settings of a new configuration: new keys or mode keep the
    /// sender id and the replay state; turning it on starts afresh.
    pub(super) fn reauth(&mut self, new: Option<&AuthSettings>) {
        match (&mut self.auth, new) {
            (Some(a), Some(s)) => a.set(s.clone()),
            (_, s) => self.auth = authenticator(s),
        }
    }

    /// The authentication part of the status report.
    pub(super) fn publish_auth(&self) {
        let mut sh = lock(&self.shared);
        let Some(a) = &self.auth else {
            sh.status.auth = None;
            return;
        };
        let s = a.settings();
        let old = sh.status.auth.take().unwrap_or_default();
        sh.status.auth = Some(AuthStatus {
            mode: s.mode_name().into(),
            signing_key: s.keys.signing().id,
            keys: s.keys.ids(),
            sender_id: format!("{:016x}", a.sender()),
            partner_sender_id: a.partner_sender().map(|p| format!("{p:016x}")),
            ..old
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_are_logged_less_and_less() {
        let logged: Vec<u64> = (1..=100).filter(|n| worth_logging(*n)).collect();
        assert_eq!(logged, [1, 2, 4, 8, 16, 32, 64]);
    }
}
