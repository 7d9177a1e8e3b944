//! The userspace half of the anycast DNS node. Modules import only those
//! below them (`cargo xtask lint` fails on a cycle); the README's Layout
//! section draws the layers.
//!
//! - [`cli`]: the command line, for the binary and its man page.
//! - [`daemon`]: builds every component once, runs them, owns the
//!   metrics and the control socket.
//! - [`config`]: the configuration file and flags, checked section by
//!   section.
//! - [`server`]: the DNS service (responder, UDP, TCP).
//! - [`warm`]: the hot names, listed for peers and resolved before the
//!   first announcement (the warm start).
//! - [`route`]: the VIPs on their interface, health, the announcement to
//!   routers (the interface or the built-in BGP speaker).
//! - [`feed`]: what the daemon answers, offered to the fast path's map,
//!   and the refresh of what XDP serves.
//! - [`resolver`]: recursive (from the root hints) or forwarding
//!   resolution over a cache.
//! - [`fastpath`]: loads and attaches the XDP program, its maps.
//! - [`policy`]: the client ACL and rate limiting, as both paths apply them.
//! - [`answer_entry`]: the map writer, turning a DNS response into the
//!   exact key and value the XDP program answers from.
//! - [`wire`]: responses in wire form, the same bytes on both paths.
//! - [`netlink`], [`clock`], [`notify`], [`names`]: the kernel's rtnetlink,
//!   the clock both sides measure expiry with, readiness for systemd, the
//!   closest enclosing name in a table.

pub mod answer_entry;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dnssec;
pub mod dnstap;
pub mod fastpath;
pub mod feed;
pub mod names;
pub mod netlink;
pub mod notify;
pub mod policy;
pub mod resolver;
pub mod route;
pub mod server;
pub mod warm;
pub mod wire;
