//! Talking to other servers: one query, one matched response.
//!
//! [`Upstream`] is what the resolver needs of the network, so tests can
//! put a fake one in its place. [`NetUpstream`] is the real one: each query
//! goes from a fresh UDP socket (a random source port, chosen by the
//! kernel) with a random ID (RFC 5452); a response counts only if it comes
//! from the server it was sent to and carries the same ID and question;
//! anything else is dropped and the wait goes on. A truncated response is
//! asked again over TCP (RFC 7766).

use std::{future::Future, net::SocketAddr, time::Duration};

use hickory_proto::op::{Message, Query};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UdpSocket},
    time::{Instant, timeout_at},
};

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode the query: {0}")]
    Encode(String),
    #[error("malformed response: {0}")]
    Malformed(String),
}

pub trait Upstream: Send + Sync + 'static {
    /// Sends `request` (its ID is replaced) to `server` and returns the
    /// response that matches it.
    fn exchange(
        &self,
        server: SocketAddr,
        request: Message,
    ) -> impl Future<Output = Result<Message, UpstreamError>> + Send;
}

/// The network, with one timeout for each exchange (UDP and a TCP retry
/// together).
pub struct NetUpstream {
    pub timeout: Duration,
}

const MAX_UDP_RESPONSE: usize = 65_535;

impl Upstream for NetUpstream {
    async fn exchange(&self, server: SocketAddr, mut request: Message) -> Result<Message, UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        request.metadata.id = rand::random();
        let wire = request.to_vec().map_err(|e| UpstreamError::Encode(e.to_string()))?;
        let exchange = async {
            let response = udp(server, &request, &wire).await?;
            if response.metadata.truncation { tcp(server, &request, &wire).await } else { Ok(response) }
        };
        timeout_at(deadline, exchange).await.map_err(|_| UpstreamError::Timeout(self.timeout))?
    }
}

async fn udp(server: SocketAddr, request: &Message, wire: &[u8]) -> Result<Message, UpstreamError> {
    let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("valid address");
    let socket = UdpSocket::bind(local).await?;
    // A connected socket only receives from the server.
    socket.connect(server).await?;
    socket.send(wire).await?;
    // Room for the largest datagram, left uninitialised: zeroing it would
    // fault in 16 pages per exchange where a response touches one.
    let mut buf = Vec::with_capacity(MAX_UDP_RESPONSE);
    loop {
        buf.clear();
        let len = socket.recv_buf(&mut buf).await?;
        // Spoofed or stale datagrams are dropped, not errors: the wait goes
        // on until the real answer or the deadline.
        if let Ok(response) = Message::from_vec(&buf[..len])
            && matches(request, &response)
        {
            return Ok(response);
        }
    }
}

async fn tcp(server: SocketAddr, request: &Message, wire: &[u8]) -> Result<Message, UpstreamError> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(wire.len()).map_err(|_| UpstreamError::Encode("query over 65535 bytes".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    let response = Message::from_vec(&buf).map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if !matches(request, &response) {
        return Err(UpstreamError::Malformed("the TCP response answers another query".into()));
    }
    Ok(response)
}

/// Whether `response` answers `request`: same ID, a response, and the
/// same question.
pub fn matches(request: &Message, response: &Message) -> bool {
    response.metadata.id == request.metadata.id
        && response.metadata.message_type == hickory_proto::op::MessageType::Response
        && same_question(&request.queries, &response.queries)
}

fn same_question(asked: &[Query], answered: &[Query]) -> bool {
    match (asked, answered) {
        ([a], [b]) => a.name() == b.name() && a.query_type() == b.query_type() && a.query_class() == b.query_class(),
        _ => false,
    }
}
