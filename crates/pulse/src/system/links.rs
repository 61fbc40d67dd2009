//! Link watching: which of the heartbeat addresses' devices are down, on every change.

use std::collections::HashMap;
use std::net::IpAddr;

use tokio::sync::mpsc;

use crate::daemon::Event;

/// Send [`Event::Links`] with the names of the watched addresses whose device is down: once
/// at the start (even "all up": it ends a LINKFAIL from before a reload), then on each change.
pub(super) async fn watch(
    watched: Vec<(IpAddr, &'static str)>,
    tx: mpsc::UnboundedSender<Event>,
) -> netif::Result<()> {
    let mut watch = netif::LinkWatch::new()?;
    let nif = netif::Netif::new()?;
    let addrs = nif.addresses().await?;
    // The device of each watched address; an address on no device counts as up (as piranha).
    let devices: Vec<(u32, &'static str)> = watched
        .iter()
        .filter_map(|(ip, what)| addrs.iter().find(|a| a.ip == *ip).map(|a| (a.index, *what)))
        .collect();
    let mut state: HashMap<u32, bool> = nif
        .links()
        .await?
        .into_iter()
        .filter(|l| devices.iter().any(|(i, _)| *i == l.index))
        .map(|l| (l.index, l.is_up()))
        .collect();
    let down = |state: &HashMap<u32, bool>| -> Vec<&'static str> {
        devices
            .iter()
            .filter(|(i, _)| state.get(i) == Some(&false))
            .map(|(_, w)| *w)
            .collect()
    };
    let mut last = down(&state);
    let _ = tx.send(Event::Links { down: last.clone() });
    while let Some(l) = watch.next().await {
        if !devices.iter().any(|(i, _)| *i == l.index) || l.slave {
            continue;
        }
        state.insert(l.index, l.is_up());
        let now = down(&state);
        if now != last {
            last = now.clone();
            if tx.send(Event::Links { down: now }).is_err() {
                break;
            }
        }
    }
    Ok(())
}
