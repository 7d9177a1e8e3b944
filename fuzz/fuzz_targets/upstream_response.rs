//! Upstream responses: a client question resolved from the root, every
//! server's reply taken from the fuzzer's bytes (matched to the request, so
//! that referrals, CNAMEs, negative answers and glue reach the iterator).
//! No panic, a response that parses, and the resolver's budget holds.
#![no_main]

use anycast_fuzz::{Replies, block_on, responder};
use anycast_user::server::transport::Transport;
use hickory_proto::{
    op::{Message, MessageType, OpCode, Query},
    rr::{Name, RecordType},
};
use libfuzzer_sys::fuzz_target;

const TYPES: [RecordType; 8] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::NS,
    RecordType::MX,
    RecordType::CNAME,
    RecordType::TXT,
    RecordType::SOA,
    RecordType::PTR,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, replies)) = data.split_first() else { return };
    let mut query = Message::new(0x4242, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.queries.push(Query::query(Name::from_ascii("www.example.com.").unwrap(), TYPES[usize::from(pick) % 8]));
    let wire = query.to_vec().unwrap();
    let responder = responder(Replies::new(replies));
    let response = block_on(responder.respond(&wire, "10.1.2.3".parse().unwrap(), Transport::Udp))
        .expect("a query from inside the ACL is answered");
    let message = Message::from_vec(&response).expect("the response parses");
    assert_eq!(message.metadata.id, 0x4242);
});
