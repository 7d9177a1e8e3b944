//! FRR (Debian's frr) in the anycast lab: zebra with ospfd and ospf6d, or
//! with bgpd, in a namespace, each in the foreground with its sockets,
//! logs and pid files in the instance's directory, configured as operators
//! do: one integrated configuration applied through vtysh.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    LabError,
    bird::{HOLD_TIME, NODE_AS, ROUTER_AS},
    netns::Netns,
    process::Process,
    wait,
};

/// The daemons an OSPF or a BGP node or router runs (zebra first: the
/// others connect to it).
pub const OSPF_DAEMONS: &[&str] = &["zebra", "ospfd", "ospf6d"];
pub const BGP_DAEMONS: &[&str] = &["zebra", "bgpd", "bfdd"];
/// BFD's detection time on the BGP lab's sessions: 100 ms three times.
pub const BFD_DETECTION: Duration = Duration::from_millis(300);
/// How long FRR waits for a silent neighbour (hello every second).
pub const DEAD_INTERVAL: Duration = Duration::from_secs(3);
/// ospfd recalculates external routes (the VIPs are E2) this long after
/// an SPF run (OSPF_ASE_CALC_INTERVAL, not configurable): a topology
/// change moves the IPv4 VIPs that much later than the IPv6 ones.
pub const EXTERNAL_ROUTE_DELAY: Duration = Duration::from_secs(1);
/// The route-map anycastd rewrites (`announce.frr_route_map`).
pub const STATE_ROUTE_MAP: &str = "ANYCAST-STATE";
/// The external metric a drained node's VIPs get (the default is 20).
pub const DRAIN_METRIC: u32 = 1000;

pub struct Frr {
    // Dropped in reverse: the routing daemons before zebra.
    processes: Vec<Process>,
    /// The daemons' vty sockets (vtysh's `--vty_socket`).
    pub socket_dir: PathBuf,
}

impl Frr {
    /// Starts FRR's `daemons` in `ns`, then applies `config`, written to
    /// `dir/frr.conf`.
    pub fn start(ns: &Netns, dir: &Path, daemons: &[&str], config: &str) -> Result<Frr, LabError> {
        create_shared_dir(dir)?;
        remove_stale_sockets(dir)?;
        let mut frr = Frr { processes: Vec::new(), socket_dir: dir.to_path_buf() };
        for &daemon in daemons {
            // Each starts empty: the integrated file is applied below.
            let empty = dir.join(format!("{daemon}.conf"));
            write(&empty, "")?;
            let mut command = ns.command(&format!("/usr/lib/frr/{daemon}"));
            command.arg("-f").arg(&empty).arg("-i").arg(dir.join(format!("{daemon}.pid")));
            command.arg("--vty_socket").arg(dir).arg("-z").arg(dir.join("zserv.api"));
            command.arg("--log").arg(format!("file:{}", dir.join(format!("{daemon}.log")).display()));
            frr.processes.push(Process::spawn(&mut command, &dir.join(format!("{daemon}.out")))?);
            let socket = dir.join(format!("{daemon}.vty"));
            wait(&format!("FRR's {daemon} in {}", ns.name()), Duration::from_secs(10), || socket.exists())?;
        }
        let file = dir.join("frr.conf");
        write(&file, config)?;
        frr.vtysh(ns, &["-f", &file.display().to_string()])?;
        Ok(frr)
    }

    /// Applies the configuration file again, as a reload does
    /// (`vtysh -b`, `frr-reload.py`): its entries come back, undoing
    /// what anycastd told since.
    pub fn reload(&self, ns: &Netns) -> Result<String, LabError> {
        self.vtysh(ns, &["-f", &self.socket_dir.join("frr.conf").display().to_string()])
    }

    /// `vtysh ARGS` on this instance's daemons.
    pub fn vtysh(&self, ns: &Netns, args: &[&str]) -> Result<String, LabError> {
        let socket = self.socket_dir.display().to_string();
        let mut all = vec!["--vty_socket", socket.as_str()];
        all.extend_from_slice(args);
        ns.exec("vtysh", &all)
    }

    /// Sends every daemon `signal` (STOP freezes it, as a hung host would;
    /// CONT thaws it).
    pub fn signal(&self, signal: &str) {
        for process in &self.processes {
            process.signal(signal);
        }
    }

    /// Kills every daemon at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        for process in self.processes.iter_mut().rev() {
            process.stop("KILL", Duration::from_secs(2));
        }
        self.processes.clear();
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        while let Some(process) = self.processes.pop() {
            drop(process);
        }
    }
}

/// The daemons run as FRR's own user, and vtysh (as root) talks to them:
/// their directory must be theirs to write.
fn create_shared_dir(dir: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)))
        .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })
}

/// A killed instance leaves its sockets: the next must not mistake them
/// for its own daemons being ready.
fn remove_stale_sockets(dir: &Path) -> Result<(), LabError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| LabError::Io { what: format!("reading {}", dir.display()), source })?;
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.extension().is_some_and(|e| e == "vty") || path.ends_with("zserv.api") {
            std::fs::remove_file(&path)
                .map_err(|source| LabError::Io { what: format!("removing {}", path.display()), source })?;
        }
    }
    Ok(())
}

fn write(file: &Path, text: &str) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(file, text)
        .and_then(|()| std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)))
        .map_err(|source| LabError::Io { what: format!("writing {}", file.display()), source })
}

/// One OSPF interface: hello every second, dead after three, no DR
/// election (each link joins two routers).
fn ospf_interface(name: &str, cost: u32) -> String {
    format!(
        "interface {name}\n\
         \x20ip ospf area 0\n\
         \x20ip ospf cost {cost}\n\
         \x20ip ospf hello-interval 1\n\
         \x20ip ospf dead-interval {dead}\n\
         \x20ip ospf network point-to-point\n\
         \x20ipv6 ospf6 area 0.0.0.0\n\
         \x20ipv6 ospf6 cost {cost}\n\
         \x20ipv6 ospf6 hello-interval 1\n\
         \x20ipv6 ospf6 dead-interval {dead}\n\
         \x20ipv6 ospf6 network point-to-point\n\
         exit\n",
        dead = DEAD_INTERVAL.as_secs()
    )
}

/// OSPFv2 and OSPFv3 with SPF and LSA throttling cut to what a lab of
/// four routers can afford (FRR's defaults hold a new LSA for seconds);
/// with `export`, the VIPs on lo redistributed through their route-maps.
fn ospf_processes(router_id: &str, export: bool) -> String {
    let redistribute =
        |map: &str| if export { format!(" redistribute connected route-map {map}\n") } else { String::new() };
    format!(
        "router ospf\n\
         \x20ospf router-id {router_id}\n\
         \x20timers throttle spf 0 50 500\n\
         \x20timers throttle lsa all 0\n\
         \x20timers lsa min-arrival 0\n\
         {redistribute4}\
         exit\n\
         router ospf6\n\
         \x20ospf6 router-id {router_id}\n\
         \x20timers throttle spf 0 50 500\n\
         {redistribute6}\
         exit\n",
        redistribute4 = redistribute("ANYCAST-VIP"),
        redistribute6 = redistribute("ANYCAST-VIP6"),
    )
}

/// The OSPF router: OSPF on each link to a node, the link to node k
/// costing 10k (node 1 is nearest); forwarding on.
pub fn ospf_router_config(router_id: &str, node_links: &[String]) -> String {
    let mut text = String::from("ip forwarding\nipv6 forwarding\n");
    for (index, link) in node_links.iter().enumerate() {
        text.push_str(&ospf_interface(link, 10 * (index as u32 + 1)));
    }
    text + &ospf_processes(router_id, false)
}

/// The VIP ranges, host routes only: what nodes export and the router
/// takes.
const VIP_PREFIX_LISTS: &str = "ip prefix-list ANYCAST-VIPS seq 5 permit 6.6.6.0/24 ge 32\n\
                                ipv6 prefix-list ANYCAST-VIPS6 seq 5 permit 2001:db8::/48 ge 128\n";

/// What a node exports: the VIP host routes, as anycastd's state
/// route-map says (withdrawn, entry deny 5, until anycastd says
/// otherwise).
fn vip_route_maps() -> String {
    format!(
        "{VIP_PREFIX_LISTS}\
         route-map {STATE_ROUTE_MAP} deny 5\n\
         exit\n\
         route-map {STATE_ROUTE_MAP} permit 10\n\
         exit\n\
         route-map ANYCAST-VIP permit 10\n\
         \x20match ip address prefix-list ANYCAST-VIPS\n\
         \x20call {STATE_ROUTE_MAP}\n\
         exit\n\
         route-map ANYCAST-VIP6 permit 10\n\
         \x20match ipv6 address prefix-list ANYCAST-VIPS6\n\
         \x20call {STATE_ROUTE_MAP}\n\
         exit\n"
    )
}

/// An OSPF node: OSPF on its uplink, exporting the VIPs anycastd puts on
/// lo (`redistribute connected`). The configuration `dist/frr.conf`
/// gives operators.
pub fn ospf_node_config(router_id: &str, uplink: &str) -> String {
    vip_route_maps() + &ospf_interface(uplink, 10) + &ospf_processes(router_id, true)
}

/// BGP timers and the session settings both ends share: hold time as
/// BIRD's, reconnect after a second, no policy required for eBGP (the
/// lab's filters are explicit); a BFD profile for sessions that use it.
fn bgp_process(local_as: u32, router_id: &str) -> String {
    format!(
        "bfd\n\
         \x20profile fast\n\
         \x20 transmit-interval {bfd}\n\
         \x20 receive-interval {bfd}\n\
         \x20 detect-multiplier 3\n\
         \x20exit\n\
         exit\n\
         router bgp {local_as}\n\
         \x20bgp router-id {router_id}\n\
         \x20no bgp ebgp-requires-policy\n\
         \x20no bgp default ipv4-unicast\n\
         \x20bgp route-map delay-timer 1\n\
         \x20timers bgp {keepalive} {HOLD_TIME}\n",
        keepalive = HOLD_TIME / 3,
        bfd = BFD_DETECTION.as_millis() / 3,
    )
}

/// The BGP router: passive eBGP to each node over IPv4 and over IPv6
/// (several sessions per node), VIP host routes only; one path, the
/// lowest router ID's winning a tie (not ECMP over the nodes, nor the
/// oldest path: FRR's defaults), so node 1 carries the VIPs while it
/// announces. Each session also has a BFD session (anycastd's speaker
/// and FRR nodes both run it), which ends it within `BFD_DETECTION` of
/// the node going silent.
pub fn bgp_router_config(router_id: &str, neighbours: &[String]) -> String {
    let mut text = format!("ip forwarding\nipv6 forwarding\n{VIP_PREFIX_LISTS}");
    text += &bgp_process(ROUTER_AS, router_id);
    text += &format!(
        " bgp bestpath compare-routerid\n neighbor NODES peer-group\n neighbor NODES remote-as {NODE_AS}\n\
         \x20neighbor NODES passive\n neighbor NODES bfd profile fast\n"
    );
    for neighbour in neighbours {
        text += &format!(" neighbor {neighbour} peer-group NODES\n");
    }
    for (family, name) in [("ipv4", "ANYCAST-VIPS"), ("ipv6", "ANYCAST-VIPS6")] {
        text += &format!(
            " address-family {family} unicast\n  maximum-paths 1\n  neighbor NODES activate\n\
             \x20 neighbor NODES prefix-list {name} in\n exit-address-family\n"
        );
    }
    text + "exit\n"
}

/// A BGP node: a session to the router over IPv4 for the IPv4 VIPs and
/// one over IPv6 for the IPv6 ones, each with BFD, exporting what
/// anycastd puts on lo (`redistribute connected`).
pub fn bgp_node_config(router_id: &str, router4: &str, router6: &str) -> String {
    let mut text = vip_route_maps() + &bgp_process(NODE_AS, router_id);
    for router in [router4, router6] {
        text += &format!(
            " neighbor {router} remote-as {ROUTER_AS}\n neighbor {router} timers connect 1\n\
             \x20neighbor {router} bfd profile fast\n"
        );
    }
    for (family, router, map) in [("ipv4", router4, "ANYCAST-VIP"), ("ipv6", router6, "ANYCAST-VIP6")] {
        text += &format!(
            " address-family {family} unicast\n  redistribute connected route-map {map}\n\
             \x20 neighbor {router} activate\n exit-address-family\n"
        );
    }
    text + "exit\n"
}

/// Whether FRR's LSDB listing `text` (`show ip ospf database external`,
/// `show ipv6 ospf6 database as-external detail`) has a live LSA from
/// `router` for `prefix`: one not at MaxAge (3600 s, being flushed).
pub fn live_external(text: &str, router: &str, prefix: &str) -> bool {
    let mut blocks = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("LS age:") || trimmed.starts_with("Age:") {
            blocks.push(Vec::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push(trimmed);
        }
    }
    blocks.iter().any(|block| {
        let age = block[0].split_whitespace().find_map(|w| w.parse::<u32>().ok());
        let words = || block.iter().flat_map(|line| line.split_whitespace());
        age.is_some_and(|age| age < 3600)
            && block.iter().any(|line| line.strip_prefix("Advertising Router:").is_some_and(|r| r.trim() == router))
            && words().any(|w| w == prefix)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_externals_are_told_from_flushed_ones() {
        let v4 = "       OSPF Router with ID (10.99.1.1)\n\n                AS External Link States \n\n\
                  \x20 LS age: 12\n  Link State ID: 6.6.6.6 (External Network Number)\n  Advertising Router: 10.99.11.2\n\n\
                  \x20 LS age: 3600\n  Link State ID: 6.6.6.6 (External Network Number)\n  Advertising Router: 10.99.12.2\n";
        let v6 = "Age:    7 Type: AS-External\nLink State ID: 0.0.0.1\nAdvertising Router: 10.99.11.2\n\
                  \x20    Prefix: 2001:db8::6/128\n";
        let cases = [
            (v4, "10.99.11.2", "6.6.6.6", true),
            (v4, "10.99.12.2", "6.6.6.6", false),
            (v4, "10.99.13.2", "6.6.6.6", false),
            (v4, "10.99.11.2", "6.6.6.7", false),
            (v6, "10.99.11.2", "2001:db8::6/128", true),
            (v6, "10.99.12.2", "2001:db8::6/128", false),
        ];
        for (text, router, prefix, live) in cases {
            assert_eq!(live_external(text, router, prefix), live, "{router} {prefix} in\n{text}");
        }
    }
}
