//! Global statements (outside any block).

use super::{Lowerer, set};
use crate::diag::Diagnostic;
use crate::keywords::{GlobalKey, KeyId, Scope};
use crate::model::{
    Announce, ConflictAction, Dataplane, HeartbeatAuth, LvsConfig, Network, Service,
};
use crate::source::KeySpans;
use crate::syntax::{Stmt, Token};
use crate::trivia::Anchor;

impl Lowerer<'_> {
    pub(super) fn global_stmt(&mut self, cfg: &mut LvsConfig, keys: &mut KeySpans, st: &Stmt) {
        let Some(id) = self.key(st, Scope::Global, keys) else {
            return;
        };
        let key = GlobalKey::ALL[id.index()];
        self.attach(Anchor::Global(key.name()), st);
        let ok = self.global_value(cfg, key, st);
        self.record(keys, KeyId::from(key), st, ok);
    }

    /// Read the value of a global keyword into `cfg`; false if it was rejected.
    fn global_value(&mut self, cfg: &mut LvsConfig, key: GlobalKey, st: &Stmt) -> bool {
        use GlobalKey as K;
        let k = key.name();
        match key {
            K::NatRouter => set!(cfg.nat_router, self.interface(st, k, false).map(Some)),
            K::Service => set!(
                cfg.service,
                self.read(st, k, |l, t, k| l.choice(t, k, Service::ALL))
            ),
            K::Primary => set!(
                cfg.primary,
                self.read(st, k, |l, t, k| l.host(t, k, false)).map(Some)
            ),
            K::PrimaryPrivate => set!(
                cfg.primary_private,
                self.read(st, k, |l, t, k| l.host(t, k, false)).map(Some)
            ),
            K::Backup => set!(cfg.backup, self.read(st, k, Self::host_or_unset)),
            K::BackupPrivate => set!(cfg.backup_private, self.read(st, k, Self::host_or_unset)),
            K::PrimaryShared => set!(cfg.primary_shared, self.read_string(st, k).map(Some)),
            K::BackupShared => set!(cfg.backup_shared, self.read_string(st, k).map(Some)),
            K::BackupActive => set!(cfg.backup_active, self.read(st, k, Self::boolean)),
            K::Heartbeat => set!(cfg.heartbeat, self.read(st, k, Self::boolean)),
            K::HeartbeatPort => set!(
                cfg.heartbeat_port,
                self.read(st, k, |l, t, k| l.port_at(t, k, Anchor::Global(key.name())))
            ),
            K::Keepalive => set!(cfg.keepalive, self.read(st, k, Self::seconds)),
            K::Deadtime => set!(cfg.deadtime, self.read(st, k, Self::seconds)),
            K::RshCommand => set!(cfg.rsh_command, self.read_string(st, k)),
            K::Network => set!(
                cfg.network,
                self.read(st, k, |l, t, k| l.choice(t, k, Network::ALL))
            ),
            K::NatNmask => set!(cfg.nat_nmask, self.read(st, k, Self::mask)),
            K::DebugLevel => set!(cfg.debug_level, self.read_string(st, k)),
            K::MonitorLinks => set!(
                cfg.monitor_links,
                self.read(st, k, Self::i32).map(|v| v != 0)
            ),
            K::Syncdaemon => set!(cfg.syncdaemon, self.read(st, k, Self::boolean)),
            K::SyncdIface => set!(cfg.syncd_iface, self.read_string(st, k)),
            K::SyncdId => set!(cfg.syncd_id, self.read(st, k, Self::syncd_id)),
            K::TcpTimeout => set!(cfg.tcp_timeout, self.read(st, k, Self::u32)),
            K::TcpfinTimeout => set!(cfg.tcpfin_timeout, self.read(st, k, Self::u32)),
            K::UdpTimeout => set!(cfg.udp_timeout, self.read(st, k, Self::u32)),
            K::HardShutdown => set!(cfg.hard_shutdown, self.read(st, k, Self::boolean)),
            K::Dataplane => set!(
                cfg.dataplane,
                self.read(st, k, |l, t, k| l.choice(t, k, Dataplane::ALL))
            ),
            K::ActiveCmd => set!(cfg.active_cmd, self.read_string(st, k).map(Some)),
            K::InactiveCmd => set!(cfg.inactive_cmd, self.read_string(st, k).map(Some)),
            K::Ipvsadm => set!(cfg.ipvsadm, self.read_string(st, k)),
            K::ReservationConflictAction => set!(
                cfg.reservation_conflict_action,
                self.read(st, k, |l, t, k| l.choice(t, k, ConflictAction::ALL))
                    .map(Some)
            ),
            K::SerialNo => set!(
                cfg.serial_no,
                self.read(st, k, |l, t, k| l.int(t, k, i64::MIN, i64::MAX))
            ),
            K::Sync => set!(cfg.sync, self.read(st, k, Self::boolean)),
            K::HeartbeatKeyFile => {
                set!(cfg.heartbeat_key_file, self.read_string(st, k).map(Some))
            }
            K::ConfigSync => set!(cfg.config_sync, self.read(st, k, Self::boolean)),
            K::SyncPort => set!(
                cfg.sync_port,
                self.read(st, k, |l, t, k| l.port_at(t, k, Anchor::Global(key.name())))
                    .map(Some)
            ),
            K::Announce => set!(
                cfg.announce,
                self.read(st, k, |l, t, k| l.choice(t, k, Announce::ALL))
            ),
            K::BirdSocket => set!(cfg.bird_socket, self.read_string(st, k).map(Some)),
            K::AnnounceFile => set!(cfg.announce_file, self.read_string(st, k).map(Some)),
            K::AnnounceDrain => set!(
                cfg.announce_drain,
                self.read(st, k, Self::seconds).map(Some)
            ),
            K::HotStandby => set!(cfg.hot_standby, self.read(st, k, Self::boolean)),
            K::HeartbeatAuth => set!(
                cfg.heartbeat_auth,
                self.read(st, k, |l, t, k| l.choice(t, k, HeartbeatAuth::ALL))
                    .map(Some)
            ),
        }
    }

    /// A host where the unspecified address means "none" (`backup = 0.0.0.0`).
    fn host_or_unset(&mut self, t: Token, key: &str) -> Option<Option<crate::model::Host>> {
        self.host(t, key, true)
            .map(|h| (!h.is_unspecified()).then_some(h))
    }

    fn i32(&mut self, t: Token, key: &str) -> Option<i64> {
        self.int(t, key, i32::MIN.into(), i32::MAX.into())
    }

    /// `syncd_id`: any int, used modulo 256 with a warning outside 0 to 255.
    fn syncd_id(&mut self, t: Token, key: &str) -> Option<u8> {
        let v = self.i32(t, key)?;
        if !(0..=255).contains(&v) {
            self.diags.push(Diagnostic::warning(
                Some(t.span()),
                format!("`syncd_id` is 0 to 255; {v} is used as {}", v & 0xff),
            ));
        }
        Some((v & 0xff) as u8)
    }
}
