//! What the server counts: queries and connections by transport, failed
//! TLS handshakes, responses by RCODE, truncations, rate limiting, and
//! what went wrong.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::transport::Transport;

#[derive(Default)]
pub struct Stats {
    queries: [AtomicU64; Transport::ALL.len()],
    /// Connections accepted (none over UDP).
    connections: [AtomicU64; Transport::ALL.len()],
    /// TLS handshakes that failed or did not finish in time.
    handshakes_failed: [AtomicU64; Transport::ALL.len()],
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
        /// An encrypted connection closed at once because too many were open.
        TlsOverload = "tls_overload",
        /// An encrypted connection closed at once: its client had too many.
        TlsClientLimit = "tls_client_limit",
        /// An encrypted connection from outside the ACL, closed at accept.
        TlsRefused = "tls_refused",
        /// A DNS over HTTPS request refused: not a DNS query as RFC 8484
        /// asks (path, method, media type, size, encoding).
        DohBadRequest = "doh_bad_request",
        /// An HTTP connection that broke off or broke the protocol.
        DohConnection = "doh_connection",
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

const STREAMS: [Transport; 3] = [Transport::Tcp, Transport::Dot, Transport::Doh];
const ENCRYPTED: [Transport; 2] = [Transport::Dot, Transport::Doh];

fn by_transport<const N: usize>(
    counters: &[AtomicU64],
    transports: [Transport; N],
) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    transports.into_iter().map(|t| (t.name(), counters[t as usize].load(Relaxed)))
}

impl Stats {
    pub fn query(&self, transport: Transport) {
        self.queries[transport as usize].fetch_add(1, Relaxed);
    }

    pub fn connection(&self, transport: Transport) {
        self.connections[transport as usize].fetch_add(1, Relaxed);
    }

    pub fn handshake_failed(&self, transport: Transport) {
        self.handshakes_failed[transport as usize].fetch_add(1, Relaxed);
    }

    pub fn response(&self, rcode: u16) {
        self.responses[(rcode as usize).min(15)].fetch_add(1, Relaxed);
    }

    pub fn error(&self, error: Error) {
        self.errors[error as usize].fetch_add(1, Relaxed);
    }

    pub fn queries(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        by_transport(&self.queries, Transport::ALL)
    }

    /// Connections by transport, over the transports that have them.
    pub fn connections(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        by_transport(&self.connections, STREAMS)
    }

    /// Failed handshakes by transport, over the encrypted ones.
    pub fn handshakes_failed(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        by_transport(&self.handshakes_failed, ENCRYPTED)
    }

    pub fn responses(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        RCODE_NAMES.into_iter().zip(&self.responses).map(|(name, n)| (name, n.load(Relaxed)))
    }

    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Error::ALL.into_iter().map(|e| (e.name(), self.errors[e as usize].load(Relaxed)))
    }
}
