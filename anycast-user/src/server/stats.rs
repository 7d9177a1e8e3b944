//! What the daemon counts: queries by transport, responses by RCODE,
//! truncations, and answers written into the fast path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::respond::Transport;

#[derive(Default)]
pub struct Stats {
    pub udp_queries: AtomicU64,
    pub tcp_queries: AtomicU64,
    /// Responses by RCODE (0..=15; extended RCODEs count under 15+).
    pub responses: [AtomicU64; 16],
    pub truncated: AtomicU64,
    /// Answers written into the fast path's map.
    pub fed: AtomicU64,
    /// Of those, answers renewed before they expired (see `refresh`).
    pub refreshed: AtomicU64,
}

/// RCODE names for the counters' labels.
pub const RCODE_NAMES: [&str; 16] = [
    "noerror",
    "formerr",
    "servfail",
    "nxdomain",
    "notimp",
    "refused",
    "yxdomain",
    "yxrrset",
    "nxrrset",
    "notauth",
    "notzone",
    "dsotypeni",
    "rcode12",
    "rcode13",
    "rcode14",
    "rcode15",
];

impl Stats {
    pub fn query(&self, transport: Transport) {
        match transport {
            Transport::Udp => self.udp_queries.fetch_add(1, Relaxed),
            Transport::Tcp => self.tcp_queries.fetch_add(1, Relaxed),
        };
    }

    pub fn response(&self, rcode: u16) {
        self.responses[(rcode as usize).min(15)].fetch_add(1, Relaxed);
    }

    /// Name and value of every counter, in a stable order.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            ("queries_udp".to_string(), self.udp_queries.load(Relaxed)),
            ("queries_tcp".to_string(), self.tcp_queries.load(Relaxed)),
            ("truncated".to_string(), self.truncated.load(Relaxed)),
            ("fastpath_written".to_string(), self.fed.load(Relaxed)),
            ("fastpath_refreshed".to_string(), self.refreshed.load(Relaxed)),
        ];
        for (name, count) in RCODE_NAMES.iter().zip(&self.responses) {
            out.push((format!("responses_{name}"), count.load(Relaxed)));
        }
        out
    }
}
