//! Query frames built byte by byte: Ethernet with optional VLAN tags, IPv4
//! (with options or fragment bits if asked) or IPv6 (with a hop-by-hop
//! header if asked), UDP or another protocol, and a payload.

use std::net::IpAddr;

use crate::internet_checksum;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xc1];
pub const NODE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0d];
pub const TPID_8021Q: u16 = 0x8100;
pub const TPID_8021AD: u16 = 0x88a8;
const IPPROTO_UDP: u8 = 17;

/// What a checksum field of a built frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    Correct,
    /// Zero: for UDP "no checksum" over IPv4, invalid over IPv6.
    Zero,
    /// The correct value plus one.
    Wrong,
    /// What a sender that leaves the checksum to offload puts there (a
    /// local veth: CHECKSUM_PARTIAL): the pseudo-header's sum alone.
    Partial,
}

impl Checksum {
    fn apply(self, correct: u16) -> u16 {
        match self {
            Checksum::Correct => correct,
            Checksum::Zero => 0,
            Checksum::Wrong => correct.wrapping_add(1),
            Checksum::Partial => unreachable!("a partial checksum is not derived from the correct one"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FrameSpec {
    /// Tag protocol identifiers, outermost first; each tag gets VLAN id 100+i.
    pub vlans: Vec<u16>,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// IP protocol / next header: 17 for UDP, anything else is sent as is.
    pub protocol: u8,
    /// IPv4 options (a multiple of four bytes).
    pub ipv4_options: Vec<u8>,
    /// IPv4 flags and fragment offset field.
    pub ipv4_fragment: u16,
    /// Put an empty hop-by-hop options header before UDP (IPv6).
    pub ipv6_hop_by_hop: bool,
    pub ipv4_checksum: Checksum,
    pub udp_checksum: Checksum,
    pub payload: Vec<u8>,
}

impl FrameSpec {
    /// A plain UDP datagram to port 53.
    pub fn dns(src: IpAddr, dst: IpAddr, payload: Vec<u8>) -> FrameSpec {
        FrameSpec {
            vlans: Vec::new(),
            src,
            dst,
            sport: 40_000,
            dport: 53,
            protocol: IPPROTO_UDP,
            ipv4_options: Vec::new(),
            ipv4_fragment: 0x4000, // DF
            ipv6_hop_by_hop: false,
            ipv4_checksum: Checksum::Correct,
            udp_checksum: Checksum::Correct,
            payload,
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut frame = Vec::new();
        frame.extend_from_slice(&NODE_MAC);
        frame.extend_from_slice(&CLIENT_MAC);
        for (i, tpid) in self.vlans.iter().enumerate() {
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&(100 + i as u16).to_be_bytes());
        }
        let ethertype: u16 = if self.src.is_ipv4() { 0x0800 } else { 0x86dd };
        frame.extend_from_slice(&ethertype.to_be_bytes());
        let l4 = self.l4();
        match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let header_len = 20 + self.ipv4_options.len();
                let mut ip = vec![0x40 | (header_len / 4) as u8, 0];
                ip.extend_from_slice(&((header_len + l4.len()) as u16).to_be_bytes());
                ip.extend_from_slice(&[0x12, 0x34]);
                ip.extend_from_slice(&self.ipv4_fragment.to_be_bytes());
                ip.extend_from_slice(&[64, self.protocol, 0, 0]);
                ip.extend_from_slice(&src.octets());
                ip.extend_from_slice(&dst.octets());
                ip.extend_from_slice(&self.ipv4_options);
                let csum = self.ipv4_checksum.apply(internet_checksum(&ip));
                ip[10..12].copy_from_slice(&csum.to_be_bytes());
                frame.extend_from_slice(&ip);
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let ext_len = if self.ipv6_hop_by_hop { 8 } else { 0 };
                let next = if self.ipv6_hop_by_hop { 0 } else { self.protocol };
                frame.extend_from_slice(&[0x60, 0, 0, 0]);
                frame.extend_from_slice(&((ext_len + l4.len()) as u16).to_be_bytes());
                frame.extend_from_slice(&[next, 64]);
                frame.extend_from_slice(&src.octets());
                frame.extend_from_slice(&dst.octets());
                if self.ipv6_hop_by_hop {
                    // Next header, length 0 (8 bytes), PadN of 4.
                    frame.extend_from_slice(&[self.protocol, 0, 1, 4, 0, 0, 0, 0]);
                }
            }
            _ => panic!("source and destination must be of one family"),
        }
        frame.extend_from_slice(&l4);
        frame
    }

    /// The UDP datagram, or for another protocol the payload behind a
    /// 20-byte zeroed header (enough to look like TCP with ports).
    fn l4(&self) -> Vec<u8> {
        if self.protocol != IPPROTO_UDP {
            let mut tcp = vec![0u8; 20];
            tcp[0..2].copy_from_slice(&self.sport.to_be_bytes());
            tcp[2..4].copy_from_slice(&self.dport.to_be_bytes());
            tcp[12] = 0x50;
            tcp.extend_from_slice(&self.payload);
            return tcp;
        }
        let len = (8 + self.payload.len()) as u16;
        let mut udp = Vec::new();
        udp.extend_from_slice(&self.sport.to_be_bytes());
        udp.extend_from_slice(&self.dport.to_be_bytes());
        udp.extend_from_slice(&len.to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&self.payload);
        let csum = match self.udp_checksum {
            Checksum::Partial => !internet_checksum(&pseudo_header(self.src, self.dst, udp.len())),
            other => other.apply(udp_checksum(self.src, self.dst, &udp)),
        };
        udp[6..8].copy_from_slice(&csum.to_be_bytes());
        udp
    }
}

/// The pseudo-header of a UDP datagram of `len` bytes between two
/// addresses.
fn pseudo_header(src: IpAddr, dst: IpAddr, len: usize) -> Vec<u8> {
    let mut pseudo = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, IPPROTO_UDP]);
            pseudo.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&(len as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, IPPROTO_UDP]);
        }
        _ => panic!("source and destination must be of one family"),
    }
    pseudo
}

/// The UDP checksum of `datagram` (its checksum field zeroed) between two
/// addresses; zero comes out as all ones (RFC 768).
pub fn udp_checksum(src: IpAddr, dst: IpAddr, datagram: &[u8]) -> u16 {
    let mut pseudo = pseudo_header(src, dst, datagram.len());
    let mut zeroed = datagram.to_vec();
    zeroed[6..8].fill(0);
    pseudo.extend_from_slice(&zeroed);
    match internet_checksum(&pseudo) {
        0 => 0xffff,
        c => c,
    }
}
