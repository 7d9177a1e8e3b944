//! The namespaces that serve the offline DNS hierarchy (see `hierarchy`),
//! and the links that give nodes a way to them.
//!
//! ```text
//!  node k  10.99.3.(4k+1)/30 ... 10.99.3.(4k+2)/30  auth (servers on lo,
//!                                                   10.99.2.10-14)
//!                                                     | 10.99.4.1 ... 10.99.4.2
//!                                                   slow (250 ms late)
//! ```
//!
//! Routed rather than bridged, so any number of nodes can attach: auth
//! forwards to slow, and every node routes 10.99.2.0/23 and 10.99.4.0/24
//! through its own link.

use std::{path::Path, time::Duration};

use crate::{
    LabError,
    hierarchy::{self, SILENT},
    netns::{Netns, veth},
    process::Process,
    signed, wait,
};

pub struct Authorities {
    // Processes go before the namespaces they run in (fields drop in order).
    processes: Vec<Process>,
    auth: Netns,
    slow: Netns,
    /// The auth ends of the node links, by node.
    node_links: Vec<String>,
}

/// A node's link to the authorities.
pub struct Uplink {
    /// The node's end.
    pub interface: String,
    /// Its index in the authorities' list of node links.
    index: usize,
}

impl Authorities {
    /// Starts the hierarchy's servers (zones and configurations in `dir`,
    /// hints written to `hints`) and waits until every one answers.
    pub fn start(dir: &Path, hints: &Path) -> Result<Authorities, LabError> {
        let mut authorities = Authorities {
            processes: Vec::new(),
            auth: Netns::create("auth")?,
            slow: Netns::create("slow")?,
            node_links: Vec::new(),
        };
        authorities.wire()?;
        authorities.serve(dir, hints)?;
        Ok(authorities)
    }

    fn wire(&self) -> Result<(), LabError> {
        let id = std::process::id();
        let (auth_slow, slow_end) = (format!("a{id}s"), format!("s{id}"));
        veth(&self.auth, &auth_slow, &self.slow, &slow_end)?;
        for last in 10..=19 {
            self.auth.ip(&["addr", "add", &format!("10.99.2.{last}/32"), "dev", "lo"])?;
        }
        self.auth.ip(&["addr", "add", "10.99.4.1/24", "dev", &auth_slow])?;
        self.slow.ip(&["addr", "add", &format!("{}/24", hierarchy::SLOW), "dev", &slow_end])?;
        self.slow.ip(&["route", "add", "default", "via", "10.99.4.1"])?;
        self.auth.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        Ok(())
    }

    fn serve(&mut self, dir: &Path, hints: &Path) -> Result<(), LabError> {
        std::fs::write(hints, hierarchy::hints())
            .map_err(|source| LabError::Io { what: "writing the root hints".into(), source })?;
        let servers = sign(dir)?;
        for server in &servers {
            self.spawn_knot(server, dir)?;
        }
        let mut strip = self.auth.command("python3");
        strip.arg("-c").arg(signed::stripping_proxy());
        self.processes.push(Process::spawn(&mut strip, &dir.join("strip-proxy.out"))?);
        // A server that takes queries and never answers.
        let mut silent = self.auth.command("python3");
        silent.arg("-c").arg(format!(
            "import socket, time\n\
             u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('{SILENT}', 53))\n\
             t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(('{SILENT}', 53)); t.listen(64)\n\
             time.sleep(1e9)\n"
        ));
        self.processes.push(Process::spawn(&mut silent, &dir.join("silent.out"))?);
        let mut proxy = self.slow.command("python3");
        proxy.arg("-c").arg(hierarchy::slow_proxy());
        self.processes.push(Process::spawn(&mut proxy, &dir.join("slow-proxy.out"))?);
        for server in &servers {
            self.wait_serving(server, dir)?;
        }
        Ok(())
    }

    /// Starts the benchmarks' server (see `hierarchy::bench_server`): its
    /// keys made, the DS records in their parents, `sec.`'s reloaded.
    pub fn serve_bench(&mut self, dir: &Path) -> Result<(), LabError> {
        let mut server = hierarchy::bench_server();
        let config = hierarchy::write_knot(&server, dir)?;
        let ds = signed::make_keys(&server, &config)?;
        signed::delegate(std::slice::from_mut(&mut server), &ds);
        self.spawn_knot(&server, dir)?;
        self.wait_serving(&server, dir)?;
        signed::publish_in_sec(dir, ds.get("bench.sec.").map_or("", String::as_str))?;
        let what = format!("sec. publishing the DS of bench.sec. (files in {})", dir.display());
        wait(&what, Duration::from_secs(30), || {
            self.auth
                .exec("dig", &["+short", "+tries=1", "+time=2", &format!("@{}", signed::SEC), "bench.sec.", "DS"])
                .is_ok_and(|out| !out.trim().is_empty())
        })
    }

    /// The PIDs of the hierarchy's servers (for CPU pinning).
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(Process::id).collect()
    }

    fn spawn_knot(&mut self, server: &hierarchy::Server, dir: &Path) -> Result<(), LabError> {
        let config = hierarchy::write_knot(server, dir)?;
        let ns = if server.listen == hierarchy::SLOW_BACKEND { &self.slow } else { &self.auth };
        let mut knotd = ns.command("knotd");
        knotd.envs(signed::server_clock(server)).arg("-c").arg(&config);
        let log = dir.join(format!("knotd-{}.out", server.name));
        self.processes.push(Process::spawn(&mut knotd, &log)?);
        Ok(())
    }

    /// Waits until `server` answers for its first zone.
    fn wait_serving(&self, server: &hierarchy::Server, dir: &Path) -> Result<(), LabError> {
        let origin = &server.zones[0].0;
        // The slow one is asked through its proxy, as resolvers will.
        let address = server.listen.split('@').next().unwrap_or_default().replace("127.0.0.1", hierarchy::SLOW);
        let what = format!("knotd {} serving {origin} (files in {})", server.name, dir.display());
        wait(&what, Duration::from_secs(30), || {
            self.auth
                .exec("dig", &["+short", "+tries=1", "+time=2", &format!("@{address}"), origin, "SOA"])
                .is_ok_and(|out| !out.trim().is_empty())
        })
    }

    /// Links `node` to the authorities through its interface `interface`
    /// and routes the hierarchy's addresses over it.
    pub fn attach(&mut self, node: &Netns, interface: &str) -> Result<Uplink, LabError> {
        let index = self.node_links.len();
        let auth_end = format!("a{}n{index}", std::process::id());
        veth(node, interface, &self.auth, &auth_end)?;
        let base = 4 * index;
        let gateway = format!("10.99.3.{}", base + 2);
        let uplink = Uplink { interface: interface.to_string(), index };
        node.ip(&["addr", "add", &format!("{}/30", self.node_address(&uplink)), "dev", interface])?;
        self.auth.ip(&["addr", "add", &format!("{gateway}/30"), "dev", &auth_end])?;
        for network in ["10.99.2.0/24", "10.99.4.0/24"] {
            node.ip(&["route", "add", network, "via", &gateway])?;
        }
        self.node_links.push(auth_end);
        Ok(uplink)
    }

    /// The node's address on `uplink`.
    pub fn node_address(&self, uplink: &Uplink) -> String {
        format!("10.99.3.{}", 4 * uplink.index + 1)
    }

    /// The authorities' namespace and its end of `uplink`: where an
    /// attacker on the upstream path stands.
    pub fn far_end(&self, uplink: &Uplink) -> (&Netns, &str) {
        (&self.auth, &self.node_links[uplink.index])
    }

    /// Cuts (or restores) a node's way to the servers. The far end goes
    /// down, so the node's routes stay and its queries go unanswered, as
    /// when a provider's link breaks.
    pub fn set_link(&self, uplink: &Uplink, up: bool) -> Result<(), LabError> {
        self.auth.ip(&["link", "set", "dev", &self.node_links[uplink.index], if up { "up" } else { "down" }])?;
        Ok(())
    }
}

/// The hierarchy's servers with their keys made and the DS records in the
/// parent zones; the root's DS records written as the lab's trust anchor.
fn sign(dir: &Path) -> Result<Vec<hierarchy::Server>, LabError> {
    let mut servers = hierarchy::servers();
    let mut ds = std::collections::BTreeMap::new();
    for server in &servers {
        let config = hierarchy::write_knot(server, dir)?;
        ds.extend(signed::make_keys(server, &config)?);
    }
    signed::delegate(&mut servers, &ds);
    let anchor = dir.join(hierarchy::ANCHOR_FILE);
    // Zone-file form (TTL and class), which every validator reads.
    let root: String = ds
        .get(".")
        .map_or("", String::as_str)
        .lines()
        .map(|l| format!("{}\n", l.replacen(". DS", ". 3600 IN DS", 1)))
        .collect();
    std::fs::write(&anchor, root)
        .map_err(|source| LabError::Io { what: format!("writing {}", anchor.display()), source })?;
    Ok(servers)
}
