//! Where the fast path is pinned, so that it outlives the daemon: the XDP
//! link and the maps that carry state live under
//! `<root>/<interface>/layout-<MAP_LAYOUT>/`. A daemon that crashed or was
//! killed leaves them there and the program keeps answering hot names; the
//! next one loads its program over the same maps and swaps it into the
//! link atomically.
//!
//! The layout fingerprint in the path is what keeps a daemon from reading
//! maps written by another layout: an upgrade that changes one finds only
//! other layouts' directories, starts with fresh maps, takes over their
//! link (so the interface is never without a program) and removes them.

use std::{
    ffi::CString,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use anycast_common::{MAP_LAYOUT, map_names};
use aya::maps::MapData;

use super::error::FastPathError;

/// The maps whose contents must survive a restart. The per-CPU scratch
/// buffers need not.
pub const PINNED_MAPS: [&str; 8] = [
    map_names::ANSWERS,
    map_names::CONFIG,
    map_names::ACL_V4,
    map_names::ACL_V6,
    map_names::STATS,
    map_names::RATE_BUCKETS,
    map_names::COOKIE_SECRETS,
    map_names::COOKIE_SLOT,
];

/// Where bpffs is mounted on a standard system.
const STANDARD_BPFFS: &str = "/sys/fs/bpf";
const LINK: &str = "link";

#[derive(Debug)]
pub struct Pins {
    /// This layout's directory.
    dir: PathBuf,
    /// Directories other layouts left for the same interface.
    stale: Vec<PathBuf>,
}

impl Pins {
    /// Finds (or makes) the interface's directory under `root`, mounting
    /// bpffs where needed.
    pub fn prepare(root: &Path, interface: &str) -> Result<Pins, FastPathError> {
        ensure_bpffs(root)?;
        let parent = root.join(interface);
        let dir = parent.join(format!("layout-{MAP_LAYOUT:016x}"));
        std::fs::create_dir_all(&dir).map_err(io_error(&dir, "creating"))?;
        let stale = std::fs::read_dir(&parent)
            .map_err(io_error(&parent, "reading"))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| *path != dir)
            .collect::<Vec<_>>();
        for old in &stale {
            tracing::warn!(
                pinned = %old.display(),
                ours = %dir.display(),
                "the pinned fast path has another map layout: starting with fresh maps (its link is taken over, its maps removed)"
            );
        }
        Ok(Pins { dir, stale })
    }

    pub fn map(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn link(&self) -> PathBuf {
        self.dir.join(LINK)
    }

    /// The XDP link a previous daemon pinned: this layout's, else another's.
    pub fn previous_link(&self) -> Option<PathBuf> {
        std::iter::once(self.link()).chain(self.stale.iter().map(|d| d.join(LINK))).find(|path| path.exists())
    }

    /// Unpins maps whose size differs from the configured one, so they are
    /// made afresh: a pinned map keeps the size it was made with.
    pub fn drop_resized(&self, sizes: &[(&'static str, u32)]) -> Result<(), FastPathError> {
        for &(name, wanted) in sizes {
            let path = self.map(name);
            if !path.exists() {
                continue;
            }
            let pinned = MapData::from_pin(&path)
                .and_then(|map| map.info())
                .map(|info| info.max_entries())
                .map_err(|source| FastPathError::Map { name, source })?;
            if pinned != wanted {
                tracing::warn!(map = name, pinned, configured = wanted, "map size changed: starting it afresh");
                std::fs::remove_file(&path).map_err(io_error(&path, "unpinning"))?;
            }
        }
        Ok(())
    }

    /// Removes the directories of other layouts, once their link is ours.
    pub fn remove_stale(&self) {
        for old in &self.stale {
            if let Err(e) = std::fs::remove_dir_all(old) {
                tracing::warn!(dir = %old.display(), error = %e, "removing another layout's pins");
            }
        }
    }

    /// Unpins everything of this layout: the program goes when the daemon
    /// closes its link.
    pub fn remove(&self) -> Result<(), FastPathError> {
        std::fs::remove_dir_all(&self.dir).map_err(io_error(&self.dir, "unpinning"))?;
        // The interface's directory, if nothing else is in it.
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
        Ok(())
    }
}

/// Makes sure `root` is on bpffs: mounts it at the standard place when
/// `root` is under it, else at `root` itself.
fn ensure_bpffs(root: &Path) -> Result<(), FastPathError> {
    let standard = Path::new(STANDARD_BPFFS);
    if root.starts_with(standard) && standard.is_dir() && !is_bpffs(standard) {
        mount_bpffs(standard)?;
    }
    std::fs::create_dir_all(root).map_err(io_error(root, "creating"))?;
    if !is_bpffs(root) {
        mount_bpffs(root)?;
    }
    Ok(())
}

fn is_bpffs(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: a valid C string and a zeroed statfs to fill.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let found = unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } == 0;
    found && stat.f_type == libc::BPF_FS_MAGIC
}

fn mount_bpffs(path: &Path) -> Result<(), FastPathError> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| FastPathError::Pin {
        path: path.to_path_buf(),
        what: "mounting bpffs at",
        source: None,
    })?;
    tracing::info!(at = %path.display(), "mounting bpffs");
    // SAFETY: valid C strings; mount(2) reads them only.
    let mounted =
        unsafe { libc::mount(c"bpf".as_ptr(), c_path.as_ptr(), c"bpf".as_ptr(), 0, c"mode=0700".as_ptr().cast()) };
    if mounted != 0 {
        return Err(io_error(path, "mounting bpffs at")(std::io::Error::last_os_error()));
    }
    Ok(())
}

fn io_error(path: &Path, what: &'static str) -> impl Fn(std::io::Error) -> FastPathError {
    let path = path.to_path_buf();
    move |source| FastPathError::Pin { path: path.clone(), what, source: Some(source) }
}
