//! The forwarding threads: one single-threaded runtime per core, each with its own epoll.
//!
//! A TCP connection is accepted, scheduled and copied on one thread from start to end, as
//! HAProxy's and nginx's threads do. On tokio's work-stealing runtime the thread that polled
//! the I/O driver woke every ready connection into its own queue and the other thread had to
//! steal them, so a request's bytes crossed cores and waited behind other connections' turns:
//! the data plane's p99 was above HAProxy's in every round of `bench/uplane-vs-haproxy.sh`
//! (bench/README.md). Each thread accepts from its own duplicate of the listening socket and
//! hands a connection to the thread with the fewest when its own has more ([`Threads::pick`]).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use tokio::runtime::{Builder, Handle};
use tokio::sync::watch;

/// The threads' runtimes; dropping it stops them (their tasks are dropped).
#[derive(Debug)]
pub struct Workers {
    threads: Arc<Threads>,
    stop: watch::Sender<bool>,
}

/// The runtimes and how many connections each thread carries.
#[derive(Debug)]
pub struct Threads {
    handles: Vec<Handle>,
    load: Vec<AtomicUsize>,
}

impl Threads {
    /// The runtimes, one per thread.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Where a connection accepted on thread `me` should live: `me`, unless another thread
    /// carries fewer connections (the first of the least loaded).
    pub fn pick(&self, me: usize) -> usize {
        let load = |i: usize| self.load[i].load(Ordering::Relaxed);
        let least = (0..self.load.len()).min_by_key(|&i| load(i)).unwrap_or(me);
        if load(least) < load(me) { least } else { me }
    }

    /// Count a connection on thread `i` for as long as the guard lives.
    pub fn carry(self: &Arc<Threads>, i: usize) -> Carried {
        self.load[i].fetch_add(1, Ordering::Relaxed);
        Carried {
            threads: self.clone(),
            i,
        }
    }
}

/// One connection counted on a thread ([`Threads::carry`]).
#[derive(Debug)]
pub struct Carried {
    threads: Arc<Threads>,
    i: usize,
}

impl Drop for Carried {
    fn drop(&mut self) {
        self.threads.load[self.i].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Workers {
    /// One thread per core, at most `max`, at least one.
    pub fn per_core(max: usize) -> io::Result<Workers> {
        let n = thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, max.max(1));
        Workers::new(n)
    }

    /// `n` threads (at least one), named `uplane-I`.
    pub fn new(n: usize) -> io::Result<Workers> {
        let (stop, _) = watch::channel(false);
        let mut handles = Vec::with_capacity(n.max(1));
        for i in 0..n.max(1) {
            let rt = Builder::new_current_thread().enable_all().build()?;
            handles.push(rt.handle().clone());
            let mut done = stop.subscribe();
            thread::Builder::new()
                .name(format!("uplane-{i}"))
                .spawn(move || {
                    rt.block_on(async move {
                        let _ = done.wait_for(|d| *d).await;
                    });
                })?;
        }
        let load = handles.iter().map(|_| AtomicUsize::new(0)).collect();
        Ok(Workers {
            threads: Arc::new(Threads { handles, load }),
            stop,
        })
    }

    /// The threads.
    pub fn threads(&self) -> &Arc<Threads> {
        &self.threads
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_handle_runs_tasks_on_its_own_named_thread() {
        let w = Workers::new(2).unwrap();
        let mut names = Vec::new();
        for h in w.threads().handles() {
            let (tx, rx) = std::sync::mpsc::channel();
            h.spawn(async move {
                let _ = tx.send(thread::current().name().map(str::to_owned));
            });
            names.push(rx.recv().unwrap());
        }
        assert_eq!(
            names,
            vec![Some("uplane-0".to_owned()), Some("uplane-1".to_owned())]
        );
    }

    #[test]
    fn a_connection_goes_to_the_least_loaded_thread_unless_its_own_is_as_light() {
        let w = Workers::new(3).unwrap();
        let t = w.threads();
        assert_eq!(t.pick(1), 1, "all empty: stay");
        let a = t.carry(1);
        assert_eq!(t.pick(1), 0, "the first of the least loaded");
        let b = t.carry(0);
        assert_eq!(t.pick(1), 2);
        let c = t.carry(2);
        assert_eq!(t.pick(1), 1, "as light as the others: stay");
        drop((a, b));
        assert_eq!(t.pick(2), 0, "guards dropped: their threads are lighter");
        drop(c);
        assert_eq!(t.pick(2), 2);
    }

    #[test]
    fn dropping_the_workers_ends_their_threads_tasks() {
        let w = Workers::new(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        w.threads().handles()[0].spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        });
        drop(w);
        // The task (and its sender) is dropped with the runtime: the channel closes.
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
