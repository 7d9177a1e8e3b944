//! What DNS over TLS and DNS over HTTPS share: the accept loop, with the
//! bounds that keep any one client from holding the service before it
//! has sent a byte of DNS:
//!
//! - clients outside the ACL are closed at accept (a TLS handshake is
//!   not spent on them);
//! - connections in all and per client, both transports together;
//! - a TLS handshake finished within its timeout (a client that trickles
//!   its hello is cut off, and counted as a failed handshake).
//!
//! The session after the handshake is the transport's own.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    time::timeout,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use super::{
    client_tap::ClientTap,
    connections::{Connections, Full},
    listener::accept_until,
    respond::Responder,
    stats::Error,
    transport::Transport,
};
use crate::{
    dnstap::{Protocol, Tap},
    resolver::upstream::Upstream,
};

/// How encrypted connections are accepted.
#[derive(Clone)]
pub struct Accepting {
    pub tls: TlsAcceptor,
    pub handshake_timeout: Duration,
    /// Shared by every encrypted listener.
    pub connections: Arc<Connections>,
    pub tap: Tap,
}

/// Accepts connections on `listener` until `shutdown` turns true, and
/// hands each one whose handshake completes to `session` (with the
/// client's address and its tap) in a task of its own.
pub async fn serve<U, F, S>(
    listener: TcpListener,
    transport: Transport,
    accepting: Accepting,
    responder: Arc<Responder<U>>,
    shutdown: watch::Receiver<bool>,
    session: F,
) where
    U: Upstream,
    F: Fn(TlsStream<TcpStream>, SocketAddr, Option<ClientTap>) -> S + Clone + Send + 'static,
    S: Future<Output = ()> + Send + 'static,
{
    accept_until(&listener, shutdown, |accepted| {
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                responder.stats.error(Error::TcpAccept);
                tracing::warn!(error = %e, transport = transport.name(), "accept");
                return;
            }
        };
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else { return };
        if !responder.admission.load().acl.allows(peer.ip()) {
            responder.stats.error(Error::TlsRefused);
            return;
        }
        let slot = match accepting.connections.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                responder.stats.error(match full {
                    Full::Service => Error::TlsOverload,
                    Full::Client => Error::TlsClientLimit,
                });
                tracing::debug!(%peer, ?full, transport = transport.name(), "closed at accept");
                return;
            }
        };
        responder.stats.connection(transport);
        let client_tap = ClientTap::new(&accepting.tap, protocol(transport), peer, local);
        let (tls, handshake_timeout, responder) =
            (accepting.tls.clone(), accepting.handshake_timeout, responder.clone());
        let handshake = async move {
            let _ = stream.set_nodelay(true);
            timeout(handshake_timeout, tls.accept(stream)).await
        };
        let session = session.clone();
        tokio::spawn(async move {
            match handshake.await {
                Ok(Ok(stream)) => session(stream, peer, client_tap).await,
                Ok(Err(e)) => {
                    responder.stats.handshake_failed(transport);
                    tracing::debug!(%peer, error = %e, transport = transport.name(), "TLS handshake");
                }
                Err(_) => {
                    responder.stats.handshake_failed(transport);
                    tracing::debug!(%peer, transport = transport.name(), "TLS handshake not finished in time");
                }
            }
            drop(slot);
        });
    })
    .await;
}

fn protocol(transport: Transport) -> Protocol {
    match transport {
        Transport::Udp => Protocol::Udp,
        Transport::Tcp => Protocol::Tcp,
        Transport::Dot => Protocol::Dot,
        Transport::Doh => Protocol::Doh,
    }
}
