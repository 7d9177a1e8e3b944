//! The DNS service over UDP, answered from the socket each query came in
//! on (bound to the VIP, so replies come from the VIP). Datagrams come in
//! and go out by the batch; a query the hot answers have is answered in
//! the batch, any other in a task of its own.

use std::{net::SocketAddr, os::fd::AsRawFd, sync::Arc, time::SystemTime};

use tokio::{
    io::Interest,
    net::UdpSocket,
    sync::{Semaphore, watch},
};

use super::{
    batch::{Outgoing, Received},
    client_tap::ClientTap,
    respond::{Hot, Responder},
    stats::Error,
    transport::Transport,
};
use crate::{
    dnstap::{Protocol, Tap},
    resolver::upstream::Upstream,
};

/// Queries being answered at once, at most; beyond it queries are dropped
/// (the client retries) rather than queued without bound.
const MAX_INFLIGHT: usize = 4096;

/// Answers queries on `socket` until `shutdown` turns true, then waits for
/// the queries under way; what `tap` asks for goes to dnstap.
pub async fn serve<U: Upstream>(
    socket: UdpSocket,
    responder: Arc<Responder<U>>,
    tap: Tap,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(local) = socket.local_addr() else { return };
    let socket = Arc::new(socket);
    let fd = socket.as_raw_fd();
    let inflight = Arc::new(Semaphore::new(MAX_INFLIGHT));
    let (mut received, mut outgoing) = (Received::new(), Outgoing::new());
    loop {
        let count = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            result = socket.async_io(Interest::READABLE, || received.receive(fd)) => match result {
                Ok(count) => count,
                Err(e) => {
                    responder.stats.error(Error::UdpReceive);
                    tracing::warn!(error = %e, "UDP receive");
                    continue;
                }
            },
        };
        // One time for the batch: the datagrams came in together.
        let received_at = ClientTap::wanted(&tap).then(SystemTime::now);
        for i in 0..count {
            let (query, Some(peer)) = received.get(i) else { continue };
            let client_tap = received_at.and_then(|at| ClientTap::new(&tap, Protocol::Udp, peer, local).zip(Some(at)));
            if let Some((client_tap, at)) = &client_tap {
                client_tap.query(query, *at);
            }
            let out = outgoing.next_buffer();
            match responder.respond_hot(query, peer.ip(), Transport::Udp, out) {
                Hot::Answered => {
                    if let Some((client_tap, at)) = &client_tap {
                        client_tap.response(out, *at);
                    }
                    outgoing.push(peer);
                }
                Hot::Dropped => {}
                Hot::Missed => answer_later(query, peer, &socket, &responder, &inflight, client_tap),
            }
        }
        match socket.async_io(Interest::WRITABLE, || outgoing.send(fd)).await {
            Ok(0) => {}
            Ok(failed) => {
                for _ in 0..failed {
                    responder.stats.error(Error::UdpSend);
                }
            }
            Err(e) => tracing::warn!(error = %e, "UDP send"),
        }
    }
    // Finish what was accepted before stopping.
    let _ = inflight.acquire_many(MAX_INFLIGHT as u32).await;
}

/// Answers `query` in a task of its own, if fewer than [`MAX_INFLIGHT`]
/// are under way.
fn answer_later<U: Upstream>(
    query: &[u8],
    peer: SocketAddr,
    socket: &Arc<UdpSocket>,
    responder: &Arc<Responder<U>>,
    inflight: &Arc<Semaphore>,
    client_tap: Option<(ClientTap, SystemTime)>,
) {
    let Ok(permit) = inflight.clone().try_acquire_owned() else {
        responder.stats.error(Error::UdpOverload);
        tracing::debug!(%peer, "too many queries under way; dropped");
        return;
    };
    let query = query.to_vec();
    let (socket, responder) = (socket.clone(), responder.clone());
    tokio::spawn(async move {
        if let Some(response) = responder.respond(&query, peer.ip(), Transport::Udp).await {
            if let Some((client_tap, at)) = &client_tap {
                client_tap.response(&response, *at);
            }
            if let Err(e) = socket.send_to(&response, peer).await {
                responder.stats.error(Error::UdpSend);
                tracing::debug!(%peer, error = %e, "UDP send");
            }
        }
        drop(permit);
    });
}
