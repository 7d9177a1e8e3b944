//! Who the node answers and how much, as both paths apply it: the client
//! ACL ([`acl`]) and response rate limiting per client prefix
//! ([`ratelimit`]). The fast path's loader writes them into the XDP
//! program's maps; the server applies them to what reaches the daemon.

pub mod acl;
pub mod ratelimit;
