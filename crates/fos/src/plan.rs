//! The failover services of lvs.cf, with their commands and monitors (spec §5.2), decided
//! without touching the system.

use std::net::IpAddr;

use lvscf::{Host, LvsConfig, Protocol, Service as Kind};

/// One active `failover` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub vip: IpAddr,
    pub port: u16,
    /// `start_cmd` and `stop_cmd` split into words (no shell).
    pub start: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    /// The monitor's argument vector (program first).
    pub monitor: Vec<String>,
    /// `hot_standby = 1`: the service runs on both nodes; a role change moves only the VIP.
    pub hot: bool,
    /// Hot services: the monitor of this node's own copy, at this node's address (the VIP is
    /// the partner's while this node is inactive).
    pub local_monitor: Option<Vec<String>>,
}

impl Service {
    /// `VIP:PORT`, as fos's log lines name a service.
    pub fn label(&self) -> String {
        match self.vip {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

/// How monitors are started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorOptions {
    pub verbose: bool,
    /// fos is in the foreground: its monitors are too (`--nodaemon`).
    pub foreground: bool,
    /// Instead of each block's `client_monitor`.
    pub nanny: Option<String>,
}

/// Why the file gives fos nothing to do.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("Service type is not \"fos\" in {0}")]
    NotFos(String),
    #[error("cannot resolve {what}: {source}")]
    Resolve {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("No Failover Services defined in {0}.")]
    NoServices(String),
}

type Resolve<'a> = &'a dyn Fn(&Host) -> std::io::Result<IpAddr>;

fn resolved(
    resolve: Resolve<'_>,
    h: &Host,
    what: impl FnOnce() -> String,
) -> Result<IpAddr, PlanError> {
    resolve(h).map_err(|source| PlanError::Resolve {
        what: what(),
        source,
    })
}

/// The services fos runs or monitors. `local` lists this host's addresses (the node that has
/// `primary` is the master; the partner is the other one).
pub fn build(
    cfg: &LvsConfig,
    config_path: &str,
    local: &[IpAddr],
    opts: &MonitorOptions,
    resolve: Resolve<'_>,
) -> Result<Vec<Service>, PlanError> {
    if cfg.service != Kind::Fos {
        return Err(PlanError::NotFos(config_path.to_owned()));
    }
    let ip = |h: &Option<Host>, what: &str| {
        h.as_ref()
            .filter(|h| !h.is_unspecified())
            .map(|h| resolved(resolve, h, || what.to_owned()))
            .transpose()
    };
    let primary = ip(&cfg.primary, "primary")?;
    let backup = ip(&cfg.backup, "backup")?;
    let master = primary.is_some_and(|p| local.contains(&p));
    let partner = if master { backup } else { primary };
    let own = if master { primary } else { backup }.filter(|a| local.contains(a));
    let mut out = Vec::new();
    for b in cfg.failover_services.iter().filter(|b| b.active) {
        let Some(a) = &b.address else { continue };
        let vip = resolved(resolve, &a.address, || format!("the address of {}", b.name))?;
        let words = |c: &Option<String>| {
            c.as_deref()
                .map(lvscf::split_words)
                .filter(|w| !w.is_empty())
        };
        out.push(Service {
            name: b.name.clone(),
            vip,
            port: b.port,
            start: words(&b.start_cmd),
            stop: words(&b.stop_cmd),
            monitor: monitor(b, vip, partner, opts),
            hot: b.hot_standby,
            local_monitor: b
                .hot_standby
                .then(|| monitor(b, local_target(own, vip), None, opts)),
        });
    }
    if out.is_empty() {
        return Err(PlanError::NoServices(config_path.to_owned()));
    }
    Ok(out)
}

/// Where this node's own copy of a hot service is checked: this node's address in lvs.cf
/// when it is of the VIP's family, else the loopback address of that family.
fn local_target(own: Option<IpAddr>, vip: IpAddr) -> IpAddr {
    match own {
        Some(a) if a.is_ipv4() == vip.is_ipv4() => a,
        _ if vip.is_ipv4() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        _ => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

/// The `nanny --fos` argument vector that watches block `b` at `vip`.
fn monitor(
    b: &lvscf::VirtualServer,
    vip: IpAddr,
    partner: Option<IpAddr>,
    opts: &MonitorOptions,
) -> Vec<String> {
    let mut m: Vec<String> = Vec::with_capacity(24);
    let mut push = |s: &str| m.push(s.to_owned());
    push(opts.nanny.as_deref().unwrap_or(&b.client_monitor));
    push("-c");
    push("-h");
    push(&vip.to_string());
    if let Some(p) = partner {
        push("-V");
        push(&p.to_string());
    }
    push("-p");
    push(&b.port.to_string());
    if opts.verbose {
        push("-v");
    }
    if b.protocol == Protocol::Udp {
        push("-u");
    }
    if let Some(p) = &b.send_program {
        push("-e");
        push(p);
    }
    if let Some(s) = &b.send {
        push("-s");
        push(s);
    }
    if let Some(x) = &b.expect {
        push("-x");
        push(x);
    }
    if b.use_regex {
        push("--regex");
    }
    push("-t");
    push(&b.timeout.to_string());
    if opts.foreground {
        push("--nodaemon");
    }
    push("--fos");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
primary = 10.0.0.1
backup = 10.0.0.2
backup_active = 1
service = fos
failover web {
    active = 1
    address = 10.0.0.50 eth0:1
    port = 80
    send = "GET / HTTP/1.0\r\n\r\n"
    expect = "HTTP"
    timeout = 3
    start_cmd = "/etc/init.d/httpd start"
    stop_cmd = "/bin/sh -c 'kill $(cat /run/httpd.pid)'"
}
failover dns {
    active = 1
    address = 10.0.0.51 eth0:2
    port = 53
    protocol = udp
    send_program = "/usr/local/bin/dnscheck %h"
}
failover off {
    active = 0
    address = 10.0.0.52 eth0:3
    port = 21
}
"#;

    fn cfg(text: &str) -> LvsConfig {
        let p = lvscf::parse(text);
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        p.config().unwrap().clone()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn res(h: &Host) -> std::io::Result<IpAddr> {
        h.resolve()
    }

    #[test]
    fn piranhas_monitor_argv_against_the_vip() {
        let c = cfg(FILE);
        let o = MonitorOptions {
            verbose: true,
            foreground: true,
            nanny: None,
        };
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.2")], &o, &res).unwrap();
        assert_eq!(s.len(), 2, "the inactive block is left out");
        assert_eq!(
            s[0].monitor.join(" "),
            "/usr/sbin/nanny -c -h 10.0.0.50 -V 10.0.0.1 -p 80 -v -s GET / HTTP/1.0\\r\\n\\r\\n \
             -x HTTP -t 3 --nodaemon --fos"
        );
        assert_eq!(s[0].label(), "10.0.0.50:80");
        assert_eq!(
            s[0].start,
            Some(vec!["/etc/init.d/httpd".into(), "start".into()])
        );
        assert_eq!(
            s[0].stop,
            Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "kill $(cat /run/httpd.pid)".into()
            ])
        );
        assert_eq!(
            s[1].monitor.join(" "),
            "/usr/sbin/nanny -c -h 10.0.0.51 -V 10.0.0.1 -p 53 -v -u -e /usr/local/bin/dnscheck %h \
             -t 10 --nodaemon --fos"
        );
        assert_eq!(s[1].start, None);
        // On the master the partner is the backup; --nanny replaces client_monitor.
        let o = MonitorOptions {
            nanny: Some("/opt/nanny".into()),
            ..MonitorOptions::default()
        };
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.1")], &o, &res).unwrap();
        assert_eq!(
            s[0].monitor[..6].join(" "),
            "/opt/nanny -c -h 10.0.0.50 -V 10.0.0.2"
        );
        assert!(!s[0].monitor.contains(&"--nodaemon".to_owned()));
        assert!(
            !s[0].hot && s[0].local_monitor.is_none(),
            "hot_standby is 0 by default"
        );
    }

    #[test]
    fn a_hot_service_has_a_monitor_of_its_own_copy() {
        let c = cfg(&FILE.replacen("    port = 80\n", "    port = 80\n    hot_standby = 1\n", 1));
        let o = MonitorOptions::default();
        // On the backup its own copy is checked at the backup's address, without -V.
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.2")], &o, &res).unwrap();
        assert!(s[0].hot && !s[1].hot);
        assert_eq!(
            s[0].local_monitor.as_ref().unwrap()[..7].join(" "),
            "/usr/sbin/nanny -c -h 10.0.0.2 -p 80 -s"
        );
        assert_eq!(s[1].local_monitor, None);
        // The partner's copy is still watched at the VIP.
        assert_eq!(
            s[0].monitor[..4].join(" "),
            "/usr/sbin/nanny -c -h 10.0.0.50"
        );
        let s = build(&c, "/etc/lvs.cf", &[ip("10.0.0.1")], &o, &res).unwrap();
        assert_eq!(s[0].local_monitor.as_ref().unwrap()[3], "10.0.0.1");
        // Not one of the directors, or another family: the loopback address.
        let s = build(&c, "/etc/lvs.cf", &[], &o, &res).unwrap();
        assert_eq!(s[0].local_monitor.as_ref().unwrap()[3], "127.0.0.1");
        assert_eq!(
            local_target(Some(ip("10.0.0.1")), ip("fd00::50")),
            ip("::1")
        );
    }

    #[test]
    fn piranhas_errors() {
        // lvscf rejects such files; fos still says piranha's lines if handed one.
        let mut c = cfg(FILE);
        c.service = Kind::Lvs;
        assert_eq!(
            build(&c, "/x.cf", &[], &MonitorOptions::default(), &res)
                .unwrap_err()
                .to_string(),
            "Service type is not \"fos\" in /x.cf"
        );
        let mut c = cfg(FILE);
        for b in &mut c.failover_services {
            b.active = false;
        }
        assert_eq!(
            build(&c, "/x.cf", &[], &MonitorOptions::default(), &res)
                .unwrap_err()
                .to_string(),
            "No Failover Services defined in /x.cf."
        );
    }
}
