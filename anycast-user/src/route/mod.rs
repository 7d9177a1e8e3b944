//! The node's route announcement: its VIPs on an interface (`vips`), the
//! health that decides whether it announces them (`health`).

pub mod announce;
pub mod health;
pub mod vips;
