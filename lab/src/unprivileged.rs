//! Running a daemon as systemd runs a unit with `User=`,
//! `AmbientCapabilities=` and `CapabilityBoundingSet=`: as another user,
//! with only the given capabilities (effective, permitted, inheritable,
//! ambient and bounding), through util-linux's setpriv.

use std::{path::Path, process::Command};

use crate::{LabError, netns::Netns, run};

/// nobody and nogroup on Debian.
pub const NOBODY: u32 = 65534;

pub struct Unprivileged {
    pub uid: u32,
    pub gid: u32,
    /// Capability names as setpriv spells them: `bpf`, `net_admin`.
    pub capabilities: Vec<String>,
}

impl Unprivileged {
    /// nobody with `capabilities` and no others.
    pub fn nobody(capabilities: &[&str]) -> Unprivileged {
        Unprivileged { uid: NOBODY, gid: NOBODY, capabilities: capabilities.iter().map(|c| c.to_string()).collect() }
    }

    /// `program` in `ns` as this user, with these capabilities only.
    pub fn command(&self, ns: &Netns, program: &Path) -> Command {
        let caps: String = std::iter::once("-all".to_string())
            .chain(self.capabilities.iter().map(|c| format!("+{c}")))
            .collect::<Vec<_>>()
            .join(",");
        let mut command = ns.command("setpriv");
        command
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(format!("--inh-caps={caps}"))
            .arg(format!("--ambient-caps={caps}"))
            .arg(format!("--bounding-set={caps}"))
            .arg("--")
            .arg(program);
        command
    }

    /// Gives `path` (not what is under it) to this user.
    pub fn own(&self, path: &Path) -> Result<(), LabError> {
        run(Command::new("chown").arg(format!("{}:{}", self.uid, self.gid)).arg(path)).map(drop)
    }

    /// Gives `path` and everything under it to this user, as the unit's
    /// `ExecStartPre=+chown -R` gives it the pins.
    pub fn own_tree(&self, path: &Path) -> Result<(), LabError> {
        run(Command::new("chown").arg("-R").arg(format!("{}:{}", self.uid, self.gid)).arg(path)).map(drop)
    }

    /// The mask of these capabilities, as /proc/PID/status prints CapEff.
    pub fn mask(&self) -> Result<u64, LabError> {
        self.capabilities.iter().try_fold(0u64, |mask, name| {
            let bit = capability_number(name)
                .ok_or_else(|| LabError::NotReady(format!("no capability called {name} known to the lab")))?;
            Ok(mask | 1 << bit)
        })
    }
}

/// Bits of the capabilities an anycast node may be given
/// (linux/capability.h).
fn capability_number(name: &str) -> Option<u32> {
    Some(match name {
        "net_bind_service" => 10,
        "net_admin" => 12,
        "net_raw" => 13,
        "sys_admin" => 21,
        "sys_resource" => 24,
        "perfmon" => 38,
        "bpf" => 39,
        _ => return None,
    })
}
