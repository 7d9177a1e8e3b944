//! The anycast lab: a client behind a router, and two nodes (three with
//! OSPF) that each run anycastd (XDP on the uplink veth) and announce the
//! same VIPs to the router; all resolve from the shared offline hierarchy.
//!
//! ```text
//!  client (10.99.1.2, fd99:1::2)
//!     | c<PID> ... r<PID>c
//!  router (10.99.1.1; BIRD AS 65000, passive eBGP; or FRR OSPF)
//!     | r<PID>n1 ... n<PID>1r (XDP)    | r<PID>n2 ... n<PID>2r (XDP)   | (node 3)
//!  node 1 (10.99.11.2, fd99:11::2)    node 2 (10.99.12.2, fd99:12::2)
//!     | n<PID>1a                          | n<PID>2a
//!  the authorities (see `authorities`)
//! ```
//!
//! A node announces through its own BIRD over BGP (`protocol direct` on
//! lo, anycastd's include file for drain and withdraw), with anycastd's
//! built-in BGP speaker, or through its own FRR over OSPF
//! (`redistribute connected`, anycastd's route-map for drain and
//! withdraw; the link to node k costs 10k, so node 1 is nearest).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    LabError,
    authorities::{Authorities, Uplink},
    bird::{self, Bird},
    daemon,
    frr::{self, Frr},
    netns::{self, Netns, veth},
    process::Process,
    topology::{CLIENT_NETWORKS, NODE4, VIP4, VIP6, client_link},
    wait,
};

/// The health settings the lab gives anycastd.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(1);
pub const RISE: u32 = 2;
pub const FALL: u32 = 2;
/// FRR's ospf6d applies a route-map change only after this (its
/// OSPF_MIN_LS_INTERVAL, not configurable); ospfd, at once.
pub const OSPF6_ROUTE_MAP_DELAY: Duration = Duration::from_secs(5);
/// bgpd applies a route-map change after its `bgp route-map delay-timer`
/// (the lab's 1 s; FRR's default is 5 s).
pub const BGP_ROUTE_MAP_DELAY: Duration = Duration::from_secs(1);

/// Where each node serves its metrics and hot names (`/hot`), on its
/// router link's address.
pub const METRICS_PORT: u16 = 9153;

/// How the nodes reach the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announce {
    /// The node's own BIRD exports what anycastd puts on lo over BGP.
    Bird,
    /// anycastd speaks BGP to the router itself (to FRR, over IPv4 and
    /// over IPv6: two sessions).
    Bgp,
    /// The node's FRR exports what anycastd puts on lo over BGP (bgpd).
    FrrBgp,
    /// The node's FRR exports what anycastd puts on lo over OSPF.
    Ospf,
}

/// What routes on the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterDaemon {
    Bird,
    Frr,
}

impl Announce {
    pub fn nodes(self) -> usize {
        if self == Announce::Ospf { 3 } else { 2 }
    }

    /// How long the node's FRR takes to act on anycastd's route-map
    /// (zero without FRR on the node).
    pub fn route_map_delay(self) -> Duration {
        match self {
            Announce::Ospf => OSPF6_ROUTE_MAP_DELAY,
            Announce::FrrBgp => BGP_ROUTE_MAP_DELAY,
            Announce::Bird | Announce::Bgp => Duration::ZERO,
        }
    }

    /// How long a graceful stop keeps answering after the withdraw:
    /// longer than routers take to move.
    pub fn drain_time(self) -> Duration {
        let delay = self.route_map_delay();
        if delay.is_zero() { Duration::from_secs(1) } else { delay + Duration::from_secs(2) }
    }

    /// Whether the node runs FRR (which anycastd tells the state).
    fn node_frr(self) -> bool {
        matches!(self, Announce::Ospf | Announce::FrrBgp)
    }

    /// The router the lab gives an announcer unless told: FRR where only
    /// FRR will do.
    pub fn default_router(self) -> RouterDaemon {
        if self.works_with(RouterDaemon::Bird) { RouterDaemon::Bird } else { RouterDaemon::Frr }
    }

    /// The router daemon each announcer can work with: OSPF and FRR's
    /// two sessions need FRR; the lab's BIRD router has IPv4 sessions.
    fn works_with(self, router: RouterDaemon) -> bool {
        match self {
            Announce::Bgp => true,
            Announce::Bird => router == RouterDaemon::Bird,
            Announce::FrrBgp | Announce::Ospf => router == RouterDaemon::Frr,
        }
    }
}

pub struct Node {
    // Processes go before the namespace they run in (fields drop in order).
    anycastd: Option<Process>,
    bird: Option<Bird>,
    frr: Option<Frr>,
    pub ns: Netns,
    /// Its end of the router link, where the XDP program goes.
    pub uplink_if: String,
    /// The router's end.
    pub router_if: String,
    /// Its addresses on that link.
    pub address4: String,
    pub address6: String,
    /// Its link to the DNS hierarchy's servers.
    upstream: Uplink,
    /// Its files: anycastd's configuration and log, BIRD's or FRR's.
    pub dir: PathBuf,
}

pub struct AnycastLab {
    // Fields drop in order: nodes first, the router's BIRD or FRR, then
    // the rest.
    nodes: Vec<Node>,
    router_bird: Option<Bird>,
    router_frr: Option<Frr>,
    authorities: Authorities,
    pub client: Netns,
    pub router: Netns,
    pub announce: Announce,
    pub router_daemon: RouterDaemon,
    /// The anycastd binary the nodes run.
    binary: PathBuf,
    pub dir: PathBuf,
}

impl AnycastLab {
    /// Builds the lab and starts the router, every node's anycastd (and
    /// BIRD or FRR), and returns once the router has both VIPs from each.
    /// `pass_xdp`: see `netns::accept_xdp_tx`.
    pub fn start(
        announce: Announce,
        router_daemon: RouterDaemon,
        binary: &Path,
        pass_xdp: &Path,
    ) -> Result<AnycastLab, LabError> {
        if !announce.works_with(router_daemon) {
            return Err(LabError::NotReady(format!("the {announce:?} announcer with a {router_daemon:?} router")));
        }
        let dir = crate::fresh_lab_dir("bgplab")?;
        let id = std::process::id();
        let mut authorities = Authorities::start(&dir, &dir.join("root.hints"))?;
        let (client, router) = (Netns::create("cli")?, Netns::create("rtr")?);
        client_link(&client, &format!("c{id}"), &router, &format!("r{id}c"))?;
        router.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])?;
        let mut nodes = Vec::new();
        for k in 1..=announce.nodes() {
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
            nodes.push(Node {
                anycastd: None,
                bird: None,
                frr: None,
                ns,
                uplink_if,
                router_if,
                address4,
                address6,
                upstream,
                dir: node_dir,
            });
        }
        let router_dir = dir.join("router");
        let (router_bird, router_frr) = match (router_daemon, announce) {
            (RouterDaemon::Frr, Announce::Ospf) => {
                let links: Vec<String> = nodes.iter().map(|n| n.router_if.clone()).collect();
                let config = frr::ospf_router_config(NODE4, &links);
                (None, Some(Frr::start(&router, &router_dir, frr::OSPF_DAEMONS, &config)?))
            }
            (RouterDaemon::Frr, _) => {
                let neighbours: Vec<String> =
                    nodes.iter().flat_map(|n| [n.address4.clone(), n.address6.clone()]).collect();
                let config = frr::bgp_router_config(NODE4, &neighbours);
                (None, Some(Frr::start(&router, &router_dir, frr::BGP_DAEMONS, &config)?))
            }
            (RouterDaemon::Bird, _) => {
                let neighbours: Vec<String> = nodes.iter().map(|n| n.address4.clone()).collect();
                (Some(Bird::start(&router, &router_dir, &bird::router_config(&router_dir, NODE4, &neighbours))?), None)
            }
        };
        let mut lab = AnycastLab {
            nodes,
            router_bird,
            router_frr,
            authorities,
            client,
            router,
            announce,
            router_daemon,
            binary: binary.to_path_buf(),
            dir,
        };
        for k in 1..=announce.nodes() {
            lab.start_node(k)?;
        }
        for k in 1..=announce.nodes() {
            lab.wait_announced(k)?;
        }
        Ok(lab)
    }

    pub fn node(&self, k: usize) -> &Node {
        &self.nodes[k - 1]
    }

    /// Starts node `k`'s BIRD or FRR (once) and anycastd; returns once
    /// anycastd has answered its control socket.
    pub fn start_node(&mut self, k: usize) -> Result<(), LabError> {
        self.start_node_with(k, &[])
    }

    /// [`AnycastLab::start_node`], `extra` flags given to anycastd.
    pub fn start_node_with(&mut self, k: usize, extra: &[&str]) -> Result<(), LabError> {
        if self.announce.node_frr() && self.nodes[k - 1].frr.is_none() {
            self.start_node_frr(k)?;
        }
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
        let text = node.anycastd_config(k, self.announce, self.router_daemon, &self.dir.join("root.hints"), &include);
        std::fs::write(&config, text)
            .map_err(|source| LabError::Io { what: format!("writing {}", config.display()), source })?;
        let mut command = node.ns.command(&self.binary.display().to_string());
        command.arg("--config").arg(&config).args(extra);
        let log = node.dir.join("anycastd.log");
        node.anycastd = Some(Process::spawn(&mut command, &log)?);
        let socket = node.control_socket();
        wait(&format!("node {k}'s anycastd (log {})", log.display()), Duration::from_secs(20), || {
            daemon::control(&socket, "stats").is_ok()
        })
    }

    /// Starts node `k`'s FRR (OSPF or BGP), withdrawn until anycastd
    /// says otherwise.
    pub fn start_node_frr(&mut self, k: usize) -> Result<(), LabError> {
        let node = &mut self.nodes[k - 1];
        let (daemons, config) = if self.announce == Announce::Ospf {
            (frr::OSPF_DAEMONS, frr::ospf_node_config(&node.address4, &node.uplink_if))
        } else {
            let (router4, router6) = (format!("10.99.1{k}.1"), format!("fd99:1{k}::1"));
            (frr::BGP_DAEMONS, frr::bgp_node_config(&node.address4, &router4, &router6))
        };
        node.frr = Some(Frr::start(&node.ns, &node.dir.join("frr"), daemons, &config)?);
        Ok(())
    }

    /// Kills node `k`'s FRR (every daemon, SIGKILL): the router hears
    /// nothing more from it and must notice by its dead interval.
    pub fn kill_node_frr(&mut self, k: usize) {
        if let Some(mut frr) = self.nodes[k - 1].frr.take() {
            frr.kill();
        }
    }

    /// Applies node `k`'s FRR configuration file again, as a reload
    /// would: its route-map says withdrawn again.
    pub fn reload_node_frr(&self, k: usize) -> Result<(), LabError> {
        let node = self.node(k);
        let frr = node.frr.as_ref().ok_or_else(|| LabError::NotReady(format!("node {k} runs no FRR")))?;
        frr.reload(&node.ns).map(drop)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) node `k`'s FRR: silent while
    /// its link and its TCP sessions stay up, as a hung host is.
    pub fn freeze_node_frr(&self, k: usize, frozen: bool) {
        if let Some(frr) = &self.node(k).frr {
            frr.signal(if frozen { "STOP" } else { "CONT" });
        }
    }

    /// Takes node `k`'s uplink down (or up), as a cut cable would.
    pub fn set_uplink(&self, k: usize, up: bool) -> Result<(), LabError> {
        let node = self.node(k);
        node.ns.ip(&["link", "set", &node.uplink_if, if up { "up" } else { "down" }]).map(drop)
    }

    /// Waits until node `k`'s anycastd says it announces and the router
    /// has learned both VIPs from it.
    pub fn wait_announced(&self, k: usize) -> Result<(), LabError> {
        let node = self.node(k);
        let what = format!("node {k} announced (files in {})", self.dir.display());
        // BIRD's first connection waits for its connect delay (~5 s); an
        // OSPF adjacency takes ~8 s, then ospf6d its route-map delay.
        wait(&what, Duration::from_secs(40), || {
            daemon::stat(&node.control_socket(), "anycast_announcement{state=\"announced\"}").is_ok_and(|v| v == 1)
                && self.learned_from(k).is_ok_and(|(v4, v6)| v4 && v6)
        })
    }

    /// Sends node `k`'s anycastd `signal` and waits up to `grace` for it
    /// to exit (None: still running, or never started).
    pub fn stop_anycastd(&mut self, k: usize, signal: &str, grace: Duration) -> Option<std::process::ExitStatus> {
        self.signal_anycastd(k, signal);
        self.wait_anycastd(k, grace)
    }

    /// Waits up to `grace` for node `k`'s anycastd to exit (None: still
    /// running, or never started).
    pub fn wait_anycastd(&mut self, k: usize, grace: Duration) -> Option<std::process::ExitStatus> {
        let status = self.nodes[k - 1].anycastd.as_mut()?.wait(grace);
        if status.is_some() {
            self.nodes[k - 1].anycastd = None;
        }
        status
    }

    /// Sends node `k`'s anycastd `signal` without waiting.
    pub fn signal_anycastd(&self, k: usize, signal: &str) {
        if let Some(process) = &self.node(k).anycastd {
            process.signal(signal);
        }
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

    /// The node the router sends traffic for `vip` to (by the device of
    /// its kernel route: OSPFv3's next hops are link-local), None without
    /// a route or with one elsewhere.
    pub fn route(&self, vip: &str) -> Result<Option<usize>, LabError> {
        let family = if vip.contains(':') { "-6" } else { "-4" };
        let out = self.router.ip(&[family, "-o", "route", "show", "exact", vip])?;
        let device = out.split_whitespace().skip_while(|w| *w != "dev").nth(1);
        Ok(device.and_then(|d| self.nodes.iter().position(|n| n.router_if == d)).map(|i| i + 1))
    }

    /// Whether the router has (v4, v6) VIP routes from node `k`, best or
    /// not (with OSPF: the node's live external LSAs for them; with FRR's
    /// BGP, paths from its router ID).
    pub fn learned_from(&self, k: usize) -> Result<(bool, bool), LabError> {
        let node = self.node(k);
        if let (Some(frr), Announce::Ospf) = (&self.router_frr, self.announce) {
            let v4 = frr.vtysh(&self.router, &["-c", "show ip ospf database external"])?;
            let v6 = frr.vtysh(&self.router, &["-c", "show ipv6 ospf6 database as-external detail"])?;
            return Ok((
                frr::live_external(&v4, &node.address4, VIP4),
                frr::live_external(&v6, &node.address4, &format!("{VIP6}/128")),
            ));
        }
        if let Some(frr) = &self.router_frr {
            let from = format!("({})", node.address4);
            let v4 = frr.vtysh(&self.router, &["-c", &format!("show bgp ipv4 unicast {VIP4}/32")])?;
            let v6 = frr.vtysh(&self.router, &["-c", &format!("show bgp ipv6 unicast {VIP6}/128")])?;
            return Ok((v4.contains(&from), v6.contains(&from)));
        }
        let bird = self.router_bird.as_ref().expect("the router's BIRD");
        let protocol = format!("node{k}");
        let has = |vip: &str| -> Result<bool, LabError> {
            let out = bird.birdc(&self.router, &["show", "route", "for", vip, "protocol", &protocol])?;
            Ok(out.contains(&format!("[{protocol} ")))
        };
        Ok((has(VIP4)?, has(VIP6)?))
    }

    /// Whether FRR on the router has its BGP session with `neighbour`
    /// established.
    pub fn bgp_established(&self, neighbour: &str) -> Result<bool, LabError> {
        let frr = self.router_frr.as_ref().expect("FRR on the router");
        let out = frr.vtysh(&self.router, &["-c", &format!("show bgp neighbors {neighbour}")])?;
        Ok(out.contains("BGP state = Established"))
    }

    /// The router's view of the VIP routes, for failure messages.
    pub fn router_routes(&self) -> String {
        let routes = match (&self.router_bird, &self.router_frr) {
            (Some(bird), _) => bird.birdc(&self.router, &["show", "route", "all"]),
            (_, Some(frr)) if self.announce == Announce::Ospf => {
                frr.vtysh(&self.router, &["-c", "show ip ospf route", "-c", "show ipv6 ospf6 route"])
            }
            (_, Some(frr)) => frr.vtysh(&self.router, &["-c", "show bgp ipv4 unicast", "-c", "show bgp ipv6 unicast"]),
            (None, None) => Ok(String::new()),
        };
        routes.unwrap_or_else(|e| e.to_string())
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
    /// through its BIRD's `include`, its FRR's route-map or to the router
    /// over BGP (to FRR: a session over each family, drained by MED).
    fn anycastd_config(
        &self,
        k: usize,
        announce: Announce,
        router: RouterDaemon,
        hints: &Path,
        include: &Path,
    ) -> String {
        let drain_time = announce.drain_time();
        let announce = match announce {
            Announce::Ospf | Announce::FrrBgp => format!(
                "frr_route_map = \"{}\"\nfrr_drain = [\"set metric {}\"]\nvtysh_socket = \"{}\"\n",
                frr::STATE_ROUTE_MAP,
                frr::DRAIN_METRIC,
                self.dir.join("frr").display()
            ),
            Announce::Bird => format!(
                "bird_include = \"{}\"\nbirdc_socket = \"{}\"\n",
                include.display(),
                self.dir.join("bird.ctl").display()
            ),
            Announce::Bgp => {
                // To FRR: a second session, over IPv6, both with BFD;
                // drained by MED.
                let to_frr = router == RouterDaemon::Frr;
                let mut text = format!(
                    "method = \"bgp\"\n\n[bgp]\nlocal_as = {node_as}\nrouter_id = \"{local}\"\nhold_time = {hold}\n\
                     drain = \"{drain}\"\nbfd_interval_ms = {bfd}\n\n\
                     [[bgp.peers]]\naddress = \"10.99.1{k}.1\"\npeer_as = {router_as}\nnext_hop6 = \"{local6}\"\n\
                     bfd = {with_frr}\n",
                    bfd = frr::BFD_DETECTION.as_millis() / 3,
                    with_frr = to_frr,
                    node_as = bird::NODE_AS,
                    router_as = bird::ROUTER_AS,
                    hold = bird::HOLD_TIME,
                    drain = if to_frr { "med" } else { "prepend" },
                    local = self.address4,
                    local6 = self.address6,
                );
                if to_frr {
                    text += &format!(
                        "\n[[bgp.peers]]\naddress = \"fd99:1{k}::1\"\npeer_as = {router_as}\nnext_hop4 = \"{local}\"\n\
                         bfd = true\n",
                        router_as = bird::ROUTER_AS,
                        local = self.address4,
                    );
                }
                text
            }
        };
        format!(
            "[service]\nvips = [\"{VIP4}\", \"{VIP6}\"]\ninterface = \"{interface}\"\nxdp_mode = \"native\"\n\
             control_socket = \"{control}\"\nmetrics = \"{address}:{METRICS_PORT}\"\n\n\
             [acl]\nallow = {allow:?}\n\n\
             [resolver]\nroot_hints = \"{hints}\"\n\n\
             [dnssec]\ntrust_anchor = \"{anchor}\"\n\n\
             [health]\ninterval_ms = {interval}\nrise = {RISE}\nfall = {FALL}\n\n\
             [announce]\nvip_interface = \"lo\"\ndrain_time = {drain}\nmaintenance_file = \"{maintenance}\"\n{announce}",
            interface = self.uplink_if,
            address = self.address4,
            allow = CLIENT_NETWORKS,
            control = self.control_socket().display(),
            hints = hints.display(),
            anchor = hints.with_file_name(crate::hierarchy::ANCHOR_FILE).display(),
            interval = HEALTH_INTERVAL.as_millis(),
            drain = drain_time.as_secs(),
            maintenance = self.maintenance_file().display(),
        )
    }
}

impl Drop for AnycastLab {
    fn drop(&mut self) {
        self.nodes.clear();
        self.router_bird = None;
        self.router_frr = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
