//! Who the node answers and how much, as both paths apply it: the client
//! ACL ([`acl`]), response rate limiting per client prefix
//! ([`ratelimit`]) and the DNS cookie secrets that exempt proven clients
//! from it ([`cookies`]), and what the node answers itself: local zones
//! and blocklists ([`local`]). The fast path's loader writes them into the XDP
//! program's maps; the server applies them to what reaches the daemon.

pub mod acl;
pub mod cookies;
pub mod local;
pub mod ratelimit;
