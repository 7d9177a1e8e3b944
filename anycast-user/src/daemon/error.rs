//! Why the node could not start.

use std::net::SocketAddr;

use crate::{
    dnssec::anchors::AnchorError,
    fastpath::FastPathError,
    netlink::NetlinkError,
    policy::{cookies::SecretError, local::LoadError},
    resolver::hints::HintsError,
    route::announce::AnnounceError,
    server::certificate::TlsError,
};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Hints(#[from] HintsError),
    #[error(transparent)]
    Anchors(#[from] AnchorError),
    #[error(transparent)]
    Policy(#[from] LoadError),
    #[error(transparent)]
    CookieSecret(#[from] SecretError),
    #[error("{what} {addr}: {source}")]
    Socket { what: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error("{context}: {source}")]
    FastPath { context: String, source: Box<FastPathError> },
    #[error("no interface {0}")]
    NoInterface(String),
    #[error("watching the XDP program's attachment: {0}")]
    Attachment(#[source] NetlinkError),
    #[error("setting up the route announcement: {0}")]
    Announce(#[from] AnnounceError),
    #[error("watching the capture ring: {0}")]
    Capture(#[source] std::io::Error),
    #[error("encrypted DNS: {0}")]
    Tls(#[from] TlsError),
    #[error(
        "anycastd lacks {0}: run it as root or give it them (the package's unit gives CAP_BPF CAP_PERFMON \
         CAP_NET_ADMIN CAP_NET_BIND_SERVICE)"
    )]
    MissingCapabilities(String),
    #[error("reading this process's capabilities: {0}")]
    Capabilities(#[source] std::io::Error),
    #[error("metrics on {addr}: {source}")]
    Metrics { addr: SocketAddr, source: std::io::Error },
}
