//! BGP from a peer: the framer over any byte stream (header checks, then
//! netgauze's codec), and an OPEN's checks. It must stop at an error, ask
//! for more, or consume what it returns: never panic, never loop in place.
#![no_main]

use anycast_user::route::bgp::message::{Framer, Incoming, check_open};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut framer = Framer::default();
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match framer.decode(&mut buf) {
            Ok(Some(Incoming::Message(message))) => {
                if let netgauze_bgp_pkt::BgpMessage::Open(open) = &message {
                    let _ = check_open(open, 65000, 65001, 90);
                }
            }
            Ok(Some(Incoming::Discarded { .. })) => {}
            Ok(None) | Err(_) => break,
        }
        assert!(buf.len() < before, "a message was returned without consuming bytes");
    }
});
