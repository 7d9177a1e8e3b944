//! The DNS service over TCP (RFC 7766): length-prefixed messages,
//! pipelined queries answered as they complete (out of order), a whole
//! message expected within the idle timeout (a client that trickles bytes
//! is cut off), and bounds on connections and on queries per connection.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc, watch},
    time::timeout,
};

use super::{listener::accept_until, respond::Responder, stats::Error, transport::Transport};
use crate::resolver::upstream::Upstream;

#[derive(Clone, Copy, Debug)]
pub struct TcpLimits {
    /// How long a connection may stay without a whole query arriving.
    pub idle: Duration,
    pub max_connections: usize,
    /// Queries of one connection answered at once.
    pub max_pipelined: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits { idle: Duration::from_secs(10), max_connections: 256, max_pipelined: 16 }
    }
}

/// Accepts connections on `listener` until `shutdown` turns true.
pub async fn serve<U: Upstream>(
    listener: TcpListener,
    responder: Arc<Responder<U>>,
    limits: TcpLimits,
    shutdown: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    accept_until(&listener, shutdown, |accepted| {
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                responder.stats.error(Error::TcpAccept);
                tracing::warn!(error = %e, "TCP accept");
                return;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            responder.stats.error(Error::TcpOverload);
            tracing::debug!(peer = ?stream.peer_addr(), "too many TCP connections; closed");
            return;
        };
        let responder = responder.clone();
        tokio::spawn(async move {
            connection(stream, responder, limits).await;
            drop(permit);
        });
    })
    .await;
}

async fn connection<U: Upstream>(stream: TcpStream, responder: Arc<Responder<U>>, limits: TcpLimits) {
    let Ok(peer) = stream.peer_addr() else { return };
    let (mut reader, mut writer) = stream.into_split();
    let (responses, mut outgoing) = mpsc::channel::<Vec<u8>>(limits.max_pipelined);
    let write = tokio::spawn(async move {
        while let Some(response) = outgoing.recv().await {
            let mut framed = (response.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&response);
            if writer.write_all(&framed).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let pipelined = Arc::new(Semaphore::new(limits.max_pipelined));
    loop {
        let query = match timeout(limits.idle, read_message(&mut reader)).await {
            Ok(Ok(Some(query))) => query,
            Err(_) => {
                // Idle, or trickling bytes: cut off.
                responder.stats.error(Error::TcpIdle);
                break;
            }
            // Closed or broken: the connection ends.
            Ok(_) => break,
        };
        let Ok(permit) = pipelined.clone().acquire_owned().await else { break };
        let (responder, responses) = (responder.clone(), responses.clone());
        tokio::spawn(async move {
            if let Some(response) = responder.respond(&query, peer.ip(), Transport::Tcp).await {
                let _ = responses.send(response).await;
            }
            drop(permit);
        });
    }
    // Answers under way still go out; then the writer closes.
    drop(responses);
    let _ = write.await;
}

/// One length-prefixed message; None at a clean end of stream.
async fn read_message(reader: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
    let len = match reader.read_u16().await {
        Ok(len) => len as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut message = vec![0u8; len];
    reader.read_exact(&mut message).await?;
    Ok(Some(message))
}
