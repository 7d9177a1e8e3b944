//! Telling the node's own routing daemon the state in interface mode, so
//! that drain and a graceful stop's withdraw need not touch the VIPs:
//!
//! - BIRD: an include file, `define ANYCAST_STATE = 0|1|2;` (announce,
//!   drain, withdraw), then `birdc configure`; BIRD's export filter
//!   prepends on 1 and rejects on 2.
//! - FRR: a route-map anycastd owns (by default `ANYCAST-STATE`), which
//!   the operator's redistribution route-map `call`s: entry `deny 5`
//!   present while withdrawn, entry `permit 10` carrying the drain's set
//!   lines (by default `set metric 1000`: the OSPF external metric, or
//!   the MED in bgpd) while drained; changed through `vtysh`.

use std::path::{Path, PathBuf};

use super::state::State;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingDaemon {
    Bird(BirdControl),
    Frr(FrrControl),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BirdControl {
    pub include: PathBuf,
    pub socket: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrControl {
    /// The route-map anycastd rewrites.
    pub route_map: String,
    /// Its set lines while drained, e.g. `set metric 1000`.
    pub drain: Vec<String>,
    /// vtysh's `--vty_socket` (the daemons' socket directory), if not
    /// the default.
    pub vty_socket: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingDaemonError {
    #[error("writing {path}: {source}")]
    Include { path: PathBuf, source: std::io::Error },
    #[error("running {program}: {source}")]
    Run { program: &'static str, source: std::io::Error },
    #[error("{program} failed: {output}")]
    Refused { program: &'static str, output: String },
    #[error("{program} did not answer within {0:?}", CONTROL_TIMEOUT)]
    TimedOut { program: &'static str },
}

/// How long birdc or vtysh may take: a hung routing daemon must not hang
/// the announcer (and with it the health checks and the watchdog).
const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Which run of the routing daemon anycastd last told, where a restart
/// forgets what it was told.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Instance(Vec<(std::ffi::OsString, u64)>);

impl RoutingDaemon {
    pub async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        match self {
            RoutingDaemon::Bird(bird) => bird.tell(state).await,
            RoutingDaemon::Frr(frr) => frr.tell(state).await,
        }
    }

    /// The run now under way: for FRR, its vty sockets' inodes; BIRD
    /// reads the include file whenever it starts, so it has one run.
    pub fn instance(&self) -> Instance {
        let RoutingDaemon::Frr(frr) = self else { return Instance::default() };
        let dir = frr.vty_socket.as_deref().unwrap_or(Path::new(DEFAULT_VTY_DIR));
        let mut sockets: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "vty"))
            .filter_map(|entry| Some((entry.file_name(), std::os::unix::fs::MetadataExt::ino(&entry.metadata().ok()?))))
            .collect();
        sockets.sort();
        Instance(sockets)
    }
}

/// Where Debian's FRR puts its daemons' vty sockets.
const DEFAULT_VTY_DIR: &str = "/var/run/frr";

impl BirdControl {
    async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        write_include(&self.include, state)?;
        let mut birdc = tokio::process::Command::new("birdc");
        birdc.arg("-s").arg(&self.socket).arg("configure");
        let text = run("birdc", &mut birdc).await?;
        if !text.contains("Reconfigured") && !text.contains("Reconfiguration in progress") {
            return Err(RoutingDaemonError::Refused { program: "birdc", output: text });
        }
        Ok(())
    }
}

impl FrrControl {
    async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        let mut vtysh = tokio::process::Command::new("vtysh");
        if let Some(socket) = &self.vty_socket {
            vtysh.arg("--vty_socket").arg(socket);
        }
        for line in self.commands(state) {
            vtysh.arg("-c").arg(line);
        }
        run("vtysh", &mut vtysh).await.map(drop)
    }

    /// The vtysh commands that make the route-map say `state`. Entries
    /// are changed in place, never deleted and made again, and the deny
    /// entry is added or removed last, so midway the route-map says the
    /// old state or the new.
    fn commands(&self, state: State) -> Vec<String> {
        let map = &self.route_map;
        let mut lines = vec!["configure terminal".to_string()];
        if state == State::Withdrawn {
            lines.push(format!("route-map {map} deny 5"));
            return lines;
        }
        lines.push(format!("route-map {map} permit 10"));
        for set in &self.drain {
            lines.push(if state == State::Drained { set.clone() } else { format!("no {set}") });
        }
        lines.push("exit".to_string());
        lines.push(format!("no route-map {map} deny 5"));
        lines
    }
}

/// Runs a routing daemon's control program; its output, or why it failed.
async fn run(program: &'static str, command: &mut tokio::process::Command) -> Result<String, RoutingDaemonError> {
    command.kill_on_drop(true);
    let out = tokio::time::timeout(CONTROL_TIMEOUT, command.output())
        .await
        .map_err(|_| RoutingDaemonError::TimedOut { program })?
        .map_err(|source| RoutingDaemonError::Run { program, source })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(RoutingDaemonError::Refused { program, output: text.trim().to_string() });
    }
    Ok(text)
}

/// Writes BIRD's include atomically (a half-written file would fail
/// `birdc configure`).
fn write_include(path: &Path, state: State) -> Result<(), RoutingDaemonError> {
    let error = |source| RoutingDaemonError::Include { path: path.to_path_buf(), source };
    let temporary = path.with_extension("tmp");
    let text = format!(
        "# Written by anycastd: 0 announce, 1 drain (prepend), 2 withdraw.\ndefine ANYCAST_STATE = {};\n",
        state.bird_value()
    );
    std::fs::write(&temporary, text).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frr_commands_for_each_state() {
        let frr = FrrControl {
            route_map: "ANYCAST-STATE".into(),
            drain: vec!["set metric 1000".into(), "set tag 7".into()],
            vty_socket: None,
        };
        let cases: &[(State, &[&str])] = &[
            (State::Withdrawn, &["configure terminal", "route-map ANYCAST-STATE deny 5"]),
            (
                State::Drained,
                &[
                    "configure terminal",
                    "route-map ANYCAST-STATE permit 10",
                    "set metric 1000",
                    "set tag 7",
                    "exit",
                    "no route-map ANYCAST-STATE deny 5",
                ],
            ),
            (
                State::Announced,
                &[
                    "configure terminal",
                    "route-map ANYCAST-STATE permit 10",
                    "no set metric 1000",
                    "no set tag 7",
                    "exit",
                    "no route-map ANYCAST-STATE deny 5",
                ],
            ),
        ];
        for (state, want) in cases {
            assert_eq!(frr.commands(*state), *want, "vtysh commands for {state:?}");
        }
    }

    #[test]
    fn a_restarted_frr_is_a_new_instance() {
        let dir = std::env::temp_dir().join(format!("anycastd-frr-instance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frr = RoutingDaemon::Frr(FrrControl {
            route_map: "ANYCAST-STATE".into(),
            drain: Vec::new(),
            vty_socket: Some(dir.clone()),
        });
        let make = |name: &str| {
            let _ = std::fs::remove_file(dir.join(name));
            std::fs::write(dir.join(name), "").unwrap();
        };
        make("zebra.vty");
        make("ospfd.vty");
        make("zserv.api");
        let first = frr.instance();
        assert_eq!(first.0.len(), 2, "the vty sockets only: {first:?}");
        assert_eq!(frr.instance(), first, "nothing restarted");
        make("zserv.api");
        assert_eq!(frr.instance(), first, "zebra's API socket is not a vty");
        // A new file takes a new inode while the old one is still held.
        let held = std::fs::File::open(dir.join("ospfd.vty")).unwrap();
        make("ospfd.vty");
        assert_ne!(frr.instance(), first, "ospfd restarted");
        drop(held);
        std::fs::remove_dir_all(&dir).unwrap();
        let bird = RoutingDaemon::Bird(BirdControl { include: "/x".into(), socket: "/y".into() });
        assert_eq!(bird.instance(), bird.instance(), "BIRD has one run");
    }
}
