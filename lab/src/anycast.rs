//! The anycast lab: a client behind a router running BIRD 2, and two nodes
//! that each run anycastd (XDP on the uplink veth) and announce the same
//! VIPs to the router; both resolve from the shared offline hierarchy.
//!
//! ```text
//!  client (10.99.1.2, fd99:1::2)
//!     | c<PID> ... r<PID>c
//!  router (10.99.1.1; BIRD AS 65000, passive eBGP, best path to its kernel)
//!     | r<PID>n1 ... n<PID>1r (XDP)    | r<PID>n2 ... n<PID>2r (XDP)
//!  node 1 (10.99.11.2, fd99:11::2)    node 2 (10.99.12.2, fd99:12::2)
//!     | n<PID>1a                          | n<PID>2a
//!  the authorities (see `authorities`)
//! ```
//!
//! A node announces either through its own BIRD (`protocol direct` on lo,
//! anycastd's include file for drain and withdraw) or with anycastd's
//! built-in BGP speaker.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    LabError,
    authorities::{Authorities, Uplink},
    bird::{self, Bird},
    daemon,
    netns::{self, Netns, veth},
    process::Process,
    topology::{CLIENT_NETWORKS, NODE4, VIP4, VIP6, client_link},
    wait,
};

pub const NODES: usize = 2;
/// The health settings the lab gives anycastd.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
pub const RISE: u32 = 2;
pub const FALL: u32 = 2;
/// How long a graceful stop keeps answering after the withdraw.
pub const DRAIN_TIME: Duration = Duration::from_secs(1);

/// How the nodes reach the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announce {
    /// The node's own BIRD exports what anycastd puts on lo.
    Bird,
    /// anycastd speaks BGP to the router itself.
    Bgp,
}

pub struct Node {
    // Processes go before the namespace they run in (fields drop in order).
    anycastd: Option<Process>,
    bird: Option<Bird>,
    pub ns: Netns,
    /// Its end of the router link, where the XDP program goes.
    pub uplink_if: String,
    /// Its addresses on that link.
    pub address4: String,
    pub address6: String,
    /// Its link to the DNS hierarchy's servers.
    upstream: Uplink,
    /// Its files: anycastd's configuration and log, BIRD's.
    pub dir: PathBuf,
}

pub struct AnycastLab {
    // Fields drop in order: nodes first, the router's BIRD, then the rest.
    nodes: Vec<Node>,
    router_bird: Option<Bird>,
    authorities: Authorities,
    pub client: Netns,
    pub router: Netns,
    pub announce: Announce,
    /// The anycastd binary the nodes run.
    binary: PathBuf,
    pub dir: PathBuf,
}

impl AnycastLab {
    /// Builds the lab and starts the router, both nodes' anycastd (and
    /// BIRD), and returns once the router has both VIPs from both nodes.
    /// `pass_xdp`: see `netns::accept_xdp_tx`.
    pub fn start(announce: Announce, binary: &Path, pass_xdp: &Path) -> Result<AnycastLab, LabError> {
        let dir = crate::fresh_lab_dir("bgplab")?;
        let id = std::process::id();
        let mut authorities = Authorities::start(&dir, &dir.join("root.hints"))?;
        let (client, router) = (Netns::create("cli")?, Netns::create("rtr")?);
        client_link(&client, &format!("c{id}"), &router, &format!("r{id}c"))?;
        router.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])?;
        let mut nodes = Vec::new();
        for k in 1..=NODES {
            let ns = Netns::create(&format!("n{k}"))?;
            let (uplink_if, router_if) = (format!("n{id}{k}r"), format!("r{id}n{k}"));
            veth(&router, &router_if, &ns, &uplink_if)?;
            let (address4, address6) = (format!("10.99.1{k}.2"), format!("fd99:1{k}::2"));
            router.ip(&["addr", "add", &format!("10.99.1{k}.1/24"), "dev", &router_if])?;
            router.ip(&["addr", "add", &format!("fd99:1{k}::1/64"), "dev", &router_if, "nodad"])?;
            ns.ip(&["addr", "add", &format!("{address4}/24"), "dev", &uplink_if])?;
            ns.ip(&["addr", "add", &format!("{address6}/64"), "dev", &uplink_if, "nodad"])?;
            ns.ip(&["route", "add", "default", "via", &format!("10.99.1{k}.1")])?;
            ns.ip(&["-6", "route", "add", "default", "via", &format!("fd99:1{k}::1")])?;
            // The node answers at XDP_TX: the router's end must run XDP.
            netns::accept_xdp_tx(&router, &router_if, pass_xdp)?;
            let upstream = authorities.attach(&ns, &format!("n{id}{k}a"))?;
            let node_dir = dir.join(format!("node{k}"));
            std::fs::create_dir_all(&node_dir)
                .map_err(|source| LabError::Io { what: format!("creating {}", node_dir.display()), source })?;
            nodes.push(Node { anycastd: None, bird: None, ns, uplink_if, address4, address6, upstream, dir: node_dir });
        }
        let neighbours: Vec<String> = nodes.iter().map(|n| n.address4.clone()).collect();
        let router_dir = dir.join("router");
        let router_bird = Bird::start(&router, &router_dir, &bird::router_config(&router_dir, NODE4, &neighbours))?;
        let mut lab = AnycastLab {
            nodes,
            router_bird: Some(router_bird),
            authorities,
            client,
            router,
            announce,
            binary: binary.to_path_buf(),
            dir,
        };
        for k in 1..=NODES {
            lab.start_node(k)?;
        }
        for k in 1..=NODES {
            lab.wait_announced(k)?;
        }
        Ok(lab)
    }

    pub fn node(&self, k: usize) -> &Node {
        &self.nodes[k - 1]
    }

    /// Starts node `k`'s BIRD (in BIRD mode, once) and anycastd; returns
    /// once anycastd has answered its control socket.
    pub fn start_node(&mut self, k: usize) -> Result<(), LabError> {
        let node = &mut self.nodes[k - 1];
        let include = node.dir.join("anycast-state.conf");
        if self.announce == Announce::Bird && node.bird.is_none() {
            // Withdrawn until anycastd says otherwise.
            std::fs::write(&include, "define ANYCAST_STATE = 2;\n")
                .map_err(|source| LabError::Io { what: format!("writing {}", include.display()), source })?;
            let config = bird::node_config(&node.dir, &include, &node.address4, &format!("10.99.1{k}.1"));
            node.bird = Some(Bird::start(&node.ns, &node.dir, &config)?);
        }
        let config = node.dir.join("anycastd.toml");
        std::fs::write(&config, node.anycastd_config(k, self.announce, &self.dir.join("root.hints"), &include))
            .map_err(|source| LabError::Io { what: format!("writing {}", config.display()), source })?;
        let mut command = node.ns.command(&self.binary.display().to_string());
        command.arg("--config").arg(&config);
        let log = node.dir.join("anycastd.log");
        node.anycastd = Some(Process::spawn(&mut command, &log)?);
        let socket = node.control_socket();
        wait(&format!("node {k}'s anycastd (log {})", log.display()), Duration::from_secs(20), || {
            daemon::control(&socket, "stats").is_ok()
        })
    }

    /// Waits until node `k`'s anycastd says it announces and the router
    /// has learned both VIPs from it.
    pub fn wait_announced(&self, k: usize) -> Result<(), LabError> {
        let node = self.node(k);
        let what = format!("node {k} announced (files in {})", self.dir.display());
        // BIRD's first connection waits for its connect delay (~5 s).
        wait(&what, Duration::from_secs(30), || {
            daemon::stat(&node.control_socket(), "anycast_announcement{state=\"announced\"}").is_ok_and(|v| v == 1)
                && self.learned_from(k).is_ok_and(|(v4, v6)| v4 && v6)
        })
    }

    /// Sends node `k`'s anycastd `signal` and waits up to `grace` for it
    /// to exit (None: still running, or never started).
    pub fn stop_anycastd(&mut self, k: usize, signal: &str, grace: Duration) -> Option<std::process::ExitStatus> {
        let status = self.nodes[k - 1].anycastd.as_mut()?.stop(signal, grace);
        if status.is_some() {
            self.nodes[k - 1].anycastd = None;
        }
        status
    }

    /// Runs `anycastd withdraw` on node `k` with its configuration, as the
    /// systemd unit's `ExecStopPost=` does once the daemon is gone.
    pub fn withdraw(&self, k: usize) -> Result<String, LabError> {
        let config = self.node(k).dir.join("anycastd.toml");
        self.node(k)
            .ns
            .exec(&self.binary.display().to_string(), &["withdraw", "--config", &config.display().to_string()])
    }

    /// Cuts (or restores) node `k`'s way to the DNS hierarchy.
    pub fn set_upstream(&self, k: usize, up: bool) -> Result<(), LabError> {
        self.authorities.set_link(&self.node(k).upstream, up)
    }

    /// Puts node `k` in maintenance (drained on purpose) or takes it out.
    pub fn set_maintenance(&self, k: usize, on: bool) -> Result<(), LabError> {
        let file = self.node(k).maintenance_file();
        let result = if on { std::fs::write(&file, "lab\n") } else { std::fs::remove_file(&file) };
        result.map_err(|source| LabError::Io { what: format!("maintenance file {}", file.display()), source })
    }

    /// Where the router sends traffic for `vip` (the next hop of its
    /// kernel route), None without a route.
    pub fn route(&self, vip: &str) -> Result<Option<String>, LabError> {
        let family = if vip.contains(':') { "-6" } else { "-4" };
        let out = self.router.ip(&[family, "-o", "route", "show", "exact", vip])?;
        Ok(out.split_whitespace().skip_while(|w| *w != "via").nth(1).map(str::to_string))
    }

    /// Whether the router's BIRD has (v4, v6) VIP routes from node `k`,
    /// best or not.
    pub fn learned_from(&self, k: usize) -> Result<(bool, bool), LabError> {
        let bird = self.router_bird.as_ref().expect("the router's BIRD");
        let protocol = format!("node{k}");
        let has = |vip: &str| -> Result<bool, LabError> {
            let out = bird.birdc(&self.router, &["show", "route", "for", vip, "protocol", &protocol])?;
            Ok(out.contains(&format!("[{protocol} ")))
        };
        Ok((has(VIP4)?, has(VIP6)?))
    }

    /// The router's BIRD's view of the VIP routes, for failure messages.
    pub fn router_routes(&self) -> String {
        let bird = self.router_bird.as_ref().expect("the router's BIRD");
        bird.birdc(&self.router, &["show", "route", "all"]).unwrap_or_else(|e| e.to_string())
    }

    /// `birdc ARGS` on the router.
    pub fn router_birdc(&self, args: &[&str]) -> Result<String, LabError> {
        self.router_bird.as_ref().expect("the router's BIRD").birdc(&self.router, args)
    }

    /// One sample from node `k`'s metrics.
    pub fn stat(&self, k: usize, series: &str) -> Result<u64, LabError> {
        daemon::stat(&self.node(k).control_socket(), series)
    }
}

impl Node {
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    pub fn maintenance_file(&self) -> PathBuf {
        self.dir.join("maintenance")
    }

    /// anycastd's configuration for node `k`: recursive from the lab's
    /// root, XDP on the uplink, the client network allowed, announcing
    /// through its BIRD's `include` or to the router over BGP.
    fn anycastd_config(&self, k: usize, announce: Announce, hints: &Path, include: &Path) -> String {
        let announce = match announce {
            Announce::Bird => format!(
                "bird_include = \"{}\"\nbirdc_socket = \"{}\"\n",
                include.display(),
                self.dir.join("bird.ctl").display()
            ),
            Announce::Bgp => format!(
                "method = \"bgp\"\n\n[bgp]\nlocal_as = {node_as}\nrouter_id = \"{local}\"\n\
                 hold_time = {hold}\n\n[[bgp.peers]]\naddress = \"10.99.1{k}.1\"\npeer_as = {router_as}\n\
                 next_hop6 = \"{local6}\"\n",
                node_as = bird::NODE_AS,
                router_as = bird::ROUTER_AS,
                hold = bird::HOLD_TIME,
                local = self.address4,
                local6 = self.address6,
            ),
        };
        format!(
            "[service]\nvips = [\"{VIP4}\", \"{VIP6}\"]\ninterface = \"{interface}\"\nxdp_mode = \"native\"\n\
             control_socket = \"{control}\"\n\n\
             [acl]\nallow = {allow:?}\n\n\
             [resolver]\nroot_hints = \"{hints}\"\n\n\
             [dnssec]\ntrust_anchor = \"{anchor}\"\n\n\
             [health]\ninterval_ms = {interval}\nrise = {RISE}\nfall = {FALL}\n\n\
             [announce]\nvip_interface = \"lo\"\ndrain_time = {drain}\nmaintenance_file = \"{maintenance}\"\n{announce}",
            interface = self.uplink_if,
            allow = CLIENT_NETWORKS,
            control = self.control_socket().display(),
            hints = hints.display(),
            anchor = hints.with_file_name(crate::hierarchy::ANCHOR_FILE).display(),
            interval = HEALTH_INTERVAL.as_millis(),
            drain = DRAIN_TIME.as_secs(),
            maintenance = self.maintenance_file().display(),
        )
    }
}

impl Drop for AnycastLab {
    fn drop(&mut self) {
        self.nodes.clear();
        self.router_bird = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
