//! DNS over TLS (RFC 7858, with the RFC 8310 profile's ALPN `dot`): after
//! the handshake, the session is TCP's (RFC 7766) over TLS: pipelined
//! queries answered out of order as each completes, the idle and write
//! timeouts, queries per connection at once, and TCP's rate limit.

use std::sync::Arc;

use rustls::ServerConfig;
use tokio::{net::TcpListener, sync::watch};

use super::{
    certificate::{Certificate, TlsError},
    encrypted::{self, Accepting},
    respond::Responder,
    tcp::{self, TcpLimits},
    transport::Transport,
};
use crate::resolver::upstream::Upstream;

/// RFC 8310's ALPN for DNS over TLS.
pub const ALPN: &[u8] = b"dot";

/// The TLS configuration DNS over TLS offers.
pub fn tls_config(certificate: &Arc<Certificate>) -> Result<Arc<ServerConfig>, TlsError> {
    certificate.server_config(&[ALPN])
}

/// Serves DNS over TLS on `listener` until `shutdown` turns true.
pub async fn serve<U: Upstream>(
    listener: TcpListener,
    accepting: Accepting,
    responder: Arc<Responder<U>>,
    limits: TcpLimits,
    shutdown: watch::Receiver<bool>,
) {
    let session_responder = responder.clone();
    let session = move |stream, peer: std::net::SocketAddr, client_tap| {
        let responder = session_responder.clone();
        async move { tcp::session(stream, peer.ip(), responder, limits, Transport::Dot, client_tap).await }
    };
    encrypted::serve(listener, Transport::Dot, accepting, responder, shutdown, session).await;
}
