//! The daemon's hot answers: the entries the map writer makes, kept in
//! the daemon too, so that a repeated question that reaches it (the fast
//! path off, or unable to answer: a partial checksum, pass-only, a full
//! map) is answered as the XDP program answers it, from the stored
//! sections with their TTLs aged, without parsing, resolving or encoding.
//! The responder puts every cacheable UDP answer here; an entry lives as
//! long as the map's would. Memory is bounded: two generations of at most
//! half the bytes each; when the newer fills, the older is dropped and
//! what is asked for again moves up.
//!
//! With a fast path, an answer asked here again a while after it was last
//! offered to the map is offered again, from these bytes: a query that
//! reached the daemon may mean the map lost the entry (its LRU made room),
//! and writing it back costs one map update, not a resolution.
//!
//! And the hot answers are the map's doorkeeper: an answer to a question
//! not kept before goes to the map only when it is asked again (its first
//! answer from here offers it). A name asked once, most of a Zipf tail,
//! then costs no map write and pushes no name asked often out of the map.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering::Relaxed},
    },
};

use anycast_common::{AnswerKey, dns, hash, rotation::Rotation};

use super::query_view::QueryView;
use crate::{
    answer_entry::{AnswerEntry, Parts, RrsetOrder},
    wire::{self, ResponseEdns},
};

const NS_PER_SEC: u64 = 1_000_000_000;
/// [`Stored::offered_ns`] of an answer not offered to the map yet.
const NOT_OFFERED: u64 = u64::MAX;
/// Locks the entries are spread over, so that workers rarely meet.
const SHARDS: usize = 16;

/// One answer, as the map holds it, in as many bytes as it needs.
struct Stored {
    /// The lower-cased wire name (the key has only its hash).
    name: Box<[u8]>,
    /// Answer, authority and additional records, TTLs as at `inserted_ns`.
    data: Box<[u8]>,
    ttl_offsets: Box<[u16]>,
    counts: [u16; 3],
    rcode: u8,
    secure: bool,
    inserted_ns: u64,
    expires_ns: u64,
    /// The RRset answers turn.
    rotation: Rotation,
    /// Answers given from here, for this name since it was first kept
    /// (carried over when it is kept again): where records that turn
    /// start, and how much the name is asked ([`HotAnswers::asked`]).
    served: AtomicU32,
    /// When it was last offered to the map (CLOCK_BOOTTIME), or
    /// [`NOT_OFFERED`].
    offered_ns: AtomicU64,
}

#[derive(Default)]
struct Generations {
    newer: HashMap<AnswerKey, Stored>,
    older: HashMap<AnswerKey, Stored>,
    /// What the newer generation holds, by [`Stored::bytes`].
    newer_bytes: usize,
}

impl Generations {
    /// Puts `stored` in the newer generation, which is first made the
    /// older one if it has no room left under `budget`.
    fn put(&mut self, key: AnswerKey, stored: Stored, budget: usize) -> &Stored {
        if self.newer_bytes + stored.bytes() > budget && !self.newer.contains_key(&key) {
            self.older = std::mem::take(&mut self.newer);
            self.newer_bytes = 0;
        }
        self.older.remove(&key);
        self.newer_bytes += stored.bytes();
        if let Some(replaced) = self.newer.insert(key, stored) {
            self.newer_bytes -= replaced.bytes();
        }
        &self.newer[&key]
    }

    /// How many answers the one kept under `key` for `name` gave, if one
    /// is.
    fn served(&self, key: &AnswerKey, name: &[u8]) -> Option<u32> {
        let kept = self.newer.get(key).or_else(|| self.older.get(key));
        kept.filter(|stored| *stored.name == *name).map(|stored| stored.served.load(Relaxed))
    }
}

/// The hot answers, shared by the workers.
pub struct HotAnswers {
    hash_key: [u64; 2],
    shards: Box<[Mutex<Generations>]>,
    /// Bytes one generation of one shard holds.
    generation_bytes: usize,
    /// With a fast path: how long after it was last offered to the map an
    /// answer asked here is offered again.
    reoffer_after_ns: Option<u64>,
    /// How answers order their last A or AAAA RRset, as the fast path's.
    order: RrsetOrder,
    /// Queries answered from here.
    pub hits: AtomicU64,
}

/// The answer found for a query, its size known before it is written.
pub struct Found {
    pub rcode: u8,
    pub len: usize,
    /// The entry to offer the map again (see [`HotAnswers::new`]).
    pub reoffer: Option<AnswerEntry>,
}

impl HotAnswers {
    /// Answers in up to `max_bytes`, their names hashed with `hash_key`
    /// (the key the entries are made with); with a fast path, one asked
    /// here `reoffer_after` after it was last offered to the map is
    /// handed back to be offered again.
    pub fn new(hash_key: [u64; 2], max_bytes: usize, reoffer_after: Option<std::time::Duration>) -> HotAnswers {
        HotAnswers {
            hash_key,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            generation_bytes: max_bytes / SHARDS / 2,
            reoffer_after_ns: reoffer_after.map(|d| d.as_nanos() as u64),
            order: RrsetOrder::Fixed,
            hits: AtomicU64::new(0),
        }
    }

    /// The hot answers ordering the records they turn as `order` says.
    pub fn with_rrset_order(mut self, order: RrsetOrder) -> HotAnswers {
        self.order = order;
        self
    }

    pub fn hash_key(&self) -> &[u64; 2] {
        &self.hash_key
    }

    /// Keeps `entry` (made with [`HotAnswers::hash_key`]), replacing any
    /// answer to the same question; whether it is to be offered to the map
    /// now: when an answer to the question was kept already (it is asked
    /// again after it expired), or `known_hot` says the name is in demand
    /// (a warm start's). Otherwise its first answer from here offers it.
    pub fn insert(&self, entry: &AnswerEntry, known_hot: bool) -> bool {
        let v = &entry.value;
        let stored = Stored {
            name: entry.name().into(),
            data: v.data[..v.data_len as usize].into(),
            ttl_offsets: v.ttl_offsets[..v.ttl_count as usize].into(),
            counts: [v.ancount, v.nscount, v.arcount],
            rcode: v.rcode,
            secure: v.secure != 0,
            inserted_ns: v.inserted_ns,
            expires_ns: v.expires_ns,
            rotation: v.rotation,
            served: AtomicU32::new(0),
            offered_ns: AtomicU64::new(NOT_OFFERED),
        };
        let mut shard = self.shard(&entry.key);
        let kept = shard.served(&entry.key, entry.name());
        let offer = known_hot || kept.is_some();
        stored.served.store(kept.unwrap_or(0), Relaxed);
        if offer {
            stored.offered_ns.store(v.inserted_ns, Relaxed);
        }
        shard.put(entry.key, stored, self.generation_bytes);
        offer
    }

    /// Writes into `out` the response to `query` with `edns` (the OPT
    /// record it gets, None without EDNS), at `now_ns`; None if no live
    /// answer is kept for its question.
    pub fn answer(
        &self,
        query: &QueryView,
        edns: Option<&ResponseEdns>,
        now_ns: u64,
        out: &mut Vec<u8>,
    ) -> Option<Found> {
        let key = self.key(query);
        let mut guard = self.shard(&key);
        let shard = &mut *guard;
        if let Some(stored) = shard.newer.get(&key) {
            return self.serve(key, stored, query, edns, now_ns, out);
        }
        // Asked for again: it moves up a generation.
        let stored = shard.older.remove(&key)?;
        let stored = shard.put(key, stored, self.generation_bytes);
        self.serve(key, stored, query, edns, now_ns, out)
    }

    fn serve(
        &self,
        key: AnswerKey,
        stored: &Stored,
        query: &QueryView,
        edns: Option<&ResponseEdns>,
        now_ns: u64,
        out: &mut Vec<u8>,
    ) -> Option<Found> {
        if *stored.name != *query.name() || now_ns >= stored.expires_ns {
            return None;
        }
        stored.write(query, edns, now_ns, out);
        let data = &mut out[dns::HEADER_LEN + query.question.len()..];
        self.order.turn(&stored.rotation, stored.served.fetch_add(1, Relaxed), data);
        self.hits.fetch_add(1, Relaxed);
        let reoffer =
            self.reoffer_after_ns.filter(|after| stored.due_for_offer(now_ns, *after)).map(|_| stored.entry(key));
        Some(Found { rcode: stored.rcode, len: out.len(), reoffer })
    }

    /// Forgets every answer whose lower-cased wire name is `doomed`; how
    /// many.
    pub fn purge_where(&self, doomed: impl Fn(&[u8]) -> bool) -> usize {
        let mut purged = 0;
        for shard in self.shards.iter() {
            let mut guard = shard.lock().expect("hot answers lock");
            let shard = &mut *guard;
            for generation in [&mut shard.newer, &mut shard.older] {
                let before = generation.len();
                generation.retain(|_, stored| !doomed(&stored.name));
                purged += before - generation.len();
            }
        }
        purged
    }

    /// Every live answer kept at `now_ns`: its key, lower-cased wire name
    /// and how many answers it gave.
    pub fn asked(&self, now_ns: u64) -> Vec<(AnswerKey, Box<[u8]>, u32)> {
        let mut asked = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock().expect("hot answers lock");
            for (key, stored) in shard.newer.iter().chain(&shard.older) {
                if now_ns < stored.expires_ns {
                    asked.push((*key, stored.name.clone(), stored.served.load(Relaxed)));
                }
            }
        }
        asked
    }

    /// Answers kept, live or expired.
    pub fn count(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map(|s| s.newer.len() + s.older.len()).unwrap_or(0)).sum()
    }

    fn key(&self, query: &QueryView) -> AnswerKey {
        AnswerKey::new(hash::name(query.name(), &self.hash_key), query.qtype, query.qclass, query.dnssec_ok())
    }

    fn shard(&self, key: &AnswerKey) -> std::sync::MutexGuard<'_, Generations> {
        // The name hash is keyed: clients cannot aim at one shard.
        let shard = (key.name_hash as usize ^ key.qtype as usize) % SHARDS;
        self.shards[shard].lock().expect("hot answers lock")
    }
}

impl Stored {
    /// The map's entry for it, under `key`.
    fn entry(&self, key: AnswerKey) -> AnswerEntry {
        let parts = Parts {
            name: &self.name,
            data: &self.data,
            ttl_offsets: &self.ttl_offsets,
            counts: self.counts,
            rcode: self.rcode,
            secure: self.secure,
            inserted_ns: self.inserted_ns,
            expires_ns: self.expires_ns,
        };
        AnswerEntry::from_parts(key, &parts)
    }

    /// Whether it is offered to the map at `now_ns`: never offered yet, or
    /// `after` since it last was; if so, that is now. (Called under its
    /// shard's lock.)
    fn due_for_offer(&self, now_ns: u64, after: u64) -> bool {
        let offered = self.offered_ns.load(Relaxed);
        let due = offered == NOT_OFFERED || now_ns >= offered.saturating_add(after);
        if due {
            self.offered_ns.store(now_ns, Relaxed);
        }
        due
    }

    /// Memory it takes, about: its buffers, itself and its key.
    fn bytes(&self) -> usize {
        self.name.len()
            + self.data.len()
            + 2 * self.ttl_offsets.len()
            + std::mem::size_of::<Stored>()
            + std::mem::size_of::<AnswerKey>()
    }

    /// The response as the fast path writes it: the client's ID, flags
    /// and question, the stored records with their TTLs aged by whole
    /// seconds, then the OPT record.
    fn write(&self, query: &QueryView, edns: Option<&ResponseEdns>, now_ns: u64, out: &mut Vec<u8>) {
        let dnssec_ok = edns.is_some_and(|e| e.dnssec_ok);
        let flags =
            dns::response_flags(query.flags, self.rcode) | dns::authentic_data(query.flags, dnssec_ok, self.secure);
        out.clear();
        wire::write_response(out, query.id, flags, query.question, (&self.data, self.counts), edns);
        let data_at = dns::HEADER_LEN + query.question.len();
        let elapsed = (now_ns.saturating_sub(self.inserted_ns) / NS_PER_SEC) as u32;
        for &offset in self.ttl_offsets.iter() {
            let at = data_at + offset as usize;
            let field: &mut [u8; 4] = (&mut out[at..at + 4]).try_into().expect("4 bytes");
            *field = u32::from_be_bytes(*field).saturating_sub(elapsed).to_be_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use anycast_common::{cookie::OPTION_COOKIE, dns::OPTION_CLIENT_SUBNET};
    use hickory_proto::{op::Message, rr::RecordType};

    use std::sync::Arc;

    use super::*;
    use crate::{
        policy::ratelimit::{Limiter, RateLimitSettings},
        server::{
            respond::{Hot, Responder},
            tests::{CLIENT, query_with_options, responder, responder_with},
            transport::Transport,
        },
    };

    type Edns = Option<(u16, bool, u8)>;
    /// A case: what, name, type, EDNS, options.
    type Case<'a> = (&'a str, &'a str, RecordType, Edns, &'a [(u16, &'a [u8])]);
    const EDNS: Edns = Some((1232, false, 0));
    const COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    /// The response with every TTL zeroed, as hickory re-encodes it.
    fn without_ttls(response: &[u8]) -> Vec<u8> {
        let mut m = Message::from_vec(response).expect("the response parses");
        for record in m.answers.iter_mut().chain(&mut m.authorities).chain(&mut m.additionals) {
            record.ttl = 0;
        }
        m.to_vec().unwrap()
    }

    fn hot(r: &Responder<crate::resolver::testnet::FakeNet>, query: &[u8]) -> (Hot, Vec<u8>) {
        let mut out = Vec::new();
        (r.respond_hot(query, CLIENT, Transport::Udp, &mut out), out)
    }

    #[tokio::test]
    async fn repeats_are_answered_as_the_full_path_answers_them() {
        let r = responder();
        let cases: [Case; 8] = [
            ("plain", "www.example.lab.", RecordType::A, None, &[]),
            ("another casing", "WwW.ExAmPle.LAB.", RecordType::A, None, &[]),
            ("EDNS", "www.example.lab.", RecordType::A, EDNS, &[]),
            ("DO=1", "www.example.lab.", RecordType::A, Some((4096, true, 0)), &[]),
            ("a client cookie", "www.example.lab.", RecordType::A, EDNS, &[(OPTION_COOKIE, &COOKIE)]),
            ("NSID and padding", "www.example.lab.", RecordType::A, EDNS, &[(3, &[]), (12, &[0; 9])]),
            ("NXDOMAIN", "nope.example.lab.", RecordType::A, EDNS, &[]),
            ("NODATA", "www.example.lab.", RecordType::AAAA, None, &[]),
        ];
        for (what, name, qtype, edns, options) in cases {
            let q = query_with_options(name, qtype, edns, options);
            let full = r.respond(&q, CLIENT, Transport::Udp).await.expect("a response");
            let (outcome, hot) = hot(&r, &q);
            assert_eq!(outcome, Hot::Answered, "{what}: answered hot");
            assert_eq!(hot.len(), full.len(), "{what}: as long");
            let question_end = 12 + q[12..].iter().position(|b| *b == 0).unwrap() + 5;
            assert_eq!(hot[..question_end], full[..question_end], "{what}: header and question");
            assert_eq!(without_ttls(&hot), without_ttls(&full), "{what}: the same but for TTLs");
        }
        assert_eq!(r.hot.hits.load(Relaxed), 8);
        assert_eq!(r.stats.responses[3].load(Relaxed), 2, "NXDOMAIN counted on both paths");
    }

    #[tokio::test]
    async fn what_the_full_path_must_see_is_missed() {
        let r = responder();
        let warm = |edns: Edns| query_with_options("www.example.lab.", RecordType::A, edns, &[]);
        for q in [warm(None), warm(EDNS)] {
            r.respond(&q, CLIENT, Transport::Udp).await.unwrap();
        }
        let mut chaos = warm(None);
        let at = chaos.len() - 1;
        chaos[at] = 3;
        let with = |options: &[(u16, &[u8])]| query_with_options("www.example.lab.", RecordType::A, EDNS, options);
        let cases: [(&str, Vec<u8>); 6] = [
            ("never answered", query_with_options("other.example.lab.", RecordType::A, None, &[])),
            ("class CH", chaos),
            ("EDNS version 1", query_with_options("www.example.lab.", RecordType::A, Some((1232, false, 1)), &[])),
            ("a malformed cookie", with(&[(OPTION_COOKIE, &[1; 5])])),
            ("client subnet", with(&[(OPTION_CLIENT_SUBNET, &[0, 1, 24, 0, 192, 0, 2])])),
            (
                "DO=1, not answered yet",
                query_with_options("www.example.lab.", RecordType::A, Some((1232, true, 0)), &[]),
            ),
        ];
        for (what, q) in cases {
            assert_eq!(hot(&r, &q).0, Hot::Missed, "{what}");
        }
        let mut out = Vec::new();
        assert_eq!(
            r.respond_hot(&warm(None), "203.0.113.9".parse().unwrap(), Transport::Udp, &mut out),
            Hot::Missed,
            "outside the ACL"
        );
        assert_eq!(
            r.hot.purge_where(|n| n == b"\x03www\x07example\x03lab\x00"),
            1,
            "one entry answers with and without EDNS"
        );
        assert_eq!(hot(&r, &warm(None)).0, Hot::Missed, "purged");
    }

    #[tokio::test]
    async fn the_rate_limit_holds_on_the_hot_path() {
        let limit = RateLimitSettings { responses_per_second: 1, burst: 1, slip: 2, ..RateLimitSettings::OFF };
        let r = responder_with(|a| a.limiter = Limiter::new(&limit).map(Arc::new));
        let q = query_with_options("www.example.lab.", RecordType::A, None, &[]);
        r.respond(&q, CLIENT, Transport::Udp).await.unwrap();
        // The full path took the one token; over the limit, every second
        // query slips.
        let results: Vec<(Hot, Vec<u8>)> = (0..4).map(|_| hot(&r, &q)).collect();
        let outcomes: Vec<Hot> = results.iter().map(|(outcome, _)| *outcome).collect();
        assert_eq!(outcomes, [Hot::Dropped, Hot::Answered, Hot::Dropped, Hot::Answered]);
        for (_, slip) in results.iter().filter(|(outcome, _)| *outcome == Hot::Answered) {
            let m = Message::from_vec(slip).unwrap();
            assert!(m.metadata.truncation && m.answers.is_empty(), "the slip is TC=1");
        }
        assert_eq!((r.stats.slipped.load(Relaxed), r.stats.rate_dropped.load(Relaxed)), (2, 2));
    }

    /// The map's side of the responder: what it was offered.
    #[derive(Default)]
    struct Offered(std::sync::Mutex<Vec<AnswerKey>>);

    impl crate::server::respond::AnswerSink for Offered {
        fn offer(&self, entry: &AnswerEntry) {
            self.0.lock().unwrap().push(entry.key);
        }
    }

    #[tokio::test]
    async fn with_a_fast_path_a_repeat_is_offered_again_once_a_while() {
        let sink = Arc::new(Offered::default());
        let answers = HotAnswers::new(rand::random(), 1 << 20, Some(std::time::Duration::from_millis(200)));
        let r = Responder { hot: answers, sink: Some(sink.clone()), ..responder() };
        let q = query_with_options("www.example.lab.", RecordType::A, None, &[]);
        let full = r.respond(&q, CLIENT, Transport::Udp).await.unwrap();
        assert!(sink.0.lock().unwrap().is_empty(), "a question asked once stays out of the map");
        let (outcome, repeat) = hot(&r, &q);
        assert_eq!(outcome, Hot::Answered);
        assert_eq!(Message::from_vec(&repeat).unwrap().answers, Message::from_vec(&full).unwrap().answers);
        assert_eq!(sink.0.lock().unwrap().len(), 1, "asked again: offered");
        hot(&r, &q);
        assert_eq!(sink.0.lock().unwrap().len(), 1, "not offered again at once");
        std::thread::sleep(std::time::Duration::from_millis(250));
        let outcomes: Vec<Hot> = (0..3).map(|_| hot(&r, &q).0).collect();
        assert_eq!(outcomes, [Hot::Answered; 3], "the hot path keeps answering");
        let offered = sink.0.lock().unwrap().clone();
        assert_eq!(offered.len(), 2, "offered again once, by the first repeat after the wait");
        assert_eq!(offered[0], offered[1], "the same entry");
    }

    #[test]
    fn the_map_gets_an_answer_when_asked_again_or_known_in_demand() {
        let store = HotAnswers::new([1, 2], 1 << 20, Some(std::time::Duration::from_secs(1)));
        let entry = |name: &str| an_a_record(&store, name, 1_000);
        // (what, name, known in demand, offered to the map at once)
        let cases = [
            ("asked once", "a.example.", false, false),
            ("resolved again, kept before", "a.example.", false, true),
            ("a warm start's", "b.example.", true, true),
            ("another name asked once", "c.example.", false, false),
        ];
        for (what, name, known_hot, offered) in cases {
            assert_eq!(store.insert(&entry(name), known_hot), offered, "{what}");
        }
        let asked = crate::server::tests::query("c.example.", RecordType::A, None);
        let found = store.answer(&QueryView::parse(&asked).unwrap(), None, 2_000, &mut Vec::new()).unwrap();
        assert!(found.reoffer.is_some(), "its first answer from here offers it");
    }

    #[test]
    fn an_entry_offered_again_is_the_one_made() {
        let mut response = Message::new(0, hickory_proto::op::MessageType::Response, hickory_proto::op::OpCode::Query);
        response.queries = vec![hickory_proto::op::Query::query("a.example.".parse().unwrap(), RecordType::A)];
        response.answers = ["192.0.2.1", "192.0.2.2"]
            .map(|ip| crate::resolver::testnet::a("a.example.", 300, ip.parse().unwrap()))
            .to_vec();
        let store = HotAnswers::new([1, 2], 1 << 20, Some(std::time::Duration::ZERO));
        let made = AnswerEntry::from_response(&response, store.hash_key(), 1_000, &Default::default()).unwrap();
        store.insert(&made, false);
        let asked = crate::server::tests::query("a.example.", RecordType::A, None);
        let found = store.answer(&QueryView::parse(&asked).unwrap(), None, 2_000, &mut Vec::new()).unwrap();
        let again = found.reoffer.expect("offered again");
        let (m, a) = (&*made.value, &*again.value);
        assert_eq!(made.key, again.key);
        assert_eq!(made.name(), again.name());
        assert_eq!(m.data[..m.data_len as usize], a.data[..a.data_len as usize]);
        assert_eq!(m.ttl_offsets, a.ttl_offsets);
        assert_eq!(
            (m.inserted_ns, m.expires_ns, m.ancount, m.nscount, m.arcount, m.rcode, m.ttl_count),
            (a.inserted_ns, a.expires_ns, a.ancount, a.nscount, a.arcount, a.rcode, a.ttl_count)
        );
        assert_eq!(
            (m.data_csum, m.secure, m.ttl_odd_count, m.rotation),
            (a.data_csum, a.secure, a.ttl_odd_count, a.rotation)
        );
    }

    #[tokio::test]
    async fn answers_over_every_transport_are_kept() {
        let q = query_with_options("www.example.lab.", RecordType::A, None, &[]);
        for transport in [Transport::Tcp, Transport::Dot, Transport::Doh] {
            let streamed = responder();
            let full = streamed.respond(&q, CLIENT, transport).await.unwrap();
            let (found, repeat) = hot(&streamed, &q);
            assert_eq!(found, Hot::Answered, "an answer over {transport:?} is kept");
            assert_eq!(repeat[2..], full[2..], "and answers a UDP repeat as the full path did over {transport:?}");
        }
    }

    #[test]
    fn memory_is_bounded() {
        let store = HotAnswers::new([1, 2], 64 * 1024, None);
        for i in 0..2000 {
            store.insert(&an_a_record(&store, &format!("h{i}.example."), 0), false);
        }
        // Each about 150 bytes: at most 64 KiB of them.
        assert!((100..=450).contains(&store.count()), "{} answers kept", store.count());
    }

    /// The entry of an answer of one A record for `name`, made for
    /// `store` at `now_ns`.
    fn an_a_record(store: &HotAnswers, name: &str, now_ns: u64) -> AnswerEntry {
        let mut response = Message::new(0, hickory_proto::op::MessageType::Response, hickory_proto::op::OpCode::Query);
        response.queries = vec![hickory_proto::op::Query::query(name.parse().unwrap(), RecordType::A)];
        response.answers = vec![crate::resolver::testnet::a(name, 300, "192.0.2.1".parse().unwrap())];
        AnswerEntry::from_response(&response, store.hash_key(), now_ns, &Default::default()).unwrap()
    }
}
