//! Replay protection for authenticated heartbeats, free of I/O, clocks and randomness (the
//! caller hands in fresh random numbers).
//!
//! Each node has a random *challenge* that it puts in every heartbeat; the partner echoes the
//! last challenge it heard. The partner's datagrams are accepted when they come from the
//! sender id already accepted, with a sequence number not seen before (a 64-wide window
//! behind the highest, for datagrams reordered between the public and private networks).
//! A datagram from a *new* sender id (the partner restarted, or first contact) is accepted
//! only when it echoes this node's current challenge, which proves it was made after this
//! node's challenge was sent; the challenge is then replaced by a fresh one and the previous
//! sender id is retired. So datagrams recorded before a restart of either node never work
//! after it: the old sender's datagrams are old or retired, and the old challenge is gone.

/// Sender ids retired (accepted once, then replaced), remembered to drop their replays
/// early.
const RETIRED: usize = 16;

/// Why an authentic datagram is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// A sequence number not higher than the last accepted of that sender, or a sender id
    /// that has been replaced.
    Replayed,
    /// A new sender id that does not echo this node's current challenge.
    Unchallenged,
}

/// What an accepted datagram was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    /// From the sender already accepted.
    Known,
    /// From a new sender id that answered the challenge: the partner (re)started.
    NewSender,
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    sender: u64,
    /// The highest sequence number accepted.
    top: u64,
}

/// The state of one node's replay checks on its partner.
#[derive(Debug, Clone)]
pub struct Verifier {
    challenge: u64,
    peer: Option<Peer>,
    retired: Vec<u64>,
    /// The partner's challenge as last heard, echoed in this node's heartbeats.
    echo: u64,
}

/// A challenge is never 0 (0 means "no challenge heard yet").
fn nonzero(v: u64) -> u64 {
    v.max(1)
}

impl Verifier {
    /// A verifier with a random first challenge.
    pub fn new(challenge: u64) -> Verifier {
        Verifier {
            challenge: nonzero(challenge),
            peer: None,
            retired: Vec::new(),
            echo: 0,
        }
    }

    /// This node's challenge, to send in its heartbeats.
    pub fn challenge(&self) -> u64 {
        self.challenge
    }

    /// The partner's challenge to echo in this node's heartbeats (0 before any).
    pub fn echo(&self) -> u64 {
        self.echo
    }

    /// The accepted sender id, if any.
    pub fn sender(&self) -> Option<u64> {
        self.peer.map(|p| p.sender)
    }

    /// Check an authentic datagram's sender, sequence number, challenge and echo. `fresh`
    /// gives a random number when a new challenge is needed.
    pub fn check(
        &mut self,
        sender: u64,
        seq: u64,
        challenge: u64,
        echo: u64,
        fresh: impl FnOnce() -> u64,
    ) -> Result<Fresh, Stale> {
        if self.retired.contains(&sender) {
            return Err(Stale::Replayed);
        }
        match &mut self.peer {
            Some(p) if p.sender == sender => {
                p.accept(seq)?;
                self.echo = challenge;
                Ok(Fresh::Known)
            }
            _ => {
                // A new sender may be the restarted partner: echo its challenge so that it
                // can accept this node, whether or not it answered ours yet.
                self.echo = challenge;
                if echo != self.challenge {
                    return Err(Stale::Unchallenged);
                }
                if let Some(old) = self.peer.take() {
                    if self.retired.len() == RETIRED {
                        self.retired.remove(0);
                    }
                    self.retired.push(old.sender);
                }
                self.peer = Some(Peer { sender, top: seq });
                self.challenge = nonzero(fresh());
                Ok(Fresh::NewSender)
            }
        }
    }
}

impl Peer {
    fn accept(&mut self, seq: u64) -> Result<(), Stale> {
        if seq <= self.top {
            return Err(Stale::Replayed);
        }
        self.top = seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A verifier whose partner (sender 7) has been accepted; its challenge is now 100.
    fn paired() -> Verifier {
        let mut v = Verifier::new(50);
        assert_eq!(v.check(7, 1, 900, 50, || 100), Ok(Fresh::NewSender));
        v
    }

    #[test]
    fn a_new_sender_must_answer_the_challenge() {
        let mut v = Verifier::new(50);
        assert_eq!(v.echo(), 0);
        assert_eq!(v.check(7, 1, 900, 0, || 1), Err(Stale::Unchallenged));
        // Its challenge is echoed all the same, so that it can accept this node.
        assert_eq!(v.echo(), 900);
        assert_eq!(v.check(7, 2, 900, 49, || 1), Err(Stale::Unchallenged));
        assert_eq!(v.check(7, 3, 901, 50, || 100), Ok(Fresh::NewSender));
        assert_eq!((v.challenge(), v.echo(), v.sender()), (100, 901, Some(7)));
    }

    #[test]
    fn sequence_numbers_are_taken_once() {
        let mut v = paired();
        assert_eq!(v.check(7, 1, 900, 100, || 0), Err(Stale::Replayed));
        assert_eq!(v.check(7, 3, 900, 100, || 0), Ok(Fresh::Known));
        // 2 was never seen, but comes after 3: too late (it may say something no longer
        // true).
        assert_eq!(v.check(7, 2, 900, 100, || 0), Err(Stale::Replayed));
        assert_eq!(v.check(7, 3, 900, 100, || 0), Err(Stale::Replayed));
        assert_eq!(v.check(7, 1000, 900, 100, || 0), Ok(Fresh::Known));
        assert_eq!(v.check(7, 999, 900, 100, || 0), Err(Stale::Replayed));
    }

    #[test]
    fn recordings_from_before_a_restart_of_the_partner_fail() {
        let mut v = paired();
        // Sender 7 heard our challenge 100 and echoes it from now on.
        assert_eq!(v.check(7, 2, 900, 100, || 0), Ok(Fresh::Known));
        // It restarts as sender 8 and answers the challenge it hears (100).
        assert_eq!(v.check(8, 1, 800, 100, || 200), Ok(Fresh::NewSender));
        assert_eq!(v.challenge(), 200);
        // Everything recorded from sender 7, even ahead of what was seen: retired.
        assert_eq!(v.check(7, 99, 900, 100, || 0), Err(Stale::Replayed));
        assert_eq!(v.echo(), 800, "a retired sender does not change the echo");
        // A recording of a sender never accepted, with an old challenge: unchallenged.
        assert_eq!(v.check(6, 1, 600, 50, || 0), Err(Stale::Unchallenged));
        assert_eq!(v.sender(), Some(8));
    }

    #[test]
    fn nothing_sent_before_the_accepted_datagram_counts() {
        // Sent before this node listened (so never seen), recorded, replayed afterwards.
        let mut v = Verifier::new(50);
        assert_eq!(v.check(7, 20, 900, 50, || 100), Ok(Fresh::NewSender));
        for seq in 1..20 {
            assert_eq!(v.check(7, seq, 900, 100, || 0), Err(Stale::Replayed));
        }
    }

    #[test]
    fn recordings_from_before_a_restart_of_this_node_fail() {
        // Recorded while this node's challenge was 100; after its restart it is 3.
        let mut v = Verifier::new(3);
        assert_eq!(v.check(7, 50, 900, 100, || 0), Err(Stale::Unchallenged));
        assert_eq!(v.sender(), None);
    }

    #[test]
    fn retired_ids_are_bounded() {
        let mut v = Verifier::new(1);
        for s in 0..40u64 {
            let c = v.challenge();
            assert_eq!(v.check(s, 1, 5, c, || s + 2), Ok(Fresh::NewSender));
        }
        assert_eq!(v.retired.len(), RETIRED);
    }

    proptest! {
        /// Whatever an attacker replays of what it saw, nothing is accepted twice, and after
        /// a restart of the partner nothing from before it is accepted at all.
        #[test]
        fn no_datagram_is_accepted_twice(order in proptest::collection::vec(0usize..40, 0..200)) {
            let mut v = Verifier::new(10);
            let mut sent = Vec::new();
            // The partner: sender 1 answers challenge 10, sends 20 datagrams; restarts as 2.
            for seq in 1..=20u64 { sent.push((1u64, seq, 10u64)); }
            prop_assert!(v.check(1, 1, 5, 10, || 11).is_ok());
            for seq in 1..=20u64 { sent.push((2u64, seq, 11u64)); }
            prop_assert!(v.check(2, 1, 5, 11, || 12).is_ok());
            let mut taken = std::collections::HashSet::new();
            taken.insert((1u64, 1u64));
            taken.insert((2u64, 1u64));
            for i in order {
                let (s, q, e) = sent[i];
                if v.check(s, q, 5, e, || 13).is_ok() {
                    prop_assert_eq!(s, 2, "a datagram of the retired sender");
                    prop_assert!(taken.insert((s, q)), "accepted twice");
                }
            }
        }
    }
}
