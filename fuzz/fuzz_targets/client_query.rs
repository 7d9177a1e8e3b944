//! Client queries, over UDP and TCP, from inside and outside the ACL, and
//! the rate limiter's slip: whatever the bytes, no panic, and any response
//! is a DNS message with the query's ID.
#![no_main]

use anycast_fuzz::{Replies, block_on, limited, responder};
use anycast_user::server::{respond::Hot, transport::Transport};
use hickory_proto::op::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let responder = responder(Replies::none());
    for (client, transport) in [("10.1.2.3", Transport::Udp), ("192.0.2.1", Transport::Tcp)] {
        if let Some(response) = block_on(responder.respond(data, client.parse().unwrap(), transport)) {
            assert_eq!(response[..2], data[..2], "the response carries the query's ID");
            Message::from_vec(&response).expect("every response parses");
        }
    }
    // The hot answers, for a query of any shape: one for the hot name
    // (see `HOT_NAME`) is written as the XDP program would write it.
    let mut out = Vec::new();
    for client in ["10.1.2.3", "192.0.2.1"] {
        if responder.respond_hot(data, client.parse().unwrap(), Transport::Udp, &mut out) == Hot::Answered {
            assert_eq!(out[..2], data[..2], "the response carries the query's ID");
            Message::from_vec(&out).expect("every response parses");
        }
    }
    // Over the limit from the second query on: the slip (TC=1, or
    // BADCOOKIE for a query with a cookie), whatever the bytes.
    let limited = limited(anycast_fuzz::responder(Replies::none()));
    for _ in 0..2 {
        if let Some(response) = block_on(limited.respond(data, "10.1.2.3".parse().unwrap(), Transport::Udp)) {
            assert_eq!(response[..2], data[..2], "the response carries the query's ID");
            Message::from_vec(&response).expect("every response parses");
        }
    }
});
