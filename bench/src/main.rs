//! Benchmarks of the anycast node. Figures print with the reference they
//! are compared against, measured in the same run: absolute numbers on a
//! shared VM are noise, ratios are the result.

mod compare;
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
    /// anycastd with and without XDP, Unbound, Knot Resolver, PowerDNS
    /// Recursor and the XDP echo through the same workloads, then the
    /// micro-benchmark: a table, a JSON file and a PNG chart.
    Compare {
        #[command(flatten)]
        options: compare::Options,
        /// Leave the micro-benchmark out of the report.
        #[arg(long)]
        skip_micro: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().scenario {
        Scenario::Micro(options) => micro::run(&options).map(drop),
        Scenario::Sweep(options) => sweep::run(&options),
        Scenario::Compare { options, skip_micro } => {
            let results = compare::run(&options)?;
            let rows = &results.rows;
            println!();
            let micro = if skip_micro {
                serde_json::Value::Null
            } else {
                println!("micro-benchmark (BPF_PROG_TEST_RUN):");
                micro::run(&micro::Options::default())?
            };
            println!();
            compare::report::print_table(rows, &results.unmeasured);
            compare::report::print_targets(rows);
            std::fs::create_dir_all(options.out())?;
            let (json, png) = (options.out().join("compare.json"), options.out().join("compare.png"));
            compare::report::write_json(&json, &results, &micro)?;
            compare::report::write_png(&png, rows)?;
            println!("\nwritten: {} and {}", json.display(), png.display());
            Ok(())
        }
    }
}
