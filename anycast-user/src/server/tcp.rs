//! The DNS service over TCP (RFC 7766): length-prefixed messages,
//! pipelined queries answered as they complete (out of order), and bounds
//! that keep any one client from holding the service:
//!
//! - clients outside the ACL never take a place of the others: each gets
//!   one REFUSED answer (as over UDP) from a small pool of its own, within
//!   a short time, or is closed at accept when that pool is busy;
//! - connections in all, and per client (an IPv4 address, an IPv6 /64);
//! - a whole message within the idle timeout (a client that trickles bytes
//!   is cut off);
//! - queries of one connection answered at once; a connection whose
//!   answers are not read within the write timeout is closed, and so is
//!   one that waits that long for a free pipeline slot;
//! - the rate limit per client prefix, with buckets of its own: over it, a
//!   query is dropped (slipping to TCP again would be no answer).

use std::{
    net::IpAddr,
    sync::{Arc, atomic::Ordering::Relaxed},
    time::{Duration, SystemTime},
};

use anycast_common::ratelimit::Verdict;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch},
    time::timeout,
};

use super::{
    client_tap::ClientTap,
    connections::{Connections, Full},
    listener::accept_until,
    respond::Responder,
    stats::Error,
    transport::Transport,
};
use crate::{
    clock,
    dnstap::{Protocol, Tap},
    resolver::upstream::Upstream,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// How long a connection may stay without a whole query arriving.
    pub idle: Duration,
    /// How long an answer may wait to be written (the client not reading).
    pub write: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// Queries of one connection answered at once.
    pub max_pipelined: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            idle: Duration::from_secs(10),
            write: Duration::from_secs(10),
            max_connections: 256,
            max_connections_per_client: 16,
            max_pipelined: 16,
        }
    }
}

/// Connections from outside the ACL being refused at once, at most.
const MAX_REFUSING: usize = 16;
/// How long one may take to send its query.
const REFUSE_WITHIN: Duration = Duration::from_secs(2);

/// Accepts connections on `listener` until `shutdown` turns true.
pub async fn serve<U: Upstream>(
    listener: TcpListener,
    responder: Arc<Responder<U>>,
    limits: TcpLimits,
    tap: Tap,
    shutdown: watch::Receiver<bool>,
) {
    let connections = Connections::new(limits.max_connections, limits.max_connections_per_client);
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    accept_until(&listener, shutdown, |accepted| {
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                responder.stats.error(Error::TcpAccept);
                tracing::warn!(error = %e, "TCP accept");
                return;
            }
        };
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else { return };
        let client_tap = ClientTap::new(&tap, Protocol::Tcp, peer, local);
        if !responder.admission.load().acl.allows(peer.ip()) {
            match refusing.clone().try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(refuse(stream, peer.ip(), responder.clone(), client_tap, permit));
                }
                Err(_) => responder.stats.error(Error::TcpRefused),
            }
            return;
        }
        match connections.admit(peer.ip()) {
            Ok(slot) => {
                responder.stats.connection(Transport::Tcp);
                let responder = responder.clone();
                tokio::spawn(async move {
                    session(stream, peer.ip(), responder, limits, Transport::Tcp, client_tap).await;
                    drop(slot);
                });
            }
            Err(full) => {
                let error = match full {
                    Full::Service => Error::TcpOverload,
                    Full::Client => Error::TcpClientLimit,
                };
                responder.stats.error(error);
                tracing::debug!(%peer, ?error, "TCP connection closed at accept");
            }
        }
    })
    .await;
}

/// One query from a client outside the ACL, answered REFUSED (by the
/// responder, as over UDP), then the connection closes.
async fn refuse<U: Upstream>(
    stream: TcpStream,
    peer: IpAddr,
    responder: Arc<Responder<U>>,
    client_tap: Option<ClientTap>,
    _permit: OwnedSemaphorePermit,
) {
    let (mut reader, mut writer) = stream.into_split();
    let Ok(Ok(Some(query))) = timeout(REFUSE_WITHIN, read_message(&mut reader)).await else { return };
    let received_at = logged_query(client_tap.as_ref(), &query);
    if let Some(response) = responder.respond(&query, peer, Transport::Tcp).await {
        logged_response(client_tap.as_ref().zip(received_at), &response);
        let _ = timeout(REFUSE_WITHIN, writer.write_all(&framed(&response))).await;
    }
    let _ = timeout(REFUSE_WITHIN, writer.shutdown()).await;
}

/// The DNS session of one connection, over TCP or TLS: length-prefixed
/// queries read until the client closes, idles or stops reading, each
/// answered as `transport` allows, as soon as it is resolved.
pub async fn session<S, U>(
    stream: S,
    peer: IpAddr,
    responder: Arc<Responder<U>>,
    limits: TcpLimits,
    transport: Transport,
    client_tap: Option<ClientTap>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
    U: Upstream,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let (responses, outgoing) = mpsc::channel::<Vec<u8>>(limits.max_pipelined);
    let write = tokio::spawn(write_responses(writer, outgoing, limits.write, responder.clone()));
    let pipelined = Arc::new(Semaphore::new(limits.max_pipelined));
    loop {
        let read = tokio::select! {
            read = timeout(limits.idle, read_message(&mut reader)) => read,
            // The writer gave up on a client that does not read.
            _ = responses.closed() => break,
        };
        let query = match read {
            Ok(Ok(Some(query))) => query,
            Err(_) => {
                // Idle, or trickling bytes: cut off.
                responder.stats.error(Error::TcpIdle);
                break;
            }
            // Closed or broken: the connection ends.
            Ok(_) => break,
        };
        let received_at = logged_query(client_tap.as_ref(), &query);
        if !rate_admits(&responder, peer) {
            continue;
        }
        let permit = match timeout(limits.write, pipelined.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // Every slot held by answers the client does not read.
            Err(_) => {
                responder.stats.error(Error::TcpStalled);
                break;
            }
            Ok(Err(_)) => break,
        };
        let (responder, responses, client_tap) = (responder.clone(), responses.clone(), client_tap.clone());
        tokio::spawn(async move {
            if let Some(response) = responder.respond_stream(&query, peer, transport).await {
                logged_response(client_tap.as_ref().zip(received_at), &response);
                let _ = responses.send(response).await;
            }
            drop(permit);
        });
    }
    // Answers under way still go out; then the writer closes.
    drop(responses);
    let _ = write.await;
}

/// Logs `query` to the tap, if on; the time it came.
pub fn logged_query(client_tap: Option<&ClientTap>, query: &[u8]) -> Option<SystemTime> {
    let tap = client_tap?;
    let at = SystemTime::now();
    tap.query(query, at);
    Some(at)
}

/// Logs `response` to the tap, if on, as an answer to the query at its time.
pub fn logged_response(tapped: Option<(&ClientTap, SystemTime)>, response: &[u8]) {
    if let Some((tap, at)) = tapped {
        tap.response(response, at);
    }
}

/// Whether the rate limit lets a TCP query from `peer` through.
pub fn rate_admits<U>(responder: &Responder<U>, peer: IpAddr) -> bool {
    let admission = responder.admission.load();
    let Some(limiter) = &admission.tcp_limiter else { return true };
    match limiter.admit(peer, clock::boottime_ns()) {
        Verdict::Answer => true,
        Verdict::Slip | Verdict::Drop => {
            responder.stats.tcp_rate_dropped.fetch_add(1, Relaxed);
            false
        }
    }
}

/// Writes the responses as they come, each write within `write_timeout`;
/// a client that does not read is closed. The responses ready together go
/// in one write (over TLS, one record and one system call for a pipeline's
/// answers rather than one each).
async fn write_responses<U>(
    mut writer: impl AsyncWrite + Unpin,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    write_timeout: Duration,
    responder: Arc<Responder<U>>,
) {
    let mut batch = Vec::new();
    while let Some(response) = outgoing.recv().await {
        batch.clear();
        append_framed(&mut batch, &response);
        while batch.len() < WRITE_BATCH_BYTES {
            let Ok(next) = outgoing.try_recv() else { break };
            append_framed(&mut batch, &next);
        }
        let written = async {
            writer.write_all(&batch).await?;
            writer.flush().await
        };
        match timeout(write_timeout, written).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break,
            Err(_) => {
                responder.stats.error(Error::TcpStalled);
                break;
            }
        }
    }
    let _ = timeout(write_timeout, writer.shutdown()).await;
}

/// Responses written at once, at most about this many bytes (a TLS
/// record holds 16 KiB).
const WRITE_BATCH_BYTES: usize = 16 << 10;

/// `message` with its length before it.
fn framed(message: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(2 + message.len());
    append_framed(&mut framed, message);
    framed
}

fn append_framed(out: &mut Vec<u8>, message: &[u8]) {
    out.extend_from_slice(&(message.len() as u16).to_be_bytes());
    out.extend_from_slice(message);
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
