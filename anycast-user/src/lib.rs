//! The userspace half of the anycast DNS node.
//!
//! - [`config`]: the configuration file and flags, checked.
//! - [`fastpath`]: loads the XDP program, configures it, and owns its maps.
//! - [`answer_entry`]: the map writer, turning a DNS response into the exact
//!   key and value the XDP program answers from.
//! - [`server`]: the DNS service (ACL, responses, UDP and TCP).
//! - [`wire`]: responses in wire form, the same bytes on both paths.
//! - [`clock`]: the clock both sides measure expiry with.
//! - [`notify`]: readiness for systemd (`Type=notify`).
//! - [`resolver`]: recursive (from the root hints) or forwarding resolution
//!   over a cache.

pub mod answer_entry;
pub mod clock;
pub mod config;
pub mod fastpath;
pub mod notify;
pub mod resolver;
pub mod route;
pub mod server;
pub mod wire;
