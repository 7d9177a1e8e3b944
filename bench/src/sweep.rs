//! The mutation sweep at scale: a million (or more) mutated query frames
//! through the XDP program with BPF_PROG_TEST_RUN, seeded, with zero wrong
//! answers allowed; then a tenth as many through a rate-limited node, where
//! slips must be right too. The test suite runs 100,000 of the same.

use std::time::Instant;

use anycast_tests::{
    harness::Node,
    mutation::{Report, SEED, sweep},
};
use anycast_user::policy::ratelimit::RateLimitSettings;
use anyhow::{Result, ensure};

#[derive(clap::Args)]
pub struct Options {
    /// Mutated frames through the node without a rate limit.
    #[arg(long, default_value_t = 1_000_000)]
    frames: usize,
    /// The generator's seed (a failure reproduces with it).
    #[arg(long, default_value_t = SEED)]
    seed: u64,
}

pub fn run(options: &Options) -> Result<()> {
    let (mut plain, populated) = Node::populated();
    let started = Instant::now();
    let report = sweep(&mut plain, populated, false, options.frames, options.seed);
    print("no rate limit", &report, started, options.seed);

    // 1000 responses a second from the one client the mutants come from:
    // most of them are over the limit, and slip or drop.
    let limit = RateLimitSettings { responses_per_second: 1000, burst: 100, ..RateLimitSettings::OFF };
    let (mut limited, populated) = Node::populated_with(Node::with_rate_limit(limit));
    let started = Instant::now();
    let limited_report = sweep(&mut limited, populated, true, options.frames / 10, options.seed ^ 1);
    print("rate limit 1000/s, slip 2", &limited_report, started, options.seed ^ 1);

    let failures: Vec<&String> = report.failures.iter().chain(&limited_report.failures).collect();
    for failure in &failures {
        eprintln!("  {failure}");
    }
    ensure!(failures.is_empty(), "{} wrong outcomes (the first ones above)", failures.len());
    Ok(())
}

fn print(node: &str, report: &Report, started: Instant, seed: u64) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{node}: {} mutants (seed {seed:#x}) in {secs:.1} s ({:.0}/s): {} answered and verified, {} slipped and verified, {} passed unchanged, {} dropped by the limit, {} wrong",
        report.mutants,
        report.mutants as f64 / secs,
        report.answered,
        report.slipped,
        report.passed,
        report.dropped,
        report.failures.len()
    );
}
