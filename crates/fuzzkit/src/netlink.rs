//! Netlink replies: the IPVS generic-netlink family and routing netlink.

use ipvs::attr::{Attr, Value};
use ipvs::consts::cmd_attr;
use ipvs::message::{
    IpvsMessage, Reply, Request, classify, daemon_of, decode, dest_of, info_of, service_of,
    service_reply_attrs, timeouts_of,
};

/// One IPVS netlink message as the client reads a reply: decoded, classified, and read as
/// each kind of answer. A service that decodes encodes back to itself.
pub fn ipvs_netlink(data: &[u8]) {
    let Ok(msg) = decode(data) else { return };
    let Reply::Message(m) = classify(msg) else {
        return;
    };
    let _ = info_of(&m);
    let _ = timeouts_of(&m);
    let _ = daemon_of(&m);
    if let Ok(s) = service_of(&m) {
        let _ = dest_of(&m, s.id.af());
        let nest = Attr::new(cmd_attr::SERVICE, Value::Nest(service_reply_attrs(&s)));
        let request = Request {
            message: IpvsMessage::new(m.cmd, vec![nest]),
            dump: false,
        };
        let bytes = request.to_bytes(FAMILY, 1, 0);
        let again = match decode(&bytes).map(classify) {
            Ok(Reply::Message(m)) => service_of(&m),
            other => panic!("an encoded service does not decode: {other:?}"),
        };
        assert_eq!(again.as_ref().ok(), Some(&s), "service round trip");
    } else {
        for af in [libc_af::INET, libc_af::INET6] {
            let _ = dest_of(&m, af);
        }
    }
}

/// Any generic-netlink family id will do: replies are read by their command and attributes.
const FAMILY: u16 = 0x20;

mod libc_af {
    pub const INET: u16 = 2;
    pub const INET6: u16 = 10;
}

/// One routing netlink message as netif reads replies and link events.
pub fn netif_netlink(data: &[u8]) {
    let _ = netif::decode::message(data);
}
