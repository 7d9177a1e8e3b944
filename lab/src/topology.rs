//! The lab: a client, the node, the hierarchy's servers, and the links
//! between them.
//!
//! ```text
//!  client (10.99.1.2, fd99:1::2)
//!     | veth: c<PID> ... n<PID>c (XDP here)
//!  node  (10.99.1.1, fd99:1::1; VIPs 6.6.6.6 and 2001:db8::6 on lo)
//!     | n<PID>a
//!  the authorities (see `authorities`)
//! ```

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::{
    LabError,
    authorities::{Authorities, Uplink},
    bpffs::BpfFs,
    daemon,
    netns::{self, Netns, veth},
    peers,
    process::Process,
    tls::TlsFiles,
    unprivileged::Unprivileged,
    wait,
};

pub const VIP4: &str = "6.6.6.6";
pub const VIP6: &str = "2001:db8::6";
pub const CLIENT4: &str = "10.99.1.2";
pub const CLIENT6: &str = "fd99:1::2";
/// The node's own address on the client link (the router's in the
/// anycast lab).
pub const NODE4: &str = "10.99.1.1";
const GATEWAY6: &str = "fd99:1::1";
/// The client networks anycastd is told to allow.
pub const CLIENT_NETWORKS: [&str; 2] = ["10.99.1.0/24", "fd99:1::/64"];

/// The resolvers users run instead, from Debian's packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Unbound iterating only.
    Unbound,
    /// Unbound validating from the lab's trust anchor.
    ValidatingUnbound,
    /// Knot Resolver and PowerDNS Recursor, validating from the lab's
    /// trust anchor.
    Kresd,
    PdnsRecursor,
    /// dnsdist's packet cache in front of a validating Unbound on NODE4
    /// (started first, with [`Lab::start_peer`]).
    Dnsdist,
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Peer::Unbound => "unbound",
            Peer::ValidatingUnbound => "unbound-validating",
            Peer::Kresd => "kresd",
            Peer::PdnsRecursor => "pdns-recursor",
            Peer::Dnsdist => "dnsdist",
        }
    }
}

pub struct Lab {
    // Processes go before the namespaces they run in (fields drop in order).
    anycastd: Option<Process>,
    processes: Vec<Process>,
    authorities: Authorities,
    pub client: Netns,
    pub node: Netns,
    /// The node's end of the client link, where the XDP program goes.
    pub node_if: String,
    /// The client's end of it.
    pub client_if: String,
    /// The node's link to the DNS hierarchy's servers.
    uplink: Uplink,
    /// Where anycastd pins the fast path (see `bpffs`).
    pins: BpfFs,
    /// Files of this lab: zones, configurations, logs.
    pub dir: PathBuf,
}

impl Lab {
    /// Builds the namespaces and links and starts the hierarchy's servers;
    /// labs left behind by processes that are gone are removed first.
    /// `client_xdp` is an XDP object that passes everything (anycast-user
    /// builds one, `pass`): a veth delivers the frames its peer sends with
    /// XDP_TX only when an XDP program runs on it too.
    pub fn start(client_xdp: &Path) -> Result<Lab, LabError> {
        let dir = crate::fresh_lab_dir("lab")?;
        let id = std::process::id();
        let hints = dir.join("root.hints");
        let mut authorities = Authorities::start(&dir, &hints)?;
        let node = Netns::create("node")?;
        let uplink = authorities.attach(&node, &format!("n{id}a"))?;
        let lab = Lab {
            anycastd: None,
            processes: Vec::new(),
            authorities,
            client: Netns::create("cli")?,
            node,
            node_if: format!("n{id}c"),
            client_if: format!("c{id}"),
            uplink,
            pins: BpfFs::mount(&dir.join("bpf"))?,
            dir,
        };
        lab.wire(client_xdp)?;
        Ok(lab)
    }

    fn wire(&self, client_xdp: &Path) -> Result<(), LabError> {
        client_link(&self.client, &self.client_if, &self.node, &self.node_if)?;
        // The VIPs are anycastd's to put on lo (no dummy driver here).
        netns::accept_xdp_tx(&self.client, &self.client_if, client_xdp)
    }

    pub fn hints_path(&self) -> PathBuf {
        self.dir.join("root.hints")
    }

    /// The lab's trust anchor: the signed root's DS records.
    pub fn anchor_path(&self) -> PathBuf {
        self.dir.join(crate::hierarchy::ANCHOR_FILE)
    }

    /// The lab's CA and the node's certificate, made on first use: what
    /// [`Lab::tls_args`] gives anycastd, and what clients trust.
    pub fn tls_files(&self) -> Result<TlsFiles, LabError> {
        TlsFiles::in_dir(&self.dir.join("tls"))
    }

    /// anycastd's arguments for DNS over TLS (853) and HTTPS (443) with
    /// the lab's certificate.
    pub fn tls_args(&self) -> Result<Vec<String>, LabError> {
        let files = self.tls_files()?;
        Ok(vec![
            "--tls-certificate".into(),
            files.certificate.display().to_string(),
            "--tls-key".into(),
            files.key.display().to_string(),
        ])
    }

    /// Starts anycastd in the node: recursive from the lab's root, XDP on
    /// the client link, the client's networks allowed; `extra` arguments
    /// are appended. Returns once it answers the client.
    pub fn start_anycastd(&mut self, binary: &Path, extra: &[&str]) -> Result<(), LabError> {
        self.start_anycastd_with(binary, "native", extra)
    }

    /// [`Lab::start_anycastd`] with another `--xdp-mode` (`off`: no fast
    /// path).
    pub fn start_anycastd_with(&mut self, binary: &Path, xdp_mode: &str, extra: &[&str]) -> Result<(), LabError> {
        let command = self.node.command(&binary.display().to_string());
        self.spawn_anycastd(command, xdp_mode, extra)?;
        self.wait_answering("anycastd", VIP4, &self.dir.join("anycastd.log"))
    }

    /// [`Lab::start_anycastd`] as `user`, who is given the pins and the
    /// lab's directory (for the control socket), as the package's unit
    /// gives its user the pins and its runtime directory.
    pub fn start_anycastd_as(&mut self, binary: &Path, user: &Unprivileged, extra: &[&str]) -> Result<(), LabError> {
        self.run_anycastd_as(binary, user, extra)?;
        self.wait_answering("anycastd", VIP4, &self.dir.join("anycastd.log"))
    }

    /// Starts anycastd as `user` (see [`Lab::start_anycastd_as`]) without
    /// waiting for it to answer: for a start that is meant to fail.
    pub fn run_anycastd_as(&mut self, binary: &Path, user: &Unprivileged, extra: &[&str]) -> Result<(), LabError> {
        user.own_tree(self.pins.path())?;
        user.own(&self.dir)?;
        let command = user.command(&self.node, binary);
        self.spawn_anycastd(command, "native", extra)
    }

    /// Starts `command` (anycastd, as some user) with the lab's arguments.
    fn spawn_anycastd(&mut self, mut command: Command, xdp_mode: &str, extra: &[&str]) -> Result<(), LabError> {
        command
            .args(["--vip", VIP4, "--vip", VIP6, "--interface", &self.node_if, "--xdp-mode", xdp_mode])
            .arg("--root-hints")
            .arg(self.hints_path())
            .arg("--trust-anchor")
            .arg(self.anchor_path())
            .args(CLIENT_NETWORKS.iter().flat_map(|network| ["--allow", network]))
            .arg("--control-socket")
            .arg(self.control_socket())
            .arg("--pin-dir")
            .arg(self.pins.path())
            .args(extra);
        let log = self.dir.join("anycastd.log");
        // A previous run is gone before its log is reused.
        self.anycastd = None;
        self.anycastd = Some(Process::spawn(&mut command, &log)?);
        Ok(())
    }

    /// Waits up to `limit` for anycastd to exit: its status, or None while
    /// it runs.
    pub fn wait_anycastd(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        self.anycastd.as_mut()?.wait(limit)
    }

    /// Waits until the resolver at `server` answers the client, or fails
    /// with its log.
    fn wait_answering(&self, what: &str, server: &str, log: &Path) -> Result<(), LabError> {
        wait(&format!("{what} answering (files in {})", self.dir.display()), Duration::from_secs(20), || {
            self.dig(&["+short", "+tries=1", "+time=1", &format!("@{server}"), "www.lab.", "A"])
                .is_ok_and(|out| out.trim() == "10.99.5.1")
        })
        .map_err(|e| LabError::NotReady(format!("{e}; its log: {}", std::fs::read_to_string(log).unwrap_or_default())))
    }

    /// Starts Unbound in the node namespace on the node's client-facing
    /// address (not a VIP: the XDP program passes its traffic), iterating
    /// from the same root hints as anycastd; returns the address to ask.
    pub fn start_unbound(&mut self) -> Result<&'static str, LabError> {
        self.start_unbound_with("")
    }

    /// [`Lab::start_unbound`] with `extra` appended to its configuration
    /// (clauses of their own: `server:` lines, `rpz:`).
    pub fn start_unbound_with(&mut self, extra: &str) -> Result<&'static str, LabError> {
        self.start_peer_with(Peer::Unbound, NODE4, extra)?;
        Ok(NODE4)
    }

    /// Starts `peer` in the node namespace on `listen` (an address the
    /// node has: NODE4, or VIP4 after [`Lab::add_vips`]), iterating from
    /// the lab's root hints with an empty cache; returns its PID once it
    /// answers the client.
    pub fn start_peer(&mut self, peer: Peer, listen: &str) -> Result<u32, LabError> {
        self.start_peer_with(peer, listen, "")
    }

    /// [`Lab::start_peer`] with `extra` appended to its configuration.
    pub fn start_peer_with(&mut self, peer: Peer, listen: &str, extra: &str) -> Result<u32, LabError> {
        let dir = self.dir.join(peer.name());
        // An empty cache: kresd keeps its own on disk.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })?;
        let (hints, allow) = (self.hints_path(), CLIENT_NETWORKS[0]);
        let (config, text) = match peer {
            Peer::Unbound => ("unbound.conf", peers::unbound_config(listen, allow, &hints, None, &dir)),
            Peer::ValidatingUnbound => {
                let anchor = self.anchor_path();
                ("unbound.conf", peers::unbound_config(listen, allow, &hints, Some(&anchor), &dir))
            }
            Peer::Kresd => ("kresd.conf", peers::kresd_config(listen, allow, &hints, &self.anchor_path(), &dir)),
            Peer::PdnsRecursor => {
                let lua = dir.join("trust-anchors.lua");
                let anchor = std::fs::read_to_string(self.anchor_path())
                    .map_err(|source| LabError::Io { what: "reading the lab's trust anchor".into(), source })?;
                std::fs::write(&lua, peers::pdns_trust_anchors(&anchor))
                    .map_err(|source| LabError::Io { what: format!("writing {}", lua.display()), source })?;
                ("recursor.conf", peers::pdns_recursor_config(listen, allow, &hints, &lua, &dir))
            }
            Peer::Dnsdist => ("dnsdist.conf", peers::dnsdist_config(listen, allow, NODE4)),
        };
        let config = dir.join(config);
        std::fs::write(&config, format!("{text}{extra}"))
            .map_err(|source| LabError::Io { what: format!("writing {}", config.display()), source })?;
        let mut command = match peer {
            Peer::Unbound | Peer::ValidatingUnbound => {
                let mut c = self.node.command("unbound");
                c.arg("-d").arg("-c").arg(&config);
                c
            }
            Peer::Kresd => {
                let mut c = self.node.command("kresd");
                c.arg("-n").arg("-c").arg(&config).arg(&dir);
                c
            }
            Peer::PdnsRecursor => {
                let mut c = self.node.command("pdns_recursor");
                c.arg(format!("--config-dir={}", dir.display()));
                c
            }
            Peer::Dnsdist => {
                let mut c = self.node.command("dnsdist");
                c.arg("--supervised").arg("--disable-syslog").arg("--config").arg(&config);
                c
            }
        };
        let log = dir.join("out.log");
        let process = Process::spawn(&mut command, &log)?;
        let pid = process.id();
        self.processes.push(process);
        self.wait_answering(peer.name(), listen, &log)?;
        Ok(pid)
    }

    /// Stops the peers started with [`Lab::start_peer`].
    pub fn stop_peers(&mut self) {
        self.processes.clear();
    }

    /// Puts the VIPs on the node's lo, for a peer to serve them (anycastd
    /// does it itself).
    pub fn add_vips(&self) -> Result<(), LabError> {
        self.node.ip(&["addr", "add", &format!("{VIP4}/32"), "dev", "lo"])?;
        self.node.ip(&["addr", "add", &format!("{VIP6}/128"), "dev", "lo"])?;
        Ok(())
    }

    pub fn remove_vips(&self) -> Result<(), LabError> {
        self.node.ip(&["addr", "del", &format!("{VIP4}/32"), "dev", "lo"])?;
        self.node.ip(&["addr", "del", &format!("{VIP6}/128"), "dev", "lo"])?;
        Ok(())
    }

    /// Starts the benchmarks' zones (see `hierarchy::bench_server`).
    pub fn serve_bench_zones(&mut self) -> Result<(), LabError> {
        self.authorities.serve_bench(&self.dir)
    }

    /// The PIDs of the hierarchy's servers.
    pub fn authority_pids(&self) -> Vec<u32> {
        self.authorities.pids()
    }

    /// Sends anycastd `signal` and waits up to `grace` for its exit status
    /// (None if it is still running, or was never started).
    pub fn stop_anycastd(&mut self, signal: &str, grace: Duration) -> Option<std::process::ExitStatus> {
        self.anycastd.as_mut()?.stop(signal, grace)
    }

    /// The namespace at the far end of the node's link to the hierarchy,
    /// and that end's interface (an attacker on the upstream path).
    pub fn upstream_far_end(&self) -> (&Netns, &str) {
        self.authorities.far_end(&self.uplink)
    }

    /// The node's own address on its link to the hierarchy.
    pub fn node_uplink_address(&self) -> String {
        self.authorities.node_address(&self.uplink)
    }

    /// Cuts (or restores) the node's link to the DNS hierarchy's servers.
    pub fn set_upstream_link(&self, up: bool) -> Result<(), LabError> {
        self.authorities.set_link(&self.uplink, up)
    }

    /// The host addresses on the node's lo (where anycastd puts the VIPs).
    pub fn node_loopback_addresses(&self) -> Result<Vec<String>, LabError> {
        let out = self.node.ip(&["-o", "addr", "show", "dev", "lo"])?;
        Ok(out.lines().filter_map(|l| l.split_whitespace().nth(3)).map(str::to_string).collect())
    }

    /// Where anycastd pins the fast path (`<dir>/<interface>/layout-*`).
    pub fn pin_dir(&self) -> &Path {
        self.pins.path()
    }

    /// tcpdump on the node's link to the hierarchy: every DNS query the
    /// node sends over UDP, one line each as tcpdump prints it, written to
    /// `log`; running once this returns, stopped when dropped.
    pub fn watch_queries_upstream(&self, log: &Path) -> Result<Process, LabError> {
        let mut command = self.node.command("tcpdump");
        command.args(["-i", &self.uplink.interface, "-nn", "-l", "-U", "udp and dst port 53"]);
        let process = Process::spawn(&mut command, log)?;
        wait("tcpdump listening", Duration::from_secs(10), || {
            std::fs::read_to_string(log).is_ok_and(|text| text.contains("listening on"))
        })?;
        Ok(process)
    }

    /// anycastd's process ID, while it runs.
    pub fn anycastd_pid(&mut self) -> Option<u32> {
        let process = self.anycastd.as_mut()?;
        process.running().then(|| process.id())
    }

    /// anycastd's log (of its latest start).
    pub fn anycastd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("anycastd.log")).unwrap_or_default()
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// Sends `command` to anycastd's control socket; returns its answer.
    pub fn control(&self, command: &str) -> Result<String, LabError> {
        daemon::control(&self.control_socket(), command)
    }

    /// One sample from anycastd's metrics (`ctl stats`), by its series:
    /// `anycast_queries_total{transport="udp"}`.
    pub fn stat(&self, series: &str) -> Result<u64, LabError> {
        daemon::stat(&self.control_socket(), series)
    }

    /// `dig ARGS` from the client.
    pub fn dig(&self, args: &[&str]) -> Result<String, LabError> {
        self.client.exec("dig", args)
    }

    /// Another client program (delv, kdig), run to completion.
    pub fn client_exec(&self, program: &str, args: &[&str]) -> Result<String, LabError> {
        self.client.exec(program, args)
    }
}

/// The client's link to its gateway (the node here, the router in the
/// anycast lab): the client network on both ends, the client's default
/// routes through the gateway, and whole checksums from the client.
pub(crate) fn client_link(client: &Netns, client_if: &str, gateway: &Netns, gateway_if: &str) -> Result<(), LabError> {
    veth(client, client_if, gateway, gateway_if)?;
    client.ip(&["addr", "add", &format!("{CLIENT4}/24"), "dev", client_if])?;
    client.ip(&["addr", "add", &format!("{CLIENT6}/64"), "dev", client_if, "nodad"])?;
    client.ip(&["route", "add", "default", "via", NODE4])?;
    client.ip(&["-6", "route", "add", "default", "via", GATEWAY6])?;
    gateway.ip(&["addr", "add", &format!("{NODE4}/24"), "dev", gateway_if])?;
    gateway.ip(&["addr", "add", &format!("{GATEWAY6}/64"), "dev", gateway_if, "nodad"])?;
    netns::full_checksums(client, client_if)
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.anycastd = None;
        self.processes.clear();
        // The pins' mount goes before the directory it is in.
        crate::bpffs::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
