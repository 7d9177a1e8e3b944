//! Talking to other servers: one query, one matched response.
//!
//! [`Upstream`] is what the resolver needs of the network, so tests can
//! put a fake one in its place. [`NetUpstream`] is the real one: each query
//! goes from a fresh UDP socket (a random source port, chosen by the
//! kernel) with a random ID (RFC 5452); a response counts only if it comes
//! from the server it was sent to and carries the same ID and question, in
//! the very case it was asked in (0x20, see `case`); anything else is
//! dropped and the wait goes on. A truncated response is asked again over
//! TCP (RFC 7766), where the case need not match: TCP cannot be forged
//! blind.

use std::{future::Future, net::SocketAddr, time::Duration};

use hickory_proto::op::Message;

use super::upstream_tap::UpstreamTap;
use crate::dnstap::Protocol;
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
    /// Replies came, but none echoed the question's case: the server does
    /// not keep it (or only forgers answered). Ask it without 0x20.
    #[error("no reply echoed the question's case within {0:?}")]
    CaseMismatch(Duration),
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
/// together), and what of it goes to dnstap.
pub struct NetUpstream {
    pub timeout: Duration,
    pub tap: UpstreamTap,
}

const MAX_UDP_RESPONSE: usize = 65_535;

impl Upstream for NetUpstream {
    async fn exchange(&self, server: SocketAddr, mut request: Message) -> Result<Message, UpstreamError> {
        let deadline = Instant::now() + self.timeout;
        request.metadata.id = rand::random();
        let wire = request.to_vec().map_err(|e| UpstreamError::Encode(e.to_string()))?;
        let mut case_mismatch = false;
        let exchange = async {
            let response = udp(server, &request, &wire, &self.tap, &mut case_mismatch).await?;
            if response.metadata.truncation { tcp(server, &request, &wire, &self.tap).await } else { Ok(response) }
        };
        match timeout_at(deadline, exchange).await {
            Ok(outcome) => outcome,
            Err(_) if case_mismatch => Err(UpstreamError::CaseMismatch(self.timeout)),
            Err(_) => Err(UpstreamError::Timeout(self.timeout)),
        }
    }
}

/// The UDP reply to `request`; `case_mismatch` turns true if a datagram
/// answered it in another case.
async fn udp(
    server: SocketAddr,
    request: &Message,
    wire: &[u8],
    tap: &UpstreamTap,
    case_mismatch: &mut bool,
) -> Result<Message, UpstreamError> {
    let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("valid address");
    let socket = UdpSocket::bind(local).await?;
    // A connected socket only receives from the server.
    socket.connect(server).await?;
    let local = socket.local_addr()?;
    socket.send(wire).await?;
    let sent = tap.query(Protocol::Udp, local, server, wire);
    // Room for the largest datagram, left uninitialised: zeroing it would
    // fault in 16 pages per exchange where a response touches one.
    let mut buf = Vec::with_capacity(MAX_UDP_RESPONSE);
    loop {
        buf.clear();
        let len = socket.recv_buf(&mut buf).await?;
        // Spoofed or stale datagrams are dropped, not errors: the wait goes
        // on until the real answer or the deadline.
        let Ok(response) = Message::from_vec(&buf[..len]) else { continue };
        match matches(request, &response) {
            Match::Exact => {
                tap.response(Protocol::Udp, local, server, &buf[..len], sent);
                return Ok(response);
            }
            Match::OtherCase => *case_mismatch = true,
            Match::No => {}
        }
    }
}

async fn tcp(server: SocketAddr, request: &Message, wire: &[u8], tap: &UpstreamTap) -> Result<Message, UpstreamError> {
    let mut stream = TcpStream::connect(server).await?;
    let local = stream.local_addr()?;
    let len = u16::try_from(wire.len()).map_err(|_| UpstreamError::Encode("query over 65535 bytes".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed).await?;
    let sent = tap.query(Protocol::Tcp, local, server, wire);
    let len = stream.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    tap.response(Protocol::Tcp, local, server, &buf, sent);
    let response = Message::from_vec(&buf).map_err(|e| UpstreamError::Malformed(e.to_string()))?;
    if matches(request, &response) == Match::No {
        return Err(UpstreamError::Malformed("the TCP response answers another query".into()));
    }
    Ok(response)
}

/// How a response relates to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Same ID, a response, the same question in the same case.
    Exact,
    /// All that, but the question's name in another case.
    OtherCase,
    No,
}

/// Whether `response` answers `request`.
pub fn matches(request: &Message, response: &Message) -> Match {
    let answers = response.metadata.id == request.metadata.id
        && response.metadata.message_type == hickory_proto::op::MessageType::Response;
    match (answers, request.queries.as_slice(), response.queries.as_slice()) {
        (true, [a], [b]) if a.query_type() == b.query_type() && a.query_class() == b.query_class() => {
            match (a.name().eq_case(b.name()), a.name() == b.name()) {
                (true, _) => Match::Exact,
                (false, true) => Match::OtherCase,
                (false, false) => Match::No,
            }
        }
        _ => Match::No,
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::{
        op::Query,
        rr::{Name, RData, Record, RecordType, rdata::A},
    };

    use super::*;

    /// A server on loopback that sends back, for each query, the replies
    /// `replies` makes of it, in order.
    async fn server(replies: fn(&Message) -> Vec<Message>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((len, client)) = socket.recv_from(&mut buf).await {
                let query = Message::from_vec(&buf[..len]).unwrap();
                for reply in replies(&query) {
                    socket.send_to(&reply.to_vec().unwrap(), client).await.unwrap();
                }
            }
        });
        addr
    }

    fn reply(query: &Message, name: &str, last: u8) -> Message {
        let mut reply = query.clone();
        reply.metadata.message_type = hickory_proto::op::MessageType::Response;
        reply.queries = vec![Query::query(Name::from_ascii(name).unwrap(), RecordType::A)];
        reply.answers =
            vec![Record::from_rdata(Name::from_ascii(name).unwrap(), 60, RData::A(A::new(192, 0, 2, last)))];
        reply
    }

    fn asked(query: &Message) -> String {
        query.queries[0].name().to_ascii()
    }

    fn request(name: &str) -> Message {
        let mut request = Message::query();
        request.queries.push(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        request
    }

    const TIMEOUT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn only_a_reply_in_the_case_asked_is_taken() {
        let addr = server(|query| {
            let mut wrong_id = reply(query, &asked(query), 66);
            wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
            vec![wrong_id, reply(query, "www.example.lab.", 67), reply(query, &asked(query), 1)]
        })
        .await;
        let upstream = NetUpstream { timeout: TIMEOUT, tap: UpstreamTap::default() };
        let response = upstream.exchange(addr, request("wWw.ExaMple.LAB.")).await.expect("the real reply");
        assert_eq!(response.queries[0].name().to_ascii(), "wWw.ExaMple.LAB.");
        assert_eq!(response.answers[0].data, RData::A(A::new(192, 0, 2, 1)), "not a forgery");
    }

    #[tokio::test]
    async fn replies_only_in_another_case_are_a_case_mismatch() {
        let addr = server(|query| vec![reply(query, &asked(query).to_lowercase(), 1)]).await;
        let upstream = NetUpstream { timeout: TIMEOUT, tap: UpstreamTap::default() };
        let outcome = upstream.exchange(addr, request("wWw.ExaMple.LAB.")).await;
        assert!(matches!(outcome, Err(UpstreamError::CaseMismatch(_))), "{outcome:?}");
        let lower = upstream.exchange(addr, request("www.example.lab.")).await;
        assert!(lower.is_ok(), "asked in its own case, the same server is answered: {lower:?}");
    }
}
