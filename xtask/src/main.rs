//! `cargo xtask`: the project's build, test and benchmark entry points.
//! Every subcommand first makes sure the toolchain is there (see `setup`).

mod cmd;
mod setup;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, test and benchmark the anycast DNS node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the build and the tests need: the nightly's rust-src,
    /// bpf-linker built against the nightly's LLVM, Debian packages.
    /// Idempotent; silent when everything is there.
    Setup,
    /// Build everything in release mode (the XDP programs included).
    Build,
    /// Run every test: unit tests, and as root the XDP packet tests.
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks (not tests): `micro` times the XDP program per packet.
    Bench {
        #[arg(value_enum)]
        scenario: BenchScenario,
    },
    /// rustfmt and clippy over the host workspace and the eBPF crate.
    Lint,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchScenario {
    /// ns per packet through BPF_PROG_TEST_RUN: hits, a miss, the reflector.
    Micro,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::ensure(),
        Command::Build => {
            setup::ensure()?;
            cmd::cargo(&["build", "--release", "--workspace"])
        }
        Command::Test { args } => {
            setup::ensure()?;
            cmd::require_root("the XDP packet tests load programs into the kernel")?;
            let mut cargo_args = vec!["--workspace"];
            cargo_args.extend(args.iter().map(String::as_str));
            cmd::cargo_test(&cargo_args)
        }
        Command::Bench { scenario: BenchScenario::Micro } => {
            setup::ensure()?;
            cmd::require_root("the benchmark loads XDP programs into the kernel")?;
            cmd::cargo(&["run", "--release", "--quiet", "--package", "anycast-bench", "--", "micro"])
        }
        Command::Lint => {
            setup::ensure()?;
            cmd::cargo(&["fmt", "--all", "--check"])?;
            cmd::cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
            cmd::nightly_cargo_in("anycast-ebpf", &["fmt", "--check"])?;
            cmd::nightly_cargo_in(
                "anycast-ebpf",
                &[
                    "clippy",
                    "--release",
                    "--target",
                    "bpfel-unknown-none",
                    "-Z",
                    "build-std=core",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
        }
    }
}
