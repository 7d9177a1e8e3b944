//! `rrset_order` on the daemon's two paths: the full path (one count for
//! the responder) and the hot answers (one count per answer kept), each
//! handing out the records of the last A RRset in turn, or at random.

use std::collections::HashMap;

use hickory_proto::{
    op::Message,
    rr::{RData, RecordType},
};

use super::{
    respond::{Hot, Responder},
    tests::{CLIENT, query, responder},
    transport::Transport,
};
use crate::{answer_entry::RrsetOrder, resolver::testnet::FakeNet, server::hot::HotAnswers};

fn with_order(order: RrsetOrder) -> Responder<FakeNet> {
    Responder {
        rrset_order: order,
        hot: HotAnswers::new(rand::random(), 1 << 20, None).with_rrset_order(order),
        ..responder()
    }
}

/// The answer's addresses, in order.
fn addresses(response: &[u8]) -> Vec<String> {
    let m = Message::from_vec(response).expect("the response parses");
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

const ORDERS: [&str; 3] = ["10.53.0.111", "10.53.0.112", "10.53.0.113"];

fn starting_at(first: usize) -> Vec<String> {
    (0..3).map(|i| ORDERS[(first + i) % 3].to_string()).collect()
}

#[tokio::test]
async fn rotate_hands_out_each_address_first_in_turn_on_both_paths() {
    let r = with_order(RrsetOrder::Rotate);
    let q = query("multi.example.lab.", RecordType::A, Some((1232, false, 0)));
    for n in 0..6 {
        let full = r.respond(&q, CLIENT, Transport::Tcp).await.expect("a response");
        assert_eq!(addresses(&full), starting_at(n), "the full path's answer {n}");
    }
    r.respond(&q, CLIENT, Transport::Udp).await.expect("kept among the hot answers");
    let mut out = Vec::new();
    for n in 0..6 {
        assert_eq!(r.respond_hot(&q, CLIENT, Transport::Udp, &mut out), Hot::Answered);
        assert_eq!(addresses(&out), starting_at(n), "the hot answer {n}");
    }
    let fixed = with_order(RrsetOrder::Fixed);
    for _ in 0..3 {
        assert_eq!(addresses(&fixed.respond(&q, CLIENT, Transport::Tcp).await.unwrap()), starting_at(0));
    }
}

#[tokio::test]
async fn random_starts_anywhere_about_as_often() {
    let r = with_order(RrsetOrder::Random);
    let q = query("multi.example.lab.", RecordType::A, None);
    r.respond(&q, CLIENT, Transport::Udp).await.expect("kept among the hot answers");
    let (mut full, mut hot) = (HashMap::<String, u32>::new(), HashMap::<String, u32>::new());
    let mut out = Vec::new();
    for _ in 0..600 {
        let response = r.respond(&q, CLIENT, Transport::Tcp).await.unwrap();
        *full.entry(addresses(&response)[0].clone()).or_default() += 1;
        assert_eq!(r.respond_hot(&q, CLIENT, Transport::Udp, &mut out), Hot::Answered);
        *hot.entry(addresses(&out)[0].clone()).or_default() += 1;
        let mut sorted = addresses(&out);
        sorted.sort();
        assert_eq!(sorted, ORDERS, "a rotation: every address, once");
    }
    for (path, counts) in [("full", &full), ("hot", &hot)] {
        assert_eq!(counts.len(), 3, "{path}: {counts:?}");
        assert!(counts.values().all(|&n| (120..=280).contains(&n)), "{path}: about 200 each: {counts:?}");
    }
}
