//! One query in, at most one response out: what the daemon does with every
//! query that reaches it (the fast path's misses, TCP, and everything the
//! fast path is not sure about).
//!
//! Responses follow the fast path's conventions, so that both paths send
//! the same bytes for the same question: the client's question echoed as
//! received, QR and RA set, RD and CD echoed, AA clear, AD set for secure
//! data when the query had DO or AD (RFC 6840 5.8), sections assembled by
//! [`crate::wire`] (RRSIG, NSEC and NSEC3 only for DO queries), the node's
//! OPT record when the query had one. A bogus answer is SERVFAIL with the
//! Extended DNS Error that says why, unless the query had CD, which gets
//! the data unvalidated. Cacheable answers are kept among the hot answers,
//! and written into the answer map once asked again (see `hot`).

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering::Relaxed},
    },
};

use anycast_common::{
    dns::{self, HEADER_LEN, OptionUse, option_use},
    ratelimit::Verdict,
};
use arc_swap::ArcSwap;
use hickory_proto::{
    op::{Message, OpCode, ResponseCode},
    rr::{DNSClass, RecordType},
};

use super::{
    admission::Admission,
    edns::{MalformedCookie, QueryEdns},
    hot::HotAnswers,
    query_view::QueryView,
    stats::{Error, Stats},
    transport::Transport,
};
use crate::{
    answer_entry::{AnswerEntry, RrsetOrder, WritePolicy, rotation_of},
    clock,
    dnssec::Security,
    policy::ratelimit::Limiter,
    resolver::{Answer, Resolver, upstream::Upstream},
    wire::{self, ResponseEdns, Sections},
};

/// EDNS version this node speaks (RFC 6891).
const EDNS_VERSION: u8 = 0;

/// Where the responder offers the entries it makes of the answers it
/// sends over UDP: the fast path's feed, which writes them into the map.
pub trait AnswerSink: Send + Sync {
    /// `entry`, made with the sink's hash key, answers its question.
    fn offer(&self, entry: &AnswerEntry);
}

/// What the hot answers did with a UDP query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hot {
    /// The response is written.
    Answered,
    /// The rate limiter dropped it: nothing to send.
    Dropped,
    /// Not theirs: the full path answers it.
    Missed,
}

pub struct Responder<U> {
    pub resolver: Arc<Resolver<U>>,
    pub stats: Stats,
    /// The ACL, the OPT record's making and the rate limits, swapped whole
    /// on reload.
    pub admission: ArcSwap<Admission>,
    pub sink: Option<Arc<dyn AnswerSink>>,
    /// The answers given, kept to answer repeats at once over any
    /// transport; made with the sink's hash key when there is a sink.
    pub hot: HotAnswers,
    /// Which answers are kept, and for how long: the map's rules.
    pub write_policy: WritePolicy,
    /// How answers order their last A or AAAA RRset, as the fast path's
    /// and the hot answers'; `turns` counts the answers this path gave.
    pub rrset_order: RrsetOrder,
    pub turns: AtomicU32,
}

/// What a query asks for, once it is known to be one worth answering.
struct Parsed {
    /// Question bytes as received: name, type, class.
    question: Vec<u8>,
    message: Message,
}

impl<U: Upstream> Responder<U> {
    /// The response to `query` from `client`, or None when the query must
    /// not be answered at all (too short to carry an ID, or a response).
    pub async fn respond(&self, query: &[u8], client: IpAddr, transport: Transport) -> Option<Vec<u8>> {
        self.stats.query(transport);
        let response = self.response(query, client, transport).await?;
        let rcode = u16::from(response[3] & 0x0f);
        self.stats.response(rcode);
        Some(response)
    }

    /// The response to `query` over a stream (TCP, TLS, HTTPS), whose
    /// rate limit the caller applied: from the hot answers if one is kept
    /// for it, else from the full path.
    pub async fn respond_stream(&self, query: &[u8], client: IpAddr, transport: Transport) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self.respond_hot(query, client, transport, &mut out) {
            Hot::Answered => Some(out),
            Hot::Missed | Hot::Dropped => self.respond(query, client, transport).await,
        }
    }

    /// Answers a query from the hot answers into `out`, as the full path
    /// would (but for the TTLs' age), if one is kept for it: the same ACL,
    /// EDNS and (over UDP) rate limit, the same counters.
    pub fn respond_hot(&self, query: &[u8], client: IpAddr, transport: Transport, out: &mut Vec<u8>) -> Hot {
        let Some(view) = QueryView::parse(query) else { return Hot::Missed };
        let tailored = view.opt.is_some_and(|o| o.options().any(|(code, _)| option_use(code) == OptionUse::Tailoring));
        let admission = self.admission.load();
        if view.qclass != u16::from(DNSClass::IN) || tailored || !admission.acl.allows(client) {
            return Hot::Missed;
        }
        let edns = match view.opt.map(|opt| admission.edns.answer(opt.dnssec_ok, opt.options(), client)) {
            None => None,
            Some(Ok(edns)) => Some(edns),
            Some(Err(MalformedCookie)) => return Hot::Missed,
        };
        let Some(found) = self.hot.answer(&view, edns.as_ref().map(|e| &e.response), clock::boottime_ns(), out) else {
            return Hot::Missed;
        };
        let sizes = view.opt.zip(edns).map(|(query, node)| (query.udp_size, node.response.udp_size));
        if found.len > transport.max_response(sizes) {
            // The full path answers it, and offers its entry itself.
            return Hot::Missed;
        }
        if let Some((entry, sink)) = found.reoffer.as_ref().zip(self.sink.as_ref()) {
            sink.offer(entry);
        }
        self.stats.query(transport);
        let limiter = if transport == Transport::Udp { admission.limiter.as_deref() } else { None };
        match self.admit(limiter, client, edns.is_some_and(|e| e.proven)) {
            Verdict::Answer => {}
            Verdict::Slip => *out = slipped(view.id, view.flags, view.question, edns.map(Ok)),
            Verdict::Drop => return Hot::Dropped,
        }
        self.stats.response(u16::from(out[3] & 0x0f));
        Hot::Answered
    }

    async fn response(&self, query: &[u8], client: IpAddr, transport: Transport) -> Option<Vec<u8>> {
        let header: &[u8; HEADER_LEN] = query.get(..HEADER_LEN)?.try_into().ok()?;
        let id = u16::from_be_bytes([header[0], header[1]]);
        let flags = u16::from_be_bytes([header[2], header[3]]);
        if flags & dns::FLAG_QR != 0 {
            return None;
        }
        let error = |rcode: ResponseCode, question: &[u8]| {
            let rcode = u16::from(rcode) as u8;
            wire::assemble(id, dns::response_flags(flags, rcode), question, None, None)
        };
        let parsed = parse(query);
        let admission = self.admission.load();
        let query_edns =
            parsed.as_ref().ok().and_then(|p| p.message.edns.as_ref()).map(|e| admission.edns.answer_parsed(e, client));
        if transport == Transport::Udp {
            // Every datagram is charged, but for those of clients that
            // proved their address with a server cookie.
            match self.admit(admission.limiter.as_deref(), client, matches!(query_edns, Some(Ok(q)) if q.proven)) {
                Verdict::Answer => {}
                Verdict::Slip => return parsed.ok().map(|p| slipped(id, flags, &p.question, query_edns)),
                Verdict::Drop => return None,
            }
        }
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(rcode) => return Some(without_question(error(rcode, &[]))),
        };
        let edns = match query_edns {
            None => None,
            Some(Ok(query_edns)) => Some(query_edns.response),
            Some(Err(MalformedCookie)) => {
                let edns = parsed.message.edns.as_ref().map(|e| admission.edns.without_options(e.flags().dnssec_ok));
                return Some(with_edns(error(ResponseCode::FormErr, &parsed.question), edns));
            }
        };
        if parsed.message.metadata.op_code != OpCode::Query {
            return Some(with_edns(error(ResponseCode::NotImp, &parsed.question), edns));
        }
        if let (Some(query_edns), Some(edns)) = (&parsed.message.edns, edns)
            && query_edns.version() > EDNS_VERSION
        {
            let (rcode, extended_rcode) = dns::split_rcode(dns::RCODE_BADVERS);
            let edns = ResponseEdns { extended_rcode, ..edns };
            return Some(wire::assemble(id, dns::response_flags(flags, rcode), &parsed.question, None, Some(edns)));
        }
        let question = &parsed.message.queries[0];
        if !admission.acl.allows(client) || question.query_class() != DNSClass::IN {
            return Some(with_edns(error(ResponseCode::Refused, &parsed.question), edns));
        }
        if matches!(question.query_type(), RecordType::AXFR | RecordType::IXFR) {
            // Zone transfers are for authoritative servers.
            return Some(with_edns(error(ResponseCode::Refused, &parsed.question), edns));
        }

        let answer = self.resolver.resolve(question).await;
        if answer.dropped {
            return None;
        }
        Some(self.answered(id, flags, &parsed, edns, transport, &answer))
    }

    /// The response that carries `answer`: truncated if it is too large
    /// for the transport, a stale one marked (EDE 3), a bogus one
    /// SERVFAIL, and offered to the sink when it went over UDP.
    fn answered(
        &self,
        id: u16,
        flags: u16,
        parsed: &Parsed,
        edns: Option<ResponseEdns>,
        transport: Transport,
        answer: &Answer,
    ) -> Vec<u8> {
        let question = &parsed.message.queries[0];
        if let Security::Bogus(why) = answer.security
            && flags & dns::FLAG_CD == 0
        {
            self.stats.bogus.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let rcode = u16::from(ResponseCode::ServFail) as u8;
            let edns = edns.map(|e| ResponseEdns { ede: Some(why.ede()), ..e });
            return wire::assemble(id, dns::response_flags(flags, rcode), &parsed.question, None, edns);
        }
        let dnssec_ok = edns.is_some_and(|e| e.dnssec_ok);
        let (answers, authorities) = answer.sections(dnssec_ok, question.query_type());
        let mut sections = match Sections::encode(question, &answers, &authorities, &[]) {
            Ok(sections) => sections,
            Err(e) => {
                self.stats.error(Error::Encode);
                tracing::warn!(%question, error = %e, "cannot encode the answer");
                let rcode = u16::from(ResponseCode::ServFail) as u8;
                let servfail = wire::assemble(id, dns::response_flags(flags, rcode), &parsed.question, None, None);
                return with_edns(servfail, edns);
            }
        };
        if self.rrset_order != RrsetOrder::Fixed {
            let rotation = rotation_of(&sections.data, sections.ancount);
            self.rrset_order.turn(&rotation, self.turns.fetch_add(1, Relaxed), &mut sections.data);
        }
        let edns = edns.map(|e| ResponseEdns { ede: answer.stale.then_some(wire::EDE_STALE_ANSWER), ..e });
        let rcode = u16::from(answer.rcode) as u8;
        let secure = answer.security == Security::Secure;
        let flags = dns::response_flags(flags, rcode) | dns::authentic_data(flags, dnssec_ok, secure);
        let response = wire::assemble(id, flags, &parsed.question, Some(&sections), edns);
        let sizes = parsed.message.edns.as_ref().zip(edns).map(|(query, node)| (query.max_payload(), node.udp_size));
        if response.len() > transport.max_response(sizes) {
            // Truncated: the question (and OPT) only, TC set; the client
            // asks again over TCP.
            self.stats.truncated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tc = flags | dns::FLAG_TC;
            return wire::assemble(id, tc, &parsed.question, None, edns);
        }
        // Whatever the transport: a name asked only over DoT or DoH is
        // hot too, and its entry is the one a UDP query of the same shape
        // is answered from (the fast path's among them).
        self.keep(&parsed.message, answer, false);
        response
    }

    /// Resolves `query` (one question; EDNS only for DO) as a client's
    /// would be and keeps its answer among the hot answers and in the
    /// sink, as the full path does; no client's, so neither counted nor
    /// charged. False if it failed (SERVFAIL, bogus, dropped). For the
    /// warm start.
    pub async fn warm(&self, query: &Message) -> bool {
        let Some(question) = query.queries.first() else { return false };
        let answer = self.resolver.resolve(question).await;
        if answer.dropped || answer.rcode == ResponseCode::ServFail || matches!(answer.security, Security::Bogus(_)) {
            return false;
        }
        // A peer's hot name: to the map at once.
        self.keep(query, &answer, true);
        true
    }

    /// Keeps the entry `answer` makes among the hot answers, if it may go
    /// there, and offers it to the sink when they say it is in demand (see
    /// [`HotAnswers::insert`]; `known_hot` says it is).
    fn keep(&self, query: &Message, answer: &Answer, known_hot: bool) {
        let now = clock::boottime_ns();
        match AnswerEntry::for_answer(query, answer, self.hot.hash_key(), now, &self.write_policy) {
            Ok(entry) => {
                if self.hot.insert(&entry, known_hot)
                    && let Some(sink) = &self.sink
                {
                    sink.offer(&entry);
                }
            }
            Err(refusal) => tracing::trace!(question = %query.queries[0], %refusal, "not kept"),
        }
    }

    /// The verdict of `limiter` (the UDP one) on a query from `client`,
    /// counted.
    fn admit(&self, limiter: Option<&Limiter>, client: IpAddr, proven: bool) -> Verdict {
        let Some(limiter) = limiter.filter(|_| !proven) else { return Verdict::Answer };
        let verdict = limiter.admit(client, clock::boottime_ns());
        match verdict {
            Verdict::Answer => {}
            Verdict::Slip => _ = self.stats.slipped.fetch_add(1, Relaxed),
            Verdict::Drop => _ = self.stats.rate_dropped.fetch_add(1, Relaxed),
        }
        verdict
    }
}

/// The rate limiter's slip: no records, the question and OPT as for an
/// answer. TC set (the client retries over TCP), or BADCOOKIE with a new
/// server cookie for a query with a client cookie: the client retries over
/// UDP with it and is let through (RFC 7873 5.2.3). The fast path slips
/// the same way.
fn slipped(id: u16, flags: u16, question: &[u8], edns: Option<Result<QueryEdns, MalformedCookie>>) -> Vec<u8> {
    match edns {
        Some(Ok(edns)) if edns.has_cookie => {
            let (rcode, extended_rcode) = dns::split_rcode(dns::RCODE_BADCOOKIE);
            let edns = ResponseEdns { extended_rcode, ..edns.response };
            wire::assemble(id, dns::response_flags(flags, rcode), question, None, Some(edns))
        }
        edns => {
            let tc = dns::response_flags(flags, dns::RCODE_NOERROR) | dns::FLAG_TC;
            wire::assemble(id, tc, question, None, edns.and_then(Result::ok).map(|e| e.response))
        }
    }
}

/// Parses a query that is not a response: one question, uncompressed,
/// nothing hickory rejects. The error is the RCODE to answer with.
fn parse(query: &[u8]) -> Result<Parsed, ResponseCode> {
    let message = Message::from_vec(query).map_err(|_| ResponseCode::FormErr)?;
    if message.queries.len() != 1 {
        return Err(ResponseCode::FormErr);
    }
    // The question as received, for echoing: an uncompressed name then
    // type and class.
    let name_len = wire::name_len(&query[HEADER_LEN..]).ok_or(ResponseCode::FormErr)?;
    let question = query.get(HEADER_LEN..HEADER_LEN + name_len + 4).ok_or(ResponseCode::FormErr)?.to_vec();
    Ok(Parsed { question, message })
}

/// A FORMERR for a query whose question could not be read: QDCOUNT 0.
fn without_question(mut response: Vec<u8>) -> Vec<u8> {
    response[4..6].copy_from_slice(&0u16.to_be_bytes());
    response
}

/// An error response with the node's OPT record appended when the query
/// had EDNS.
fn with_edns(mut response: Vec<u8>, edns: Option<ResponseEdns>) -> Vec<u8> {
    if let Some(edns) = edns {
        let count = u16::from_be_bytes([response[10], response[11]]) + 1;
        response[10..12].copy_from_slice(&count.to_be_bytes());
        edns.write_record(&mut response);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        resolver::testnet::{FakeNet, name},
        server::tests::{CLIENT, query, responder},
    };

    async fn ask(r: &Responder<FakeNet>, q: &[u8], transport: Transport) -> Message {
        let bytes = r.respond(q, CLIENT, transport).await.expect("a response");
        Message::from_vec(&bytes).expect("the response parses")
    }

    #[tokio::test]
    async fn answers_echo_the_question_and_use_the_fast_path_flags() {
        let r = responder();
        let q = query("WwW.eXaMpLe.lab.", RecordType::A, Some((1232, true, 0)));
        let bytes = r.respond(&q, CLIENT, Transport::Udp).await.unwrap();
        let question_len = wire::name_len(&q[12..]).unwrap() + 4;
        assert_eq!(bytes[..2], q[..2], "ID");
        assert_eq!(bytes[12..12 + question_len], q[12..12 + question_len], "question byte for byte");
        let m = Message::from_vec(&bytes).unwrap();
        let meta = &m.metadata;
        assert!(meta.recursion_available && meta.recursion_desired && meta.checking_disabled);
        assert!(!meta.authoritative && !meta.authentic_data && !meta.truncation);
        assert_eq!(m.answers.len(), 1);
        let edns = m.edns.expect("OPT echoed");
        assert_eq!((edns.max_payload(), edns.flags().dnssec_ok), (1232, true));
    }

    #[tokio::test]
    async fn malformed_queries_and_responses() {
        let r = responder();
        assert_eq!(r.respond(&[0u8; 11], CLIENT, Transport::Udp).await, None, "no ID to answer to");
        let mut response = query("www.example.lab.", RecordType::A, None);
        response[2] |= 0x80;
        assert_eq!(r.respond(&response, CLIENT, Transport::Udp).await, None, "responses are never answered");
        let garbage = [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1];
        let m = ask(&r, &garbage, Transport::Udp).await;
        assert_eq!((m.metadata.response_code, m.queries.len()), (ResponseCode::FormErr, 0));
        let mut notify = query("www.example.lab.", RecordType::SOA, None);
        notify[2] = (notify[2] & 0x87) | (4 << 3);
        assert_eq!(ask(&r, &notify, Transport::Udp).await.metadata.response_code, ResponseCode::NotImp);
    }

    #[tokio::test]
    async fn refuses_outsiders_other_classes_and_transfers() {
        let r = responder();
        let q = query("www.example.lab.", RecordType::A, Some((1232, false, 0)));
        let outsider = r.respond(&q, "203.0.113.9".parse().unwrap(), Transport::Udp).await.unwrap();
        let m = Message::from_vec(&outsider).unwrap();
        assert_eq!((m.metadata.response_code, m.answers.len()), (ResponseCode::Refused, 0));
        assert!(m.edns.is_some(), "OPT on errors too");
        let mut chaos = query("version.bind.", RecordType::TXT, None);
        let at = chaos.len() - 1;
        chaos[at] = 3;
        assert_eq!(ask(&r, &chaos, Transport::Udp).await.metadata.response_code, ResponseCode::Refused);
        let axfr = query("example.lab.", RecordType::AXFR, None);
        assert_eq!(ask(&r, &axfr, Transport::Tcp).await.metadata.response_code, ResponseCode::Refused);
        assert_eq!(r.resolver.cache_len(), 0, "nothing was resolved for them");
    }

    #[tokio::test]
    async fn unknown_edns_version_is_badvers() {
        let r = responder();
        let bytes = r
            .respond(&query("www.example.lab.", RecordType::A, Some((1232, false, 1))), CLIENT, Transport::Udp)
            .await
            .unwrap();
        let m = Message::from_vec(&bytes).unwrap();
        // 16 is BADVERS in an OPT context (RFC 6891); hickory calls it BADSIG.
        assert_eq!(u16::from(m.metadata.response_code), 16);
        assert_eq!(m.edns.unwrap().version(), 0);
    }

    #[tokio::test]
    async fn udp_answers_over_the_clients_size_are_truncated() {
        let r = responder();
        let plain = ask(&r, &query("big.example.lab.", RecordType::TXT, None), Transport::Udp).await;
        assert!(plain.metadata.truncation && plain.answers.is_empty(), "over 512 without EDNS: TC");
        assert_eq!(plain.queries.len(), 1);
        let edns = ask(&r, &query("big.example.lab.", RecordType::TXT, Some((1232, false, 0))), Transport::Udp).await;
        assert!(!edns.metadata.truncation && edns.answers.len() == 3, "fits 1232");
        let small = ask(&r, &query("big.example.lab.", RecordType::TXT, Some((600, false, 0))), Transport::Udp).await;
        assert!(small.metadata.truncation, "the client's own size counts");
        let tcp = ask(&r, &query("big.example.lab.", RecordType::TXT, None), Transport::Tcp).await;
        assert!(!tcp.metadata.truncation && tcp.answers.len() == 3, "TCP carries it all");
    }

    #[tokio::test]
    async fn a_stale_answer_is_marked_with_ede_3_and_ttl_30() {
        use crate::resolver::{
            Limits, Mode,
            cache::CacheLimits,
            testnet::{Behavior, a, hierarchy, hints, ip, lab_zone},
        };
        let mut lab = lab_zone();
        lab.records.push(a("short.lab.", 1, ip(120)));
        let net = hierarchy().serve(ip(2), Behavior::Authoritative, vec![lab]);
        let resolver = Resolver::new(net, Mode::Recursive(hints()), Limits::default(), CacheLimits::default());
        let r = Responder { resolver: Arc::new(resolver), ..responder() };
        let plain = query("short.lab.", RecordType::A, None);
        let with_edns = query("short.lab.", RecordType::A, Some((1232, false, 0)));
        ask(&r, &plain, Transport::Udp).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        r.resolver.upstream_for_tests().outage.store(true, std::sync::atomic::Ordering::Relaxed);
        let bytes = r.respond(&with_edns, CLIENT, Transport::Udp).await.unwrap();
        assert_eq!(bytes[bytes.len() - 6..], [0, 15, 0, 2, 0, 3], "EDE option 15, INFO-CODE 3 (stale answer)");
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!((m.metadata.response_code, m.answers.len(), m.answers[0].ttl), (ResponseCode::NoError, 1, 30));
        let without = ask(&r, &plain, Transport::Udp).await;
        assert!(without.edns.is_none() && without.answers[0].ttl == 30, "no OPT without EDNS, still TTL 30");
    }

    #[tokio::test]
    async fn negatives_carry_the_soa_and_failures_are_servfail() {
        let r = responder();
        let nx = ask(&r, &query("nope.example.lab.", RecordType::A, None), Transport::Udp).await;
        assert_eq!((nx.metadata.response_code, nx.authorities.len()), (ResponseCode::NXDomain, 1));
        let fail = ask(&r, &query("host.up.lab.", RecordType::A, None), Transport::Udp).await;
        assert_eq!(fail.metadata.response_code, ResponseCode::ServFail);
        assert!(r.resolver.purge(&name("nope.example.lab.")), "the negative answer was cached");
    }
}
