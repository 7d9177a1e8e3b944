//! The node's route announcement: what routers are told (`state`), its
//! VIPs on an interface (`vips`), the health that decides whether it
//! announces them (`health`), the announcer that applies it
//! (`announce`), and what tells the routers: the node's routing daemon
//! (`routing_daemon`: BIRD or FRR) or the built-in BGP speaker (`bgp`).

pub mod announce;
pub mod bgp;
pub mod health;
pub mod routing_daemon;
pub mod state;
pub mod vips;
