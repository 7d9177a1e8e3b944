//! The servers compared, started one at a time in the lab's node
//! namespace on the server core, all serving the VIP.

use std::path::{Path, PathBuf};

use anycast_lab::{
    peers,
    topology::{Lab, NODE4, Peer, VIP4},
};
use anyhow::{Context, Result};

use super::{
    Workload,
    cpu::{self, SERVER_CPU},
    workload::Mode,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Server {
    /// anycastd with its XDP fast path.
    AnycastdXdp,
    /// The same, logging dnstap (to /dev/null) with every XDP answer
    /// sampled, up to the default cap: what logging costs the fast path.
    AnycastdXdpDnstap,
    /// anycastd with the fast path off: every query through the kernel.
    AnycastdUserspace,
    Unbound,
    Kresd,
    PdnsRecursor,
    /// dnsdist's packet cache in front of Unbound: the proxy operators
    /// put before a resolver for DoT and DoH (encrypted workloads only).
    Dnsdist,
    /// The minimal XDP echo: the ceiling of the path.
    Reflector,
}

impl Server {
    pub const ALL: [Server; 8] = [
        Server::AnycastdXdp,
        Server::AnycastdXdpDnstap,
        Server::AnycastdUserspace,
        Server::Unbound,
        Server::Kresd,
        Server::PdnsRecursor,
        Server::Dnsdist,
        Server::Reflector,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Server::AnycastdXdp => "anycastd (XDP)",
            Server::AnycastdXdpDnstap => "anycastd (XDP, dnstap)",
            Server::AnycastdUserspace => "anycastd (no XDP)",
            Server::Unbound => "unbound",
            Server::Kresd => "kresd",
            Server::PdnsRecursor => "pdns-recursor",
            Server::Dnsdist => "dnsdist+unbound",
            Server::Reflector => "reflector (XDP echo)",
        }
    }

    /// Whether it runs `workload`: dnstap's cost is measured on the hot
    /// set alone; encrypted DNS by the servers that serve it (PowerDNS
    /// Recursor has no TLS listener) and by anycastd once (the fast path
    /// is UDP's); dnsdist, a proxy, on encrypted DNS alone.
    pub fn measures(self, workload: Workload) -> bool {
        match (self, workload.mode()) {
            (Server::AnycastdXdpDnstap, _) => workload == Workload::Hot,
            (Server::Dnsdist, mode) => mode != Mode::Udp,
            (_, Mode::Udp) => true,
            (server, _) => matches!(server, Server::AnycastdXdp | Server::Unbound | Server::Kresd),
        }
    }

    fn peer(self) -> Option<Peer> {
        match self {
            Server::Unbound => Some(Peer::ValidatingUnbound),
            Server::Kresd => Some(Peer::Kresd),
            Server::PdnsRecursor => Some(Peer::PdnsRecursor),
            Server::Dnsdist => Some(Peer::Dnsdist),
            _ => None,
        }
    }
}

/// anycastd's configuration in the bench: one worker thread, as the peers
/// run one thread each (pinned to the one server core, more workers only
/// take turns), a cache as large as the peers' (a million entries), the
/// rest production defaults.
const ANYCASTD_CONFIG: &str = "[service]\nthreads = 1\n\n[cache]\ncapacity = 1000000\n";
/// dnstap on, every XDP answer sampled (the defaults), written to
/// /dev/null: the daemon encodes and writes every message.
const DNSTAP_CONFIG: &str = "\n[dnstap]\nfile = \"/dev/null\"\nxdp_sample = 1\n";

/// Where the servers' programs are and what they need.
pub struct Binaries {
    pub anycastd: PathBuf,
    /// anycast-user's build output: the XDP objects.
    pub objects: PathBuf,
}

/// A started server: the PIDs whose CPU time is its own.
pub struct Running {
    pub server: Server,
    pub pids: Vec<u32>,
}

pub fn start(lab: &mut Lab, server: Server, binaries: &Binaries) -> Result<Running> {
    let node_if = lab.node_if.clone();
    let pids = match server {
        Server::AnycastdXdp | Server::AnycastdXdpDnstap | Server::AnycastdUserspace => {
            let config = lab.dir.join("bench-anycastd.toml");
            let dnstap = if server == Server::AnycastdXdpDnstap { DNSTAP_CONFIG } else { "" };
            let tls = lab.tls_files()?;
            let tls =
                format!("\n[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n", tls.certificate.display(), tls.key.display());
            std::fs::write(&config, format!("{ANYCASTD_CONFIG}{dnstap}{tls}"))?;
            let config = config.display().to_string();
            if server == Server::AnycastdUserspace {
                attach(lab, &binaries.objects.join("pass"))?;
            }
            let mode = if server == Server::AnycastdUserspace { "off" } else { "native" };
            lab.start_anycastd_with(&binaries.anycastd, mode, &["--config", &config])?;
            vec![lab.anycastd_pid().context("anycastd is not running")?]
        }
        Server::Reflector => {
            attach(lab, &binaries.objects.join("reflector"))?;
            Vec::new()
        }
        peer => {
            attach(lab, &binaries.objects.join("pass"))?;
            lab.add_vips()?;
            let tls = lab.tls_files()?;
            let tls = match peer {
                Server::Unbound => peers::unbound_tls(VIP4, &tls),
                Server::Kresd => peers::kresd_tls(VIP4, &tls),
                Server::Dnsdist => peers::dnsdist_tls(VIP4, &tls),
                _ => String::new(),
            };
            // dnsdist's resolver behind it, whose CPU time is its too.
            let backend = match peer {
                Server::Dnsdist => Some(lab.start_peer_with(Peer::ValidatingUnbound, NODE4, "")?),
                _ => None,
            };
            let mut pids = vec![lab.start_peer_with(peer.peer().expect("a peer"), VIP4, &tls)?];
            pids.extend(backend);
            pids
        }
    };
    for pid in &pids {
        cpu::pin(*pid, SERVER_CPU)?;
    }
    // The node link's NAPI thread runs XDP and the kernel's receive path:
    // the server's work, on the server's core.
    let napi = threaded_napi(lab, &node_if)?;
    cpu::pin(napi, SERVER_CPU)?;
    let mut pids = pids;
    pids.push(napi);
    Ok(Running { server, pids })
}

pub fn stop(lab: &mut Lab, running: Running) -> Result<()> {
    match running.server {
        Server::AnycastdXdp | Server::AnycastdXdpDnstap | Server::AnycastdUserspace => {
            lab.stop_anycastd("TERM", std::time::Duration::from_secs(10));
        }
        Server::Reflector => {}
        _ => {
            lab.stop_peers();
            lab.remove_vips()?;
        }
    }
    if !matches!(running.server, Server::AnycastdXdp | Server::AnycastdXdpDnstap) {
        lab.node.ip(&["link", "set", "dev", &lab.node_if, "xdpdrv", "off"])?;
    }
    Ok(())
}

/// An XDP object on the node link: the reflector, or the pass program
/// that gives a veth the NAPI thread the benchmark pins (and that the
/// frame generator's redirected frames need).
fn attach(lab: &Lab, object: &Path) -> Result<()> {
    lab.node.ip(&["link", "set", "dev", &lab.node_if, "xdpdrv", "obj", &object.display().to_string(), "sec", "xdp"])?;
    Ok(())
}

/// Turns on threaded NAPI for `interface` in the node (it has an XDP
/// program, hence NAPI) and returns the thread's PID.
fn threaded_napi(lab: &Lab, interface: &str) -> Result<u32> {
    set_threaded(&lab.node, interface)?;
    cpu::napi_thread(interface).with_context(|| format!("no NAPI thread for {interface}"))
}

pub fn set_threaded(ns: &anycast_lab::netns::Netns, interface: &str) -> Result<()> {
    ns.exec("sh", &["-c", &format!("echo 1 > /sys/class/net/{interface}/threaded")])
        .with_context(|| format!("threaded NAPI on {interface}"))?;
    Ok(())
}
