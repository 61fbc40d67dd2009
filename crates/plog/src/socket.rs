//! `--socket-group`: a daemon's status socket shared with one group (lvsd and pulse), so that
//! an unprivileged service in that group (the web GUI) reads the status and sends requests.
//! The group is looked up at start-up, before the daemon leaves the terminal; after binding,
//! the socket gets that group and mode 0660 (its owner stays the daemon's user).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::unistd::Group;

/// The group given to `--socket-group` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("--socket-group: no group {0}")]
    Unknown(String),
    #[error("--socket-group: cannot look up group {0}: {1}")]
    Lookup(String, #[source] nix::Error),
}

/// The id of the group `name` (a number is taken as an id when no group has that name).
pub fn group_id(name: &str) -> Result<u32, GroupError> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => name
            .parse::<u32>()
            .map_err(|_| GroupError::Unknown(name.to_owned())),
        Err(e) => Err(GroupError::Lookup(name.to_owned(), e)),
    }
}

/// Give the socket at `path` to group `gid`, mode 0660.
pub fn share(path: &Path, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, None, Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        assert_eq!(group_id("root").unwrap(), 0);
        assert_eq!(group_id("4242").unwrap(), 4242);
        assert_eq!(
            group_id("no-such-group-here").unwrap_err().to_string(),
            "--socket-group: no group no-such-group-here"
        );
    }

    #[test]
    fn share_sets_group_and_mode() {
        let dir = std::env::temp_dir().join(format!("plog-share-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let gid = nix::unistd::getegid().as_raw();
        share(&path, gid).unwrap();
        let md = std::fs::metadata(&path).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((md.gid(), md.mode() & 0o777), (gid, 0o660));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
