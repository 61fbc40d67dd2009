//! Shared helpers: a nanny child process whose output lines are timestamped (on testkit's
//! [`Proc`]), and testkit's namespaces, waits and servers.

use std::process::Command;

pub use testkit::netns::in_new_netns as in_netns;
pub use testkit::process::{Daemon, Proc};
pub use testkit::wait::listening as wait_listening;
pub use testkit::{MS, S, have, must as sh, root_or_skip};

/// A nanny process in the foreground with `--report -v`: every line it prints, timestamped
/// from its start.
pub struct Nanny(Proc);

impl Nanny {
    /// `nanny -n -v --report --lvs ARGS…`
    pub fn spawn(args: &[&str]) -> Nanny {
        let mut all = vec!["-n", "-v", "--report"];
        all.extend_from_slice(args);
        if !args.contains(&"--fos") {
            all.push("--lvs");
        }
        Nanny::spawn_raw(&all)
    }

    /// nanny with exactly these arguments.
    pub fn spawn_raw(args: &[&str]) -> Nanny {
        // In the VM the binary is copied to /bin/nanny.
        let bin = std::env::var("NANNY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_nanny").into());
        Nanny(Proc::spawn(Command::new(bin).args(args)))
    }

    /// Wait for a line containing `needle`; panics with the whole output if the line never comes.
    pub fn expect(&self, needle: &str, within: std::time::Duration) -> std::time::Duration {
        self.0.expect_line(needle, within)
    }
}

impl std::ops::Deref for Nanny {
    type Target = Proc;

    fn deref(&self) -> &Proc {
        &self.0
    }
}

impl std::ops::DerefMut for Nanny {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.0
    }
}
