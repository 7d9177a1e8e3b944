//! BIRD 2 (Debian's bird2) in the anycast lab: the router, and the nodes'
//! own BIRD when they announce through it (`protocol direct` on lo).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{LabError, netns::Netns, process::Process, wait};

/// The router's AS, and the one every node announces from (anycast
/// nodes usually share one).
pub const ROUTER_AS: u32 = 65000;
pub const NODE_AS: u32 = 65001;
/// Seconds: the router drops a silent peer after HOLD_TIME.
pub const HOLD_TIME: u32 = 9;

/// The VIP ranges both ends accept: host routes only.
const ANYCAST_FILTER: &str = "\
  if net.type = NET_IP4 && !(net ~ [ 6.6.6.0/24{32,32} ]) then reject;
  if net.type = NET_IP6 && !(net ~ [ 2001:db8::/48{128,128} ]) then reject;";

/// A running BIRD with its own control socket.
pub struct Bird {
    _process: Process,
    pub socket: PathBuf,
}

impl Bird {
    /// Starts BIRD in `ns` with `config` written to `dir/bird.conf`.
    pub fn start(ns: &Netns, dir: &Path, config: &str) -> Result<Bird, LabError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| LabError::Io { what: format!("creating {}", dir.display()), source })?;
        let (file, socket) = (dir.join("bird.conf"), dir.join("bird.ctl"));
        std::fs::write(&file, config)
            .map_err(|source| LabError::Io { what: format!("writing {}", file.display()), source })?;
        let mut bird = ns.command("bird");
        bird.arg("-f").arg("-c").arg(&file).arg("-s").arg(&socket).arg("-P").arg(dir.join("bird.pid"));
        let out = dir.join("bird.out");
        let bird = Bird { _process: Process::spawn(&mut bird, &out)?, socket };
        wait(&format!("BIRD in {}", ns.name()), Duration::from_secs(10), || {
            bird.birdc(ns, &["show", "status"]).is_ok()
        })
        .map_err(|e| LabError::NotReady(format!("{e}: {}", std::fs::read_to_string(&out).unwrap_or_default())))?;
        Ok(bird)
    }

    /// `birdc ARGS` on this BIRD's socket.
    pub fn birdc(&self, ns: &Netns, args: &[&str]) -> Result<String, LabError> {
        let socket = self.socket.display().to_string();
        let mut all = vec!["-s", socket.as_str()];
        all.extend_from_slice(args);
        ns.exec("birdc", &all)
    }
}

/// The router: passive eBGP to every node, the VIP host routes it learns
/// installed in its kernel table (one best path: the lowest neighbour
/// address wins a tie, so node 1 carries the VIPs while it announces).
pub fn router_config(dir: &Path, router_id: &str, neighbours: &[String]) -> String {
    let mut text = format!(
        "log \"{log}\" all;\n\
         router id {router_id};\n\
         protocol device {{ }}\n\
         protocol kernel k4 {{ ipv4 {{ import none; export all; }}; }}\n\
         protocol kernel k6 {{ ipv6 {{ import none; export all; }}; }}\n\
         filter anycast_in {{\n{ANYCAST_FILTER}\n  accept;\n}}\n\
         template bgp anycast_node {{\n\
         \x20 local as {ROUTER_AS};\n\
         \x20 passive on;\n\
         \x20 hold time {HOLD_TIME}; keepalive time 3;\n\
         \x20 ipv4 {{ import filter anycast_in; export none; }};\n\
         \x20 ipv6 {{ import filter anycast_in; export none; }};\n\
         }}\n",
        log = dir.join("bird.log").display()
    );
    for (index, neighbour) in neighbours.iter().enumerate() {
        text.push_str(&format!(
            "protocol bgp node{} from anycast_node {{ neighbor {neighbour} as {NODE_AS}; }}\n",
            index + 1
        ));
    }
    text
}

/// A node's own BIRD: exports the VIPs anycastd puts on lo, as the state
/// anycastd writes to `include` says (0 announce, 1 drain with a longer
/// AS path, 2 withdraw). The configuration the README gives operators.
pub fn node_config(dir: &Path, include: &Path, local: &str, router: &str) -> String {
    format!(
        "log \"{log}\" all;\n\
         router id {local};\n\
         protocol device {{ scan time 10; }}\n\
         protocol direct vip {{ ipv4; ipv6; interface \"lo\"; }}\n\
         include \"{include}\";\n\
         filter vip_out {{\n\
         \x20 if proto != \"vip\" then reject;\n{ANYCAST_FILTER}\n\
         \x20 if ANYCAST_STATE = 2 then reject;\n\
         \x20 if ANYCAST_STATE = 1 then {{ bgp_path.prepend({NODE_AS}); bgp_path.prepend({NODE_AS}); bgp_path.prepend({NODE_AS}); }}\n\
         \x20 accept;\n\
         }}\n\
         protocol bgp uplink {{\n\
         \x20 local {local} as {NODE_AS};\n\
         \x20 neighbor {router} as {ROUTER_AS};\n\
         \x20 hold time {HOLD_TIME}; keepalive time 3; connect retry time 5;\n\
         \x20 ipv4 {{ import none; export filter vip_out; }};\n\
         \x20 ipv6 {{ import none; export filter vip_out; }};\n\
         }}\n",
        log = dir.join("bird.log").display(),
        include = include.display()
    )
}
