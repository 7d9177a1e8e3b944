//! The node's route announcement: what routers are told (`state`), its
//! VIPs on an interface (`vips`), the health that decides whether it
//! announces them (`health`), the announcer that applies it
//! (`announce`), and what tells the routers: the node's routing daemon
//! (`routing_daemon`: `bird` or `frr`, run through `control`, read back
//! now and then: `read_back`) or the built-in BGP speaker (`bgp`).

pub mod announce;
pub mod bgp;
pub mod bird;
pub mod control;
pub mod frr;
pub mod health;
pub mod read_back;
pub mod routing_daemon;
pub mod state;
pub mod vips;
