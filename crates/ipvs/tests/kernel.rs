//! The netlink client against the real kernel, in a qemu VM, next to the real ipvsadm.
//!
//! Each test runs twice: on the host it boots the VM with this test executable inside;
//! inside the VM (`vmtest::in_guest()`) it does the real work.

use std::net::IpAddr;
use vmtest::must as sh;

use ipvs::{
    Daemon, Dest, Forward, IpvsError, IpvsTable, NetlinkIpvs, Protocol, Service, ServiceId,
    SyncState, Timeouts, TunnelType,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Boot the VM running `name` of this executable, or return false when the VM cannot run.
fn on_host(name: &str) -> bool {
    if vmtest::in_guest() {
        return false;
    }
    if vmtest::require() {
        let out = vmtest::Guest::self_test(name).run_ok();
        out.assert_self_test_passed();
    }
    true
}

fn kernel_errno(r: Result<(), IpvsError>) -> i32 {
    match r {
        Err(IpvsError::Kernel { errno, .. }) => errno,
        other => panic!("expected a kernel error, got {other:?}"),
    }
}

#[test]
fn client_programs_the_kernel_as_ipvsadm_sees_it() {
    if on_host("client_programs_the_kernel_as_ipvsadm_sees_it") {
        return;
    }
    sh(
        "/sbin/ip link add v0 type veth peer name v1 && /sbin/ip addr add 192.168.10.254/24 dev v0 \
        && /sbin/ip -6 addr add 2001:db8::fe/64 dev v0 nodad && /sbin/ip link set v0 up && /sbin/ip link set v1 up",
    );
    let mut k = NetlinkIpvs::new().expect("IPVS family");
    let info = k.info().unwrap();
    assert_eq!(info.version, 0x010201);
    assert_eq!(info.conn_tab_size, 4096);
    assert!(k.services().unwrap().is_empty());

    let web = Service::new(ServiceId::tcp(ip("207.175.44.110"), 80))
        .scheduler("rr")
        .persistent(360);
    let mut web = web;
    web.netmask = 0xffffff00;
    k.add_service(&web).unwrap();
    let dns = Service::new(ServiceId::Addr {
        protocol: Protocol::Udp,
        addr: ip("2001:db8::80"),
        port: 53,
    })
    .scheduler("sh");
    let mut dns = dns;
    dns.flags |= ipvs::consts::svc_flags::SCHED1 | ipvs::consts::svc_flags::SCHED2;
    k.add_service(&dns).unwrap();
    let fwm = Service::new(ServiceId::Fwmark {
        mark: 1,
        ipv6: false,
    });
    k.add_service(&fwm).unwrap();

    k.add_dest(
        &web,
        &Dest::new(ip("192.168.10.1"), 80).forward(Forward::Masq),
    )
    .unwrap();
    k.add_dest(
        &web,
        &Dest::new(ip("192.168.10.2"), 80)
            .forward(Forward::Masq)
            .weight(3),
    )
    .unwrap();
    let mut gue = Dest::new(ip("192.168.10.3"), 0).forward(Forward::Tunnel);
    gue.tun_type = TunnelType::Gue;
    gue.tun_port = 6080;
    k.add_dest(&fwm, &gue).unwrap();

    // The real ipvsadm reads the same table back.
    let saved = sh("ipvsadm -S -n");
    assert_eq!(
        saved,
        "-A -t 207.175.44.110:80 -s rr -p 360 -M 255.255.255.0\n\
         -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1\n\
         -a -t 207.175.44.110:80 -r 192.168.10.2:80 -m -w 3\n\
         -A -u [2001:db8::80]:53 -s sh -b sh-fallback,sh-port\n\
         -A -f 1 -s wlc\n\
         -a -f 1 -r 192.168.10.3:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n",
        "{saved}"
    );

    // And we read back what ipvsadm wrote.
    sh(
        "ipvsadm -A -t 10.0.0.1:443 -s wlc && ipvsadm -a -t 10.0.0.1:443 -r 192.168.10.9 -g -w 5 -x 100 -y 10",
    );
    let svc = k.service(ServiceId::tcp(ip("10.0.0.1"), 443)).unwrap();
    assert_eq!(svc.scheduler, "wlc");
    assert_eq!(svc.flags, 0);
    assert_eq!(svc.netmask, u32::MAX);
    let dests = k.dests(svc.id).unwrap();
    assert_eq!(dests.len(), 1);
    let d = &dests[0];
    assert_eq!(
        (d.addr, d.port, d.forward, d.weight),
        (ip("192.168.10.9"), 443, Forward::Route, 5)
    );
    assert_eq!((d.u_threshold, d.l_threshold), (100, 10));
    let all = k.services().unwrap();
    assert_eq!(all.len(), 4);
    let got_dns = all.iter().find(|s| s.id == dns.id).unwrap();
    assert_eq!(got_dns.netmask, 128);
    assert_eq!(got_dns.flags, dns.flags);
    // The kernel lists destinations newest first.
    let web_dests: Vec<_> = k.dests(web.id).unwrap().iter().map(|d| d.addr).collect();
    assert_eq!(web_dests, [ip("192.168.10.2"), ip("192.168.10.1")]);

    // Edits.
    let mut edited = web.clone();
    edited.scheduler = "wlc".into();
    k.edit_service(&edited).unwrap();
    k.edit_dest(
        &web,
        &Dest::new(ip("192.168.10.1"), 80)
            .forward(Forward::Masq)
            .weight(0),
    )
    .unwrap();
    assert!(
        sh("ipvsadm -L -n -t 207.175.44.110:80")
            .contains("  -> 192.168.10.1:80              Masq    0      0          0")
    );

    // The kernel's errors, as the in-memory table answers them too.
    use ipvs::error::errno::*;
    assert_eq!(kernel_errno(k.add_service(&web)), EEXIST);
    assert_eq!(
        kernel_errno(
            k.add_service(&Service::new(ServiceId::tcp(ip("10.9.9.9"), 1)).scheduler("fifo"))
        ),
        ENOENT
    );
    assert_eq!(
        kernel_errno(k.del_service(&Service::new(ServiceId::tcp(ip("10.9.9.9"), 1)))),
        ESRCH
    );
    assert_eq!(
        kernel_errno(k.add_dest(
            &Service::new(ServiceId::tcp(ip("10.9.9.9"), 1)),
            &Dest::new(ip("192.168.10.1"), 1)
        )),
        ESRCH
    );
    assert_eq!(
        kernel_errno(k.add_dest(&web, &Dest::new(ip("192.168.10.1"), 80))),
        EEXIST
    );
    assert_eq!(
        kernel_errno(k.edit_dest(&web, &Dest::new(ip("192.168.10.7"), 80))),
        ENOENT
    );
    assert_eq!(
        kernel_errno(k.del_dest(&web, &Dest::new(ip("192.168.10.7"), 80))),
        ENOENT
    );
    assert_eq!(
        kernel_errno(k.add_dest(&web, &Dest::new(ip("192.168.10.8"), 80).weight(-1))),
        ERANGE
    );
    let mut thr = Dest::new(ip("192.168.10.8"), 80);
    thr.l_threshold = 5;
    assert_eq!(kernel_errno(k.add_dest(&web, &thr)), ERANGE);
    assert_eq!(
        kernel_errno(k.add_dest(&web, &Dest::new(ip("2001:db8::1"), 80))),
        EINVAL
    );
    assert_eq!(
        kernel_errno(k.stop_daemon(&Daemon::new(SyncState::Master, "v0", 0))),
        ESRCH
    );
    assert_eq!(
        kernel_errno(k.start_daemon(&Daemon::new(SyncState::Master, "nosuchif", 0))),
        ENODEV
    );

    // Timeouts and sync daemons.
    assert_eq!(
        k.timeouts().unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    k.set_timeouts(Timeouts {
        tcp: 600,
        tcp_fin: 0,
        udp: 60,
    })
    .unwrap();
    assert_eq!(
        k.timeouts().unwrap(),
        Timeouts {
            tcp: 600,
            tcp_fin: 120,
            udp: 60
        }
    );
    k.start_daemon(&Daemon::new(SyncState::Master, "v0", 7))
        .unwrap();
    assert_eq!(
        kernel_errno(k.start_daemon(&Daemon::new(SyncState::Master, "v0", 7))),
        EEXIST
    );
    let d = k.daemons().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].state, d[0].mcast_ifn.as_str(), d[0].syncid),
        (SyncState::Master, "v0", 7)
    );
    assert_eq!(
        sh("ipvsadm -L --daemon"),
        "master sync daemon (mcast=v0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
    );
    k.stop_daemon(&Daemon::new(SyncState::Master, "v0", 7))
        .unwrap();
    assert!(k.daemons().unwrap().is_empty());

    // Zero, delete, flush.
    k.zero(None).unwrap();
    k.zero(Some(&web)).unwrap();
    k.del_dest(&web, &Dest::new(ip("192.168.10.2"), 80))
        .unwrap();
    k.del_service(&dns).unwrap();
    assert_eq!(k.services().unwrap().len(), 3);
    k.flush().unwrap();
    assert!(k.services().unwrap().is_empty());
    assert_eq!(sh("ipvsadm -S -n"), "");
}
