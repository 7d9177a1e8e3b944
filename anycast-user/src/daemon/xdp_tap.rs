//! The XDP program's answers in dnstap: each record of the TAP ring
//! becomes a CLIENT_RESPONSE (an answer or a slip, with the message as
//! sent) or, for a rate-limited drop, a CLIENT_QUERY, marked in `extra`
//! as the fast path's.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use anycast_common::tap::{TAP_ANSWERED, TAP_DROPPED, TapRecord};
use tokio::sync::watch;

use super::top::Top;
use crate::{
    clock::Moment,
    dnstap::{Event, Kind, Protocol, Tap},
    fastpath::tap::TapRing,
};

/// `extra` of an answer at XDP, a slip and a drop.
pub const EXTRA_ANSWERED: &[u8] = b"anycastd: answered at XDP";
pub const EXTRA_SLIPPED: &[u8] = b"anycastd: rate-limited at XDP, slipped";
pub const EXTRA_DROPPED: &[u8] = b"anycastd: rate-limited at XDP, dropped";

/// Turns the ring's records into dnstap events (and counts them for
/// `top`) until `stop`.
pub async fn run(ring: TapRing, tap: Tap, top: Arc<Top>, mut stop: watch::Receiver<bool>) {
    let mut ring = match ring.watch() {
        Ok(ring) => ring,
        Err(e) => return tracing::error!(error = %e, "dnstap: the XDP records cannot be read"),
    };
    loop {
        let mut ready = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            ready = ring.readable_mut() => match ready {
                Ok(ready) => ready,
                Err(e) => return tracing::error!(error = %e, "dnstap: reading the XDP records"),
            },
        };
        // One clock pair for what is waiting: records are recent.
        let moment = Moment::now();
        while let Some(record) = ready.get_inner_mut().next_record() {
            if let Some(event) = event(&record, moment) {
                top.record(event.query_addr.ip(), &event.message);
                tap.log(event);
            }
        }
        ready.clear_ready();
    }
}

/// The event for `record`, dated by `moment`.
fn event(record: &TapRecord, moment: Moment) -> Option<Event> {
    let (kind, extra) = match record.verdict {
        TAP_ANSWERED => (Kind::ClientResponse, EXTRA_ANSWERED),
        TAP_DROPPED => (Kind::ClientQuery, EXTRA_DROPPED),
        _ => (Kind::ClientResponse, EXTRA_SLIPPED),
    };
    let at = moment.wall_time_of(record.time_ns)?;
    let message = record.message.get(..usize::from(record.message_len))?;
    let address = |bytes: [u8; 16]| match record.ipv6 {
        0 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        _ => IpAddr::V6(Ipv6Addr::from(bytes)),
    };
    let client = SocketAddr::new(address(record.client), record.client_port);
    let server = SocketAddr::new(address(record.server), record.server_port);
    let response_time = (kind == Kind::ClientResponse).then_some(at);
    Some(Event { extra: Some(extra), ..Event::new(kind, Protocol::Udp, client, server, at, response_time, message) })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use anycast_common::{MAX_RESPONSE_LEN, tap::TAP_SLIPPED};

    use super::*;

    fn record(verdict: u8, ipv6: bool) -> TapRecord {
        let mut message = [0u8; MAX_RESPONSE_LEN];
        message[..4].copy_from_slice(&[0xab, 0xcd, 0x81, 0x80]);
        let (client, server) = match ipv6 {
            false => {
                ([10, 99, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [6, 6, 6, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            }
            true => (Ipv6Addr::LOCALHOST.octets(), "2001:db8::6".parse::<Ipv6Addr>().unwrap().octets()),
        };
        TapRecord {
            time_ns: 5_000_000_000,
            client,
            server,
            client_port: 40000,
            server_port: 53,
            verdict,
            ipv6: ipv6 as u8,
            message_len: 4,
            message,
        }
    }

    #[test]
    fn records_become_client_messages_marked_as_the_fast_paths() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cases = [
            (TAP_ANSWERED, false, Kind::ClientResponse, EXTRA_ANSWERED, "10.99.1.2:40000", "6.6.6.6:53"),
            (TAP_SLIPPED, false, Kind::ClientResponse, EXTRA_SLIPPED, "10.99.1.2:40000", "6.6.6.6:53"),
            (TAP_DROPPED, true, Kind::ClientQuery, EXTRA_DROPPED, "[::1]:40000", "[2001:db8::6]:53"),
        ];
        for (verdict, ipv6, kind, extra, client, server) in cases {
            let e = event(&record(verdict, ipv6), Moment { wall, boot_ns: 7_000_000_000 }).expect("an event");
            assert_eq!((e.kind, e.extra, e.protocol), (kind, Some(extra), Protocol::Udp), "verdict {verdict}");
            assert_eq!((e.query_addr, e.response_addr), (client.parse().unwrap(), server.parse().unwrap()));
            assert_eq!(e.query_time, wall - Duration::from_secs(2), "two seconds before the clocks were read");
            assert_eq!(e.response_time.is_some(), kind == Kind::ClientResponse);
            assert_eq!(e.message, [0xab, 0xcd, 0x81, 0x80]);
        }
        let mut long = record(TAP_ANSWERED, false);
        long.message_len = MAX_RESPONSE_LEN as u16 + 1;
        assert_eq!(event(&long, Moment { wall, boot_ns: 7_000_000_000 }), None, "a length past the message");
    }
}
