//! What a checked command line asks for, with everything it needs: the typed result of
//! the checks, so running a command never looks at options again.

use ipvs::{Daemon, Dest, Service, Timeouts};

use crate::list::Format;

/// One ipvsadm command and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-A`
    AddService(Service),
    /// `-E`
    EditService(Service),
    /// `-D`
    DelService(Service),
    /// `-C`
    Flush,
    /// `-L`/`-l`
    List(ListOpts),
    /// `-S`: the whole table as rules for `-R` (the format has `rule` set).
    Save(Format),
    /// `-R`
    Restore,
    /// `-a`
    AddDest(Service, Dest),
    /// `-e`
    EditDest(Service, Dest),
    /// `-d`
    DelDest(Service, Dest),
    /// `-Z`, for one service or all of them.
    Zero(Option<Service>),
    /// `--set tcp tcpfin udp`
    SetTimeouts(Timeouts),
    /// `--start-daemon`
    StartDaemon(Daemon),
    /// `--stop-daemon`
    StopDaemon(Daemon),
}

/// What `-L` lists, in ipvsadm's order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOpts {
    /// `-c`: the connection table.
    Connections(Format),
    /// `-t`/`-u`/`--sctp-service`/`-f`: one service.
    Service(Service, Format),
    /// `--timeout`
    Timeouts,
    /// `--daemon`
    Daemons,
    /// Every service.
    All(Format),
}
