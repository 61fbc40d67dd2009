//! Running a `start_cmd` or `stop_cmd`: no shell, a process group of its own, a timeout.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How a `start_cmd` or `stop_cmd` failed; the text follows `returned error ` in the log.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot run {prog}: {source}")]
    Spawn {
        prog: String,
        #[source]
        source: std::io::Error,
    },
    #[error("exit status {0}")]
    Status(i32),
    /// Killed by a signal.
    #[error("{0}")]
    Signal(std::process::ExitStatus),
    #[error("{0}")]
    Wait(#[source] std::io::Error),
    #[error("still running after {0:?}: killed")]
    Timeout(Duration),
}

/// Run `argv` without a shell, wait for it at most `timeout`, and say how it ended. The
/// command gets a process group of its own, killed if it runs too long; a daemon it starts
/// and leaves running is not touched after it exits.
pub async fn command(argv: &[String], timeout: Duration) -> Result<(), CommandError> {
    let Some((prog, args)) = argv.split_first() else {
        return Ok(());
    };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env_remove("NOTIFY_SOCKET")
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| CommandError::Spawn {
        prog: prog.clone(),
        source,
    })?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) if st.success() => Ok(()),
        Ok(Ok(st)) => Err(match st.code() {
            Some(c) => CommandError::Status(c),
            None => CommandError::Signal(st),
        }),
        Ok(Err(e)) => Err(CommandError::Wait(e)),
        Err(_) => {
            if let Some(p) = pid {
                let _ = killpg(Pid::from_raw(p), Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Err(CommandError::Timeout(timeout))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        lvscf::split_words(s)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn commands_are_waited_for_and_judged() {
        let t = Duration::from_secs(5);
        command(&argv("/bin/true"), t).await.unwrap();
        assert_eq!(
            command(&argv("/bin/sh -c 'exit 3'"), t)
                .await
                .unwrap_err()
                .to_string(),
            "exit status 3"
        );
        assert!(
            command(&argv("/no/such/program"), t)
                .await
                .unwrap_err()
                .to_string()
                .starts_with("cannot run /no/such/program")
        );
        let t0 = std::time::Instant::now();
        let e = command(&argv("/bin/sh -c 'sleep 30'"), Duration::from_millis(200))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("still running after"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        // A daemon started in the background outlives the command that started it.
        let dir = std::env::temp_dir().join(format!("fos-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidf = dir.join("pid");
        let script = format!("sleep 30 & echo $! > {}", pidf.display());
        command(&["/bin/sh".into(), "-c".into(), script], t)
            .await
            .unwrap();
        let pid: i32 = std::fs::read_to_string(&pidf)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok(),
            "the daemon died"
        );
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = std::fs::remove_dir_all(dir);
    }
}
