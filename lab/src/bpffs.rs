//! A lab's own bpffs, mounted in the lab's directory from the host's mount
//! namespace. anycastd runs under `ip netns exec`, which gives every
//! process a private mount namespace with a fresh /sys: pins it made under
//! /sys/fs/bpf would go with it. Pins on this mount outlive the process,
//! as they do on a real node, so a restarted anycastd can take them over.

use std::path::{Path, PathBuf};

use crate::{LabError, run};

pub struct BpfFs {
    path: PathBuf,
}

impl BpfFs {
    pub fn mount(path: &Path) -> Result<BpfFs, LabError> {
        std::fs::create_dir_all(path)
            .map_err(|source| LabError::Io { what: format!("creating {}", path.display()), source })?;
        run(std::process::Command::new("mount").args(["-t", "bpf", "bpf"]).arg(path))?;
        Ok(BpfFs { path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BpfFs {
    fn drop(&mut self) {
        unmount(&self.path);
    }
}

/// Unmounts every mount under `dir` (an interrupted lab's), deepest first.
pub fn unmount_under(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<&Path> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(Path::new)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        unmount(point);
    }
}

/// Lazily: whatever still holds the mount lets go when it is done.
fn unmount(path: &Path) {
    let _ = run(std::process::Command::new("umount").arg("-l").arg(path));
}
