//! The UDP and TCP services on loopback, over the fake hierarchy; and the
//! helpers the responder's tests share.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use hickory_proto::{
    op::{Edns, Message, MessageType, OpCode, Query},
    rr::{
        Name, RecordType,
        rdata::opt::{EdnsCode, EdnsOption},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, UdpSocket},
    sync::watch,
    time::timeout,
};

use arc_swap::ArcSwap;

use super::{
    admission::Admission,
    edns::EdnsPolicy,
    hot::HotAnswers,
    respond::Responder,
    tcp::{self, TcpLimits},
    udp,
};
use crate::{
    answer_entry::RrsetOrder,
    answer_entry::WritePolicy,
    dnstap::Tap,
    policy::{
        acl::Acl,
        cookies::{self, Cookies},
        ratelimit::RateLimitSettings,
    },
    resolver::{
        Limits, Mode, Resolver,
        cache::CacheLimits,
        testnet::{FakeNet, hierarchy, hints},
    },
    wire::Nsid,
};

pub const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
/// The test responder's NSID.
pub const NSID: &[u8] = b"node-a";

/// Clients in 198.51.100.0/24 (and loopback), NSID [`NSID`], cookies on,
/// no rate limit.
fn admission() -> Admission {
    let edns = EdnsPolicy {
        udp_size: 1232,
        nsid: Nsid::new(NSID).unwrap(),
        cookies: Some(Arc::new(Cookies::new(cookies::random_secrets()))),
    };
    Admission::new(Acl::new(vec!["198.51.100.0/24".parse().unwrap()]), edns, RateLimitSettings::OFF)
}

/// [`responder`] with its admission changed by `change`.
pub fn responder_with(change: impl FnOnce(&mut Admission)) -> Responder<FakeNet> {
    let r = responder();
    let mut admission = admission();
    change(&mut admission);
    r.admission.store(Arc::new(admission));
    r
}

/// A responder over the fake hierarchy, for clients in 198.51.100.0/24 (and
/// loopback).
pub fn responder() -> Responder<FakeNet> {
    Responder {
        resolver: Arc::new(Resolver::new(
            hierarchy(),
            Mode::Recursive(hints()),
            Limits::default(),
            CacheLimits::default(),
        )),
        stats: Default::default(),
        admission: ArcSwap::from_pointee(admission()),
        sink: None,
        hot: HotAnswers::new(rand::random(), 1 << 20, None),
        write_policy: WritePolicy::default(),
        rrset_order: RrsetOrder::Fixed,
        turns: Default::default(),
    }
}

/// A query with RD and CD, ID 0xbeef, and EDNS (size, DO, version) if given.
pub fn query(qname: &str, qtype: RecordType, edns: Option<(u16, bool, u8)>) -> Vec<u8> {
    query_with_options(qname, qtype, edns, &[])
}

/// [`query`] with these EDNS options (code, data), in this order and as
/// many times as given.
pub fn query_with_options(
    qname: &str,
    qtype: RecordType,
    edns: Option<(u16, bool, u8)>,
    options: &[(u16, &[u8])],
) -> Vec<u8> {
    let mut m = Message::new(0xbeef, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = true;
    m.queries.push(Query::query(Name::from_ascii(qname).unwrap(), qtype));
    m.edns = edns.map(|(size, dnssec_ok, version)| {
        let mut e = Edns::new();
        e.set_max_payload(size);
        e.flags_mut().dnssec_ok = dnssec_ok;
        e.set_version(version);
        for (code, data) in options {
            e.options_mut().options.push((EdnsCode::from(*code), EdnsOption::Unknown(*code, data.to_vec())));
        }
        e
    });
    m.to_vec().unwrap()
}

fn with_id(mut query: Vec<u8>, id: u16) -> Vec<u8> {
    query[..2].copy_from_slice(&id.to_be_bytes());
    query
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn udp_keeps_answering_after_garbage() {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = socket.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let service = tokio::spawn(udp::serve(socket, Arc::new(responder()), Tap::off(), stopped));
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for garbage in [&[][..], &[0xff; 3][..], &[0u8; 12][..], &[0x41; 700][..]] {
        client.send_to(garbage, server).await.unwrap();
    }
    client.send_to(&query("www.example.lab.", RecordType::A, None), server).await.unwrap();
    let mut buf = [0u8; 1500];
    // Garbage with a header gets FORMERR; read until the real answer.
    let answer = timeout(WAIT, async {
        loop {
            let len = client.recv(&mut buf).await.unwrap();
            let m = Message::from_vec(&buf[..len]).unwrap();
            if !m.answers.is_empty() {
                return m;
            }
        }
    })
    .await
    .expect("the query is answered");
    assert_eq!(answer.metadata.id, 0xbeef);
    stop.send(true).unwrap();
    timeout(WAIT, service).await.expect("the service stops").unwrap();
}

async fn tcp_service(limits: TcpLimits) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(tcp::serve(listener, Arc::new(responder()), limits, Tap::off(), stopped));
    (server, stop)
}

async fn read_framed(stream: &mut TcpStream) -> Option<Message> {
    let len = stream.read_u16().await.ok()?;
    let mut buf = vec![0u8; len as usize];
    stream.read_exact(&mut buf).await.ok()?;
    Some(Message::from_vec(&buf).unwrap())
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

#[tokio::test]
async fn tcp_answers_pipelined_queries() {
    let (server, _stop) = tcp_service(TcpLimits::default()).await;
    let mut stream = TcpStream::connect(server).await.unwrap();
    let mut batch = Vec::new();
    for (id, name) in [(1, "www.example.lab."), (2, "big.example.lab."), (3, "www.lab.")] {
        let qtype = if id == 2 { RecordType::TXT } else { RecordType::A };
        batch.extend(framed(&with_id(query(name, qtype, None), id)));
    }
    stream.write_all(&batch).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let m = timeout(WAIT, read_framed(&mut stream)).await.unwrap().expect("an answer");
        assert!(!m.answers.is_empty() && !m.metadata.truncation);
        ids.push(m.metadata.id);
    }
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
}

#[tokio::test]
async fn tcp_cuts_off_clients_that_trickle_or_stall() {
    let limits = TcpLimits { idle: Duration::from_millis(300), ..TcpLimits::default() };
    let (server, _stop) = tcp_service(limits).await;
    // Half a length prefix, then nothing: closed after the idle timeout.
    let mut slow = TcpStream::connect(server).await.unwrap();
    slow.write_all(&[0]).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = timeout(WAIT, slow.read(&mut byte)).await.expect("closed by the server");
    assert!(matches!(closed, Ok(0) | Err(_)));
    // A frame that claims more than it brings: the same.
    let mut short = TcpStream::connect(server).await.unwrap();
    short.write_all(&[0xff, 0xff, 1, 2, 3]).await.unwrap();
    let closed = timeout(WAIT, short.read(&mut byte)).await.expect("closed by the server");
    assert!(matches!(closed, Ok(0) | Err(_)));
    // Meanwhile others are served.
    let mut good = TcpStream::connect(server).await.unwrap();
    good.write_all(&framed(&query("www.lab.", RecordType::A, None))).await.unwrap();
    assert!(timeout(WAIT, read_framed(&mut good)).await.unwrap().is_some());
}

#[tokio::test]
async fn tcp_takes_a_few_connections_per_client_and_sheds_one_that_does_not_read() {
    let limits = TcpLimits { write: Duration::from_millis(300), max_connections_per_client: 2, ..TcpLimits::default() };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let (_stop, stopped) = watch::channel(false);
    let r = Arc::new(responder());
    tokio::spawn(tcp::serve(listener, r.clone(), limits, Tap::off(), stopped));
    // A client that sends and never reads, on a small receive buffer.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut greedy = socket.connect(server).await.unwrap();
    let big = framed(&query("big.example.lab.", RecordType::TXT, None));
    let flood = async {
        for _ in 0..20_000 {
            if greedy.write_all(&big).await.is_err() {
                return;
            }
        }
    };
    let _ = timeout(WAIT, flood).await;
    let stalled = || r.stats.errors().find(|(kind, _)| *kind == "tcp_stalled").map_or(0, |(_, n)| n);
    timeout(WAIT, async {
        while stalled() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the connection that does not read is cut");
    // Its slot is free again: two more from the same client, not three.
    let mut first = TcpStream::connect(server).await.unwrap();
    let mut second = TcpStream::connect(server).await.unwrap();
    let mut third = TcpStream::connect(server).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = timeout(WAIT, third.read(&mut byte)).await.expect("the third is closed at once");
    assert!(matches!(closed, Ok(0) | Err(_)));
    for stream in [&mut first, &mut second] {
        stream.write_all(&framed(&query("www.lab.", RecordType::A, None))).await.unwrap();
        assert!(timeout(WAIT, read_framed(stream)).await.unwrap().is_some(), "the client's two connections are served");
    }
    let limited = r.stats.errors().find(|(kind, _)| *kind == "tcp_client_limit").map(|(_, n)| n);
    assert_eq!(limited, Some(1));
}

#[tokio::test]
async fn tcp_queries_are_rate_limited_with_buckets_of_their_own() {
    use crate::policy::ratelimit::Limiter;
    let settings = RateLimitSettings { responses_per_second: 5, burst: 5, ..RateLimitSettings::OFF };
    let r = Arc::new(responder_with(|a| a.tcp_limiter = Limiter::new(&settings).map(Arc::new)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let (_stop, stopped) = watch::channel(false);
    tokio::spawn(tcp::serve(listener, r.clone(), TcpLimits::default(), Tap::off(), stopped));
    let mut stream = TcpStream::connect(server).await.unwrap();
    let batch: Vec<u8> = (0..20).flat_map(|id| framed(&with_id(query("www.lab.", RecordType::A, None), id))).collect();
    stream.write_all(&batch).await.unwrap();
    let mut answered = 0;
    while timeout(Duration::from_millis(500), read_framed(&mut stream)).await.is_ok_and(|m| m.is_some()) {
        answered += 1;
    }
    assert_eq!(answered, 5, "the burst");
    assert_eq!(r.stats.tcp_rate_dropped.load(std::sync::atomic::Ordering::Relaxed), 15);
}
