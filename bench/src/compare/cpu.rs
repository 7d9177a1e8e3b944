//! CPU accounting for the comparison: the server core's time from
//! /proc/stat (user, system, softirq, irq), steal time as the sign of a
//! disturbed run, and the exact run time of the server's own threads and
//! its NAPI thread from their schedstat.

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result, bail};

/// The server's core; the client (dnsperf or the frame generator), the
/// hierarchy's servers and the client link's NAPI thread go on CPU0.
pub const SERVER_CPU: u32 = 1;
pub const CLIENT_CPU: u32 = 0;

/// Jiffies of one CPU from /proc/stat.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    pub busy: u64,
    pub steal: u64,
    pub total: u64,
}

/// Jiffies per second of /proc/stat (USER_HZ: 100 on Linux).
const USER_HZ: f64 = 100.0;

pub fn cpu_times(cpu: u32) -> Result<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let label = format!("cpu{cpu} ");
    let line = stat.lines().find(|l| l.starts_with(&label)).with_context(|| format!("no {label}in /proc/stat"))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 8 {
        bail!("short /proc/stat line: {line}");
    }
    // user nice system idle iowait irq softirq steal
    Ok(CpuTimes { busy: v[0] + v[1] + v[2] + v[5] + v[6], steal: v[7], total: v[..8].iter().sum() })
}

/// What a CPU did between two readings: busy seconds and the share of
/// steal time.
pub fn busy_seconds(before: CpuTimes, after: CpuTimes) -> (f64, f64) {
    let total = after.total.saturating_sub(before.total).max(1) as f64;
    let busy = after.busy.saturating_sub(before.busy) as f64 / USER_HZ;
    (busy, after.steal.saturating_sub(before.steal) as f64 / total)
}

/// Nanoseconds the threads of `pids` have run (schedstat: exact, unlike
/// the tick-sampled /proc/stat).
pub fn run_ns(pids: &[u32]) -> u64 {
    pids.iter().flat_map(|pid| tasks(*pid)).filter_map(|task| schedstat_ns(&task)).sum()
}

fn tasks(pid: u32) -> Vec<PathBuf> {
    let dir = PathBuf::from(format!("/proc/{pid}/task"));
    std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect()
}

fn schedstat_ns(task: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(task.join("schedstat")).ok()?.split_whitespace().next()?.parse().ok()
}

/// Pins every thread of `pid` to `cpu`.
pub fn pin(pid: u32, cpu: u32) -> Result<()> {
    let status = Command::new("taskset").args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()]).output()?;
    if !status.status.success() {
        bail!("taskset -a -p -c {cpu} {pid}: {}", String::from_utf8_lossy(&status.stderr).trim());
    }
    Ok(())
}

/// The PID of the NAPI kernel thread of `interface` (threaded NAPI names
/// them `napi/<interface>-<id>`).
pub fn napi_thread(interface: &str) -> Option<u32> {
    let prefix = format!("napi/{interface}-");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        comm.trim().starts_with(&prefix).then_some(pid)
    })
}
