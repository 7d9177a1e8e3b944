//! What the fuzz targets share: a responder over an upstream that answers
//! from the fuzzer's bytes, and a runtime to drive it.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
};

use anycast_user::{
    answer_entry::{AnswerEntry, RrsetOrder, WritePolicy},
    policy::{
        acl::Acl,
        cookies::{self, Cookies},
        ratelimit::RateLimitSettings,
    },
    resolver::{
        Limits, Mode, Resolver,
        cache::CacheLimits,
        hints::RootHints,
        upstream::{Upstream, UpstreamError},
    },
    server::{admission::Admission, edns::EdnsPolicy, hot::HotAnswers, respond::Responder},
    wire::Nsid,
};
use arc_swap::ArcSwap;
use hickory_proto::{
    op::{Edns, Message, MessageType, OpCode, Query},
    rr::{Name, RData, Record, RecordType, rdata::A},
};

/// Upstream replies taken in turn from the fuzzer's input: each is
/// decoded, then given the request's ID and question (so that it is
/// matched and reaches the resolver's logic); none left is a timeout.
pub struct Replies(Mutex<VecDeque<Vec<u8>>>);

impl Replies {
    /// Splits `data` into replies, each prefixed by a 16-bit length.
    pub fn new(mut data: &[u8]) -> Replies {
        let mut replies = VecDeque::new();
        while data.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
            replies.push_back(data[2..2 + len].to_vec());
            data = &data[2 + len..];
        }
        Replies(Mutex::new(replies))
    }

    pub fn none() -> Replies {
        Replies(Mutex::new(VecDeque::new()))
    }
}

impl Upstream for Replies {
    async fn exchange(&self, _server: SocketAddr, request: Message) -> Result<Message, UpstreamError> {
        let Some(bytes) = self.0.lock().unwrap().pop_front() else {
            return Err(UpstreamError::Timeout(std::time::Duration::from_millis(800)));
        };
        let mut reply = Message::from_vec(&bytes).map_err(|e| UpstreamError::Malformed(e.to_string()))?;
        reply.metadata.id = request.metadata.id;
        reply.queries = request.queries.clone();
        Ok(reply)
    }
}

/// A recursive responder over `upstream`, for clients in 10.0.0.0/8,
/// turning the RRsets it can (so that whatever upstreams send goes through
/// the rotation too).
pub fn responder(upstream: Replies) -> Responder<Replies> {
    Responder {
        resolver: Arc::new(Resolver::new(
            upstream,
            Mode::Recursive(RootHints::iana()),
            Limits::default(),
            CacheLimits::default(),
        )),
        stats: Default::default(),
        admission: ArcSwap::from_pointee(admission(RateLimitSettings::OFF)),
        sink: None,
        hot: hot_answers().with_rrset_order(RrsetOrder::Rotate),
        write_policy: WritePolicy::default(),
        rrset_order: RrsetOrder::Rotate,
        turns: Default::default(),
    }
}

/// The name the hot answers have an answer for (A, with and without DO).
pub const HOT_NAME: &str = "www.example.";

/// Hot answers holding the answer for [`HOT_NAME`], so that queries built
/// from the fuzzer's bytes can reach the code that writes a response.
fn hot_answers() -> HotAnswers {
    let hot = HotAnswers::new([1, 2], 1 << 16, None);
    let name = Name::from_ascii(HOT_NAME).expect("a name");
    for dnssec_ok in [false, true] {
        let mut response = Message::new(0, MessageType::Response, OpCode::Query);
        response.queries.push(Query::query(name.clone(), RecordType::A));
        response.answers.push(Record::from_rdata(name.clone(), 300, RData::A(A::new(192, 0, 2, 1))));
        let mut edns = Edns::new();
        edns.flags_mut().dnssec_ok = dnssec_ok;
        response.edns = Some(edns);
        let entry = AnswerEntry::from_response(
            &response,
            hot.hash_key(),
            anycast_user::clock::boottime_ns(),
            &WritePolicy::default(),
        )
        .expect("a cacheable answer");
        hot.insert(&entry, false);
    }
    hot
}

/// `responder` with a rate limit that slips every query after the first.
pub fn limited(responder: Responder<Replies>) -> Responder<Replies> {
    let settings = RateLimitSettings { responses_per_second: 1, burst: 1, slip: 1, ..RateLimitSettings::OFF };
    responder.admission.store(Arc::new(admission(settings)));
    responder
}

/// Clients in 10.0.0.0/8, NSID `fuzz`, cookies on, rate limited by
/// `rate_limit`.
fn admission(rate_limit: RateLimitSettings) -> Admission {
    let edns = EdnsPolicy {
        udp_size: 1232,
        nsid: Nsid::new(b"fuzz").expect("a short NSID"),
        cookies: Some(Arc::new(Cookies::new(cookies::random_secrets()))),
    };
    Admission::new(Acl::new(vec!["10.0.0.0/8".parse().unwrap()]), edns, rate_limit)
}

/// Runs `future` to completion on one shared single-threaded runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap())
        .block_on(future)
}
