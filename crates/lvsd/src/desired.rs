//! What the IPVS table and the set of nannies should be for a configuration.
//!
//! [`Desired::build`] turns an lvs.cf model into IPVS services with their real servers and the
//! exact nanny command line of each (piranha's `startClientMonitor` argv, spec §3.4), so that
//! start-up, reload and the tests all compare the same values.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipvs::{Forward, Protocol, Service, ServiceId, Timeouts};
use lvscf::{Host, LoadMonitor, LvsConfig, Netmask, Network, VirtualServer};

/// How lvsd runs, as far as nanny command lines are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonitorOptions {
    /// `-v`: passed on to every nanny.
    pub verbose: bool,
    /// lvsd runs in the foreground: nannies get `--nodaemon` and print their lines to lvsd.
    pub foreground: bool,
    /// Overrides every virtual server's `client_monitor` (`--nanny`).
    pub nanny: Option<String>,
}

/// One real server under a virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Real {
    pub name: String,
    pub addr: IpAddr,
    pub port: u16,
    pub weight: i32,
    /// The nanny command line (program first), without lvsd-only flags such as `--assume-up`.
    pub argv: Vec<String>,
}

/// One virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Virtual {
    pub name: String,
    /// The virtual address (also of a firewall-mark service), as announced to BIRD.
    pub vip: IpAddr,
    pub service: Service,
    pub forward: Forward,
    /// The virtual port (the sorry server's port).
    pub port: u16,
    pub sorry: Option<IpAddr>,
    /// Nanny interval, for the sorry server's first decision.
    pub timeout_secs: u32,
    /// `quiesce_server`: a failed server stays at weight 0.
    pub quiesce: bool,
    /// `connect_timeout` and `retries`, for the userspace data plane.
    pub retry: uplane::RetryPolicy,
    pub reals: Vec<Real>,
}

impl Virtual {
    pub fn real(&self, addr: IpAddr, port: u16) -> Option<&Real> {
        self.reals.iter().find(|r| r.addr == addr && r.port == port)
    }
}

/// The whole desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub timeouts: Timeouts,
    /// Read at start-up only.
    pub dataplane: lvscf::Dataplane,
    pub hard_shutdown: bool,
    /// `announce = bird`: where and how the VIPs are announced (read at start-up only).
    pub announce: Option<Announce>,
    pub virtuals: Vec<Virtual>,
    /// Position of each service in `virtuals` (a reload looks every service up twice).
    index: HashMap<ServiceId, usize>,
}

/// `announce = bird` and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    /// BIRD's control socket (`bird_socket`).
    pub socket: PathBuf,
    /// The fragment lvsd owns (`announce_file`).
    pub file: PathBuf,
    /// How long to go on serving after withdrawing on shutdown (`announce_drain`).
    pub drain: Duration,
}

impl Announce {
    /// The settings of `cfg`, when it announces through BIRD.
    pub fn of(cfg: &LvsConfig) -> Option<Announce> {
        (cfg.announce == lvscf::Announce::Bird).then(|| Announce {
            socket: cfg.bird_socket().into(),
            file: cfg.announce_file().into(),
            drain: cfg.announce_drain().as_duration(),
        })
    }
}

impl Desired {
    pub fn virtual_by_id(&self, id: ServiceId) -> Option<&Virtual> {
        self.index.get(&id).map(|&i| &self.virtuals[i])
    }
}

/// Why a configuration cannot be made live.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesiredError {
    #[error("virtual server {0}: no address")]
    NoAddress(String),
    #[error("virtual server {vs}: cannot resolve {host}: {why}")]
    Resolve {
        vs: String,
        host: String,
        why: String,
    },
    #[error("virtual servers {0} and {1} define the same IPVS service {2}")]
    Duplicate(String, String, String),
}

fn forward(n: Network) -> Forward {
    match n {
        Network::Nat => Forward::Masq,
        Network::Direct => Forward::Route,
        Network::Tunnel => Forward::Tunnel,
    }
}

fn method_letter(n: Network) -> &'static str {
    match n {
        Network::Nat => "m",
        Network::Direct => "g",
        Network::Tunnel => "i",
    }
}

fn netmask(mask: Netmask, ipv6: bool) -> u32 {
    match (mask, ipv6) {
        (Netmask::V4(m), false) => u32::from(m),
        (m, true) => u32::from(m.prefix_len()),
        (Netmask::Prefix(p), false) => {
            if p == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(p.min(32)))
            }
        }
    }
}

/// The IPVS service of a virtual server: `ipvsadm -A VS -s SCHED [-b FLAGS] [-p T [-M PMASK]]`.
pub fn service(vs: &VirtualServer, vip: IpAddr) -> Service {
    let id = match vs.fwmark {
        Some(mark) if mark != 0 => ServiceId::Fwmark {
            mark,
            ipv6: vip.is_ipv6(),
        },
        _ => ServiceId::Addr {
            protocol: match vs.protocol {
                lvscf::Protocol::Tcp => Protocol::Tcp,
                lvscf::Protocol::Udp => Protocol::Udp,
            },
            addr: vip,
            port: vs.port,
        },
    };
    let mut s = Service::new(id).scheduler(vs.scheduler.as_str());
    s.flags |= vs.sched_flags.iter().fold(0, |f, x| f | x.ipvs_bit());
    if let Some(t) = vs.persistent.filter(|&t| t != 0) {
        s = s.persistent(t);
        if let Some(m) = vs.pmask {
            s.netmask = netmask(m, vip.is_ipv6());
        }
    }
    s
}

/// The nanny command line for one real server (piranha's argv order, plus `--report`).
pub fn nanny_argv(
    cfg: &LvsConfig,
    vs: &VirtualServer,
    vip: IpAddr,
    rip: IpAddr,
    rport: u16,
    weight: u32,
    opts: &MonitorOptions,
) -> Vec<String> {
    let mut a: Vec<String> = Vec::with_capacity(40);
    let mut push = |s: &str| a.push(s.to_owned());
    push(opts.nanny.as_deref().unwrap_or(&vs.client_monitor));
    push("-c");
    push("-h");
    push(&rip.to_string());
    push("-p");
    push(&vs.port.to_string());
    push("-r");
    push(&rport.to_string());
    if let Some(m) = vs.fwmark.filter(|&m| m != 0) {
        push("-f");
        push(&m.to_string());
    }
    if vs.protocol == lvscf::Protocol::Udp {
        push("-u");
    }
    if let Some(p) = &vs.send_program {
        push("-e");
        push(p);
    }
    if let Some(s) = &vs.send {
        push("-s");
        push(s);
    }
    if let Some(x) = &vs.expect {
        push("-x");
        push(x);
    }
    if vs.quiesce_server {
        push("-q");
    }
    if vs.use_regex {
        push("--regex");
    }
    if opts.verbose {
        push("-v");
    }
    push("-a");
    push(&vs.reentry.to_string());
    push("-I");
    push(&cfg.ipvsadm);
    push("-t");
    push(&vs.timeout.to_string());
    push("-w");
    push(&weight.to_string());
    push("-V");
    push(&vip.to_string());
    push("-M");
    push(method_letter(cfg.network));
    if let Some(lm) = &vs.load_monitor {
        push("-U");
        match lm {
            LoadMonitor::Uptime => push(&cfg.rsh_command),
            other => push(other.as_str()),
        }
    }
    if opts.foreground {
        push("--nodaemon");
    }
    push("--lvs");
    push("--report");
    a
}

fn resolve(
    vs: &str,
    h: &Host,
    resolver: &dyn Fn(&Host) -> std::io::Result<IpAddr>,
) -> Result<IpAddr, DesiredError> {
    resolver(h).map_err(|e| DesiredError::Resolve {
        vs: vs.to_owned(),
        host: h.to_string(),
        why: e.to_string(),
    })
}

impl Desired {
    /// The desired state of a valid configuration: every active virtual server with its
    /// active real servers, in file order. Host names go through `resolver`.
    pub fn build(
        cfg: &LvsConfig,
        opts: &MonitorOptions,
        resolver: &dyn Fn(&Host) -> std::io::Result<IpAddr>,
    ) -> Result<Desired, DesiredError> {
        let mut virtuals: Vec<Virtual> = Vec::new();
        let mut index: HashMap<ServiceId, usize> = HashMap::new();
        for vs in cfg.virtual_servers.iter().filter(|v| v.active) {
            let host = vs
                .address
                .as_ref()
                .map(|i| &i.address)
                .ok_or_else(|| DesiredError::NoAddress(vs.name.clone()))?;
            let vip = resolve(&vs.name, host, resolver)?;
            let service = service(vs, vip);
            if let Some(&other) = index.get(&service.id) {
                return Err(DesiredError::Duplicate(
                    virtuals[other].name.clone(),
                    vs.name.clone(),
                    service.id.to_string(),
                ));
            }
            let mut reals: Vec<Real> = Vec::new();
            for rs in vs.servers.iter().filter(|r| r.active) {
                let Some(h) = &rs.address else { continue };
                let addr = resolve(&vs.name, h, resolver)?;
                // One nanny per (service, address, port), as piranha keyed its monitors.
                if reals.iter().any(|r| r.addr == addr && r.port == rs.port) {
                    continue;
                }
                reals.push(Real {
                    name: rs.name.clone(),
                    addr,
                    port: rs.port,
                    weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
                    argv: nanny_argv(cfg, vs, vip, addr, rs.port, rs.weight, opts),
                });
            }
            index.insert(service.id, virtuals.len());
            virtuals.push(Virtual {
                name: vs.name.clone(),
                vip,
                service,
                forward: forward(cfg.network),
                port: vs.port,
                sorry: vs.sorry_server.filter(|a| !a.is_unspecified()),
                timeout_secs: vs.timeout,
                quiesce: vs.quiesce_server,
                retry: uplane::RetryPolicy {
                    connect_timeout: vs
                        .connect_timeout
                        .map_or(uplane::retry::CONNECT_TIMEOUT, |s| s.as_duration()),
                    retries: vs.retries.unwrap_or(uplane::retry::RETRIES),
                },
                reals,
            });
        }
        Ok(Desired {
            dataplane: cfg.dataplane,
            timeouts: Timeouts {
                tcp: cfg.tcp_timeout,
                tcp_fin: cfg.tcpfin_timeout,
                udp: cfg.udp_timeout,
            },
            hard_shutdown: cfg.hard_shutdown,
            announce: Announce::of(cfg),
            virtuals,
            index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> LvsConfig {
        let p = lvscf::parse(text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.model
    }

    fn no_dns(h: &Host) -> std::io::Result<IpAddr> {
        h.ip()
            .ok_or_else(|| std::io::Error::other("no dns in tests"))
    }

    const SAMPLE: &str = "primary = 10.0.0.1\nservice = lvs\nnetwork = direct\nrsh_command = ssh\n\
        virtual web {\n active = 1\n address = 192.168.1.100 eth0:1\n port = 80\n\
        send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"HTTP\"\n load_monitor = uptime\n\
        scheduler = wlc\n persistent = 300\n pmask = 255.255.255.0\n timeout = 6\n reentry = 15\n\
        quiesce_server = 1\n server a {\n  address = 192.168.1.2\n  active = 1\n  weight = 100\n }\n\
        server b {\n  address = 192.168.1.3\n  active = 0\n }\n}\n\
        virtual off {\n active = 0\n address = 192.168.1.101 eth0:2\n}\n";

    #[test]
    fn argv_has_piranhas_shape() {
        let c = cfg(SAMPLE);
        let d = Desired::build(&c, &MonitorOptions::default(), &no_dns).unwrap();
        assert_eq!(
            d.virtuals.len(),
            1,
            "inactive virtual servers are not built"
        );
        let v = &d.virtuals[0];
        assert_eq!(v.reals.len(), 1, "inactive real servers get no nanny");
        assert_eq!(
            v.reals[0].argv.join(" "),
            "/usr/sbin/nanny -c -h 192.168.1.2 -p 80 -r 80 -s GET / HTTP/1.0\\r\\n\\r\\n -x HTTP -q \
             -a 15 -I /sbin/ipvsadm -t 6 -w 100 -V 192.168.1.100 -M g -U ssh --lvs --report"
        );
        assert_eq!(v.service.scheduler, "wlc");
        assert!(v.service.is_persistent());
        assert_eq!((v.service.timeout, v.service.netmask), (300, 0xffff_ff00));
        assert_eq!(v.forward, Forward::Route);
    }

    #[test]
    fn udp_fwmark_verbose_foreground_and_override() {
        let c = cfg(
            "primary = 10.0.0.1\nservice = lvs\nvirtual dns {\n active = 1\n address = 10.0.0.53 eth0:1\n\
            port = 53\n protocol = udp\n fwmark = 5\n use_regex = 1\n expect = \"x\"\n load_monitor = rup\n\
            server ns {\n  address = 10.0.1.53\n  active = 1\n }\n}\n",
        );
        let opts = MonitorOptions {
            verbose: true,
            foreground: true,
            nanny: Some("/opt/nanny".into()),
        };
        let d = Desired::build(&c, &opts, &no_dns).unwrap();
        let argv = d.virtuals[0].reals[0].argv.join(" ");
        assert_eq!(
            argv,
            "/opt/nanny -c -h 10.0.1.53 -p 53 -r 53 -f 5 -u -x x --regex -v -a 180 -I /sbin/ipvsadm \
             -t 10 -w 1 -V 10.0.0.53 -M m -U rup --nodaemon --lvs --report"
        );
        assert_eq!(
            d.virtuals[0].service.id,
            ServiceId::Fwmark {
                mark: 5,
                ipv6: false
            }
        );
    }

    #[test]
    fn duplicate_services_and_names() {
        let c = cfg(
            "primary = 10.0.0.1\nservice = lvs\nvirtual a {\n active = 1\n address = web.example eth0:1\n}\n",
        );
        assert!(matches!(
            Desired::build(&c, &MonitorOptions::default(), &no_dns),
            Err(DesiredError::Resolve { .. })
        ));
        let ok =
            |h: &Host| -> std::io::Result<IpAddr> { Ok(h.ip().unwrap_or([10, 9, 9, 9].into())) };
        let d = Desired::build(&c, &MonitorOptions::default(), &ok).unwrap();
        assert_eq!(d.virtuals[0].service.id.to_string(), "TCP 10.9.9.9:80");
    }

    #[test]
    fn connect_timeout_and_retries_become_the_services_retry_policy() {
        let d = Desired::build(&cfg(SAMPLE), &MonitorOptions::default(), &no_dns).unwrap();
        assert_eq!(d.virtuals[0].retry, uplane::RetryPolicy::default());
        assert!(d.virtuals[0].quiesce);
        let text = SAMPLE.replace(
            " timeout = 6\n",
            " timeout = 6\n connect_timeout = 0.3\n retries = 0\n",
        );
        let d = Desired::build(&cfg(&text), &MonitorOptions::default(), &no_dns).unwrap();
        assert_eq!(
            d.virtuals[0].retry,
            uplane::RetryPolicy {
                connect_timeout: std::time::Duration::from_millis(300),
                retries: 0,
            }
        );
    }

    #[test]
    fn sched_flags_become_the_services_flags() {
        let d = Desired::build(&cfg(SAMPLE), &MonitorOptions::default(), &no_dns).unwrap();
        let persistent = d.virtuals[0].service.flags;
        let text = SAMPLE.replace(
            "scheduler = wlc\n",
            "scheduler = mh\n sched_flags = mh-fallback,mh-port\n",
        );
        let d = Desired::build(&cfg(&text), &MonitorOptions::default(), &no_dns).unwrap();
        let s = &d.virtuals[0].service;
        assert_eq!(s.scheduler, "mh");
        assert_eq!(
            s.flags,
            persistent | uplane::sched::FLAG_FALLBACK | uplane::sched::FLAG_PORT
        );
    }

    #[test]
    fn every_lvs_cf_scheduler_runs_on_the_userspace_plane() {
        for (_, name) in lvscf::Scheduler::ALL {
            assert!(uplane::sched::by_name(name).is_some(), "{name}");
        }
    }
}
