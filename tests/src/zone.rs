//! DNS messages for the fixtures: queries as clients send them and the
//! responses a resolver would give, which go through the map writer.

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use hickory_proto::{
    op::{Edns, Message, MessageType, OpCode, Query, ResponseCode},
    rr::{
        Name, RData, Record, RecordType,
        rdata::{A, AAAA, CNAME, SOA, TXT},
    },
};

use crate::harness::EDNS_UDP_SIZE;

/// EDNS as a client sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientEdns {
    pub udp_size: u16,
    pub dnssec_ok: bool,
}

pub const EDNS: Option<ClientEdns> = Some(ClientEdns { udp_size: 1232, dnssec_ok: false });
pub const EDNS_DO: Option<ClientEdns> = Some(ClientEdns { udp_size: 1232, dnssec_ok: true });

pub fn name(s: &str) -> Name {
    // from_ascii keeps the case, as a 0x20 client sends it.
    Name::from_ascii(s).unwrap_or_else(|e| panic!("fixture name {s}: {e}"))
}

/// A query with RD set, as a stub resolver sends it.
pub fn query(id: u16, qname: &str, qtype: RecordType, edns: Option<ClientEdns>) -> Message {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.queries.push(Query::query(name(qname), qtype));
    m.edns = edns.map(|e| {
        let mut edns = Edns::new();
        edns.set_max_payload(e.udp_size);
        edns.flags_mut().dnssec_ok = e.dnssec_ok;
        edns
    });
    m
}

/// The response the node gives to `query`: its own question, RA set, RD
/// and CD echoed, and an OPT record of the node's if the query had one.
pub fn respond(query: &Message, rcode: ResponseCode, sections: Sections) -> Message {
    let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.checking_disabled = query.metadata.checking_disabled;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.queries = query.queries.clone();
    m.answers = sections.answers;
    m.authorities = sections.authorities;
    m.additionals = sections.additionals;
    m.edns = query.edns.as_ref().map(|q| {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_UDP_SIZE);
        edns.flags_mut().dnssec_ok = q.flags().dnssec_ok;
        edns
    });
    m
}

#[derive(Clone, Debug, Default)]
pub struct Sections {
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

impl Sections {
    pub fn answers(answers: Vec<Record>) -> Sections {
        Sections { answers, ..Default::default() }
    }

    pub fn authority(authorities: Vec<Record>) -> Sections {
        Sections { authorities, ..Default::default() }
    }
}

pub fn a(owner: &str, ttl: u32, ip: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A::from(Ipv4Addr::from_str(ip).unwrap())))
}

pub fn aaaa(owner: &str, ttl: u32, ip: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::AAAA(AAAA::from(Ipv6Addr::from_str(ip).unwrap())))
}

pub fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

pub fn txt(owner: &str, ttl: u32, text: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::TXT(TXT::new(vec![text.to_string()])))
}

/// The SOA of `zone` as a negative answer carries it.
pub fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    let soa = SOA::new(
        name(&format!("ns1.{zone}")),
        name(&format!("hostmaster.{zone}")),
        2026112201,
        7200,
        900,
        1209600,
        minimum,
    );
    Record::from_rdata(name(zone), ttl, RData::SOA(soa))
}

/// `query` (wire form, with an OPT record without options as its last
/// record) with these (code, data) EDNS options added to the OPT.
pub fn with_options(mut query: Vec<u8>, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let at = query.len() - 2;
    assert_eq!(query[at..], [0, 0], "the query's OPT record comes last, without options");
    for (code, data) in options {
        query.extend_from_slice(&code.to_be_bytes());
        query.extend_from_slice(&(data.len() as u16).to_be_bytes());
        query.extend_from_slice(data);
    }
    let rdlen = (query.len() - at - 2) as u16;
    query[at..at + 2].copy_from_slice(&rdlen.to_be_bytes());
    query
}

/// `query` in wire format.
pub fn wire(query: &Message) -> Vec<u8> {
    query.to_vec().unwrap_or_else(|e| panic!("encoding a fixture query: {e}"))
}

/// Length of the question section of a wire message with one question.
pub fn question_len(wire: &[u8]) -> usize {
    anycast_user::wire::name_len(&wire[12..]).expect("an uncompressed question name") + 4
}

/// One answer the tests put in the map.
#[derive(Clone, Debug)]
pub struct Entry {
    pub qname: &'static str,
    pub qtype: RecordType,
    /// Whether it answers queries with the DO bit.
    pub dnssec_ok: bool,
    pub rcode: ResponseCode,
    pub sections: Sections,
    /// Validated secure: the writer is given a response with AD set.
    pub secure: bool,
}

impl Entry {
    /// The response the map writer is given for this entry.
    pub fn response(&self) -> Message {
        let edns = self.dnssec_ok.then_some(ClientEdns { udp_size: 1232, dnssec_ok: true });
        let mut response = respond(&query(0, self.qname, self.qtype, edns), self.rcode, self.sections.clone());
        response.metadata.authentic_data = self.secure;
        response
    }

    /// The node's answer to `asked` from this entry: AD for secure data
    /// when the query had DO or AD (RFC 6840 5.8).
    pub fn answer_to(&self, asked: &Message) -> Message {
        let mut answer = respond(asked, self.rcode, self.sections.clone());
        let dnssec_ok = asked.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        answer.metadata.authentic_data = self.secure && (dnssec_ok || asked.metadata.authentic_data);
        answer
    }

    /// Whether this entry answers `question` asked with DO = `dnssec_ok`.
    pub fn answers(&self, question: &Query, dnssec_ok: bool) -> bool {
        question.name() == &name(self.qname)
            && question.query_type() == self.qtype
            && question.query_class() == hickory_proto::rr::DNSClass::IN
            && dnssec_ok == self.dnssec_ok
    }
}

/// A big TXT answer: 3 x 250 bytes of text, over 512 bytes in all.
pub fn big_txt() -> Vec<Record> {
    (0..3).map(|i| txt("big.example.", 600, &format!("{i}").repeat(250))).collect()
}

/// The answers the fixture and mutation tests serve from the map: plain
/// addresses, a DO variant, a CNAME chain across zones, NXDOMAIN and NODATA
/// with their SOA, an answer over 512 bytes, and one that has expired.
pub fn catalog() -> Vec<Entry> {
    let entry =
        |qname, qtype, dnssec_ok, rcode, sections| Entry { qname, qtype, dnssec_ok, rcode, sections, secure: false };
    let secure =
        |dnssec_ok, answers| Entry { secure: true, ..entry("secure.example.", A, dnssec_ok, NoError, answers) };
    use RecordType::*;
    use ResponseCode::{NXDomain, NoError};
    vec![
        entry("www.example.", A, false, NoError, Sections::answers(vec![a("www.example.", 300, "192.0.2.1")])),
        // Another address for DO queries marks that the two never mix.
        entry("www.example.", A, true, NoError, Sections::answers(vec![a("www.example.", 300, "192.0.2.2")])),
        entry("www.example.", AAAA, false, NoError, Sections::answers(vec![aaaa("www.example.", 300, "2001:db8::1")])),
        entry(
            "alias.example.",
            A,
            false,
            NoError,
            Sections::answers(vec![
                cname("alias.example.", 600, "web.example.net."),
                cname("web.example.net.", 900, "www.example."),
                a("www.example.", 300, "192.0.2.1"),
            ]),
        ),
        entry("nx.example.", A, false, NXDomain, Sections::authority(vec![soa("example.", 900, 300)])),
        entry("www.example.", MX, false, NoError, Sections::authority(vec![soa("example.", 900, 300)])),
        entry("big.example.", TXT, false, NoError, Sections::answers(big_txt())),
        entry(
            "ns.example.",
            A,
            false,
            NoError,
            Sections {
                answers: vec![a("ns.example.", 3600, "192.0.2.53")],
                authorities: vec![],
                additionals: vec![aaaa("ns.example.", 3600, "2001:db8::53")],
            },
        ),
        // Validated data: the DO=1 entry carries the RRSIG, the DO=0 one
        // not; both give AD to the queries that ask for it.
        secure(
            true,
            Sections::answers(vec![a("secure.example.", 300, "192.0.2.7"), rrsig_over_a("secure.example.", 300)]),
        ),
        secure(false, Sections::answers(vec![a("secure.example.", 300, "192.0.2.7")])),
    ]
}

/// An RRSIG record (algorithm 13) as a signed zone serves one over the A
/// RRset at `owner`: the fast path serves it as data, it verifies nothing.
pub fn rrsig_over_a(owner: &str, ttl: u32) -> Record {
    use hickory_proto::{
        dnssec::{
            Algorithm,
            rdata::{DNSSECRData, RRSIG, sig::SigInput},
        },
        rr::SerialNumber,
    };
    let input = SigInput {
        type_covered: RecordType::A,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: name(owner).num_labels(),
        original_ttl: ttl,
        sig_expiration: SerialNumber::new(1_900_000_000),
        sig_inception: SerialNumber::new(1_700_000_000),
        key_tag: 12345,
        signer_name: name(owner).base_name(),
    };
    let rrsig = RRSIG::from_sig(input, vec![0x5a; 64]);
    Record::from_rdata(name(owner), ttl, RData::DNSSEC(DNSSECRData::RRSIG(rrsig)))
}

/// An entry that is written long enough ago to have expired.
pub fn expired() -> Entry {
    Entry {
        qname: "old.example.",
        qtype: RecordType::A,
        dnssec_ok: false,
        rcode: ResponseCode::NoError,
        sections: Sections::answers(vec![a("old.example.", 60, "192.0.2.60")]),
        secure: false,
    }
}
