//! Parses what the fast path sent back and checks every header of it: the
//! frame's structure, lengths, the IPv4 header checksum and the UDP
//! checksum, recomputed here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{frame::udp_checksum, internet_checksum};

#[derive(Clone, Debug)]
pub struct Reply {
    pub eth_dst: [u8; 6],
    pub eth_src: [u8; 6],
    /// (TPID, TCI) of each tag, outermost first.
    pub vlans: Vec<(u16, u16)>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub hop_limit: u8,
    pub sport: u16,
    pub dport: u16,
    /// The UDP payload.
    pub dns: Vec<u8>,
}

/// Who sent the frame, which decides how strict the parse is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// A client may omit the UDP checksum over IPv4 (RFC 768), and its frame
    /// may carry Ethernet padding after the IP packet.
    Client,
    /// The fast path always sends a checksum and an exact frame.
    Node,
}

/// Parses a UDP frame; any structural or checksum error is an Err with a
/// description.
pub fn parse(frame: &[u8], sender: Sender) -> Result<Reply, String> {
    let get = |from: usize, len: usize| -> Result<&[u8], String> {
        frame.get(from..from + len).ok_or_else(|| format!("frame of {} bytes ends before {}", frame.len(), from + len))
    };
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let eth_dst: [u8; 6] = get(0, 6)?.try_into().unwrap();
    let eth_src: [u8; 6] = get(6, 6)?.try_into().unwrap();
    let mut at = 12;
    let mut vlans = Vec::new();
    let mut ethertype = be16(get(at, 2)?);
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        vlans.push((ethertype, be16(get(at + 2, 2)?)));
        at += 4;
        ethertype = be16(get(at, 2)?);
    }
    at += 2;
    let (src, dst, hop_limit, udp_at, udp_len) = match ethertype {
        0x0800 => {
            let ip = get(at, 20)?;
            if ip[0] != 0x45 {
                return Err(format!("IPv4 version/IHL byte {:#x}", ip[0]));
            }
            if internet_checksum(ip) != 0 {
                return Err("IPv4 header checksum does not verify".into());
            }
            if ip[9] != 17 {
                return Err(format!("IPv4 protocol {}", ip[9]));
            }
            let total = be16(&ip[2..4]) as usize;
            if at + total != frame.len() && !(sender == Sender::Client && at + total < frame.len()) {
                return Err(format!("IPv4 total length {total} but {} bytes follow", frame.len() - at));
            }
            let src = Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap());
            let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&ip[16..20]).unwrap());
            (IpAddr::V4(src), IpAddr::V4(dst), ip[8], at + 20, total - 20)
        }
        0x86dd => {
            let ip = get(at, 40)?;
            if ip[0] >> 4 != 6 || ip[6] != 17 {
                return Err(format!("IPv6 version {} next header {}", ip[0] >> 4, ip[6]));
            }
            let payload = be16(&ip[4..6]) as usize;
            if at + 40 + payload != frame.len() && !(sender == Sender::Client && at + 40 + payload < frame.len()) {
                return Err(format!("IPv6 payload length {payload} but {} bytes follow", frame.len() - at - 40));
            }
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
            (IpAddr::V6(src), IpAddr::V6(dst), ip[7], at + 40, payload)
        }
        other => return Err(format!("ethertype {other:#x}")),
    };
    let udp = get(udp_at, udp_len)?;
    if be16(&udp[4..6]) as usize != udp_len {
        return Err(format!("UDP length {} but IP says {udp_len}", be16(&udp[4..6])));
    }
    let sent = be16(&udp[6..8]);
    let expected = udp_checksum(src, dst, udp);
    let unchecked = sent == 0 && src.is_ipv4() && sender == Sender::Client;
    if sent != expected && !unchecked {
        return Err(format!("UDP checksum {sent:#06x}, recomputed {expected:#06x}"));
    }
    Ok(Reply {
        eth_dst,
        eth_src,
        vlans,
        src,
        dst,
        hop_limit,
        sport: be16(&udp[0..2]),
        dport: be16(&udp[2..4]),
        dns: udp[8..].to_vec(),
    })
}
