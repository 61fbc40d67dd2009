//! Where the suite looks for lvs.cf when no `-c` names a file: piranha's path,
//! `/etc/sysconfig/ha/lvs.cf` (where the Debian package puts it), else `/etc/lvs.cf` (piranha
//! 0.3 and 0.4, and this project's earlier default). One rule for pulse, lvsd, fos, lvscf and
//! piranha-gui, so they never read different files.

use std::path::{Path, PathBuf};

/// The configuration file read when no `-c` is given and it exists (or neither file does):
/// piranha's path since 0.5, and the packaged one.
pub const DEFAULT_PATH: &str = "/etc/sysconfig/ha/lvs.cf";

/// Read instead of [`DEFAULT_PATH`] when that does not exist and this does.
pub const FALLBACK_PATH: &str = "/etc/lvs.cf";

/// The rule in words, for help texts.
pub const DEFAULT_HELP: &str = "/etc/sysconfig/ha/lvs.cf, else /etc/lvs.cf";

/// The configuration file to read when the command line names none: [`DEFAULT_PATH`] when
/// anything is there (even a broken link, so that the error names it), else [`FALLBACK_PATH`]
/// when that exists, else [`DEFAULT_PATH`] (and the "cannot read" error names it).
pub fn default_path() -> PathBuf {
    choose(|p| p.symlink_metadata().is_ok())
}

/// [`default_path`]'s rule over any test of existence.
pub fn choose(exists: impl Fn(&Path) -> bool) -> PathBuf {
    let main = Path::new(DEFAULT_PATH);
    let fallback = Path::new(FALLBACK_PATH);
    if !exists(main) && exists(fallback) {
        fallback.to_path_buf()
    } else {
        main.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(present: &[&str]) -> PathBuf {
        choose(|p| present.iter().any(|q| Path::new(q) == p))
    }

    #[test]
    fn piranhas_path_wins_when_present() {
        assert_eq!(pick(&[DEFAULT_PATH]), Path::new(DEFAULT_PATH));
        assert_eq!(
            pick(&[DEFAULT_PATH, FALLBACK_PATH]),
            Path::new(DEFAULT_PATH)
        );
    }

    #[test]
    fn etc_lvs_cf_is_the_fallback() {
        assert_eq!(pick(&[FALLBACK_PATH]), Path::new(FALLBACK_PATH));
    }

    #[test]
    fn neither_names_piranhas_path() {
        assert_eq!(pick(&[]), Path::new(DEFAULT_PATH));
        assert_eq!(pick(&["/etc/other.cf"]), Path::new(DEFAULT_PATH));
    }

    #[test]
    fn the_real_check_agrees_with_the_filesystem() {
        let expect = pick(
            &[DEFAULT_PATH, FALLBACK_PATH]
                .into_iter()
                .filter(|p| Path::new(p).symlink_metadata().is_ok())
                .collect::<Vec<_>>(),
        );
        assert_eq!(default_path(), expect);
    }
}
