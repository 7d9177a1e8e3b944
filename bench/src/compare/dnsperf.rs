//! dnsperf from the client namespace, pinned to the client core.

use std::path::Path;

use anycast_lab::netns::Netns;
use anyhow::{Context, Result};

use super::{
    cpu::CLIENT_CPU,
    workload::{Client, Mode},
};

/// What dnsperf reported.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub completed: u64,
    pub lost: u64,
    pub qps: f64,
    /// Latencies of the answered queries, seconds (verbose runs only).
    pub latencies: Vec<f64>,
}

/// How dnsperf sends.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// As fast as the answers come back, for `seconds`.
    Max { seconds: u32 },
    /// Every name of the input once, as fast as it can (cold recursion).
    Once { limit_seconds: u32 },
    /// `rate` queries a second for `seconds`, every latency recorded.
    Fixed { rate: u32, seconds: u32 },
    /// As fast as it can for `seconds`, a new connection for every query
    /// (over TLS: a handshake a query).
    Handshakes { seconds: u32 },
}

/// Runs dnsperf against `server` with the names of `input`, asked by
/// `clients` (kind, share in twentieths) over `mode`: one dnsperf per
/// kind at once, each with its share of the clients and of a fixed rate,
/// their reports added up.
pub fn run(
    client: &Netns,
    server: &str,
    input: &Path,
    pace: Pace,
    clients: &[(Client, u32)],
    mode: Mode,
) -> Result<Report> {
    let reports: Vec<Result<Report>> = std::thread::scope(|scope| {
        let runs: Vec<_> = clients
            .iter()
            .map(|&(kind, share)| scope.spawn(move || run_one(client, server, input, &pace, kind, share, mode)))
            .collect();
        runs.into_iter().map(|r| r.join().map_err(|_| anyhow::anyhow!("a dnsperf thread panicked"))?).collect()
    });
    let mut total = Report::default();
    for report in reports {
        let report = report?;
        total.completed += report.completed;
        total.lost += report.lost;
        total.qps += report.qps;
        total.latencies.extend(report.latencies);
    }
    Ok(total)
}

/// One dnsperf for the `share` (twentieths) of the queries `kind` asks.
fn run_one(
    client: &Netns,
    server: &str,
    input: &Path,
    pace: &Pace,
    kind: Client,
    share: u32,
    mode: Mode,
) -> Result<Report> {
    let cpu = CLIENT_CPU.to_string();
    let input = input.display().to_string();
    let clients = (8 * share / 20).max(1).to_string();
    let outstanding = (2000 * share / 20).max(100).to_string();
    let mut args = vec![
        "-c",
        &cpu,
        "dnsperf",
        "-s",
        server,
        "-m",
        mode.arg(),
        "-d",
        &input,
        "-c",
        &clients,
        "-q",
        &outstanding,
        "-t",
        "2",
    ];
    if kind.dnssec_ok() {
        args.push("-D");
    }
    let option = kind
        .option()
        .map(|(code, data)| format!("{code}:{}", data.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    if let Some(option) = &option {
        args.extend(["-e", "-E", option]);
    }
    let (seconds, rate);
    match *pace {
        Pace::Max { seconds: s } => {
            seconds = s.to_string();
            args.extend(["-l", &seconds]);
        }
        Pace::Once { limit_seconds } => {
            seconds = limit_seconds.to_string();
            args.extend(["-n", "1", "-l", &seconds]);
        }
        Pace::Handshakes { seconds: s } => {
            seconds = s.to_string();
            args.extend(["-l", &seconds, "-O", "num-queries-per-conn=1"]);
        }
        Pace::Fixed { rate: r, seconds: s } => {
            seconds = s.to_string();
            rate = (r * share / 20).max(1).to_string();
            args.extend(["-l", &seconds, "-Q", &rate, "-v"]);
        }
    }
    let out = client.exec("taskset", &args).context("running dnsperf")?;
    parse(&out)
}

fn parse(out: &str) -> Result<Report> {
    let figure = |label: &str| -> Result<f64> {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("no `{label}` in dnsperf's output:\n{}", tail(out)))
    };
    // Verbose lines: `> RCODE NAME TYPE SECONDS` per answered query.
    let latencies = out
        .lines()
        .filter(|l| l.starts_with("> "))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .collect();
    Ok(Report {
        completed: figure("Queries completed:")? as u64,
        lost: figure("Queries lost:")? as u64,
        qps: figure("Queries per second:")?,
        latencies,
    })
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The `q` quantile (0..=1) of `values`, in milliseconds.
pub fn quantile_ms(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Some(v[((v.len() - 1) as f64 * q).round() as usize] * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_and_the_verbose_latencies() {
        let out = "[Status] Command line: dnsperf -v\n\
                   > NOERROR h1.z0.bench.sec. A 0.000120\n\
                   > NOERROR h2.z0.bench.sec. A 0.000300\n\
                   Statistics:\n\n  Queries sent:         3\n  Queries completed:    2 (66.67%)\n\
                   \x20 Queries lost:         1 (33.33%)\n\n  Queries per second:   1999.5\n";
        let report = parse(out).unwrap();
        assert_eq!((report.completed, report.lost), (2, 1));
        assert_eq!(report.qps, 1999.5);
        assert_eq!(report.latencies, vec![0.000120, 0.000300]);
        assert_eq!(quantile_ms(&report.latencies, 0.5), Some(0.3));
    }
}
