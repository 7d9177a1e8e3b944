//! A network of in-memory authoritative servers for the resolver's unit
//! tests: each answers from its zones as RFC 1034 4.3.2 describes
//! (referrals with glue, authoritative answers, in-zone CNAMEs chased,
//! NODATA and NXDOMAIN with the SOA), or misbehaves on purpose.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    str::FromStr,
    sync::Mutex,
    time::Duration,
};

use hickory_proto::{
    op::{Message, MessageType, OpCode, ResponseCode},
    rr::{
        Name, RData, Record, RecordType,
        rdata::{A, CNAME, NS, SOA, TXT},
    },
};

use super::{
    hints::{RootHints, RootServer},
    upstream::{Upstream, UpstreamError},
};

pub fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

pub fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 53, 0, last))
}

pub fn a(owner: &str, ttl: u32, addr: IpAddr) -> Record {
    let IpAddr::V4(v4) = addr else { panic!("IPv4 only in the fake net") };
    Record::from_rdata(name(owner), ttl, RData::A(A(v4)))
}

pub fn ns(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 3600, RData::NS(NS(name(target))))
}

pub fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::CNAME(CNAME(name(target))))
}

pub fn txt(owner: &str, text: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::TXT(TXT::new(vec![text.to_string()])))
}

pub fn soa(zone: &str, minimum: u32) -> Record {
    let under = |label: &str| name(&if zone == "." { format!("{label}.") } else { format!("{label}.{zone}") });
    let soa = SOA::new(under("ns"), under("admin"), 1, 3600, 600, 86400, minimum);
    Record::from_rdata(name(zone), 3600, RData::SOA(soa))
}

/// How a fake server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    Authoritative,
    /// Never answers.
    Silent,
    /// Answers REFUSED.
    Refuse,
    /// Answers authoritatively, and adds an A record for
    /// `www.victim.test.` to every additional section.
    Poison,
    /// Answers everything with a referral to the root (a lame server's
    /// classic reply).
    UpwardReferral,
    /// Answers authoritatively, and stuffs an unrelated RRset of its own
    /// zone (`planted.<zone>`) into every answer section.
    Stuffing,
    /// Answers authoritatively with the question lowercased: over UDP the
    /// real upstream then finds only replies in another case (0x20).
    CaseBlind,
    /// Answers authoritatively, but NXDOMAIN for an empty non-terminal (a
    /// name with only names below it), as some broken servers do.
    DeniesEmptyNonTerminals,
}

pub struct Zone {
    pub origin: Name,
    pub records: Vec<Record>,
}

impl Zone {
    /// A zone with its SOA (negative TTL 60) and `records`.
    pub fn new(origin: &str, records: Vec<Record>) -> Zone {
        let mut all = vec![soa(origin, 60)];
        all.extend(records);
        Zone { origin: name(origin), records: all }
    }

    fn at(&self, owner: &Name, rtype: RecordType) -> Vec<Record> {
        self.records.iter().filter(|r| r.name == *owner && r.record_type() == rtype).cloned().collect()
    }

    fn exists(&self, owner: &Name) -> bool {
        self.records.iter().any(|r| owner.zone_of(&r.name))
    }
}

struct Server {
    zones: Vec<Zone>,
    behavior: Behavior,
}

#[derive(Default)]
pub struct FakeNet {
    servers: HashMap<IpAddr, Server>,
    /// Every query received: (server, name, type).
    pub log: Mutex<Vec<(IpAddr, Name, RecordType)>>,
    /// While set, no server answers (the upstream link is cut).
    pub outage: std::sync::atomic::AtomicBool,
    /// How long every answer takes.
    pub latency: Mutex<Duration>,
}

impl FakeNet {
    pub fn serve(mut self, addr: IpAddr, behavior: Behavior, zones: Vec<Zone>) -> FakeNet {
        self.servers.insert(addr, Server { zones, behavior });
        self
    }

    pub fn queries(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    fn answer(&self, server: &Server, request: &Message) -> Message {
        let question = &request.queries[0];
        let (qname, qtype) = (question.name().clone(), question.query_type());
        let mut response = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
        response.queries = request.queries.clone();
        if server.behavior == Behavior::Refuse {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        }
        if server.behavior == Behavior::UpwardReferral {
            response.authorities.push(ns(".", "a.root.lab."));
            response.additionals.push(a("a.root.lab.", 3600, ip(1)));
            return response;
        }
        if server.behavior == Behavior::Poison {
            response.additionals.push(a("www.victim.test.", 86400, ip(66)));
        }
        let Some(zone) = server.zones.iter().filter(|z| z.origin.zone_of(&qname)).max_by_key(|z| z.origin.num_labels())
        else {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        };
        // The highest delegation between the origin and the name.
        for labels in zone.origin.num_labels() + 1..=qname.num_labels() {
            let cut = qname.trim_to(labels as usize);
            let delegation = zone.at(&cut, RecordType::NS);
            if !delegation.is_empty() {
                for record in &delegation {
                    let RData::NS(target) = &record.data else { continue };
                    response.additionals.extend(zone.at(&target.0, RecordType::A));
                }
                response.authorities = delegation;
                return response;
            }
        }
        response.metadata.authoritative = true;
        if server.behavior == Behavior::Stuffing {
            let planted = format!("planted.{}", zone.origin);
            response.answers.push(a(&planted, 86400, ip(66)));
        }
        let mut owner = qname.clone();
        for _ in 0..8 {
            let records = zone.at(&owner, qtype);
            if !records.is_empty() {
                response.answers.extend(records);
                return response;
            }
            let Some(link) = zone.at(&owner, RecordType::CNAME).into_iter().next() else { break };
            let RData::CNAME(target) = &link.data else { break };
            let target = target.0.clone();
            response.answers.push(link);
            if !zone.origin.zone_of(&target) {
                return response;
            }
            owner = target;
        }
        if !response.answers.is_empty() {
            return response;
        }
        let empty = zone.records.iter().all(|r| r.name != owner);
        if !zone.exists(&owner) || (server.behavior == Behavior::DeniesEmptyNonTerminals && empty) {
            response.metadata.response_code = ResponseCode::NXDomain;
        }
        response.authorities = zone.at(&zone.origin, RecordType::SOA);
        response
    }
}

impl Upstream for FakeNet {
    async fn exchange(&self, server: SocketAddr, request: Message) -> Result<Message, UpstreamError> {
        let question = &request.queries[0];
        self.log.lock().unwrap().push((server.ip(), question.name().clone(), question.query_type()));
        // A real exchange waits for the network: other tasks run meanwhile
        // (without it, concurrent askers would never overlap).
        tokio::task::yield_now().await;
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if self.outage.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(UpstreamError::Timeout(Duration::from_millis(800)));
        }
        match self.servers.get(&server.ip()) {
            Some(s)
                if s.behavior == Behavior::CaseBlind && !question.name().to_lowercase().eq_case(question.name()) =>
            {
                Err(UpstreamError::CaseMismatch(Duration::from_millis(800)))
            }
            Some(s) if s.behavior != Behavior::Silent => Ok(self.answer(s, &request)),
            _ => Err(UpstreamError::Timeout(Duration::from_millis(800))),
        }
    }
}

/// . (10.53.0.1) delegates lab. (.2) and other. (.4). lab. delegates
/// example.lab. with glue (.3), noglue.lab. to a server named in other.
/// (whose real address is .9; lab.'s server sends a false one along),
/// lame.lab. to a refusing (.5) and a good server (.6), slow.lab. to a
/// silent (.7) and a good server (.8), up.lab. to a server that refers
/// every question back to the root (.10).
pub fn hierarchy() -> FakeNet {
    use Behavior::*;
    FakeNet::default()
        .serve(ip(1), Authoritative, vec![root_zone()])
        .serve(ip(2), Authoritative, vec![lab_zone()])
        .serve(ip(3), Authoritative, vec![example_zone()])
        .serve(
            ip(4),
            Authoritative,
            vec![Zone::new("other.", vec![a("www.other.", 600, ip(102)), a("ns.elsewhere.other.", 3600, ip(9))])],
        )
        .serve(ip(9), Authoritative, vec![Zone::new("noglue.lab.", vec![a("host.noglue.lab.", 300, ip(103))])])
        .serve(ip(5), Refuse, vec![])
        .serve(ip(6), Authoritative, vec![Zone::new("lame.lab.", vec![a("host.lame.lab.", 300, ip(104))])])
        .serve(ip(7), Silent, vec![])
        .serve(ip(10), UpwardReferral, vec![])
        .serve(ip(8), Authoritative, vec![Zone::new("slow.lab.", vec![a("host.slow.lab.", 300, ip(105))])])
}

/// lab., served by .2.
pub fn lab_zone() -> Zone {
    Zone::new(
        "lab.",
        vec![
            a("www.lab.", 300, ip(100)),
            ns("example.lab.", "ns.example.lab."),
            a("ns.example.lab.", 3600, ip(3)),
            ns("noglue.lab.", "ns.elsewhere.other."),
            // Out-of-bailiwick "glue" lab.'s server sends along.
            a("ns.elsewhere.other.", 3600, ip(66)),
            ns("lame.lab.", "ns1.lame.lab."),
            ns("lame.lab.", "ns2.lame.lab."),
            a("ns1.lame.lab.", 3600, ip(5)),
            a("ns2.lame.lab.", 3600, ip(6)),
            ns("slow.lab.", "a.slow.lab."),
            ns("slow.lab.", "b.slow.lab."),
            a("a.slow.lab.", 3600, ip(7)),
            a("b.slow.lab.", 3600, ip(8)),
            ns("up.lab.", "ns.up.lab."),
            a("ns.up.lab.", 3600, ip(10)),
            cname("loop1.lab.", "loop2.lab."),
            cname("loop2.lab.", "loop1.lab."),
        ],
    )
}

/// example.lab., served by .3.
pub fn example_zone() -> Zone {
    Zone::new(
        "example.lab.",
        vec![
            ns("example.lab.", "ns.example.lab."),
            a("ns.example.lab.", 3600, ip(3)),
            a("www.example.lab.", 300, ip(101)),
            a("multi.example.lab.", 300, ip(111)),
            a("multi.example.lab.", 300, ip(112)),
            a("multi.example.lab.", 300, ip(113)),
            cname("alias.example.lab.", "www.other."),
            cname("chain.example.lab.", "alias.example.lab."),
            txt("big.example.lab.", &"a".repeat(250)),
            txt("big.example.lab.", &"b".repeat(250)),
            txt("big.example.lab.", &"c".repeat(250)),
        ],
    )
}

pub fn root_zone() -> Zone {
    Zone::new(
        ".",
        vec![
            ns(".", "a.root.lab."),
            a("a.root.lab.", 3600, ip(1)),
            ns("lab.", "ns.lab."),
            a("ns.lab.", 3600, ip(2)),
            ns("other.", "ns1.other."),
            a("ns1.other.", 3600, ip(4)),
        ],
    )
}

pub fn hints() -> RootHints {
    RootHints { servers: vec![RootServer { name: name("a.root.lab."), addresses: vec![ip(1)] }] }
}
