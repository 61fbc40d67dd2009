//! Standalone `--lvs` mode: the monitor changes an IPVS table itself. Here the table is the
//! in-memory one; `vm.rs` does the same against the real kernel.

use std::time::Duration;

use ipvs::{Forward, IpvsTable, MemoryTable, Service};
use nanny::apply::Direct;
use nanny::run::Runner;

/// Run the (blocking) monitor for `d` off the runtime's worker, so the listeners keep serving.
fn run_for<A: nanny::apply::Apply>(r: &mut Runner<'_, A>, d: Duration) -> Option<i32> {
    tokio::task::block_in_place(|| r.run_for(d))
}

fn config(args: &[&str]) -> nanny::opts::Config {
    nanny::opts::config(args).unwrap()
}

async fn listener() -> (tokio::task::JoinHandle<()>, u16) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            if let Ok((mut s, _)) = l.accept().await {
                let _ = tokio::io::AsyncWriteExt::write_all(&mut s, b"220 ready\r\n").await;
            }
        }
    });
    (task, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_lvs_adds_ramps_removes_and_cleans_up() {
    let (server, port) = listener().await;
    let p = port.to_string();
    let cfg = config(&[
        "-h",
        "127.0.0.1",
        "-p",
        "21",
        "-r",
        &p,
        "-V",
        "10.1.1.1",
        "-M",
        "g",
        "-w",
        "64",
        "-t",
        "0.2",
        "-a",
        "0.4",
        "-x",
        "220",
        "--lvs",
    ]);
    let mut table = MemoryTable::new();
    let svc = Service::new(ipvs::ServiceId::tcp("10.1.1.1".parse().unwrap(), 21)).scheduler("wlc");
    table.add_service(&svc).unwrap();
    let target = nanny::start::target(&cfg).unwrap();
    let mut r = Runner::new(
        &cfg,
        Direct {
            table,
            target: target.clone(),
        },
        Some(target),
    );

    // First success: added with weight 64 >> 5 = 2, direct routing, to the real port.
    assert_eq!(run_for(&mut r, Duration::from_millis(100)), None);
    let d = r.applier.table.dests(svc.id).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].addr.to_string(), d[0].port, d[0].weight, d[0].forward),
        ("127.0.0.1".into(), port, 2, Forward::Route)
    );

    // At 0.2 s the weight doubles every 100 checks (20 s); no change within a second.
    run_for(&mut r, Duration::from_secs(1));
    assert_eq!(r.applier.table.dests(svc.id).unwrap()[0].weight, 2);

    // The server dies: one failed check removes it.
    server.abort();
    let _ = server.await;
    run_for(&mut r, Duration::from_millis(600));
    assert!(r.applier.table.dests(svc.id).unwrap().is_empty());
    assert!(!r.monitor.is_active());

    // It comes back on the same port: re-added after reentry / interval = 2 successes.
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(async move {
        loop {
            if let Ok((mut s, _)) = l.accept().await {
                let _ = tokio::io::AsyncWriteExt::write_all(&mut s, b"220 again\r\n").await;
            }
        }
    });
    run_for(&mut r, Duration::from_millis(1000));
    assert_eq!(r.applier.table.dests(svc.id).unwrap().len(), 1);

    // SIGTERM's cleanup removes it and exits 0.
    assert_eq!(r.shutdown(15), 0);
    assert!(r.applier.table.dests(svc.id).unwrap().is_empty());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_exits_255_when_ipvs_refuses() {
    let (_server, port) = listener().await;
    let p = port.to_string();
    let cfg = config(&[
        "-h",
        "127.0.0.1",
        "-p",
        "21",
        "-r",
        &p,
        "-V",
        "10.1.1.1",
        "-t",
        "0.2",
        "-x",
        "220",
        "--lvs",
    ]);
    // No such virtual service in the table: ipvsadm -a would fail, and so does nanny.
    let target = nanny::start::target(&cfg).unwrap();
    let mut r = Runner::new(
        &cfg,
        Direct {
            table: MemoryTable::new(),
            target: target.clone(),
        },
        Some(target),
    );
    let code = run_for(&mut r, Duration::from_secs(5));
    assert_eq!(code, Some(255));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fwmark_services_ignore_the_vip() {
    let (_server, port) = listener().await;
    let p = port.to_string();
    let cfg = config(&[
        "-h",
        "127.0.0.1",
        "-p",
        "21",
        "-r",
        &p,
        "-f",
        "7",
        "-M",
        "i",
        "-t",
        "0.2",
        "-x",
        "220",
        "--lvs",
    ]);
    let mut table = MemoryTable::new();
    let svc = Service::new(ipvs::ServiceId::Fwmark {
        mark: 7,
        ipv6: false,
    })
    .scheduler("rr");
    table.add_service(&svc).unwrap();
    let target = nanny::start::target(&cfg).unwrap();
    let mut r = Runner::new(
        &cfg,
        Direct {
            table,
            target: target.clone(),
        },
        Some(target),
    );
    run_for(&mut r, Duration::from_millis(150));
    let d = r.applier.table.dests(svc.id).unwrap();
    assert_eq!(
        (d.len(), d[0].forward, d[0].weight),
        (1, Forward::Tunnel, 1)
    );
}
