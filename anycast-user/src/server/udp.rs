//! The DNS service over UDP: one task per query, answered from the socket
//! it came in on (bound to the VIP, so replies come from the VIP).

use std::{net::SocketAddr, sync::Arc};

use tokio::{
    net::UdpSocket,
    sync::{Semaphore, watch},
};

use super::{respond::Responder, stats::Error, transport::Transport};
use crate::resolver::upstream::Upstream;

/// Queries being answered at once, at most; beyond it queries are dropped
/// (the client retries) rather than queued without bound.
const MAX_INFLIGHT: usize = 4096;

/// Answers queries on `socket` until `shutdown` turns true, then waits for
/// the queries under way.
pub async fn serve<U: Upstream>(socket: UdpSocket, responder: Arc<Responder<U>>, mut shutdown: watch::Receiver<bool>) {
    let socket = Arc::new(socket);
    let inflight = Arc::new(Semaphore::new(MAX_INFLIGHT));
    let mut buf = vec![0u8; 65_535];
    loop {
        let (len, peer): (usize, SocketAddr) = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(e) => {
                    responder.stats.error(Error::UdpReceive);
                    tracing::warn!(error = %e, "UDP receive");
                    continue;
                }
            },
        };
        let query = &buf[..len];
        let Ok(permit) = inflight.clone().try_acquire_owned() else {
            responder.stats.error(Error::UdpOverload);
            tracing::debug!(%peer, "too many queries under way; dropped");
            continue;
        };
        let query = query.to_vec();
        let (socket, responder) = (socket.clone(), responder.clone());
        tokio::spawn(async move {
            if let Some(response) = responder.respond(&query, peer.ip(), Transport::Udp).await
                && let Err(e) = socket.send_to(&response, peer).await
            {
                responder.stats.error(Error::UdpSend);
                tracing::debug!(%peer, error = %e, "UDP send");
            }
            drop(permit);
        });
    }
    // Finish what was accepted before stopping.
    let _ = inflight.acquire_many(MAX_INFLIGHT as u32).await;
}
