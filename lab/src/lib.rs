//! Labs of network namespaces for `cargo xtask run` and the lab tests: a
//! client, the node (where anycastd runs with XDP on its client-facing
//! veth), and an offline DNS hierarchy served by knotd. Everything a lab
//! makes carries the creating process's PID in its name, is torn down when
//! the lab is dropped, and is found and removed by the next lab if the
//! process died without cleaning up.

pub mod anycast;
pub mod authorities;
pub mod bird;
pub mod bpffs;
pub mod daemon;
pub mod frr;
pub mod hierarchy;
pub mod netns;
pub mod peers;
pub mod process;
pub mod signed;
pub mod tls;
pub mod topology;
pub mod unprivileged;

use std::{
    process::Command,
    time::{Duration, Instant},
};

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{command} failed ({status}): {stderr}")]
    Command { command: String, status: String, stderr: String },
    #[error("cannot run {command}: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{0}")]
    NotReady(String),
    #[error("anycastd has no metric `{series}`")]
    NoMetric { series: String },
}

/// Runs `command` to completion; fails with its stderr unless it exits 0.
pub fn run(command: &mut Command) -> Result<String, LabError> {
    let text = format!("{command:?}");
    let out = command.output().map_err(|source| LabError::Spawn { command: text.clone(), source })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: text,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `ready` every 100 ms for up to `limit`.
pub fn wait(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result<(), LabError> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(LabError::NotReady(format!("{what}: not ready after {limit:?}")))
}

/// Prefix of every lab's directory in the temporary directory:
/// `anycast-<KIND>-<PID>`.
const DIR_PREFIX: &str = "anycast-";

/// Removes what labs of processes that are gone left behind (namespaces,
/// and their files), then makes this process's `anycast-<kind>-<PID>`
/// directory in the temporary directory.
pub fn fresh_lab_dir(kind: &str) -> Result<std::path::PathBuf, LabError> {
    let stale = netns::remove_stale();
    if !stale.is_empty() {
        eprintln!("lab: removed stale namespaces {}", stale.join(" "));
    }
    let temp = std::env::temp_dir();
    for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid =
            name.strip_prefix(DIR_PREFIX).and_then(|rest| rest.rsplit('-').next()).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) && entry.path().is_dir() {
            eprintln!("lab: removed stale files {}", entry.path().display());
            bpffs::unmount_under(&entry.path());
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = temp.join(format!("{DIR_PREFIX}{kind}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })?;
    Ok(dir)
}
