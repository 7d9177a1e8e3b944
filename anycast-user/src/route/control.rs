//! Running the node's routing daemon's control program (birdc, vtysh):
//! bounded in time, its output or why it failed.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RoutingDaemonError {
    #[error("writing {path}: {source}")]
    Include { path: std::path::PathBuf, source: std::io::Error },
    #[error("running {program}: {source}")]
    Run { program: &'static str, source: std::io::Error },
    #[error("{program} failed: {output}")]
    Refused { program: &'static str, output: String },
    #[error("{program} did not answer within {0:?}", CONTROL_TIMEOUT)]
    TimedOut { program: &'static str },
}

/// How long birdc or vtysh may take: a hung routing daemon must not hang
/// the announcer (and with it the health checks and the watchdog).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a routing daemon's control program; its output, or why it failed.
pub async fn run(program: &'static str, command: &mut tokio::process::Command) -> Result<String, RoutingDaemonError> {
    command.kill_on_drop(true);
    let out = tokio::time::timeout(CONTROL_TIMEOUT, command.output())
        .await
        .map_err(|_| RoutingDaemonError::TimedOut { program })?
        .map_err(|source| RoutingDaemonError::Run { program, source })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(RoutingDaemonError::Refused { program, output: text.trim().to_string() });
    }
    Ok(text)
}
