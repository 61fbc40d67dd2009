//! Network namespaces: a fresh anonymous one for a closure, or named ones (`ip netns`) joined
//! by veth pairs and bridges, with commands run inside them. Names are unique per process and
//! call ([`unique_name`]), so tests and test processes running in parallel never collide.

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::must;

/// Run `f` on a thread inside a fresh network namespace whose loopback is up. Threads and
/// processes started from `f` inherit the namespace; it goes away with the last of them.
pub fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        must("ip link set lo up");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Run `f` on a thread inside the named namespace `ns` (`/run/netns/<ns>`).
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// `<tag><pid>x<n>`: a prefix for the names of one test's namespaces.
pub fn unique_name(tag: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}{}x{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// A named network namespace with its loopback up. Dropping it kills the processes inside
/// and deletes it.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        must(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        Netns {
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec <ns> <cmd>`, through the shell (so `cmd` is quoted as in a shell); its
    /// stdout, or a panic.
    pub fn exec(&self, cmd: &str) -> String {
        must(&format!("ip netns exec {} {cmd}", self.name))
    }

    /// `ip -n <ns> <args>`; its stdout, or a panic.
    pub fn ip(&self, args: &str) -> String {
        must(&format!("ip -n {} {args}", self.name))
    }

    /// Run `f` on a thread inside this namespace.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        in_netns(&self.name, f)
    }

    /// The MAC address of `dev`.
    pub fn mac(&self, dev: &str) -> String {
        self.exec(&format!("cat /sys/class/net/{dev}/address"))
            .trim()
            .to_owned()
    }

    /// The link-layer address this namespace has for `ip`, if any.
    pub fn lladdr(&self, ip: &str) -> Option<String> {
        let t = self.ip(&format!("neigh show {ip}"));
        let w: Vec<&str> = t.split_whitespace().collect();
        w.iter()
            .position(|x| *x == "lladdr")
            .and_then(|i| w.get(i + 1))
            .map(|s| s.to_string())
    }

    /// Wait until `dev`'s operational state is `up` (until the kernel's link watch has run,
    /// a new veth drops what it is given).
    pub fn wait_oper_up(&self, dev: &str, within: Duration) {
        crate::wait::expect_until(
            within,
            || {
                self.exec(&format!("cat /sys/class/net/{dev}/operstate"))
                    .trim()
                    == "up"
            },
            || format!("{dev} of {} is not up", self.name),
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let ns = &self.name;
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ip netns pids {ns} | xargs -r kill -9; ip netns del {ns}"
            ))
            .status();
    }
}

/// A veth pair: `a_dev` in `a`, `b_dev` in `b` (both down until set up).
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    a.ip(&format!(
        "link add {a_dev} type veth peer name {b_dev} netns {}",
        b.name()
    ));
}

/// A bridge `br` in namespace `sw`, up.
pub fn bridge(sw: &Netns, br: &str) {
    sw.ip(&format!("link add {br} type bridge"));
    sw.ip(&format!("link set {br} up"));
}

/// Plug `node` into bridge `br` of `sw`: a veth pair whose end `port` is a port of the
/// bridge and whose end `dev` is in `node` with address `cidr`, both up.
pub fn plug(sw: &Netns, br: &str, port: &str, node: &Netns, dev: &str, cidr: &str) {
    veth(sw, port, node, dev);
    sw.ip(&format!("link set {port} master {br} up"));
    node.ip(&format!("addr add {cidr} dev {dev}"));
    node.ip(&format!("link set {dev} up"));
}
