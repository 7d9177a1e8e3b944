//! What the server counts: queries by transport, responses by RCODE,
//! truncations, rate limiting, and what went wrong.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::transport::Transport;

#[derive(Default)]
pub struct Stats {
    pub udp_queries: AtomicU64,
    pub tcp_queries: AtomicU64,
    /// Responses by RCODE (0..=15; extended RCODEs count under 15+).
    pub responses: [AtomicU64; 16],
    pub truncated: AtomicU64,
    /// UDP queries over their prefix's rate limit, answered with TC=1.
    pub slipped: AtomicU64,
    /// UDP queries over their prefix's rate limit, not answered.
    pub rate_dropped: AtomicU64,
    /// TCP queries over their prefix's rate limit, not answered.
    pub tcp_rate_dropped: AtomicU64,
    /// Bogus answers withheld (SERVFAIL with an Extended DNS Error).
    pub bogus: AtomicU64,
    errors: [AtomicU64; Error::ALL.len()],
}

anycast_common::named! {
    /// Things that go wrong while serving, counted by kind.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Error {
        /// A resolution that could not be put in a response.
        Encode = "encode",
        UdpReceive = "udp_receive",
        UdpSend = "udp_send",
        TcpAccept = "tcp_accept",
        /// A query dropped because too many were under way.
        UdpOverload = "udp_overload",
        /// A connection closed at once because too many were open.
        TcpOverload = "tcp_overload",
        /// A connection cut for not sending a whole message in time.
        TcpIdle = "tcp_idle",
        /// A connection from outside the ACL closed at accept (those
        /// being refused were as many as are refused at once).
        TcpRefused = "tcp_refused",
        /// A connection closed at once: its client had too many open.
        TcpClientLimit = "tcp_client_limit",
        /// A connection cut because its client did not read its answers.
        TcpStalled = "tcp_stalled",
    }
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

    pub fn error(&self, error: Error) {
        self.errors[error as usize].fetch_add(1, Relaxed);
    }

    pub fn queries(&self) -> [(&'static str, u64); 2] {
        [("udp", self.udp_queries.load(Relaxed)), ("tcp", self.tcp_queries.load(Relaxed))]
    }

    pub fn responses(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RCODE_NAMES.into_iter().zip(&self.responses).map(|(name, n)| (name, n.load(Relaxed)))
    }

    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Error::ALL.into_iter().map(|e| (e.name(), self.errors[e as usize].load(Relaxed)))
    }
}
