//! netif: the network interfaces a director changes and watches.
//!
//! pulse and fos need four things from the kernel besides IPVS: the addresses of this host (to
//! tell the primary from the backup), floating addresses put up and taken down with their
//! `eth0:1` labels, link state (piranha's `monitor_links`) and the default gateway (fos's
//! network check). All of it goes through rtnetlink here, so no daemon runs `ifconfig` or `ip`.
//! [`announce`] sends the gratuitous ARPs and unsolicited neighbour advertisements that move a
//! floating address's traffic to this host; [`ping`] asks the gateway whether the network works.

use std::io;
use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::route::RouteMessage;

pub mod announce;
pub mod decode;
pub mod ping;

/// What went wrong, with the operation it was for.
#[derive(Debug, thiserror::Error)]
pub enum NetifError {
    #[error("no such network device: {0}")]
    NoSuchDevice(String),
    #[error("{what}: {source}")]
    Netlink { what: String, source: io::Error },
    #[error("cannot open a netlink socket: {0}")]
    Open(io::Error),
}

pub type Result<T> = std::result::Result<T, NetifError>;

fn nl(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetifError {
    let what = what.into();
    move |e| NetifError::Netlink {
        what,
        source: match e {
            rtnetlink::Error::NetlinkError(m) => m.to_io(),
            other => io::Error::other(other.to_string()),
        },
    }
}

/// One network device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// A bonding slave (`IFF_SLAVE`): its state is its master's business.
    pub slave: bool,
    pub mac: Option<[u8; 6]>,
}

impl Link {
    /// Up in the sense of `monitor_links`: up and with a carrier.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.carrier
    }
}

/// One address on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    /// The label (`eth0:1`), or the device's name when the address has none of its own.
    pub label: String,
    pub ip: IpAddr,
    pub prefix: u8,
}

/// The device part of an `eth0:1` style name.
pub fn base_device(device: &str) -> &str {
    device.split(':').next().unwrap_or(device)
}

/// A handle on the kernel's routing netlink; create it inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct Netif {
    handle: rtnetlink::Handle,
}

impl Netif {
    pub fn new() -> Result<Netif> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(NetifError::Open)?;
        tokio::spawn(conn);
        Ok(Netif { handle })
    }

    pub async fn links(&self) -> Result<Vec<Link>> {
        let mut s = self.handle.link().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.try_next().await.map_err(nl("listing links"))? {
            out.push(decode::link(&m));
        }
        Ok(out)
    }

    /// The device `name` (an `eth0:1` label names its base device).
    pub async fn link(&self, name: &str) -> Result<Link> {
        let base = base_device(name);
        self.links()
            .await?
            .into_iter()
            .find(|l| l.name == base)
            .ok_or_else(|| NetifError::NoSuchDevice(base.to_owned()))
    }

    pub async fn addresses(&self) -> Result<Vec<Address>> {
        let mut s = self.handle.address().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.try_next().await.map_err(nl("listing addresses"))? {
            out.extend(decode::address(&m));
        }
        let links = self.links().await?;
        for a in out.iter_mut().filter(|a| a.label.is_empty()) {
            if let Some(l) = links.iter().find(|l| l.index == a.index) {
                a.label = l.name.clone();
            }
        }
        Ok(out)
    }

    /// Put `ip/prefix` on `device` (`eth0` or `eth0:1`, which becomes the label) and bring the
    /// device up, as `ifconfig eth0:1 IP netmask M up` did. Returns false when the address was
    /// already there. IPv6 addresses skip duplicate address detection so they can be used (and
    /// announced) at once.
    pub async fn add_address(&self, device: &str, ip: IpAddr, prefix: u8) -> Result<bool> {
        let link = self.link(device).await?;
        self.add_address_to(&link, device, ip, prefix).await
    }

    /// [`Netif::add_address`] for many addresses at once: the links are listed once and the
    /// requests go out together (a takeover of 51 VIPs takes one round trip, not 51 pairs).
    /// One result per address, in order.
    pub async fn add_addresses(&self, wanted: &[(String, IpAddr, u8)]) -> Vec<Result<bool>> {
        let links = match self.links().await {
            Ok(l) => l,
            Err(_) => {
                // Each request then says what went wrong for its own address.
                let mut out = Vec::new();
                for (device, ip, prefix) in wanted {
                    out.push(self.add_address(device, *ip, *prefix).await);
                }
                return out;
            }
        };
        let requests = wanted.iter().map(|(device, ip, prefix)| {
            let base = base_device(device);
            let link = links.iter().find(|l| l.name == base).cloned();
            async move {
                match link {
                    Some(l) => self.add_address_to(&l, device, *ip, *prefix).await,
                    None => Err(NetifError::NoSuchDevice(base.to_owned())),
                }
            }
        });
        futures::future::join_all(requests).await
    }

    async fn add_address_to(
        &self,
        link: &Link,
        device: &str,
        ip: IpAddr,
        prefix: u8,
    ) -> Result<bool> {
        let mut req = self.handle.address().add(link.index, ip, prefix);
        if device.contains(':') && ip.is_ipv4() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Label(device.to_owned()));
        }
        if ip.is_ipv6() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        let added = match req.execute().await {
            Ok(()) => true,
            Err(rtnetlink::Error::NetlinkError(m))
                if m.to_io().raw_os_error() == Some(libc::EEXIST) =>
            {
                false
            }
            Err(e) => return Err(nl(format!("adding {ip}/{prefix} to {device}"))(e)),
        };
        if !link.admin_up {
            self.set_up(link.index).await?;
        }
        Ok(added)
    }

    /// Take `ip` off the device it is on (any prefix, any label of `device`'s base device).
    /// Returns false when it was not there.
    pub async fn del_address(&self, device: &str, ip: IpAddr) -> Result<bool> {
        let link = match self.link(device).await {
            Ok(l) => l,
            Err(NetifError::NoSuchDevice(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(link.index)
            .set_address_filter(ip)
            .execute();
        let mut found: Vec<AddressMessage> = Vec::new();
        while let Some(m) = s.try_next().await.map_err(nl("listing addresses"))? {
            found.push(m);
        }
        let mut removed = false;
        for m in found {
            match self.handle.address().del(m).execute().await {
                Ok(()) => removed = true,
                Err(rtnetlink::Error::NetlinkError(e))
                    if e.to_io().raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
                Err(e) => return Err(nl(format!("removing {ip} from {device}"))(e)),
            }
        }
        Ok(removed)
    }

    async fn set_up(&self, index: u32) -> Result<()> {
        self.handle
            .link()
            .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(nl("setting the link up"))
    }

    /// The default gateway, as `ip route show` lists it first: IPv4's, else IPv6's. With it,
    /// the device of the route (needed to reach a link-local IPv6 gateway).
    pub async fn default_gateway(&self) -> Result<Option<(IpAddr, u32)>> {
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family;
            let mut s = self.handle.route().get(msg).execute();
            while let Some(r) = s.try_next().await.map_err(nl("listing routes"))? {
                if let Some(g) = decode::default_gateway(&r) {
                    return Ok(Some(g));
                }
            }
        }
        Ok(None)
    }
}

/// This host's addresses; empty when netlink cannot be reached (the caller then holds none,
/// which makes a director the backup).
pub async fn local_addresses() -> Vec<IpAddr> {
    match Netif::new() {
        Ok(n) => n
            .addresses()
            .await
            .map(|v| v.into_iter().map(|a| a.ip).collect())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// A stream of link changes (`ip monitor link`).
#[derive(Debug)]
pub struct LinkWatch {
    rx: futures::channel::mpsc::UnboundedReceiver<(
        rtnetlink::packet_core::NetlinkMessage<netlink_packet_route::RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
}

impl LinkWatch {
    /// Subscribe to link events; call [`Netif::links`] afterwards for the starting state, so no
    /// change falls between the two.
    pub fn new() -> Result<LinkWatch> {
        let (conn, _handle, rx) =
            rtnetlink::new_multicast_connection(&[rtnetlink::MulticastGroup::Link])
                .map_err(NetifError::Open)?;
        tokio::spawn(conn);
        Ok(LinkWatch { rx })
    }

    /// The next changed link; a removed device comes back with `admin_up` and `carrier` false.
    /// `None` when the netlink socket is gone.
    pub async fn next(&mut self) -> Option<Link> {
        use futures::StreamExt;
        use rtnetlink::packet_core::NetlinkPayload;
        loop {
            let (msg, _) = self.rx.next().await?;
            if let NetlinkPayload::InnerMessage(inner) = msg.payload
                && let Some(l) = decode::link_event(&inner)
            {
                return Some(l);
            }
        }
    }
}
