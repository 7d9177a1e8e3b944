//! Running commands with errors that say what failed.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
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

/// Runs the nightly's cargo in a directory of the workspace.
pub fn nightly_cargo_in(dir: &str, args: &[&str]) -> Result<()> {
    run(Command::new("rustup").args(["run", "nightly", "cargo"]).args(args).current_dir(root().join(dir)))
}

pub fn require_root(why: &str) -> Result<()> {
    let uid = output(Command::new("id").arg("-u"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("run this as root: {why}");
    }
    Ok(())
}
