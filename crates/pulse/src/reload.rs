//! What a configuration read after SIGHUP changes for pulse, decided without I/O.

use crate::settings::Settings;
use crate::wire::Mode;

/// Why a new configuration is not taken (the running one is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Role,
    Mode,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Role => {
                "the new file would change this node's role; restart pulse to change roles"
            }
            Refusal::Mode => "the new file changes the service type; restart pulse to change it",
        })
    }
}

/// What changes with the new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    /// The heartbeat addresses or port: sockets to bind again.
    pub sockets: bool,
    /// Link monitoring or the watched addresses: the link watch starts again.
    pub links: bool,
    /// FOS: the failover blocks, so fos starts again in its role.
    pub fos: bool,
    /// LVS: `hot_standby` was turned on or off, so an inactive node starts or stops lvsd.
    pub hot_standby: bool,
}

/// Compare the running settings with new ones.
pub fn plan(old: &Settings, new: &Settings) -> Result<Changes, Refusal> {
    if new.master != old.master {
        return Err(Refusal::Role);
    }
    if new.mode != old.mode {
        return Err(Refusal::Mode);
    }
    Ok(Changes {
        sockets: (new.own, new.own_private, new.port) != (old.own, old.own_private, old.port),
        links: (new.monitor_links, new.own, new.own_private)
            != (old.monitor_links, old.own, old.own_private),
        fos: new.mode == Mode::Fos && new.fos_blocks != old.fos_blocks,
        hot_standby: new.hot_standby != old.hot_standby,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use std::time::Duration;

    fn settings(mode: Mode) -> Settings {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Settings {
            mode,
            master: true,
            backup_active: true,
            own: ip("10.0.0.1"),
            own_private: None,
            partner: Some(ip("10.0.0.2")),
            partner_private: None,
            port: 539,
            keepalive: Duration::from_secs(2),
            deadtime: Duration::from_secs(6),
            vips: Vec::new(),
            nat_router: None,
            sync: None,
            active_cmd: None,
            inactive_cmd: None,
            monitor_links: false,
            notes: Vec::new(),
            fos_blocks: "a".into(),
            auth: None,
            file_version: None,
            file_text: None,
            sync_port: 539,
            announce_bird: false,
            hot_standby: false,
        }
    }

    #[test]
    fn role_and_service_type_cannot_change() {
        let old = settings(Mode::Lvs);
        let new = Settings {
            master: false,
            ..old.clone()
        };
        assert_eq!(plan(&old, &new), Err(Refusal::Role));
        assert_eq!(plan(&old, &settings(Mode::Fos)), Err(Refusal::Mode));
        assert!(Refusal::Role.to_string().contains("restart pulse"));
    }

    #[test]
    fn timers_alone_change_nothing_to_rebuild() {
        let old = settings(Mode::Lvs);
        let new = Settings {
            keepalive: Duration::from_secs(1),
            ..old.clone()
        };
        assert_eq!(plan(&old, &new), Ok(Changes::default()));
    }

    #[test]
    fn addresses_links_and_failover_blocks() {
        let old = settings(Mode::Fos);
        let new = Settings {
            port: 540,
            ..old.clone()
        };
        let c = plan(&old, &new).unwrap();
        assert!(c.sockets && !c.links && !c.fos);
        let new = Settings {
            own_private: Some("192.168.0.1".parse().unwrap()),
            ..old.clone()
        };
        let c = plan(&old, &new).unwrap();
        assert!(c.sockets && c.links);
        let new = Settings {
            monitor_links: true,
            fos_blocks: "b".into(),
            ..old.clone()
        };
        let c = plan(&old, &new).unwrap();
        assert!(!c.sockets && c.links && c.fos);
        // LVS mode has no failover blocks to compare.
        let lvs = settings(Mode::Lvs);
        let other = Settings {
            fos_blocks: "b".into(),
            ..lvs.clone()
        };
        assert!(!plan(&lvs, &other).unwrap().fos);
        let hot = Settings {
            hot_standby: true,
            ..lvs.clone()
        };
        let c = plan(&lvs, &hot).unwrap();
        assert!(c.hot_standby && !c.sockets && !c.links && !c.fos);
        assert!(!plan(&hot, &hot).unwrap().hot_standby);
    }
}
