//! Benchmarks of the anycast node. Figures print with the reference they
//! are compared against, measured in the same run: absolute numbers on a
//! shared VM are noise, ratios are the result.

mod micro;
mod sweep;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Benchmarks of the anycast DNS node (run through `cargo xtask bench`)")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// ns per packet of the XDP program through BPF_PROG_TEST_RUN: an IPv4
    /// hit, an IPv6 hit, a miss, and the reflector (swap MACs, XDP_TX).
    Micro(micro::Options),
    /// A million mutated frames through the program (seeded): every answer
    /// and slip verified, zero wrong ones allowed.
    Sweep(sweep::Options),
}

fn main() -> Result<()> {
    match Cli::parse().scenario {
        Scenario::Micro(options) => micro::run(&options),
        Scenario::Sweep(options) => sweep::run(&options),
    }
}
