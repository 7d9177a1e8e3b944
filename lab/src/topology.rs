//! The lab: a client, the node, the hierarchy's servers, and the links
//! between them.
//!
//! ```text
//!  client (10.99.1.2, fd99:1::2)
//!     | veth: c<PID> ... n<PID>c (XDP here)
//!  node  (10.99.1.1, fd99:1::1; VIPs 6.6.6.6 and 2001:db8::6 on lo)
//!     | n<PID>a ... a<PID>                 | n<PID>s ... s<PID> (250 ms delay)
//!  auth  (10.99.2.10-14)                  slow (10.99.4.2)
//! ```

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use crate::{
    LabError,
    hierarchy::{self, SILENT},
    netns::{self, Netns, veth},
    peers,
    process::Process,
};

pub const VIP4: &str = "6.6.6.6";
pub const VIP6: &str = "2001:db8::6";
pub const CLIENT4: &str = "10.99.1.2";
pub const CLIENT6: &str = "fd99:1::2";
/// The node's own address on the client link.
pub const NODE4: &str = "10.99.1.1";

pub struct Lab {
    // Processes go before the namespaces they run in (fields drop in order).
    anycastd: Option<Process>,
    processes: Vec<Process>,
    pub client: Netns,
    pub node: Netns,
    pub auth: Netns,
    pub slow: Netns,
    /// The node's end of the client link, where the XDP program goes.
    pub node_if: String,
    /// The client's end of it.
    pub client_if: String,
    /// The node's link to the DNS hierarchy's servers.
    upstream_if: String,
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
        let stale = netns::remove_stale();
        if !stale.is_empty() {
            eprintln!("lab: removed stale namespaces {}", stale.join(" "));
        }
        let id = std::process::id();
        let dir = std::env::temp_dir().join(format!("anycast-lab-{id}"));
        std::fs::create_dir_all(&dir)
            .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })?;
        let mut lab = Lab {
            anycastd: None,
            processes: Vec::new(),
            client: Netns::create("cli")?,
            node: Netns::create("node")?,
            auth: Netns::create("auth")?,
            slow: Netns::create("slow")?,
            node_if: format!("n{id}c"),
            client_if: format!("c{id}"),
            upstream_if: format!("n{id}a"),
            dir,
        };
        lab.wire(id, client_xdp)?;
        lab.start_hierarchy()?;
        Ok(lab)
    }

    fn wire(&self, id: u32, client_xdp: &Path) -> Result<(), LabError> {
        let node_auth = &self.upstream_if;
        let (auth_end, node_slow, slow_end) = (format!("a{id}"), format!("n{id}s"), format!("s{id}"));
        veth(&self.client, &self.client_if, &self.node, &self.node_if)?;
        veth(&self.node, node_auth, &self.auth, &auth_end)?;
        veth(&self.node, &node_slow, &self.slow, &slow_end)?;
        let (client, node, auth, slow) = (&self.client, &self.node, &self.auth, &self.slow);
        client.ip(&["addr", "add", "10.99.1.2/24", "dev", &self.client_if])?;
        client.ip(&["addr", "add", "fd99:1::2/64", "dev", &self.client_if, "nodad"])?;
        client.ip(&["route", "add", "default", "via", "10.99.1.1"])?;
        client.ip(&["-6", "route", "add", "default", "via", "fd99:1::1"])?;
        node.ip(&["addr", "add", &format!("{NODE4}/24"), "dev", &self.node_if])?;
        node.ip(&["addr", "add", "fd99:1::1/64", "dev", &self.node_if, "nodad"])?;
        node.ip(&["addr", "add", "10.99.2.1/24", "dev", node_auth])?;
        node.ip(&["addr", "add", "10.99.4.1/24", "dev", &node_slow])?;
        // The VIPs are anycastd's to put on lo (no dummy driver here).
        for last in [2, 10, 11, 12, 13, 14] {
            auth.ip(&["addr", "add", &format!("10.99.2.{last}/24"), "dev", &auth_end])?;
        }
        slow.ip(&["addr", "add", "10.99.4.2/24", "dev", &slow_end])?;
        // The node's XDP_TX frames arrive only if the client end runs XDP.
        let object = client_xdp.display().to_string();
        client.ip(&["link", "set", "dev", &self.client_if, "xdpdrv", "obj", &object, "sec", "xdp"])?;
        // A veth hands its peer datagrams with a partial UDP checksum (the
        // offload is never done); a frame off a wire always carries the
        // whole one, which the fast path verifies.
        client.exec("ethtool", &["-K", &self.client_if, "tx", "off"])?;
        Ok(())
    }

    fn start_hierarchy(&mut self) -> Result<(), LabError> {
        std::fs::write(self.hints_path(), hierarchy::hints())
            .map_err(|source| LabError::Io { what: "writing the root hints".into(), source })?;
        for server in hierarchy::servers() {
            let config = hierarchy::write_knot(&server, &self.dir)?;
            let ns = if server.listen == hierarchy::SLOW_BACKEND { &self.slow } else { &self.auth };
            let mut knotd = ns.command("knotd");
            knotd.arg("-c").arg(&config);
            let log = self.dir.join(format!("knotd-{}.out", server.name));
            self.processes.push(Process::spawn(&mut knotd, &log)?);
        }
        // A server that takes queries and never answers.
        let mut silent = self.auth.command("python3");
        silent.arg("-c").arg(format!(
            "import socket, time\n\
             u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('{SILENT}', 53))\n\
             t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(('{SILENT}', 53)); t.listen(64)\n\
             time.sleep(1e9)\n"
        ));
        self.processes.push(Process::spawn(&mut silent, &self.dir.join("silent.out"))?);
        let mut proxy = self.slow.command("python3");
        proxy.arg("-c").arg(hierarchy::slow_proxy());
        self.processes.push(Process::spawn(&mut proxy, &self.dir.join("slow-proxy.out"))?);
        for server in hierarchy::servers() {
            let origin = server.zones[0].0;
            // The slow one is asked through its proxy, as the resolver will.
            let address = server.listen.split('@').next().unwrap_or_default().replace("127.0.0.1", hierarchy::SLOW);
            self.wait(&format!("knotd {} serving {origin}", server.name), Duration::from_secs(15), || {
                self.node
                    .exec("dig", &["+short", "+tries=1", "+time=2", &format!("@{address}"), origin, "SOA"])
                    .is_ok_and(|out| !out.trim().is_empty())
            })?;
        }
        Ok(())
    }

    pub fn hints_path(&self) -> PathBuf {
        self.dir.join("root.hints")
    }

    /// Starts anycastd in the node: recursive from the lab's root, XDP on
    /// the client link, the client's networks allowed; `extra` arguments
    /// are appended. Returns once it answers the client.
    pub fn start_anycastd(&mut self, binary: &Path, extra: &[&str]) -> Result<(), LabError> {
        let mut command = self.node.command(&binary.display().to_string());
        command
            .args(["--vip", VIP4, "--vip", VIP6, "--interface", &self.node_if, "--xdp-mode", "native"])
            .arg("--root-hints")
            .arg(self.hints_path())
            .args(["--allow", "10.99.1.0/24", "--allow", "fd99:1::/64"])
            .arg("--control-socket")
            .arg(self.control_socket())
            .args(extra);
        let log = self.dir.join("anycastd.log");
        self.anycastd = Some(Process::spawn(&mut command, &log)?);
        self.wait_answering("anycastd", VIP4, &log)
    }

    /// Waits until the resolver at `server` answers the client, or fails
    /// with its log.
    fn wait_answering(&self, what: &str, server: &str, log: &Path) -> Result<(), LabError> {
        self.wait(&format!("{what} answering"), Duration::from_secs(20), || {
            self.dig(&["+short", "+tries=1", "+time=1", &format!("@{server}"), "www.lab.", "A"])
                .is_ok_and(|out| out.trim() == "10.99.5.1")
        })
        .map_err(|e| LabError::NotReady(format!("{e}; its log: {}", std::fs::read_to_string(log).unwrap_or_default())))
    }

    /// Starts Unbound in the node namespace on the node's client-facing
    /// address (not a VIP: the XDP program passes its traffic), iterating
    /// from the same root hints as anycastd; returns the address to ask.
    pub fn start_unbound(&mut self) -> Result<&'static str, LabError> {
        let dir = self.dir.join("unbound");
        std::fs::create_dir_all(&dir)
            .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })?;
        let config = dir.join("unbound.conf");
        std::fs::write(&config, peers::unbound_config(NODE4, "10.99.1.0/24", &self.hints_path(), &dir))
            .map_err(|source| LabError::Io { what: format!("writing {}", config.display()), source })?;
        let mut unbound = self.node.command("unbound");
        unbound.arg("-d").arg("-c").arg(&config);
        let log = dir.join("unbound.out");
        self.processes.push(Process::spawn(&mut unbound, &log)?);
        self.wait_answering("unbound", NODE4, &log)?;
        Ok(NODE4)
    }

    /// Sends anycastd `signal` and waits up to `grace` for its exit status
    /// (None if it is still running, or was never started).
    pub fn stop_anycastd(&mut self, signal: &str, grace: Duration) -> Option<std::process::ExitStatus> {
        self.anycastd.as_mut()?.stop(signal, grace)
    }

    /// Cuts (or restores) the node's link to the DNS hierarchy's servers.
    pub fn set_upstream_link(&self, up: bool) -> Result<(), LabError> {
        // Addresses survive a link flap; the kernel brings the connected
        // route back with the link.
        self.node.ip(&["link", "set", "dev", &self.upstream_if, if up { "up" } else { "down" }])?;
        Ok(())
    }

    /// The host addresses on the node's lo (where anycastd puts the VIPs).
    pub fn node_loopback_addresses(&self) -> Result<Vec<String>, LabError> {
        let out = self.node.ip(&["-o", "addr", "show", "dev", "lo"])?;
        Ok(out.lines().filter_map(|l| l.split_whitespace().nth(3)).map(str::to_string).collect())
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// Sends `command` to anycastd's control socket; returns its answer.
    pub fn control(&self, command: &str) -> Result<String, LabError> {
        use std::io::{Read, Write};
        let path = self.control_socket();
        let io = |source| LabError::Io { what: format!("control socket {}", path.display()), source };
        let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(io)?;
        stream.write_all(format!("{command}\n").as_bytes()).map_err(io)?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).map_err(io)?;
        Ok(reply)
    }

    /// One sample from anycastd's metrics (`ctl stats`), by its series:
    /// `anycast_queries_total{transport="udp"}`.
    pub fn stat(&self, series: &str) -> Result<u64, LabError> {
        let stats = self.control("stats")?;
        metric(&stats, series).ok_or_else(|| LabError::NoMetric { series: series.to_string() })
    }

    /// `dig ARGS` from the client.
    pub fn dig(&self, args: &[&str]) -> Result<String, LabError> {
        self.client.exec("dig", args)
    }

    fn wait(&self, what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result<(), LabError> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if ready() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(LabError::NotReady(format!("{what}: not ready after {limit:?} (files in {})", self.dir.display())))
    }
}

/// The value of one sample in Prometheus text, by its series
/// (`name{labels}` exactly as the exposition writes it).
pub fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.anycastd = None;
        self.processes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
