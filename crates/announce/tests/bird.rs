//! The fragment and the control-socket client against a real BIRD 2: BIRD takes the routes
//! lvsd writes, drops them when they are withdrawn, and a refused or unreachable BIRD is an
//! error (never a panic). BIRD runs with its own socket in a scratch directory.

use std::net::IpAddr;

use announce::reply::Accepted;
use announce::{Bird, Error, Vips};
use testkit::bird::{self, Bird as RunningBird};

fn vips(ips: &[&str]) -> Vips {
    ips.iter().map(|s| s.parse::<IpAddr>().unwrap()).collect()
}

#[test]
fn bird_learns_and_forgets_the_announced_vips() {
    if !bird::available() {
        return;
    }
    let dir = testkit::tempdir::TempDir::new("announce-bird");
    let file = dir.join("run/announce.conf");
    announce::file::write_atomic(&file, &announce::render(&Vips::new())).unwrap();
    let conf = dir.write(
        "bird.conf",
        &format!(
            "router id 10.0.0.1;\nprotocol device {{}}\ninclude \"{}\";\n",
            file.display()
        ),
    );
    let running = RunningBird::start_in(dir, conf);
    let client = Bird::new(running.socket());

    let two = vips(&["10.9.0.1", "2001:db8::80"]);
    let got = announce::apply(&file, &client, &two).unwrap();
    assert_eq!(got, Accepted::Reconfigured);
    let routes = running.cmd("show route").unwrap();
    assert!(
        routes.contains("10.9.0.1/32") && routes.contains("blackhole [piranha_vips "),
        "{routes}"
    );
    assert!(
        routes.contains("2001:db8::80/128") && routes.contains("[piranha_vips6 "),
        "{routes}"
    );

    let one = vips(&["2001:db8::80"]);
    announce::apply(&file, &client, &one).unwrap();
    let routes = running.cmd("show route").unwrap();
    assert!(!routes.contains("10.9.0.1/32"), "{routes}");
    assert!(routes.contains("2001:db8::80/128"), "{routes}");

    // A fragment BIRD refuses: the error names the file and line, BIRD keeps running.
    std::fs::write(
        &file,
        "protocol static piranha_vips {\n ipv4;\n route 10.9.0.1/32\n}\n",
    )
    .unwrap();
    match client.configure() {
        Err(Error::Refused { code, message }) => {
            assert_eq!(code, 8002);
            assert!(message.contains("announce.conf:4"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    announce::apply(&file, &client, &Vips::new()).unwrap();
    let routes = running.cmd("show route").unwrap();
    assert!(
        !routes.contains("/128") && !routes.contains("/32"),
        "{routes}"
    );

    // No BIRD on the socket: an error to retry.
    let gone = Bird::new(running.dir.join("nobody.ctl"));
    assert!(matches!(gone.configure(), Err(Error::Connect { .. })));
}
