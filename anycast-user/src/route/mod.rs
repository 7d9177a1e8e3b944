//! The node's route announcement: its VIPs on an interface (`vips`), the
//! health that decides whether it announces them (`health`), and the
//! built-in BGP speaker that can tell the routers (`bgp`).

pub mod announce;
pub mod bgp;
pub mod health;
pub mod vips;
