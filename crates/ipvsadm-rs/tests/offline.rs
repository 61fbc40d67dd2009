//! `names::go_offline` stops every name-service look-up (the fuzz targets rely on it). In a
//! test file of its own: the switch is for the whole process.

use ipvsadm_rs::names;
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn offline_knows_no_names_but_still_reads_numbers() {
    const TCP: u16 = 6;
    // Before: the C library answers from /etc/hosts and /etc/services (netbase in CI).
    assert_eq!(names::host_to_ipv4("localhost"), Some(Ipv4Addr::LOCALHOST));
    if std::path::Path::new("/etc/services").exists() {
        assert_eq!(names::service_to_port("http", TCP), Some(80));
        assert_eq!(names::port_to_service(80, TCP).as_deref(), Some("http"));
    }
    names::go_offline();
    assert_eq!(names::host_to_ipv4("localhost"), None);
    assert_eq!(names::service_to_port("http", TCP), None);
    assert_eq!(names::port_to_service(80, TCP), None);
    assert_eq!(names::addr_to_host(IpAddr::V4(Ipv4Addr::LOCALHOST)), None);
    assert_eq!(
        names::inet_aton("10.1.2.3"),
        Some(Ipv4Addr::new(10, 1, 2, 3))
    );
    let args: Vec<String> = ["-A", "-t", "10.1.2.3:80"].map(String::from).into();
    assert!(ipvsadm_rs::opts::parse(&args, false).is_ok());
    let named: Vec<String> = ["-A", "-t", "localhost:http"].map(String::from).into();
    assert!(ipvsadm_rs::opts::parse(&named, false).is_err());
}
