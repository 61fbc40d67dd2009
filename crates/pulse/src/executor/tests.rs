//! The executor's steps as the system sees them, through a [`System`] that records calls.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Executor, Job};
use crate::daemon::{Event, Shared};
use crate::settings::{Settings, Vip, build};
use crate::system::{Announce, BoxFuture, SyncRole, System};

/// What the executor asked of the system, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Sync(String, u8, SyncRole),
    Command(String),
    Up(Vec<IpAddr>),
    Down(IpAddr),
}

#[derive(Debug, Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
}

impl Recorder {
    fn push(&self, c: Call) {
        self.calls.lock().unwrap().push(c);
    }

    fn syncs(&self) -> Vec<(String, u8, SyncRole)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| match c {
                Call::Sync(i, id, r) => Some((i.clone(), *id, *r)),
                _ => None,
            })
            .collect()
    }

    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl System for Recorder {
    fn run_command(&self, cmd: &str, _argv: &[String]) {
        self.push(Call::Command(cmd.to_owned()));
    }

    fn sync_daemon(&self, iface: &str, id: u8, role: SyncRole) {
        self.push(Call::Sync(iface.to_owned(), id, role));
    }

    /// No lvsd: activation goes on as if it had reported ready.
    fn launches(&self, _what: &str) -> bool {
        false
    }

    fn bring_up<'a>(&'a self, vips: &'a [Vip]) -> BoxFuture<'a, Vec<Vip>> {
        self.push(Call::Up(vips.iter().map(|v| v.ip).collect()));
        Box::pin(async move { vips.to_vec() })
    }

    fn take_down<'a>(&'a self, vip: &'a Vip) -> BoxFuture<'a, ()> {
        self.push(Call::Down(vip.ip));
        Box::pin(async {})
    }

    fn addresses(&self) -> BoxFuture<'_, Vec<IpAddr>> {
        Box::pin(async { Vec::new() })
    }

    fn announce(&self, _vips: Vec<Vip>, _how: Announce) -> Option<JoinHandle<()>> {
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
        Box::pin(async { true })
    }
}

const FILE: &str = "
primary = 10.0.0.1
backup_active = 0
service = lvs
network = direct
syncdaemon = 1
syncd_iface = eth1
syncd_id = 9
virtual web {
    active = 1
    address = 10.0.0.50 eth0:1
    port = 80
    scheduler = mh
    server a {
        address = 10.1.0.11
        active = 1
    }
}
";

fn settings(text: &str) -> Settings {
    let p = lvscf::parse(text);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let own: IpAddr = "10.0.0.1".parse().unwrap();
    build(p.config().unwrap(), "/etc/lvs.cf", &[own], &|h| h.resolve()).unwrap()
}

fn bird() -> String {
    format!("{FILE}announce = bird\n")
}

fn executor(text: &str) -> (Executor, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let opts = match crate::opts::parse(["pulse", "-c", "/etc/lvs.cf"]).unwrap() {
        crate::opts::Mode::Run(o) => o,
        other => panic!("{other:?}"),
    };
    let (events, _) = mpsc::unbounded_channel();
    let (_, wanted) = watch::channel(None);
    let e = Executor::new(
        rec.clone(),
        opts,
        settings(text),
        events,
        Arc::new(Mutex::new(Shared::default())),
        wanted,
    );
    (e, rec)
}

fn eth1(role: SyncRole) -> (String, u8, SyncRole) {
    ("eth1".into(), 9, role)
}

#[test]
fn a_director_is_backup_inactive_master_active_and_both_when_all_are_active() {
    assert_eq!(SyncRole::of(false, false), SyncRole::Backup);
    assert_eq!(SyncRole::of(false, true), SyncRole::Backup);
    assert_eq!(SyncRole::of(true, false), SyncRole::Master);
    assert_eq!(SyncRole::of(true, true), SyncRole::Both);
    use ipvs::SyncState::{Backup, Master};
    assert_eq!(SyncRole::Master.states(), [Master]);
    assert_eq!(SyncRole::Backup.states(), [Backup]);
    assert_eq!(SyncRole::Both.states(), [Backup, Master]);
}

#[tokio::test]
async fn one_active_director_runs_the_master_and_the_standby_the_backup() {
    let (mut e, rec) = executor(FILE);
    e.job(Job::StartInactive(1)).await;
    assert_eq!(rec.syncs(), [eth1(SyncRole::Backup)]);
    rec.take();
    e.job(Job::Activate(1)).await;
    // piranha's order: the sync daemon, then the addresses.
    let ip: IpAddr = "10.0.0.50".parse().unwrap();
    assert_eq!(
        rec.take(),
        [
            Call::Sync("eth1".into(), 9, SyncRole::Master),
            Call::Up(vec![ip])
        ]
    );
    e.job(Job::Deactivate(2)).await;
    assert_eq!(
        rec.take(),
        [
            Call::Sync("eth1".into(), 9, SyncRole::Backup),
            Call::Down(ip)
        ]
    );
}

#[tokio::test]
async fn with_announce_bird_an_active_director_runs_master_and_backup() {
    let (mut e, rec) = executor(&bird());
    e.job(Job::StartInactive(1)).await;
    e.job(Job::Activate(1)).await;
    assert_eq!(rec.syncs(), [eth1(SyncRole::Backup), eth1(SyncRole::Both)]);
    rec.take();
    // Deactivated (stopping), it only listens, and lvsd's VIPs are withdrawn.
    e.job(Job::Deactivate(2)).await;
    let calls = rec.take();
    assert_eq!(calls[0], Call::Sync("eth1".into(), 9, SyncRole::Backup));
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, Call::Command(c) if c.contains("--withdraw"))),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_reload_restarts_the_sync_daemon_when_its_role_or_settings_change() {
    let (mut e, rec) = executor(FILE);
    e.job(Job::Activate(1)).await;
    rec.take();
    // Nothing the sync daemon depends on changed: left alone.
    e.job(Job::Reconfigure(Box::new(settings(
        &FILE.replace("port = 80", "port = 81"),
    ))))
    .await;
    assert_eq!(rec.syncs(), []);
    // Every director active now: master and backup.
    e.job(Job::Reconfigure(Box::new(settings(&bird())))).await;
    assert_eq!(rec.syncs(), [eth1(SyncRole::Both)]);
    rec.take();
    // Another syncd_id: started again in the same role.
    e.job(Job::Reconfigure(Box::new(settings(
        &bird().replace("syncd_id = 9", "syncd_id = 10"),
    ))))
    .await;
    assert_eq!(rec.syncs(), [("eth1".into(), 10, SyncRole::Both)]);
}

#[tokio::test]
async fn an_inactive_director_keeps_its_backup_through_a_reload() {
    let (mut e, rec) = executor(FILE);
    e.job(Job::StartInactive(1)).await;
    rec.take();
    e.job(Job::Reconfigure(Box::new(settings(&bird())))).await;
    assert_eq!(rec.syncs(), []);
    // Its next activation takes the new role.
    e.job(Job::Activate(1)).await;
    assert_eq!(rec.syncs(), [eth1(SyncRole::Both)]);
}

#[tokio::test]
async fn without_syncdaemon_no_sync_daemon_is_started() {
    let (mut e, rec) = executor(&bird().replace("syncdaemon = 1", "syncdaemon = 0"));
    e.job(Job::StartInactive(1)).await;
    e.job(Job::Activate(1)).await;
    e.job(Job::Deactivate(2)).await;
    assert_eq!(rec.syncs(), []);
}

#[tokio::test]
async fn a_hot_standby_moves_the_addresses_first_and_only_them() {
    let hot = format!("{FILE}hot_standby = 1\nactive_cmd = /bin/up\ninactive_cmd = /bin/down\n");
    let (mut e, rec) = executor(&hot);
    e.job(Job::StartInactive(1)).await;
    rec.take();
    let ip: IpAddr = "10.0.0.50".parse().unwrap();
    e.job(Job::Activate(1)).await;
    assert_eq!(
        rec.take(),
        [
            Call::Up(vec![ip]),
            Call::Command("/bin/up".into()),
            eth1_call(SyncRole::Master)
        ]
    );
    e.job(Job::Deactivate(1)).await;
    assert_eq!(
        rec.take(),
        [
            Call::Down(ip),
            Call::Command("/bin/down".into()),
            eth1_call(SyncRole::Backup)
        ]
    );
    // Shutting down inactive: nothing to give up.
    e.job(Job::Shutdown).await;
    assert_eq!(rec.take(), []);
    // Without hot standby, piranha's order: active_cmd, sync daemon, then the addresses.
    let (mut c, rec) = executor(&hot.replace("hot_standby = 1", "hot_standby = 0"));
    c.job(Job::Activate(1)).await;
    assert_eq!(
        rec.take(),
        [
            Call::Command("/bin/up".into()),
            eth1_call(SyncRole::Master),
            Call::Up(vec![ip])
        ]
    );
}

fn eth1_call(role: SyncRole) -> Call {
    Call::Sync("eth1".into(), 9, role)
}
