//! Every change pulse makes to the system, behind one trait: commands, the IPVS sync daemon,
//! the supervised program, floating addresses, announcements, and the two things it watches
//! (links and the default gateway). [`real::Real`] does them; [`DryRun`] is `--test-start`
//! (`--norun`): it logs each skipped step and changes nothing, so the flow that calls them
//! never asks which mode it runs in.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;

use crate::daemon::Event;
use crate::settings::Vip;

mod links;
pub mod real;

pub use real::Real;

/// A future that a [`System`] returns (the trait is used as `dyn System`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How to announce addresses: gratuitous ARPs (IPv4) or unsolicited neighbour advertisements
/// (IPv6), the first at once and `count - 1` more `interval` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announce {
    pub count: u32,
    pub interval: Duration,
    /// `lvs` or `fos`, for the log line at the end.
    pub what: &'static str,
}

/// The roles the IPVS connection synchronisation daemon plays on this director. The kernel
/// runs a master (it multicasts this director's connections) and a backup (it takes in the
/// connections others multicast) independently, so a director may run both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRole {
    /// The one active director: it sends its connections to the standby.
    Master,
    /// The standby: it learns the active director's connections.
    Backup,
    /// One of several active directors (`announce = bird`): it sends its connections and
    /// learns the others', so a flow the routers move to it goes on to the same real server.
    Both,
}

impl SyncRole {
    /// The role of a director that is active or not; `several_active` with
    /// `announce = bird`. Inactive, a director only listens, as piranha's standby did.
    pub fn of(active: bool, several_active: bool) -> SyncRole {
        match (active, several_active) {
            (false, _) => SyncRole::Backup,
            (true, false) => SyncRole::Master,
            (true, true) => SyncRole::Both,
        }
    }

    /// The kernel daemons to run, backup first (it listens before this director sends).
    pub fn states(self) -> &'static [ipvs::SyncState] {
        use ipvs::SyncState::{Backup, Master};
        match self {
            SyncRole::Master => &[Master],
            SyncRole::Backup => &[Backup],
            SyncRole::Both => &[Backup, Master],
        }
    }
}

/// The side effects of activation and deactivation, and the system's state pulse watches.
pub trait System: Send + Sync + std::fmt::Debug {
    /// Run `active_cmd` or `inactive_cmd` (`argv` is `cmd` split into words) without a shell,
    /// not waited for.
    fn run_command(&self, cmd: &str, argv: &[String]);
    /// Start the IPVS connection synchronisation daemon in `role` (stopping both roles
    /// first).
    fn sync_daemon(&self, iface: &str, id: u8, role: SyncRole);
    /// Whether to start the supervised program `what` (lvsd's path, or `fos --ROLE`).
    fn launches(&self, what: &str) -> bool;
    /// Add these addresses; returns those that are up now.
    fn bring_up<'a>(&'a self, vips: &'a [Vip]) -> BoxFuture<'a, Vec<Vip>>;
    /// Remove this address.
    fn take_down<'a>(&'a self, vip: &'a Vip) -> BoxFuture<'a, ()>;
    /// The addresses on this host now (to find those a crashed pulse left behind).
    fn addresses(&self) -> BoxFuture<'_, Vec<IpAddr>>;
    /// Announce these addresses in the background; the task, if one was started.
    fn announce(&self, vips: Vec<Vip>, how: Announce) -> Option<JoinHandle<()>>;
    /// Watch the links of these addresses (with their names for the log) and send
    /// [`Event::Links`] on each change, starting with the state now; the task, if one was
    /// started.
    fn watch_links(
        &self,
        watched: Vec<(IpAddr, &'static str)>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Option<JoinHandle<()>>;
    /// FOS: whether the default gateway answers an echo request.
    fn gateway_answers(&self) -> BoxFuture<'static, bool>;
}

/// `--test-start`: nothing changes; each skipped step is logged.
#[derive(Debug, Default, Clone, Copy)]
pub struct DryRun;

impl System for DryRun {
    fn run_command(&self, cmd: &str, _argv: &[String]) {
        info!("test mode: not running {cmd}");
    }

    fn sync_daemon(&self, _iface: &str, _id: u8, _role: SyncRole) {
        info!("test mode: not starting the sync daemon");
    }

    fn launches(&self, what: &str) -> bool {
        info!("test mode: not starting {what}");
        false
    }

    fn bring_up<'a>(&'a self, vips: &'a [Vip]) -> BoxFuture<'a, Vec<Vip>> {
        info!("test mode: not bringing up {} addresses", vips.len());
        Box::pin(async { Vec::new() })
    }

    fn take_down<'a>(&'a self, _vip: &'a Vip) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn addresses(&self) -> BoxFuture<'_, Vec<IpAddr>> {
        Box::pin(async { Vec::new() })
    }

    fn announce(&self, _vips: Vec<Vip>, _how: Announce) -> Option<JoinHandle<()>> {
        info!("test mode: not sending gratuitous arps");
        None
    }

    fn watch_links(
        &self,
        _watched: Vec<(IpAddr, &'static str)>,
        _events: mpsc::UnboundedSender<Event>,
    ) -> Option<JoinHandle<()>> {
        None
    }

    fn gateway_answers(&self) -> BoxFuture<'static, bool> {
        info!("test mode: taking the gateway as reachable");
        Box::pin(async { true })
    }
}

/// The text of an address in log lines and the status report: `IP/PREFIX DEVICE`.
pub fn vip_text(v: &Vip) -> String {
    format!("{}/{} {}", v.ip, v.prefix, v.device)
}
