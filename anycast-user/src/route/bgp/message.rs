//! The BGP messages an announce-only speaker sends, and the checks it makes
//! of what it receives (RFC 4271 section 6), on the `netgauze-bgp-pkt`
//! codec.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use netgauze_bgp_pkt::{
    BgpMessage,
    capabilities::{BgpCapability, FourOctetAsCapability, MultiProtocolExtensionsCapability},
    codec::BgpCodec,
    nlri::{Ipv4Unicast, Ipv4UnicastAddress, Ipv6Unicast, Ipv6UnicastAddress},
    notification::{BgpNotificationMessage, CeaseError, HoldTimerExpiredError, MessageHeaderError, OpenMessageError},
    open::{BgpOpenMessage, BgpOpenMessageParameter},
    path_attribute::{
        As2PathSegment, As4PathSegment, AsPath, AsPathSegmentType, MpReach, MpUnreach, MultiExitDiscriminator, NextHop,
        Origin, PathAttribute, PathAttributeValue,
    },
    update::BgpUpdateMessage,
};
use netgauze_iana::address_family::AddressType;
use tokio_util::codec::Decoder;

pub const HEADER_LEN: usize = 19;
pub const MAX_LEN: usize = 4096;
/// The 2-octet AS of a speaker whose AS does not fit (RFC 6793).
const AS_TRANS: u16 = 23456;

/// Message types (RFC 4271 4.1, RFC 2918).
const OPEN: u8 = 1;
const UPDATE: u8 = 2;
const NOTIFICATION: u8 = 3;
const KEEPALIVE: u8 = 4;
const ROUTE_REFRESH: u8 = 5;

/// Our OPEN: 4-octet AS and both unicast families (RFC 6793, RFC 4760).
pub fn open(local_as: u32, hold_time: u16, router_id: Ipv4Addr) -> BgpMessage {
    let my_as = u16::try_from(local_as).unwrap_or(AS_TRANS);
    let capabilities = vec![
        BgpCapability::MultiProtocolExtensions(MultiProtocolExtensionsCapability::new(AddressType::Ipv4Unicast)),
        BgpCapability::MultiProtocolExtensions(MultiProtocolExtensionsCapability::new(AddressType::Ipv6Unicast)),
        BgpCapability::FourOctetAs(FourOctetAsCapability::new(local_as)),
    ];
    BgpMessage::Open(BgpOpenMessage::new(
        my_as,
        hold_time,
        router_id,
        vec![BgpOpenMessageParameter::new_capabilities(capabilities)],
    ))
}

/// What the peer's OPEN settles for the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Seconds; 0 means no keepalives and no hold timer.
    pub hold_time: u16,
    /// Whether AS numbers travel in 4 octets.
    pub asn4: bool,
    /// Whether the peer takes IPv4 and IPv6 unicast routes.
    pub ipv4: bool,
    pub ipv6: bool,
}

/// Checks the peer's OPEN (RFC 4271 6.2) against what is configured;
/// the NOTIFICATION to send if it is unacceptable.
pub fn check_open(
    open: &BgpOpenMessage,
    peer_as: u32,
    local_as: u32,
    our_hold: u16,
) -> Result<Negotiated, BgpNotificationMessage> {
    if open.version() != 4 {
        // The data is the highest version we support.
        return Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::UnsupportedVersionNumber {
            value: Box::new([0, 4]),
        }));
    }
    if open.my_asn4() != peer_as {
        return Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::BadPeerAs { value: Box::new([]) }));
    }
    if matches!(open.hold_time(), 1 | 2) {
        return Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::UnacceptableHoldTime {
            value: Box::new([]),
        }));
    }
    let id = open.bgp_id();
    if id.is_unspecified() || id.is_multicast() || id.is_broadcast() {
        return Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::BadBgpIdentifier {
            value: Box::new([]),
        }));
    }
    let capabilities = open.capabilities();
    let asn4 = capabilities.iter().any(|c| matches!(c, BgpCapability::FourOctetAs(_)));
    if !asn4 && u16::try_from(local_as).is_err() {
        // Without 4-octet support our AS would need AS4_PATH; a peer
        // that old is not worth the code.
        return Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::UnsupportedCapability {
            value: Box::new([65, 4]),
        }));
    }
    let families: Vec<AddressType> = capabilities
        .iter()
        .filter_map(|c| match c {
            BgpCapability::MultiProtocolExtensions(mp) => Some(mp.address_type()),
            _ => None,
        })
        .collect();
    // Without multiprotocol capabilities, IPv4 unicast is implied.
    let ipv4 = families.is_empty() || families.contains(&AddressType::Ipv4Unicast);
    let ipv6 = families.contains(&AddressType::Ipv6Unicast);
    Ok(Negotiated { hold_time: our_hold.min(open.hold_time()), asn4, ipv4, ipv6 })
}

/// The path attributes of our routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub local_as: u32,
    /// How many times our AS is in the path (1, more when drained).
    pub path_length: u8,
    pub med: Option<u32>,
}

impl Attributes {
    fn common(&self, asn4: bool) -> Vec<PathAttribute> {
        let path = vec![self.local_as; usize::from(self.path_length.max(1))];
        let as_path = if asn4 {
            AsPath::As4PathSegments(Box::new([As4PathSegment::new(AsPathSegmentType::AsSequence, path)]))
        } else {
            let path: Vec<u16> = path.iter().map(|&n| u16::try_from(n).unwrap_or(AS_TRANS)).collect();
            AsPath::As2PathSegments(Box::new([As2PathSegment::new(AsPathSegmentType::AsSequence, path)]))
        };
        let mut attributes =
            vec![attribute(PathAttributeValue::Origin(Origin::IGP)), attribute(PathAttributeValue::AsPath(as_path))];
        if let Some(med) = self.med {
            attributes.push(attribute(PathAttributeValue::MultiExitDiscriminator(MultiExitDiscriminator::new(med))));
        }
        attributes
    }
}

/// An attribute with the flags RFC 4271 and RFC 4760 give its type.
fn attribute(value: PathAttributeValue) -> PathAttribute {
    let optional = value.can_be_optional().unwrap_or(true);
    let transitive = value.can_be_transitive().unwrap_or(false);
    PathAttribute::from(optional, transitive, false, false, value).expect("flags from the attribute's own properties")
}

/// Announces IPv4 host routes in the UPDATE's own NLRI.
pub fn announce_v4(vips: &[Ipv4Addr], next_hop: Ipv4Addr, attributes: &Attributes, asn4: bool) -> BgpMessage {
    let mut path = attributes.common(asn4);
    path.push(attribute(PathAttributeValue::NextHop(NextHop::new(next_hop))));
    BgpMessage::Update(BgpUpdateMessage::new(vec![], path, v4_routes(vips)))
}

/// Announces IPv6 host routes with MP_REACH_NLRI.
pub fn announce_v6(vips: &[Ipv6Addr], next_hop: Ipv6Addr, attributes: &Attributes, asn4: bool) -> BgpMessage {
    let mut path = attributes.common(asn4);
    let reach = MpReach::Ipv6Unicast { next_hop_global: next_hop, next_hop_local: None, nlri: v6_routes(vips).into() };
    path.push(attribute(PathAttributeValue::MpReach(reach)));
    BgpMessage::Update(BgpUpdateMessage::new(vec![], path, vec![]))
}

pub fn withdraw_v4(vips: &[Ipv4Addr]) -> BgpMessage {
    BgpMessage::Update(BgpUpdateMessage::new(v4_routes(vips), vec![], vec![]))
}

/// Withdraws IPv6 host routes with MP_UNREACH_NLRI.
pub fn withdraw_v6(vips: &[Ipv6Addr]) -> BgpMessage {
    let unreach = MpUnreach::Ipv6Unicast { nlri: v6_routes(vips).into() };
    BgpMessage::Update(BgpUpdateMessage::new(vec![], vec![attribute(PathAttributeValue::MpUnreach(unreach))], vec![]))
}

fn v4_routes(vips: &[Ipv4Addr]) -> Vec<Ipv4UnicastAddress> {
    vips.iter()
        .map(|ip| {
            let net = ipnet::Ipv4Net::new(*ip, 32).expect("a /32");
            Ipv4UnicastAddress::new(None, Ipv4Unicast::from_net(net).expect("a unicast VIP (checked in the config)"))
        })
        .collect()
}

fn v6_routes(vips: &[Ipv6Addr]) -> Vec<Ipv6UnicastAddress> {
    vips.iter()
        .map(|ip| {
            let net = ipnet::Ipv6Net::new(*ip, 128).expect("a /128");
            Ipv6UnicastAddress::new(None, Ipv6Unicast::from_net(net).expect("a unicast VIP (checked in the config)"))
        })
        .collect()
}

pub fn cease() -> BgpNotificationMessage {
    BgpNotificationMessage::CeaseError(CeaseError::AdministrativeShutdown { value: Box::new([]) })
}

pub fn hold_timer_expired() -> BgpNotificationMessage {
    BgpNotificationMessage::HoldTimerExpiredError(HoldTimerExpiredError::Unspecific {
        sub_code: 0,
        value: Box::new([]),
    })
}

/// The message types' names for logs and metrics, by type code - 1.
pub const KINDS: [&str; 5] = ["open", "update", "notification", "keepalive", "route_refresh"];

/// The message's type code.
pub fn type_code(message: &BgpMessage) -> u8 {
    match message {
        BgpMessage::Open(_) => OPEN,
        BgpMessage::Update(_) => UPDATE,
        BgpMessage::Notification(_) => NOTIFICATION,
        BgpMessage::KeepAlive => KEEPALIVE,
        BgpMessage::RouteRefresh(_) => ROUTE_REFRESH,
    }
}

/// The message type's name, for logs and metrics.
pub fn kind(message: &BgpMessage) -> &'static str {
    kind_name(type_code(message))
}

/// What went wrong reading from the peer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading: {0}")]
    Io(#[from] std::io::Error),
    /// A header error (RFC 4271 6.1): the session cannot go on.
    #[error("bad message header: {0:?}")]
    Header(BgpNotificationMessage),
    /// An OPEN or NOTIFICATION whose body does not parse.
    #[error("malformed {kind} message: {detail}")]
    Body { kind: &'static str, detail: String },
}

impl ReadError {
    /// The NOTIFICATION RFC 4271 calls for before closing, if any.
    pub fn notification(&self) -> Option<BgpNotificationMessage> {
        match self {
            ReadError::Io(_) => None,
            ReadError::Header(notification) => Some(notification.clone()),
            ReadError::Body { kind: "open", .. } => {
                Some(BgpNotificationMessage::OpenMessageError(OpenMessageError::Unspecific { value: Box::new([]) }))
            }
            ReadError::Body { .. } => None,
        }
    }
}

/// One message off the stream, or one that was discarded.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Message(BgpMessage),
    /// An UPDATE or ROUTE-REFRESH whose body does not parse: this speaker
    /// takes no routes from its peers, so their UPDATEs are discarded
    /// either way (RFC 7606 would treat them as withdrawn), and resetting
    /// the session over one would only flap our routes.
    Discarded {
        kind: &'static str,
        detail: String,
    },
}

/// Frames BGP messages off a byte stream: the header checked first (RFC
/// 4271 6.1), then the body parsed by netgauze's codec.
pub struct Framer {
    codec: BgpCodec,
}

impl Default for Framer {
    fn default() -> Framer {
        Framer { codec: BgpCodec::new(true) }
    }
}

impl Decoder for Framer {
    type Item = Incoming;
    type Error = ReadError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, ReadError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let (kind, length) = check_header(&buf[..HEADER_LEN]).map_err(ReadError::Header)?;
        if buf.len() < length {
            buf.reserve(length - buf.len());
            return Ok(None);
        }
        // The codec takes the whole frame off the buffer before parsing
        // it, so the stream stays in step after a bad body.
        match self.codec.decode(buf) {
            Ok(Some((message, _))) => Ok(Some(Incoming::Message(message))),
            Ok(None) => Ok(None),
            Err(e) if matches!(kind, UPDATE | ROUTE_REFRESH) => {
                Ok(Some(Incoming::Discarded { kind: kind_name(kind), detail: e.to_string() }))
            }
            Err(e) => Err(ReadError::Body { kind: kind_name(kind), detail: e.to_string() }),
        }
    }
}

/// The name of a known type code (`check_header` lets no other through).
fn kind_name(code: u8) -> &'static str {
    KINDS[usize::from(code - 1)]
}

/// RFC 4271 6.1: the marker all ones, a length within 19..=4096 and the
/// type's own minimum, a known type. Returns the type and the length.
fn check_header(head: &[u8]) -> Result<(u8, usize), BgpNotificationMessage> {
    let header_error = BgpNotificationMessage::MessageHeaderError;
    if head[..16].iter().any(|&b| b != 0xff) {
        return Err(header_error(MessageHeaderError::ConnectionNotSynchronized { value: Box::new([]) }));
    }
    let length = usize::from(u16::from_be_bytes([head[16], head[17]]));
    let kind = head[18];
    let minimum = match kind {
        OPEN => 29,
        UPDATE => 23,
        NOTIFICATION => 21,
        KEEPALIVE => HEADER_LEN,
        ROUTE_REFRESH => 23,
        _ => return Err(header_error(MessageHeaderError::BadMessageType { value: Box::new([kind]) })),
    };
    let fits = length >= minimum && length <= MAX_LEN && (kind != KEEPALIVE || length == HEADER_LEN);
    if !fits {
        return Err(header_error(MessageHeaderError::BadMessageLength { value: Box::new([head[16], head[17]]) }));
    }
    Ok((kind, length))
}

/// `message` on the wire.
pub fn encode(message: BgpMessage, out: &mut BytesMut) -> Result<(), String> {
    use tokio_util::codec::Encoder;
    BgpCodec::new(true).encode(message, out).map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(message: BgpMessage) -> BytesMut {
        let mut out = BytesMut::new();
        encode(message, &mut out).unwrap();
        out
    }

    fn decode(bytes: &[u8]) -> Result<Option<BgpMessage>, ReadError> {
        match Framer::default().decode(&mut BytesMut::from(bytes))? {
            Some(Incoming::Message(message)) => Ok(Some(message)),
            Some(discarded) => panic!("{discarded:?}"),
            None => Ok(None),
        }
    }

    fn header(length: u16, kind: u8) -> Vec<u8> {
        let mut head = vec![0xff; 16];
        head.extend_from_slice(&length.to_be_bytes());
        head.push(kind);
        head
    }

    #[test]
    fn open_round_trips_with_4_octet_as_and_both_families() {
        let Some(BgpMessage::Open(open)) = decode(&wire(open(4_200_000_001, 9, Ipv4Addr::new(10, 0, 0, 1)))).unwrap()
        else {
            panic!("an OPEN")
        };
        assert_eq!(open.my_as(), AS_TRANS, "a 4-octet AS goes as AS_TRANS in the 2-octet field");
        let negotiated = check_open(&open, 4_200_000_001, 65000, 90).unwrap();
        assert_eq!(negotiated, Negotiated { hold_time: 9, asn4: true, ipv4: true, ipv6: true });
    }

    #[test]
    fn unacceptable_opens_get_the_rfc_4271_notification() {
        let id = Ipv4Addr::new(10, 0, 0, 2);
        let BgpMessage::Open(from_65002) = open(65002, 9, id) else { unreachable!() };
        assert!(matches!(
            check_open(&from_65002, 65000, 65001, 9),
            Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::BadPeerAs { .. }))
        ));
        let BgpMessage::Open(hold_2) = open(65000, 2, id) else { unreachable!() };
        assert!(matches!(
            check_open(&hold_2, 65000, 65001, 9),
            Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::UnacceptableHoldTime { .. }))
        ));
        let BgpMessage::Open(no_id) = open(65000, 9, Ipv4Addr::UNSPECIFIED) else { unreachable!() };
        assert!(matches!(
            check_open(&no_id, 65000, 65001, 9),
            Err(BgpNotificationMessage::OpenMessageError(OpenMessageError::BadBgpIdentifier { .. }))
        ));
        let BgpMessage::Open(hold_0) = open(65000, 0, id) else { unreachable!() };
        assert_eq!(check_open(&hold_0, 65000, 65001, 9).unwrap().hold_time, 0, "0 turns keepalives off");
    }

    #[test]
    fn header_errors_are_classified_per_rfc_4271() {
        let mut bad_marker = wire(BgpMessage::KeepAlive).to_vec();
        bad_marker[3] = 0;
        let notification = |r: Result<Option<BgpMessage>, ReadError>| r.unwrap_err().notification().unwrap();
        assert!(matches!(
            notification(decode(&bad_marker)),
            BgpNotificationMessage::MessageHeaderError(MessageHeaderError::ConnectionNotSynchronized { .. })
        ));
        for (length, kind) in [(18, KEEPALIVE), (20, KEEPALIVE), (4097, UPDATE), (28, OPEN)] {
            let result = decode(&header(length, kind));
            assert!(
                matches!(
                    notification(result),
                    BgpNotificationMessage::MessageHeaderError(MessageHeaderError::BadMessageLength { .. })
                ),
                "length {length} type {kind}"
            );
        }
        assert!(matches!(
            notification(decode(&header(19, 9))),
            BgpNotificationMessage::MessageHeaderError(MessageHeaderError::BadMessageType { ref value }) if **value == [9]
        ));
    }

    #[test]
    fn a_partial_message_waits_for_the_rest() {
        let whole = wire(BgpMessage::KeepAlive);
        assert!(decode(&whole[..10]).unwrap().is_none());
        assert_eq!(decode(&whole).unwrap(), Some(BgpMessage::KeepAlive));
    }

    #[test]
    fn a_malformed_update_is_discarded_without_a_reset_but_a_malformed_open_is_not() {
        let mut update = header(23 + 4, UPDATE);
        update.extend_from_slice(&[0, 0, 0, 200, 1, 2, 3, 4]);
        let mut stream = BytesMut::from(&update[..27]);
        stream.extend_from_slice(&wire(BgpMessage::KeepAlive));
        let mut framer = Framer::default();
        let first = framer.decode(&mut stream).unwrap();
        assert!(matches!(first, Some(Incoming::Discarded { kind: "update", .. })), "{first:?}");
        let next = framer.decode(&mut stream).unwrap();
        assert_eq!(next, Some(Incoming::Message(BgpMessage::KeepAlive)), "the stream stays in step");
        let mut open = header(29, OPEN);
        open.extend_from_slice(&[4, 0xfd, 0xe8, 0, 9, 10, 0, 0, 1, 50]);
        let error = decode(&open).unwrap_err();
        assert!(matches!(error.notification(), Some(BgpNotificationMessage::OpenMessageError(_))), "{error:?}");
    }

    #[test]
    fn updates_carry_the_path_next_hops_and_drain_marks() {
        let drained = Attributes { local_as: 65001, path_length: 4, med: Some(500) };
        let message = announce_v4(&[Ipv4Addr::new(6, 6, 6, 6)], Ipv4Addr::new(10, 0, 0, 2), &drained, true);
        let Some(BgpMessage::Update(update)) = decode(&wire(message.clone())).unwrap() else { panic!("an UPDATE") };
        assert_eq!(BgpMessage::Update(update.clone()), message);
        assert_eq!(update.nlri().len(), 1);
        let values: Vec<_> = update.path_attributes().iter().map(|a| a.value().clone()).collect();
        assert!(values.contains(&PathAttributeValue::NextHop(NextHop::new(Ipv4Addr::new(10, 0, 0, 2)))));
        assert!(values.contains(&PathAttributeValue::MultiExitDiscriminator(MultiExitDiscriminator::new(500))));
        assert!(values.contains(&PathAttributeValue::AsPath(AsPath::As4PathSegments(Box::new([
            As4PathSegment::new(AsPathSegmentType::AsSequence, vec![65001; 4])
        ])))));

        let plain = Attributes { local_as: 65001, path_length: 1, med: None };
        let vip6: Ipv6Addr = "2001:db8::6".parse().unwrap();
        let next_hop6: Ipv6Addr = "fd99:11::2".parse().unwrap();
        let message = announce_v6(&[vip6], next_hop6, &plain, true);
        let Some(BgpMessage::Update(update)) = decode(&wire(message)).unwrap() else { panic!("an UPDATE") };
        assert!(update.nlri().is_empty(), "IPv6 goes in MP_REACH_NLRI");
        let reach = update.path_attributes().iter().find_map(|a| match a.value() {
            PathAttributeValue::MpReach(MpReach::Ipv6Unicast { next_hop_global, nlri, .. }) => {
                Some((*next_hop_global, nlri.len()))
            }
            _ => None,
        });
        assert_eq!(reach, Some((next_hop6, 1)));

        let Some(BgpMessage::Update(update)) = decode(&wire(withdraw_v6(&[vip6]))).unwrap() else { panic!() };
        assert!(matches!(update.path_attributes()[0].value(), PathAttributeValue::MpUnreach(_)));
        let Some(BgpMessage::Update(update)) = decode(&wire(withdraw_v4(&[Ipv4Addr::new(6, 6, 6, 6)]))).unwrap() else {
            panic!()
        };
        assert_eq!(update.withdraw_routes().len(), 1);
    }
}
