//! The DNS service on the VIPs: what answers every query the fast path
//! passes up, over UDP and TCP.

pub mod acl;
pub mod control;
mod listener;
pub mod metrics;
pub mod ratelimit;
pub mod refresh;
pub mod respond;
pub mod stats;
pub mod tcp;
#[cfg(test)]
mod tests;
pub mod udp;
