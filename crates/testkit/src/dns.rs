//! Name resolution that hangs, for the tests proving that a daemon's main loop does not wait
//! for it: in a named network namespace, the C library's queries go to a name server on the
//! namespace's loopback and nftables drops them unanswered, so every lookup of a name that is
//! in no `/etc/hosts` waits out the resolver's whole timeout.

use std::path::PathBuf;

use crate::must;

/// For the life of the value, processes started with `ip netns exec NS` (which mounts
/// `/etc/netns/NS/resolv.conf` over `/etc/resolv.conf`) wait `timeout_secs` per lookup. The
/// namespace's loopback must be up; dropping the value removes `/etc/netns/NS` (the nftables
/// rules go with the namespace).
#[derive(Debug)]
pub struct SilentDns {
    etc: PathBuf,
}

impl SilentDns {
    pub fn new(ns: &str, timeout_secs: u32) -> SilentDns {
        let etc = PathBuf::from("/etc/netns").join(ns);
        std::fs::create_dir_all(&etc).expect("/etc/netns");
        std::fs::write(
            etc.join("resolv.conf"),
            format!("nameserver 127.0.0.1\noptions timeout:{timeout_secs} attempts:1\n"),
        )
        .expect("resolv.conf");
        must(&format!(
            "ip netns exec {ns} nft 'add table inet silentdns; \
             add chain inet silentdns input {{ type filter hook input priority 0; }}; \
             add rule inet silentdns input udp dport 53 drop; \
             add rule inet silentdns input tcp dport 53 drop'"
        ));
        SilentDns { etc }
    }

    /// A host name whose lookup hangs: `<tag>.piranha-test.invalid`, checked to be in no
    /// `/etc/hosts`.
    pub fn slow_name(&self, tag: &str) -> String {
        let name = format!("{tag}.piranha-test.invalid");
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        assert!(!hosts.contains(&name), "{name} is in /etc/hosts");
        name
    }
}

impl Drop for SilentDns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}
