//! Talking to a running anycastd: its control socket and its metrics.

use std::path::Path;

use crate::LabError;

/// Sends `command` to the control socket at `socket`; returns the answer.
pub fn control(socket: &Path, command: &str) -> Result<String, LabError> {
    use std::io::{Read, Write};
    let io = |source| LabError::Io { what: format!("control socket {}", socket.display()), source };
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(io)?;
    stream.write_all(format!("{command}\n").as_bytes()).map_err(io)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(io)?;
    Ok(reply)
}

/// One sample from the metrics (`ctl stats`) of the anycastd behind
/// `socket`, by its series: `anycast_queries_total{transport="udp"}`.
pub fn stat(socket: &Path, series: &str) -> Result<u64, LabError> {
    let stats = control(socket, "stats")?;
    metric(&stats, series).ok_or_else(|| LabError::NoMetric { series: series.to_string() })
}

/// The value of one sample in Prometheus text, by its series
/// (`name{labels}` exactly as the exposition writes it).
pub fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}
