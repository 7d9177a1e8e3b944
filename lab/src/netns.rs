//! Network namespaces and veth pairs, through iproute2.

use std::process::Command;

use crate::{LabError, run};

/// Prefix of every namespace a lab makes: `acl<PID>-<role>`.
const PREFIX: &str = "acl";

/// A network namespace that is deleted, with every process in it killed,
/// when dropped.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `acl<PID>-<role>` with its loopback up.
    pub fn create(role: &str) -> Result<Netns, LabError> {
        let name = format!("{PREFIX}{}-{role}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <ns> ARGS`.
    pub fn ip(&self, args: &[&str]) -> Result<String, LabError> {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Moves the calling thread into the namespace (for good: run it on a
    /// thread of its own).
    pub fn enter(&self) -> Result<(), LabError> {
        let path = format!("/run/netns/{}", self.name);
        let io = |source| LabError::Io { what: format!("entering {path}"), source };
        let file = std::fs::File::open(&path).map_err(io)?;
        // SAFETY: a valid namespace descriptor; setns changes only this thread.
        if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) } != 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Runs `program ARGS` in the namespace to completion.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String, LabError> {
        run(self.command(program).args(args))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// A veth pair between two namespaces, both ends up.
pub fn veth(a: &Netns, a_end: &str, b: &Netns, b_end: &str) -> Result<(), LabError> {
    run(Command::new("ip").args([
        "link",
        "add",
        a_end,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_end,
        "netns",
        b.name(),
    ]))?;
    a.ip(&["link", "set", a_end, "up"])?;
    b.ip(&["link", "set", b_end, "up"])?;
    Ok(())
}

/// Runs the pass-everything XDP program `object` (anycast-user builds one,
/// `pass`) on `interface`: a veth delivers the frames its peer sends with
/// XDP_TX only when an XDP program runs on it too.
pub fn accept_xdp_tx(ns: &Netns, interface: &str, object: &std::path::Path) -> Result<(), LabError> {
    let object = object.display().to_string();
    ns.ip(&["link", "set", "dev", interface, "xdpdrv", "obj", &object, "sec", "xdp"])?;
    Ok(())
}

/// Makes `interface` send UDP with whole checksums. A veth hands its peer
/// datagrams with a partial checksum (the offload is never done); a frame
/// off a wire always carries the whole one, which the fast path verifies.
pub fn full_checksums(ns: &Netns, interface: &str) -> Result<(), LabError> {
    ns.exec("ethtool", &["-K", interface, "tx", "off"])?;
    Ok(())
}

/// Kills what runs in namespace `name` and deletes it.
fn remove(name: &str) {
    if let Ok(pids) = run(Command::new("ip").args(["netns", "pids", name])) {
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).status();
}

/// Removes the namespaces of labs whose process is gone (an interrupted
/// run), and returns their names.
pub fn remove_stale() -> Vec<String> {
    let Ok(list) = run(Command::new("ip").args(["netns", "list"])) else { return Vec::new() };
    let mut removed = Vec::new();
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) =
            name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            remove(name);
            removed.push(name.to_string());
        }
    }
    removed
}
