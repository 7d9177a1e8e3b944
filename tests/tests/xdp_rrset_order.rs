//! `rrset_order` at XDP, through BPF_PROG_TEST_RUN: the last A or AAAA
//! RRset of an answer is handed out in turn (the n-th answer from an entry
//! starts at its record n mod count) or from a random record, every
//! checksum still right, and each response byte for byte (TTLs aside) the
//! one the daemon's hot answers give for the same count.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use anycast_common::dns::HEADER_LEN;
use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT4, Node, VIP4},
    reply::{self, Sender},
    zone::{self, EDNS_DO, Sections, a, aaaa, cname, rrsig_over_a},
};
use anycast_user::{
    answer_entry::{AnswerEntry, RrsetOrder},
    server::{hot::HotAnswers, query_view::QueryView},
};
use hickory_proto::{
    op::{Message, ResponseCode},
    rr::{RData, RecordType},
};

/// A question, its answer section, and the addresses in stored order.
struct Case {
    name: &'static str,
    qtype: RecordType,
    dnssec_ok: bool,
    answers: Vec<hickory_proto::rr::Record>,
    addresses: Vec<&'static str>,
}

fn cases() -> Vec<Case> {
    let pool = ["192.0.2.11", "192.0.2.12", "192.0.2.13"];
    let pool6 = ["2001:db8::11", "2001:db8::12", "2001:db8::13", "2001:db8::14"];
    vec![
        Case {
            name: "pool.example.",
            qtype: RecordType::A,
            dnssec_ok: false,
            answers: pool.iter().map(|ip| a("pool.example.", 300, ip)).collect(),
            addresses: pool.to_vec(),
        },
        Case {
            name: "pool.example.",
            qtype: RecordType::AAAA,
            dnssec_ok: false,
            answers: pool6.iter().map(|ip| aaaa("pool.example.", 300, ip)).collect(),
            addresses: pool6.to_vec(),
        },
        Case {
            name: "pool.example.",
            qtype: RecordType::A,
            dnssec_ok: true,
            answers: pool
                .iter()
                .map(|ip| a("pool.example.", 300, ip))
                .chain([rrsig_over_a("pool.example.", 300)])
                .collect(),
            addresses: pool.to_vec(),
        },
        Case {
            name: "cdn.example.",
            qtype: RecordType::A,
            dnssec_ok: false,
            answers: [cname("cdn.example.", 600, "edge.example.net.")]
                .into_iter()
                .chain(pool[..2].iter().map(|ip| a("edge.example.net.", 300, ip)))
                .collect(),
            addresses: pool[..2].to_vec(),
        },
    ]
}

fn query(case: &Case) -> Message {
    zone::query(0x5151, case.name, case.qtype, if case.dnssec_ok { EDNS_DO } else { None })
}

/// Puts the case's entry into the map, with its records in stored order.
fn insert(node: &mut Node, case: &Case) -> AnswerEntry {
    let response = zone::respond(&query(case), ResponseCode::NoError, Sections::answers(case.answers.clone()));
    node.insert(&response, Duration::ZERO)
}

/// The DNS payload the program sent for `payload`, its checksums checked.
fn run(node: &mut Node, payload: &[u8]) -> Vec<u8> {
    let frame = FrameSpec::dns(IpAddr::V4(CLIENT4), IpAddr::V4(VIP4), payload.to_vec()).build();
    let run = node.run(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.action, 3, "XDP_TX");
    reply::parse(&run.frame, Sender::Node).unwrap_or_else(|e| panic!("the reply: {e}")).dns
}

fn addresses(dns: &[u8]) -> Vec<String> {
    let m = Message::from_vec(dns).expect("the response parses");
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// `dns` with the entry's TTL fields zeroed.
fn without_ttls(mut dns: Vec<u8>, entry: &AnswerEntry, question_len: usize) -> Vec<u8> {
    let v = &entry.value;
    for &at in &v.ttl_offsets[..v.ttl_count as usize] {
        let at = HEADER_LEN + question_len + at as usize;
        dns[at..at + 4].fill(0);
    }
    dns
}

#[test]
fn rotate_hands_out_each_record_first_in_turn_as_the_daemon_does() {
    let mut node = Node::with_settings(|s| s.rrset_order = RrsetOrder::Rotate);
    let hot = HotAnswers::new(*node.fast_path.hash_key(), 1 << 20, None).with_rrset_order(RrsetOrder::Rotate);
    for case in cases() {
        let entry = insert(&mut node, &case);
        hot.insert(&entry, false);
        let payload = zone::wire(&query(&case));
        let question_len = zone::question_len(&payload);
        let count = case.addresses.len();
        for n in 0..2 * count {
            let ours = run(&mut node, &payload);
            let expected: Vec<String> = (0..count).map(|i| case.addresses[(n + i) % count].to_string()).collect();
            assert_eq!(addresses(&ours), expected, "{} {} DO={}: answer {n}", case.name, case.qtype, case.dnssec_ok);
            let view = QueryView::parse(&payload).expect("the query parses");
            let mut daemons = Vec::new();
            let edns = view.opt.map(|opt| {
                let edns = node.edns.answer(opt.dnssec_ok, opt.options(), IpAddr::V4(CLIENT4));
                edns.expect("no cookie to be malformed").response
            });
            hot.answer(&view, edns.as_ref(), anycast_user::clock::boottime_ns(), &mut daemons).expect("a hot answer");
            assert_eq!(
                without_ttls(ours, &entry, question_len),
                without_ttls(daemons, &entry, question_len),
                "{} {}: answer {n}, byte for byte but for TTLs",
                case.name,
                case.qtype
            );
        }
    }
}

#[test]
fn random_starts_at_every_record_about_as_often_and_fixed_never_turns() {
    let case = cases().remove(0);
    let mut random = Node::with_settings(|s| s.rrset_order = RrsetOrder::Random);
    insert(&mut random, &case);
    let payload = zone::wire(&query(&case));
    let mut firsts = HashMap::<String, u32>::new();
    for _ in 0..600 {
        let got = addresses(&run(&mut random, &payload));
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, case.addresses, "a rotation: every address once");
        *firsts.entry(got[0].clone()).or_default() += 1;
    }
    assert_eq!(firsts.len(), 3, "{firsts:?}");
    assert!(firsts.values().all(|&n| (120..=280).contains(&n)), "about 200 each: {firsts:?}");
    let mut fixed = Node::new();
    insert(&mut fixed, &case);
    for _ in 0..4 {
        assert_eq!(addresses(&run(&mut fixed, &payload)), case.addresses, "fixed: as stored");
    }
}
