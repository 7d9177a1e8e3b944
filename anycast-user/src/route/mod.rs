//! The node's route announcement: what routers are told (`state`), its
//! VIPs on an interface (`vips`), the health that decides whether it
//! announces them (`health`), the announcer that applies it
//! (`announce`), and the built-in BGP speaker that can tell the routers
//! (`bgp`).

pub mod announce;
pub mod bgp;
pub mod health;
pub mod state;
pub mod vips;
