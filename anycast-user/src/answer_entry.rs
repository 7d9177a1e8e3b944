//! The map writer: turns a DNS response into the exact key and value the
//! XDP program answers from, or says why it must not be answered at XDP.
//!
//! Only answers that are the same for every client go into the fast path:
//! one question, NOERROR or NXDOMAIN (negative answers with their SOA), no
//! transaction signature (TSIG, SIG(0): DNSSEC's RRSIGs are data and go
//! in), no EDNS option that tailors the answer, small enough, and a TTL
//! above the floor.

use crate::{
    dnssec::Security,
    resolver::Answer,
    wire::{EncodeError, Sections},
};
use anycast_common::{
    AnswerKey, AnswerValue, MAX_DATA_LEN, MAX_RECORDS, MAX_RESPONSE_LEN, NAME_BUF_LEN, OPT_RECORD_LEN, checksum,
    dns::{self, OptionUse, option_use},
    hash,
    rotation::{self, Rotation},
};
use hickory_proto::{
    op::{Message, MessageType, OpCode, Query, ResponseCode},
    rr::{RData, Record, RecordType},
};

const NS_PER_SEC: u64 = 1_000_000_000;

/// Bounds on what the fast path serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WritePolicy {
    /// Answers that would expire sooner than this are left to the daemon:
    /// they would be stale before the map is worth it.
    pub min_ttl: u32,
    /// TTLs above this are lowered to it (like Unbound's cache-max-ttl).
    pub max_ttl: u32,
}

impl Default for WritePolicy {
    fn default() -> Self {
        WritePolicy { min_ttl: 2, max_ttl: 86_400 }
    }
}

/// `policy.rrset_order`: how answers order the records of their last A or
/// AAAA RRset (see [`anycast_common::rotation`]), on both paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RrsetOrder {
    /// As the servers gave them.
    #[default]
    Fixed,
    /// Each answer one record further.
    Rotate,
    /// From a random record.
    Random,
}

impl RrsetOrder {
    /// Its value in the fast path's config.
    pub fn code(self) -> u8 {
        match self {
            RrsetOrder::Fixed => rotation::ORDER_FIXED,
            RrsetOrder::Rotate => rotation::ORDER_ROTATE,
            RrsetOrder::Random => rotation::ORDER_RANDOM,
        }
    }

    /// Turns the RRset `rotation` marks in `data` (sections from their
    /// start) for one more answer; `served` counts the answers given from
    /// the same entry (or by the same path). Nothing to do when the order
    /// is fixed or nothing turns.
    pub fn turn(self, rotation: &Rotation, served: u32, data: &mut [u8]) {
        if !rotation.turns() {
            return;
        }
        let first = match self {
            RrsetOrder::Fixed => return,
            RrsetOrder::Rotate => rotation.first(served),
            RrsetOrder::Random => rotation.first(rand::random()),
        };
        rotation.apply(data, first);
    }
}

/// The RRset of `data` (sections as the map holds them, `ancount` answer
/// records first) that answers turn: the last run of two or more A or
/// AAAA records of the answer section with one owner pointer, class and
/// TTL (RRSIGs may follow it). None turns when the records are not laid
/// out so, or when that run is longer than the fast path turns.
pub fn rotation_of(data: &[u8], ancount: u16) -> Rotation {
    // The last run so far: where it starts, its record size, its count,
    // and the owner pointer, type, class and TTL its records share.
    type Run<'a> = (usize, u8, usize, &'a [u8]);
    let mut last: Option<(usize, u8, usize)> = None;
    let (mut at, mut run): (usize, Option<Run>) = (0, None);
    for _ in 0..ancount {
        let Some(record) = record_at(data, at) else { return Rotation::default() };
        let size = match (record.rtype, record.len) {
            (1, 16) => Some(rotation::A_RECORD_LEN),
            (28, 28) => Some(rotation::AAAA_RECORD_LEN),
            _ => None,
        };
        let head = data.get(at..at + 10).filter(|_| record.owner_len == 2);
        run = match (size, head, run) {
            (Some(size), Some(head), Some((start, s, count, h))) if s == size && h == head => {
                Some((start, size, count + 1, head))
            }
            (Some(size), Some(head), _) => Some((at, size, 1, head)),
            _ => None,
        };
        if let Some((start, size, count, _)) = run.filter(|r| r.2 >= 2) {
            last = Some((start, size, count));
        }
        at += record.len;
    }
    match last {
        Some((start, size, count)) if count <= rotation::MAX_TURNED => {
            Rotation { at: start as u16, size, count: count as u8 }
        }
        _ => Rotation::default(),
    }
}

/// One record's layout in the map's data.
struct RecordAt {
    owner_len: usize,
    rtype: u16,
    len: usize,
}

/// The record at `start` in `data`: its owner name (labels, ended by the
/// root label or a pointer), then TYPE, CLASS, TTL, RDLENGTH and RDATA.
fn record_at(data: &[u8], start: usize) -> Option<RecordAt> {
    let at = start + name_len(data, start)?;
    let rtype = u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]);
    let rdlen = u16::from_be_bytes([*data.get(at + 8)?, *data.get(at + 9)?]) as usize;
    Some(RecordAt { owner_len: at - start, rtype, len: at + 10 + rdlen - start })
}

/// The length of the name at `start` in `data`: labels, ended by the
/// root label or a pointer.
fn name_len(data: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        match *data.get(at)? {
            0 => return Some(at + 1 - start),
            l if l & 0xc0 == 0xc0 => return Some(at + 2 - start),
            l if l <= 63 => at += 1 + l as usize,
            _ => return None,
        }
    }
}

/// Why a response stays out of the fast path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a response")]
    NotAResponse,
    #[error("opcode {0:?} is not QUERY")]
    NotQuery(OpCode),
    #[error("the response is truncated")]
    Truncated,
    #[error("{0} questions; the fast path answers exactly one")]
    QuestionCount(usize),
    #[error("RCODE {0} is not served at XDP (only NOERROR and NXDOMAIN)")]
    Rcode(ResponseCode),
    #[error("signed responses (TSIG, SIG(0)) are made for one client")]
    Signed,
    #[error("{0} EDNS option(s) in the response tailor it to one client")]
    EdnsOptions(usize),
    #[error("question type {0} is a meta type")]
    MetaType(RecordType),
    #[error("a {0} record in a section: only EDNS carries OPT")]
    MetaRecord(RecordType),
    #[error("a negative answer without its SOA must not be cached (RFC 2308)")]
    NegativeWithoutSoa,
    #[error("{0} records; at most {MAX_RECORDS} fit an entry")]
    TooManyRecords(usize),
    #[error("TTL {ttl} s is below the floor of {floor} s")]
    TtlBelowFloor { ttl: u32, floor: u32 },
    #[error("{len} bytes with an OPT record; the fast path sends at most {MAX_RESPONSE_LEN}")]
    TooLarge { len: usize },
    #[error("cannot encode the response: {0}")]
    Encode(#[from] EncodeError),
    #[error("the encoded records do not have the layout of {0} records")]
    Layout(usize),
    #[error("a stale answer is the daemon's to mark (EDE 3)")]
    Stale,
    #[error("bogus data is never served as an answer")]
    Bogus,
}

/// A key and value ready for the answer map.
#[derive(Clone, Debug)]
pub struct AnswerEntry {
    pub key: AnswerKey,
    pub value: Box<AnswerValue>,
}

/// What an entry is made of, as the daemon's hot answers keep it too.
#[derive(Clone, Copy)]
pub struct Parts<'a> {
    /// Lower-cased wire-format question name.
    pub name: &'a [u8],
    /// Answer, authority and additional records, compressed against the
    /// question at offset 12, TTLs as at `inserted_ns`.
    pub data: &'a [u8],
    /// Offset in `data` of each record's TTL.
    pub ttl_offsets: &'a [u16],
    /// Answer, authority and additional record counts.
    pub counts: [u16; 3],
    pub rcode: u8,
    pub secure: bool,
    pub inserted_ns: u64,
    pub expires_ns: u64,
}

impl AnswerEntry {
    /// Builds the entry for the resolver's `answer` to `query` (the
    /// client's, whose DO bit says which records it gets).
    pub fn for_answer(
        query: &Message,
        answer: &Answer,
        hash_key: &[u64; 2],
        now_ns: u64,
        policy: &WritePolicy,
    ) -> Result<AnswerEntry, Refusal> {
        if answer.stale {
            return Err(Refusal::Stale);
        }
        if matches!(answer.security, Security::Bogus(_)) {
            return Err(Refusal::Bogus);
        }
        let dnssec_ok = query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        let (answers, authorities) = answer.sections(dnssec_ok, query.queries[0].query_type());
        let mut response = Message::new(0, MessageType::Response, OpCode::Query);
        response.metadata.response_code = answer.rcode;
        response.metadata.authentic_data = answer.security == Security::Secure;
        response.queries = query.queries.clone();
        response.answers = answers;
        response.authorities = authorities;
        response.edns = query.edns.clone();
        AnswerEntry::from_response(&response, hash_key, now_ns, policy)
    }

    /// Builds the entry for `response`, which answers its own question, as
    /// it stands at `now_ns` (CLOCK_BOOTTIME). The DO bit of the key is the
    /// one of the response's EDNS record: the resolver answers a DO query
    /// with DNSSEC records and a plain query without. The response's AD
    /// bit says the data is secure: the fast path then sets AD for the
    /// queries that ask for it.
    pub fn from_response(
        response: &Message,
        hash_key: &[u64; 2],
        now_ns: u64,
        policy: &WritePolicy,
    ) -> Result<AnswerEntry, Refusal> {
        let question = check_cacheable(response)?;
        let records = response.answers.len() + response.authorities.len() + response.additionals.len();
        if records > MAX_RECORDS {
            return Err(Refusal::TooManyRecords(records));
        }
        let lifetime = lifetime(response, policy)?;

        let capped = |records: &[Record]| -> Vec<Record> {
            records
                .iter()
                .cloned()
                .map(|mut r| {
                    r.ttl = r.ttl.min(policy.max_ttl);
                    r
                })
                .collect()
        };
        let sections = Sections::encode(
            &question,
            &capped(&response.answers),
            &capped(&response.authorities),
            &capped(&response.additionals),
        )?;
        let name_len = sections.name.len();
        let data = &sections.data;
        let len = dns::HEADER_LEN + name_len + 4 + data.len() + OPT_RECORD_LEN;
        if len > MAX_RESPONSE_LEN || data.len() > MAX_DATA_LEN {
            return Err(Refusal::TooLarge { len });
        }
        let ttl_offsets = ttl_offsets(data, records).ok_or(Refusal::Layout(records))?;

        let dnssec_ok = response.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        let key = AnswerKey::new(
            hash::name(&sections.name, hash_key),
            u16::from(question.query_type()),
            u16::from(question.query_class()),
            dnssec_ok,
        );
        Ok(AnswerEntry::from_parts(
            key,
            &Parts {
                name: &sections.name,
                data,
                ttl_offsets: &ttl_offsets,
                counts: [response.answers.len(), response.authorities.len(), response.additionals.len()]
                    .map(|n| n as u16),
                rcode: u16::from(response.metadata.response_code) as u8,
                secure: response.metadata.authentic_data,
                inserted_ns: now_ns,
                expires_ns: now_ns + lifetime as u64 * NS_PER_SEC,
            },
        ))
    }

    /// The entry for `key` that holds `parts` (checked by the caller
    /// against the limits: as [`AnswerEntry::from_response`] made them),
    /// with what the program precomputes from them: the data's sum, the
    /// odd TTL offsets, the RRset that turns.
    pub fn from_parts(key: AnswerKey, parts: &Parts) -> AnswerEntry {
        let Parts { name, data, ttl_offsets, counts, .. } = *parts;
        let mut value = Box::new(AnswerValue {
            inserted_ns: parts.inserted_ns,
            expires_ns: parts.expires_ns,
            last_hit_ns: 0,
            name_len: name.len() as u16,
            data_len: data.len() as u16,
            ancount: counts[0],
            nscount: counts[1],
            arcount: counts[2],
            rcode: parts.rcode,
            ttl_count: ttl_offsets.len() as u8,
            data_csum: checksum::fold(checksum::bytes(data)),
            secure: parts.secure as u8,
            ttl_odd_count: ttl_offsets.iter().filter(|at| *at & 1 == 1).count() as u8,
            rotation: rotation_of(data, counts[0]),
            served: 0,
            ttl_offsets: [0; MAX_RECORDS],
            name: [0; NAME_BUF_LEN],
            data: [0; MAX_DATA_LEN],
        });
        value.ttl_offsets[..ttl_offsets.len()].copy_from_slice(ttl_offsets);
        value.name[..name.len()].copy_from_slice(name);
        value.data[..data.len()].copy_from_slice(data);
        AnswerEntry { key, value }
    }

    /// The lower-cased wire-format question name.
    pub fn name(&self) -> &[u8] {
        &self.value.name[..self.value.name_len as usize]
    }
}

/// Everything about the response except its size and TTLs; returns its
/// question.
fn check_cacheable(response: &Message) -> Result<Query, Refusal> {
    let meta = &response.metadata;
    if meta.message_type != MessageType::Response {
        return Err(Refusal::NotAResponse);
    }
    if meta.op_code != OpCode::Query {
        return Err(Refusal::NotQuery(meta.op_code));
    }
    if meta.truncation {
        return Err(Refusal::Truncated);
    }
    if !matches!(meta.response_code, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(Refusal::Rcode(meta.response_code));
    }
    let [question] = response.queries.as_slice() else {
        return Err(Refusal::QuestionCount(response.queries.len()));
    };
    let qtype = question.query_type();
    if is_meta(qtype) {
        return Err(Refusal::MetaType(qtype));
    }
    if response.signature.is_some() {
        return Err(Refusal::Signed);
    }
    // Cookies, NSID and padding are per query, and each path adds its own
    // to the OPT record; an option that tailors the answer keeps it out.
    let tailoring = response.edns.as_ref().map_or(0, |edns| {
        edns.options().as_ref().iter().filter(|(code, _)| option_use(u16::from(*code)) == OptionUse::Tailoring).count()
    });
    if tailoring > 0 {
        return Err(Refusal::EdnsOptions(tailoring));
    }
    for record in response.all_sections() {
        match record.record_type() {
            RecordType::SIG | RecordType::TSIG => return Err(Refusal::Signed),
            t if is_meta(t) => return Err(Refusal::MetaRecord(t)),
            _ => {}
        }
    }
    Ok(question.clone())
}

/// Types that are questions about transfers or the message, not data.
fn is_meta(rtype: RecordType) -> bool {
    matches!(rtype, RecordType::OPT | RecordType::ANY | RecordType::AXFR | RecordType::IXFR | RecordType::TSIG)
        || matches!(u16::from(rtype), 253 | 254) // MAILB, MAILA
}

/// Seconds the entry may be served: [`shortest_ttl`], at most the
/// policy's cap.
fn lifetime(response: &Message, policy: &WritePolicy) -> Result<u32, Refusal> {
    let negative = response.metadata.response_code == ResponseCode::NXDomain || response.answers.is_empty();
    if negative && soa_minimum(response).is_none() {
        return Err(Refusal::NegativeWithoutSoa);
    }
    let ttl = shortest_ttl(response).unwrap_or(policy.max_ttl).min(policy.max_ttl);
    if ttl < policy.min_ttl {
        return Err(Refusal::TtlBelowFloor { ttl, floor: policy.min_ttl });
    }
    Ok(ttl)
}

/// How long `response` may be kept: its shortest TTL, and the SOA's
/// MINIMUM for negative answers (RFC 2308 5); None without records.
pub fn shortest_ttl(response: &Message) -> Option<u32> {
    response.all_sections().map(|r| r.ttl).chain(soa_minimum(response)).min()
}

/// [`shortest_ttl`] of a response in wire form, read without parsing it:
/// every record's TTL but OPT's (its TTL field holds flags), and the
/// SOA's MINIMUM; None without records, or if it does not read as one
/// question and its records.
pub fn shortest_ttl_wire(response: &[u8]) -> Option<u32> {
    let u16_at = |at: usize| Some(u16::from_be_bytes([*response.get(at)?, *response.get(at + 1)?]));
    let u32_at = |at: usize| Some(u32::from_be_bytes(response.get(at..at + 4)?.try_into().ok()?));
    if u16_at(4)? != 1 {
        return None;
    }
    let records = [6, 8, 10].iter().map(|&at| u16_at(at).map(usize::from)).sum::<Option<usize>>()?;
    let mut at = dns::HEADER_LEN + name_len(response, dns::HEADER_LEN)? + 4;
    let mut shortest: Option<u32> = None;
    for _ in 0..records {
        let record = record_at(response, at)?;
        let fixed = at + record.owner_len;
        let ttl = match RecordType::from(record.rtype) {
            RecordType::OPT => None,
            RecordType::SOA => {
                // MNAME, RNAME, then SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM.
                let rdata = fixed + 10;
                let rname = rdata + name_len(response, rdata)?;
                let minimum = u32_at(rname + name_len(response, rname)? + 16)?;
                Some(u32_at(fixed + 4)?.min(minimum))
            }
            _ => Some(u32_at(fixed + 4)?),
        };
        shortest = shortest.into_iter().chain(ttl).min();
        at += record.len;
    }
    shortest
}

fn soa_minimum(response: &Message) -> Option<u32> {
    response.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.minimum),
        _ => None,
    })
}

/// Offset of each record's TTL field in `data`, which holds exactly
/// `records` records.
fn ttl_offsets(data: &[u8], records: usize) -> Option<Vec<u16>> {
    let mut offsets = Vec::with_capacity(records);
    let mut at = 0;
    for _ in 0..records {
        let record = record_at(data, at)?;
        // Owner, TYPE, CLASS, then the TTL.
        offsets.push(u16::try_from(at + record.owner_len + 4).ok()?);
        at += record.len;
    }
    (at == data.len()).then_some(offsets)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use anycast_common::{KEY_FLAG_DO, cookie, dns::OPTION_CLIENT_SUBNET};
    use hickory_proto::{
        op::Edns,
        rr::{
            Name,
            rdata::{A, CNAME, SOA, opt::EdnsOption},
        },
    };

    use super::*;

    const KEY: [u64; 2] = [0x1234, 0x5678];

    fn response(qname: &str, qtype: RecordType, rcode: ResponseCode) -> Message {
        let mut m = Message::response(7, OpCode::Query);
        m.metadata.response_code = rcode;
        m.queries.push(Query::query(Name::from_str(qname).unwrap(), qtype));
        m
    }

    fn a(name: &str, ttl: u32, ip: [u8; 4]) -> Record {
        Record::from_rdata(Name::from_str(name).unwrap(), ttl, RData::A(A::from(std::net::Ipv4Addr::from(ip))))
    }

    fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
        let soa = SOA::new(
            Name::from_str(&format!("ns.{zone}")).unwrap(),
            Name::from_str(&format!("admin.{zone}")).unwrap(),
            1,
            3600,
            600,
            86400,
            minimum,
        );
        Record::from_rdata(Name::from_str(zone).unwrap(), ttl, RData::SOA(soa))
    }

    fn build(m: &Message) -> Result<AnswerEntry, Refusal> {
        AnswerEntry::from_response(m, &KEY, 1_000 * NS_PER_SEC, &WritePolicy::default())
    }

    #[test]
    fn the_shortest_ttl_reads_the_same_from_the_wire() {
        let positive = {
            let mut m = response("www.example.com.", RecordType::A, ResponseCode::NoError);
            m.answers.extend([a("www.example.com.", 300, [192, 0, 2, 1]), a("www.example.com.", 60, [192, 0, 2, 2])]);
            m
        };
        let negative = {
            let mut m = response("nope.example.com.", RecordType::A, ResponseCode::NXDomain);
            m.authorities.push(soa("example.com.", 3600, 45));
            m
        };
        let with_opt = {
            let mut m = positive.clone();
            let mut edns = Edns::new();
            edns.flags_mut().dnssec_ok = true;
            m.edns = Some(edns);
            m
        };
        let empty = response("www.example.com.", RecordType::AAAA, ResponseCode::NoError);
        let cases = [
            ("two A records", &positive, Some(60)),
            ("NXDOMAIN", &negative, Some(45)),
            ("with OPT", &with_opt, Some(60)),
            ("no records", &empty, None),
        ];
        for (what, m, ttl) in cases {
            let wire = m.to_vec().unwrap();
            assert_eq!(shortest_ttl(m), ttl, "{what}: parsed");
            assert_eq!(shortest_ttl_wire(&wire), ttl, "{what}: wire");
            for cut in 12..wire.len() {
                // A response cut short never reads past its end.
                let _ = shortest_ttl_wire(&wire[..cut]);
            }
        }
    }

    #[test]
    fn answer_is_compressed_against_the_question() {
        let mut m = response("WWW.Example.COM.", RecordType::A, ResponseCode::NoError);
        m.answers.push(a("www.example.com.", 300, [192, 0, 2, 1]));
        let e = build(&m).unwrap();
        assert_eq!(e.name(), b"\x03www\x07example\x03com\x00");
        // Owner is a pointer to offset 12, then A IN, TTL 300, 4 bytes.
        assert_eq!(
            &e.value.data[..e.value.data_len as usize],
            &[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]
        );
        assert_eq!(e.value.ttl_offsets[0], 6);
        assert_eq!(e.value.ttl_count, 1);
        assert_eq!(e.value.expires_ns, 1_300 * NS_PER_SEC);
        assert_eq!(e.key.name_hash, hash::name(e.name(), &KEY));
        assert_eq!(e.key.flags, 0);
    }

    #[test]
    fn the_stored_sum_ages_into_the_sum_of_the_aged_data() {
        let mut m = response("a.example.", RecordType::A, ResponseCode::NoError);
        m.answers.push(a("a.example.", 300, [192, 0, 2, 1]));
        let txt = hickory_proto::rr::rdata::TXT::new(vec!["odds".into()]);
        m.answers.push(Record::from_rdata(Name::from_str("a.example.").unwrap(), 7_000, RData::TXT(txt)));
        m.answers.push(a("a.example.", 86_000, [192, 0, 2, 2]));
        let e = build(&m).unwrap();
        let value = &e.value;
        let offsets = &value.ttl_offsets[..value.ttl_count as usize];
        assert!(value.ttl_odd_count >= 1 && (value.ttl_odd_count as usize) < offsets.len(), "both parities");
        for elapsed in [0u32, 1, 255, 256, 299] {
            let mut aged = value.data[..value.data_len as usize].to_vec();
            for &at in offsets {
                let at = at as usize;
                let ttl = u32::from_be_bytes(aged[at..at + 4].try_into().unwrap()) - elapsed;
                aged[at..at + 4].copy_from_slice(&ttl.to_be_bytes());
            }
            let odd = value.ttl_odd_count as u64;
            let even = value.ttl_count as u64 - odd;
            let computed = checksum::aged_sum(value.data_csum, even, odd, elapsed);
            assert_eq!(
                checksum::fold(computed) % 0xffff,
                checksum::fold(checksum::bytes(&aged)) % 0xffff,
                "aged {elapsed} s"
            );
        }
    }

    #[test]
    fn cname_chain_lives_as_long_as_its_shortest_record() {
        let mut m = response("www.example.", RecordType::A, ResponseCode::NoError);
        let target = Name::from_str("web.example.net.").unwrap();
        m.answers.push(Record::from_rdata(Name::from_str("www.example.").unwrap(), 60, RData::CNAME(CNAME(target))));
        m.answers.push(a("web.example.net.", 30, [192, 0, 2, 9]));
        let e = build(&m).unwrap();
        assert_eq!(e.value.ancount, 2);
        assert_eq!(e.value.expires_ns, 1_030 * NS_PER_SEC);
    }

    #[test]
    fn negative_answers_need_their_soa_and_live_by_its_minimum() {
        let m = response("nope.example.", RecordType::A, ResponseCode::NXDomain);
        assert_eq!(build(&m).unwrap_err(), Refusal::NegativeWithoutSoa);
        let mut m = m;
        m.authorities.push(soa("example.", 3600, 120));
        let e = build(&m).unwrap();
        assert_eq!(e.value.rcode, 3);
        assert_eq!(e.value.expires_ns, 1_120 * NS_PER_SEC);
        let nodata = response("a.example.", RecordType::AAAA, ResponseCode::NoError);
        assert_eq!(build(&nodata).unwrap_err(), Refusal::NegativeWithoutSoa);
    }

    #[test]
    fn refuses_what_is_not_the_same_for_every_client() {
        let mut two = response("a.example.", RecordType::A, ResponseCode::NoError);
        two.queries.push(Query::query(Name::from_str("b.example.").unwrap(), RecordType::A));
        assert_eq!(build(&two).unwrap_err(), Refusal::QuestionCount(2));

        let servfail = response("a.example.", RecordType::A, ResponseCode::ServFail);
        assert_eq!(build(&servfail).unwrap_err(), Refusal::Rcode(ResponseCode::ServFail));

        let mut query = response("a.example.", RecordType::A, ResponseCode::NoError);
        query.metadata.message_type = MessageType::Query;
        assert_eq!(build(&query).unwrap_err(), Refusal::NotAResponse);

        let mut tc = response("a.example.", RecordType::A, ResponseCode::NoError);
        tc.metadata.truncation = true;
        assert_eq!(build(&tc).unwrap_err(), Refusal::Truncated);

        let any = response("a.example.", RecordType::ANY, ResponseCode::NoError);
        assert_eq!(build(&any).unwrap_err(), Refusal::MetaType(RecordType::ANY));

        let mut short = response("a.example.", RecordType::A, ResponseCode::NoError);
        short.answers.push(a("a.example.", 1, [192, 0, 2, 1]));
        assert_eq!(build(&short).unwrap_err(), Refusal::TtlBelowFloor { ttl: 1, floor: 2 });
    }

    #[test]
    fn refuses_too_many_records_and_too_large_answers() {
        let mut many = response("a.example.", RecordType::A, ResponseCode::NoError);
        for i in 0..=MAX_RECORDS as u8 {
            many.answers.push(a("a.example.", 300, [192, 0, 2, i]));
        }
        assert_eq!(build(&many).unwrap_err(), Refusal::TooManyRecords(MAX_RECORDS + 1));

        let mut large = response("a.example.", RecordType::TXT, ResponseCode::NoError);
        for _ in 0..6 {
            let txt = hickory_proto::rr::rdata::TXT::new(vec!["x".repeat(250)]);
            large.answers.push(Record::from_rdata(Name::from_str("a.example.").unwrap(), 300, RData::TXT(txt)));
        }
        assert!(matches!(build(&large).unwrap_err(), Refusal::TooLarge { .. }));
    }

    #[test]
    fn do_bit_goes_into_the_key_and_options_keep_it_out() {
        let mut m = response("a.example.", RecordType::A, ResponseCode::NoError);
        m.answers.push(a("a.example.", 300, [192, 0, 2, 1]));
        let mut edns = Edns::new();
        edns.flags_mut().dnssec_ok = true;
        m.edns = Some(edns);
        assert_eq!(build(&m).unwrap().key.flags, KEY_FLAG_DO);
        let option = |code: u16, data: Vec<u8>| EdnsOption::Unknown(code, data);
        for (what, code, data, allowed) in [
            ("a cookie", cookie::OPTION_COOKIE, vec![1; 8], true),
            ("padding", 12, vec![0; 20], true),
            ("client subnet", OPTION_CLIENT_SUBNET, vec![0, 1, 24, 0, 192, 0, 2], false),
        ] {
            let mut with = m.clone();
            let edns = with.edns.as_mut().unwrap();
            edns.options_mut().insert(option(code, data));
            assert_eq!(build(&with).is_ok(), allowed, "{what}");
        }
    }

    #[test]
    fn ttls_above_the_cap_are_lowered() {
        let mut m = response("a.example.", RecordType::A, ResponseCode::NoError);
        m.answers.push(a("a.example.", 1_000_000, [192, 0, 2, 1]));
        let e = build(&m).unwrap();
        let at = e.value.ttl_offsets[0] as usize;
        let ttl = u32::from_be_bytes(e.value.data[at..at + 4].try_into().unwrap());
        assert_eq!(ttl, 86_400);
        assert_eq!(e.value.expires_ns, (1_000 + 86_400) * NS_PER_SEC);
    }

    #[test]
    fn the_rrset_that_turns_is_the_last_run_of_a_records_with_one_owner_and_ttl() {
        let rotation = |answers: Vec<Record>| {
            let mut m = response("pool.example.", RecordType::A, ResponseCode::NoError);
            m.answers = answers;
            let entry = AnswerEntry::from_response(&m, &KEY, 0, &WritePolicy::default()).expect("cacheable");
            let v = entry.value.rotation;
            (v.at, v.size, v.count)
        };
        let pool = |ttls: &[u32]| -> Vec<Record> {
            ttls.iter().enumerate().map(|(i, ttl)| a("pool.example.", *ttl, [192, 0, 2, i as u8])).collect()
        };
        assert_eq!(rotation(pool(&[300, 300, 300])), (0, 16, 3), "three A records from the start");
        assert_eq!(rotation(pool(&[300])), (0, 0, 0), "one record does not turn");
        assert_eq!(rotation(pool(&[300, 300, 60])), (0, 16, 2), "the last record's TTL differs: the first two");
        let cname = Record::from_rdata(
            Name::from_str("pool.example.").unwrap(),
            600,
            RData::CNAME(CNAME(Name::from_str("edge.example.net.").unwrap())),
        );
        let edge = (1..=2).map(|i| a("edge.example.net.", 300, [192, 0, 2, i]));
        let chained: Vec<Record> = [cname].into_iter().chain(edge).collect();
        // The CNAME: its owner pointer, 10 bytes, and edge.example.net. (18).
        assert_eq!(rotation(chained), (30, 16, 2), "the two A records after the CNAME");
        assert_eq!(rotation(pool(&[300; 16])), (0, 16, 16), "16 records turn");
        assert_eq!(rotation(pool(&[300; 17])), (0, 0, 0), "17 do not: none rather than some");
    }
}
