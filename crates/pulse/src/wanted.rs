//! Which generation of the supervised program pulse wants running: one owner (the main loop)
//! sets it, the executor watches it. Each start gets a new generation, so the exit of a child
//! that is no longer wanted is recognised and ignored, and a pause before a start ends as
//! soon as the plan changes.

use tokio::sync::watch;

/// The owner's side.
#[derive(Debug)]
pub struct Wanted {
    tx: watch::Sender<Option<u64>>,
    last: u64,
}

impl Default for Wanted {
    fn default() -> Self {
        Wanted {
            tx: watch::Sender::new(None),
            last: 0,
        }
    }
}

impl Wanted {
    /// A new generation, wanted from now on.
    pub fn new_generation(&mut self) -> u64 {
        self.last += 1;
        self.tx.send_replace(Some(self.last));
        self.last
    }

    /// No child wanted.
    pub fn clear(&self) {
        self.tx.send_replace(None);
    }

    /// The generation wanted now, if any.
    pub fn current(&self) -> Option<u64> {
        *self.tx.borrow()
    }

    /// The generation wanted now, or a new one when none is.
    pub fn current_or_new(&mut self) -> u64 {
        match self.current() {
            Some(g) => g,
            None => self.new_generation(),
        }
    }

    /// Whether generation `g` is the one wanted.
    pub fn is(&self, g: u64) -> bool {
        *self.tx.borrow() == Some(g)
    }

    /// A watcher for the executor.
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_grow_and_every_change_is_seen() {
        let mut w = Wanted::default();
        let mut rx = w.subscribe();
        assert!(!rx.has_changed().unwrap());
        let a = w.new_generation();
        let b = w.new_generation();
        assert!(b > a && w.is(b) && !w.is(a));
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), Some(b));
        assert_eq!((w.current(), w.current_or_new()), (Some(b), b));
        w.clear();
        assert!(!w.is(b));
        assert_eq!(w.current(), None);
        let c = w.current_or_new();
        assert!(c > b && w.is(c));
        w.clear();
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), None);
    }
}
