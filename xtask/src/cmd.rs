//! Running commands with errors that say what failed.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use anyhow::{Context, Result, bail};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is inside the workspace").to_path_buf()
}

/// Runs `command`, inheriting stdio; fails unless it exits 0.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    Ok(())
}

/// Runs `command` and returns its output; fails unless it exits 0.
pub fn output(command: &mut Command) -> Result<Output> {
    let out = command.output().with_context(|| format!("cannot start {command:?}"))?;
    if !out.status.success() {
        bail!("{command:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(out)
}

/// Runs the host cargo in the workspace root.
pub fn cargo(args: &[&str]) -> Result<()> {
    run(Command::new(env!("CARGO")).args(args).current_dir(root()))
}

/// Runs `cargo test` with `args`, passing its output through, and closes
/// with the totals over every test binary: cargo's own last line is that
/// of the last binary (often a doc-test run of nothing). The tests get
/// `envs` too.
pub fn cargo_test(args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Result<()> {
    let mut child = Command::new(env!("CARGO"))
        .arg("test")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().expect("stdout is piped")).lines() {
        let line = line?;
        println!("{line}");
        if let Some(counts) = line.strip_prefix("test result: ") {
            passed += count_before(counts, " passed");
            failed += count_before(counts, " failed");
        }
    }
    let status = child.wait()?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed: {status}");
    }
    if passed == 0 {
        bail!("cargo test ran no test");
    }
    Ok(())
}

/// The number in `text` right before `word` ("ok. 12 passed; 0 failed").
fn count_before(text: &str, word: &str) -> u64 {
    text.split(';')
        .find_map(|part| part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(word))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the nightly's cargo in a directory of the workspace.
pub fn nightly_cargo_in(dir: &str, args: &[&str]) -> Result<()> {
    run(Command::new("rustup").args(["run", "nightly", "cargo"]).args(args).current_dir(root().join(dir)))
}

/// Builds anycastd and the lab's XDP programs in release mode and returns
/// the output directory of `anycast-lab-xdp`'s build script, where the
/// objects the labs and the bench attach (pass, reflector, ...) are.
pub fn build_lab_binaries() -> Result<PathBuf> {
    let out = output(
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--package", "anycast-user", "--bin", "anycastd"])
            .args(["--package", "anycast-lab-xdp", "--lib", "--message-format", "json-render-diagnostics"])
            .current_dir(root())
            .stderr(Stdio::inherit()),
    )?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "build-script-executed")
        .filter(|m| m["package_id"].as_str().is_some_and(|id| id.contains("anycast-lab-xdp")))
        .find_map(|m| m["out_dir"].as_str().map(PathBuf::from))
        .context("cargo did not say where anycast-lab-xdp's build script put the XDP objects")
}

/// Replaces this process with `program ARGS`.
pub fn exec(program: &Path, args: &[String]) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = Command::new(program).args(args).exec();
    Err(error).with_context(|| format!("cannot run {}", program.display()))
}

pub fn require_root(why: &str) -> Result<()> {
    let uid = output(Command::new("id").arg("-u"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("run this as root: {why}");
    }
    Ok(())
}
