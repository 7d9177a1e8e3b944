//! The dnstap protobuf messages (the `dnstap.proto` schema of dnstap.info,
//! proto2), as much of them as the node fills, and the event they are
//! made from.

use std::{
    net::{IpAddr, SocketAddr},
    time::{SystemTime, UNIX_EPOCH},
};

use prost::Message as _;

/// `Dnstap`, the top-level message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dnstap {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub identity: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub version: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub extra: Option<Vec<u8>>,
    #[prost(message, optional, tag = "14")]
    pub message: Option<Message>,
    /// Always `MESSAGE` (1), the one payload type defined.
    #[prost(int32, required, tag = "15")]
    pub r#type: i32,
}

const DNSTAP_TYPE_MESSAGE: i32 = 1;

/// `Message`: a DNS message and where and when it went.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(enumeration = "Kind", required, tag = "1")]
    pub r#type: i32,
    #[prost(enumeration = "Family", optional, tag = "2")]
    pub socket_family: Option<i32>,
    #[prost(enumeration = "Protocol", optional, tag = "3")]
    pub socket_protocol: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub query_address: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub response_address: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "6")]
    pub query_port: Option<u32>,
    #[prost(uint32, optional, tag = "7")]
    pub response_port: Option<u32>,
    #[prost(uint64, optional, tag = "8")]
    pub query_time_sec: Option<u64>,
    #[prost(fixed32, optional, tag = "9")]
    pub query_time_nsec: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "10")]
    pub query_message: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "12")]
    pub response_time_sec: Option<u64>,
    #[prost(fixed32, optional, tag = "13")]
    pub response_time_nsec: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "14")]
    pub response_message: Option<Vec<u8>>,
}

/// `Message.Type`: which end of which exchange the message was seen at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Kind {
    ResolverQuery = 3,
    ResolverResponse = 4,
    ClientQuery = 5,
    ClientResponse = 6,
    ForwarderQuery = 7,
    ForwarderResponse = 8,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::ResolverQuery,
        Kind::ResolverResponse,
        Kind::ClientQuery,
        Kind::ClientResponse,
        Kind::ForwarderQuery,
        Kind::ForwarderResponse,
    ];

    /// A query (the other kinds are responses).
    fn is_query(self) -> bool {
        matches!(self, Kind::ResolverQuery | Kind::ClientQuery | Kind::ForwarderQuery)
    }
}

/// `SocketFamily`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Family {
    Inet = 1,
    Inet6 = 2,
}

/// `SocketProtocol`, as far as the node speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Protocol {
    Udp = 1,
    Tcp = 2,
    /// DNS over TLS.
    Dot = 3,
    /// DNS over HTTPS.
    Doh = 4,
}

/// One DNS message seen, as the server or the resolver hands it over; the
/// writer turns it into a [`Dnstap`] frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: Kind,
    pub protocol: Protocol,
    /// The initiator of the exchange (the client, or the node asking
    /// upstream).
    pub query_addr: SocketAddr,
    /// The responder (the VIP, or the server asked).
    pub response_addr: SocketAddr,
    pub query_time: SystemTime,
    /// Set for responses.
    pub response_time: Option<SystemTime>,
    /// The message, verbatim: the query of a query kind, the response of
    /// a response kind.
    pub message: Vec<u8>,
    /// What the `extra` field says (e.g. that XDP answered).
    pub extra: Option<&'static [u8]>,
}

/// The server's identity and version strings, as `Dnstap` carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub identity: Option<Vec<u8>>,
    pub version: Option<Vec<u8>>,
}

impl Event {
    /// An event without `extra`.
    pub fn new(
        kind: Kind,
        protocol: Protocol,
        query_addr: SocketAddr,
        response_addr: SocketAddr,
        query_time: SystemTime,
        response_time: Option<SystemTime>,
        message: &[u8],
    ) -> Event {
        Event {
            kind,
            protocol,
            query_addr,
            response_addr,
            query_time,
            response_time,
            message: message.to_vec(),
            extra: None,
        }
    }

    /// The protobuf encoding of the `Dnstap` message for this event.
    pub fn encode(self, origin: &Origin) -> Vec<u8> {
        let family = match self.query_addr.ip() {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        };
        let (query_time_sec, query_time_nsec) = split(self.query_time);
        let response_time = self.response_time.map(split);
        let (query_message, response_message) = match self.kind.is_query() {
            true => (Some(self.message), None),
            false => (None, Some(self.message)),
        };
        let message = Message {
            r#type: self.kind as i32,
            socket_family: Some(family as i32),
            socket_protocol: Some(self.protocol as i32),
            query_address: Some(address(self.query_addr.ip())),
            response_address: Some(address(self.response_addr.ip())),
            query_port: Some(u32::from(self.query_addr.port())),
            response_port: Some(u32::from(self.response_addr.port())),
            query_time_sec: Some(query_time_sec),
            query_time_nsec: Some(query_time_nsec),
            response_time_sec: response_time.map(|t| t.0),
            response_time_nsec: response_time.map(|t| t.1),
            query_message,
            response_message,
        };
        Dnstap {
            identity: origin.identity.clone(),
            version: origin.version.clone(),
            extra: self.extra.map(<[u8]>::to_vec),
            message: Some(message),
            r#type: DNSTAP_TYPE_MESSAGE,
        }
        .encode_to_vec()
    }
}

/// Seconds and nanoseconds since the epoch (0 for a clock before it).
fn split(time: SystemTime) -> (u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs(), since.subsec_nanos())
}

/// 4 bytes for IPv4, 16 for IPv6, as the schema says.
fn address(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn event(kind: Kind, message: &[u8]) -> Event {
        Event {
            kind,
            protocol: Protocol::Udp,
            query_addr: "192.0.2.7:40000".parse().unwrap(),
            response_addr: "6.6.6.6:53".parse().unwrap(),
            query_time: UNIX_EPOCH + Duration::new(1_700_000_000, 5),
            response_time: (!kind.is_query()).then(|| UNIX_EPOCH + Duration::new(1_700_000_001, 6)),
            message: message.to_vec(),
            extra: Some(b"xdp"),
        }
    }

    #[test]
    fn a_response_decodes_with_every_field_in_its_place() {
        let origin = Origin { identity: Some(b"node-1".to_vec()), version: Some(b"anycastd 0.1".to_vec()) };
        let bytes = event(Kind::ClientResponse, b"\x12\x34\x81\x80").encode(&origin);
        let tap = Dnstap::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(
            (tap.r#type, tap.identity.as_deref(), tap.extra.as_deref()),
            (1, Some(&b"node-1"[..]), Some(&b"xdp"[..]))
        );
        let m = tap.message.expect("a message");
        assert_eq!(m.r#type, Kind::ClientResponse as i32);
        assert_eq!((m.socket_family, m.socket_protocol), (Some(1), Some(1)));
        assert_eq!(m.query_address.as_deref(), Some(&[192, 0, 2, 7][..]));
        assert_eq!((m.query_port, m.response_port), (Some(40000), Some(53)));
        assert_eq!((m.query_time_sec, m.query_time_nsec), (Some(1_700_000_000), Some(5)));
        assert_eq!((m.response_time_sec, m.response_time_nsec), (Some(1_700_000_001), Some(6)));
        assert_eq!((m.query_message, m.response_message.as_deref()), (None, Some(&b"\x12\x34\x81\x80"[..])));
    }

    #[test]
    fn a_query_carries_the_query_message_and_no_response_time() {
        let mut e = event(Kind::ResolverQuery, b"\x12\x34\x00\x00");
        e.query_addr = "[2001:db8::1]:1234".parse().unwrap();
        let m = Dnstap::decode(e.encode(&Origin::default()).as_slice()).unwrap().message.unwrap();
        assert_eq!((m.socket_family, m.query_address.map(|a| a.len())), (Some(2), Some(16)));
        assert_eq!((m.query_message.as_deref(), m.response_message), (Some(&b"\x12\x34\x00\x00"[..]), None));
        assert_eq!(m.response_time_sec, None);
    }
}
