//! Labs of network namespaces for `cargo xtask run` and the lab tests: a
//! client, the node (where anycastd runs with XDP on its client-facing
//! veth), and an offline DNS hierarchy served by knotd. Everything a lab
//! makes carries the creating process's PID in its name, is torn down when
//! the lab is dropped, and is found and removed by the next lab if the
//! process died without cleaning up.

pub mod anycast;
pub mod authorities;
pub mod bird;
pub mod daemon;
pub mod hierarchy;
pub mod netns;
pub mod peers;
pub mod process;
pub mod topology;

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
