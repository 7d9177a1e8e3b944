//! `cargo xtask fuzz`: the userspace parsers under cargo-fuzz (libFuzzer
//! with AddressSanitizer, on the nightly), each for a set time, two at a
//! time (one per core). Crashes land in `fuzz/artifacts/TARGET/`, the
//! corpus grows in `fuzz/corpus/TARGET/` from one run to the next.

use std::{
    process::{Command, Stdio},
    thread,
};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Every target in `fuzz/fuzz_targets`.
pub const TARGETS: [&str; 5] = ["client_query", "upstream_response", "map_writer", "config", "bgp_message"];

/// What one run printed at its end.
struct Outcome {
    target: String,
    ok: bool,
    /// libFuzzer's closing lines (runs, coverage, speed) or its error.
    summary: String,
}

pub fn run(targets: &[String], minutes: u64) -> Result<()> {
    cargo_fuzz()?;
    for target in targets {
        if !TARGETS.contains(&target.as_str()) {
            bail!("no fuzz target `{target}`; there are: {}", TARGETS.join(", "));
        }
    }
    cmd::run(Command::new("rustup").args(["run", "nightly", "cargo", "fuzz", "build"]).current_dir(cmd::root()))?;
    let mut outcomes = Vec::new();
    for pair in targets.chunks(2) {
        let runs: Vec<_> = pair.iter().cloned().map(|t| thread::spawn(move || fuzz(&t, minutes))).collect();
        for run in runs {
            outcomes.push(run.join().expect("a fuzzing thread")?);
        }
    }
    println!("\nfuzzing, {minutes} min per target:");
    for o in &outcomes {
        println!("  {:<18} {}  {}", o.target, if o.ok { "no crash" } else { "FAILED  " }, o.summary);
    }
    let failed: Vec<&str> = outcomes.iter().filter(|o| !o.ok).map(|o| o.target.as_str()).collect();
    if !failed.is_empty() {
        bail!("crashes in {} (inputs in fuzz/artifacts/)", failed.join(", "));
    }
    Ok(())
}

fn fuzz(target: &str, minutes: u64) -> Result<Outcome> {
    let out = Command::new("rustup")
        .args(["run", "nightly", "cargo", "fuzz", "run", target, "--"])
        .arg(format!("-max_total_time={}", minutes * 60))
        .arg("-print_final_stats=1")
        .current_dir(cmd::root())
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot run cargo fuzz for {target}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let ok = out.status.success();
    let summary = if ok {
        let done = log.lines().rev().find(|l| l.contains("DONE")).unwrap_or_default();
        let runs = log.lines().find(|l| l.starts_with("stat::number_of_executed_units")).unwrap_or_default();
        format!("{} ({})", done.trim(), runs.trim())
    } else {
        eprintln!("{log}");
        log.lines().filter(|l| l.contains("ERROR") || l.contains("panicked")).take(3).collect::<Vec<_>>().join(" | ")
    };
    Ok(Outcome { target: target.to_string(), ok, summary })
}

/// Installs cargo-fuzz from crates.io if it is missing.
fn cargo_fuzz() -> Result<()> {
    if Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    eprintln!("setup: installing cargo-fuzz");
    cmd::run(Command::new(env!("CARGO")).args(["install", "cargo-fuzz", "--locked"]))
}
