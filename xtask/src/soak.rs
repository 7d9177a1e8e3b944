//! `cargo xtask soak --minutes N`: the lab under a high mixed load for N
//! minutes, reported minute by minute. dnsperf from the client sends hot
//! names (answered at XDP), names the node has not seen yet, and a flood of
//! random names that do not exist (each an NXDOMAIN the daemon resolves
//! and caches); beside it, garbage datagrams and TCP clients that stall.
//! Each minute: what dnsperf got, the share answered at XDP, the daemon's
//! errors, its RSS, the cache and the answer map's occupancy. The cache and
//! the map are kept small and negative TTLs short, so the random names
//! press on the bounds that must keep the hot set in place.

use std::{fmt::Write as _, path::Path, process::Stdio, sync::mpsc::Receiver};

use anycast_lab::{daemon::metric, topology::Lab};
use anyhow::{Context, Result, bail};

const ABUSE: &str = include_str!("../../tests/scripts/abuse.py");
/// Names asked all the time: answered at XDP once warm.
const HOT: usize = 20;
/// Queries a second from dnsperf, and the share of each kind.
const RATE: u64 = 8000;
const HOT_SHARE: f64 = 0.7;
const NEW_SHARE: f64 = 0.1;
/// Garbage datagrams a second, and TCP connections kept stalled.
const GARBAGE_RATE: u32 = 200;
const STALLED: u32 = 50;
const CONFIG: &str = "[cache]\ncapacity = 20000\nmax_negative_ttl = 30\n[fastpath]\ncapacity = 8192\n";

/// One minute's figures.
struct Minute {
    sent: u64,
    completed: u64,
    lost: u64,
    noerror: u64,
    nxdomain: u64,
    servfail: u64,
    at_xdp: u64,
    daemon_errors: u64,
    garbage: u64,
    garbage_replies: u64,
    stalled_cut: u64,
    rss_kib: u64,
    cache: u64,
    map: u64,
}

pub fn run(anycastd: &Path, pass_program: &Path, minutes: u32, stopped: &Receiver<()>) -> Result<()> {
    if minutes == 0 {
        bail!("--minutes must be at least 1");
    }
    let mut lab = Lab::start(pass_program)?;
    let config = lab.dir.join("soak.toml");
    std::fs::write(&config, CONFIG)?;
    lab.start_anycastd(anycastd, &["--config", &config.display().to_string()])?;
    for name in hot_names() {
        lab.dig(&["+short", "+tries=2", "@6.6.6.6", &name, "A"])?;
    }
    println!(
        "soak: {RATE} queries/s ({:.0}% hot names, {:.0}% new names, the rest random names that do not exist), {GARBAGE_RATE} garbage datagrams/s, {STALLED} stalled TCP clients; {minutes} min",
        HOT_SHARE * 100.0,
        NEW_SHARE * 100.0
    );
    println!(
        "{:>3} {:>8} {:>8} {:>6} {:>8} {:>8} {:>5} {:>6} {:>6} {:>8} {:>9} {:>6} {:>7} {:>6}",
        "min",
        "sent",
        "answered",
        "lost",
        "NOERROR",
        "NXDOMAIN",
        "SERVF",
        "at XDP",
        "errors",
        "garbage",
        "replies",
        "cut",
        "RSS MiB",
        "cache"
    );
    let mut rows = Vec::new();
    let mut before = sample(&lab)?;
    for minute in 1..=minutes {
        if stopped.try_recv().is_ok() {
            println!("soak: interrupted");
            break;
        }
        let row = run_minute(&mut lab, minute, &before)?;
        println!(
            "{minute:>3} {:>8} {:>8} {:>6} {:>8} {:>8} {:>5} {:>5.1}% {:>6} {:>8} {:>9} {:>6} {:>7.1} {:>6}   map {}",
            row.sent,
            row.completed,
            row.lost,
            row.noerror,
            row.nxdomain,
            row.servfail,
            100.0 * row.at_xdp as f64 / row.completed.max(1) as f64,
            row.daemon_errors,
            row.garbage,
            row.garbage_replies,
            row.stalled_cut,
            row.rss_kib as f64 / 1024.0,
            row.cache,
            row.map,
        );
        before = sample(&lab)?;
        rows.push(row);
    }
    verdict(&rows)
}

/// The counters the rows are differences of.
struct Sample {
    stats: String,
}

fn sample(lab: &Lab) -> Result<Sample> {
    Ok(Sample { stats: lab.control("stats")? })
}

fn run_minute(lab: &mut Lab, minute: u32, before: &Sample) -> Result<Minute> {
    let queries = lab.dir.join("soak-queries.txt");
    std::fs::write(&queries, query_file(minute))?;
    let abuse = lab
        .client
        .command("python3")
        .args(["-c", ABUSE, "6.6.6.6", "60", &GARBAGE_RATE.to_string(), &STALLED.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the abuse script")?;
    let perf = lab.client.exec(
        "dnsperf",
        &[
            "-s",
            "6.6.6.6",
            "-d",
            &queries.display().to_string(),
            "-l",
            "60",
            "-Q",
            &RATE.to_string(),
            "-c",
            "10",
            "-q",
            "2000",
            "-t",
            "2",
        ],
    )?;
    let abuse = abuse.wait_with_output()?;
    let abuse: serde_json::Value = serde_json::from_slice(&abuse.stdout)
        .with_context(|| format!("the abuse script's report: {}", String::from_utf8_lossy(&abuse.stdout)))?;
    let stats = lab.control("stats")?;
    let delta = |series: &str| metric(&stats, series).unwrap_or(0) - metric(&before.stats, series).unwrap_or(0);
    let errors = errors_total(&stats) - errors_total(&before.stats);
    // Stalled clients are cut for idling: injected, not an error.
    let errors = errors - delta("anycast_errors_total{kind=\"tcp_idle\"}");
    let pid = lab.anycastd_pid().context("anycastd is not running")?;
    Ok(Minute {
        sent: dnsperf_figure(&perf, "Queries sent:")?,
        completed: dnsperf_figure(&perf, "Queries completed:")?,
        lost: dnsperf_figure(&perf, "Queries lost:")?,
        noerror: rcode(&perf, "NOERROR"),
        nxdomain: rcode(&perf, "NXDOMAIN"),
        servfail: rcode(&perf, "SERVFAIL"),
        at_xdp: delta("anycast_xdp_packets_total{outcome=\"answered\"}"),
        daemon_errors: errors,
        garbage: abuse["garbage"].as_u64().unwrap_or(0),
        garbage_replies: abuse["garbage_replies"].as_u64().unwrap_or(0),
        stalled_cut: abuse["stalled_cut"].as_u64().unwrap_or(0),
        rss_kib: rss_kib(pid)?,
        cache: metric(&stats, "anycast_cache_entries").unwrap_or(0),
        map: metric(&stats, "anycast_fastpath_map_entries").unwrap_or(0),
    })
}

/// The sum of `anycast_errors_total` over its kinds.
fn errors_total(stats: &str) -> u64 {
    stats
        .lines()
        .filter(|l| l.starts_with("anycast_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn hot_names() -> Vec<String> {
    (1..=HOT).map(|i| format!("h{i}.example.lab.")).collect()
}

/// A minute of dnsperf input: hot names, names of the hierarchy the node
/// has not been asked (h21..h400, so only the first minutes find new ones),
/// and random names that do not exist, different each minute.
fn query_file(minute: u32) -> String {
    let hot = hot_names();
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(minute);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::new();
    for _ in 0..RATE * 60 {
        let roll = (next() % 1000) as f64 / 1000.0;
        if roll < HOT_SHARE {
            let _ = writeln!(text, "{} A", hot[(next() % HOT as u64) as usize]);
        } else if roll < HOT_SHARE + NEW_SHARE {
            let _ = writeln!(text, "h{}.example.lab. A", 21 + next() % 380);
        } else {
            let _ = writeln!(text, "r{:016x}.example.lab. A", next());
        }
    }
    text
}

fn dnsperf_figure(output: &str, label: &str) -> Result<u64> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no `{label}` in dnsperf's output:\n{output}"))
}

fn rcode(output: &str, name: &str) -> u64 {
    let Some(codes) = output.lines().find_map(|l| l.trim().strip_prefix("Response codes:")) else { return 0 };
    codes
        .split(',')
        .find_map(|part| part.trim().strip_prefix(name)?.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// RSS flat after the warm-up (growth under 5% from the end of minute 2 to
/// the end), and no errors beyond the injected ones.
fn verdict(rows: &[Minute]) -> Result<()> {
    let mut problems = Vec::new();
    if rows.len() >= 3 {
        let (warm, last) = (rows[1].rss_kib as f64, rows[rows.len() - 1].rss_kib as f64);
        let growth = (last - warm) / warm * 100.0;
        println!(
            "RSS after the warm-up (minute 2) {:.1} MiB, at the end {:.1} MiB: {growth:+.1}%",
            warm / 1024.0,
            last / 1024.0
        );
        if growth >= 5.0 {
            problems.push(format!("RSS grew {growth:.1}% after the warm-up (limit 5%)"));
        }
    } else {
        println!("RSS trend: needs at least 3 minutes");
    }
    let servfail: u64 = rows.iter().map(|r| r.servfail).sum();
    let errors: u64 = rows.iter().map(|r| r.daemon_errors).sum();
    let (lost, sent): (u64, u64) = (rows.iter().map(|r| r.lost).sum(), rows.iter().map(|r| r.sent).sum());
    println!(
        "over the run: {sent} queries sent, {lost} lost, {servfail} SERVFAIL, {errors} daemon errors (stalled clients cut for idling not counted)"
    );
    if servfail > 0 {
        problems.push(format!("{servfail} SERVFAIL"));
    }
    if errors > 0 {
        problems.push(format!("{errors} daemon errors"));
    }
    if lost * 1000 > sent {
        problems.push(format!("{lost} of {sent} queries lost (over 0.1%)"));
    }
    if problems.is_empty() {
        println!("soak: passed");
        Ok(())
    } else {
        bail!("soak: {}", problems.join("; "))
    }
}
