//! Ethernet (up to two VLAN tags), IPv4 / IPv6 and UDP: finds a UDP datagram
//! to a VIP on the DNS port, or says why the packet is not one.

use anycast_common::{ACL_INLINE, ACL_OPEN, FastPathConfig, MAX_INLINE_ACL_V4, MAX_INLINE_ACL_V6, Outcome, checksum};
use aya_ebpf::programs::XdpContext;

use aya_ebpf::maps::lpm_trie::Key;

use anycast_ebpf::packet::{holds, ptr_at, read_u8, read_u16};

use crate::maps::{ACL_V4, ACL_V6, FORGET_L3, FORGET_UDP, forget};

const ETH_HEADER_LEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_TAG_LEN: usize = 4;
const MAX_VLAN_TAGS: usize = 2;
pub const IPV4_HEADER_LEN: usize = 20;
pub const IPV6_HEADER_LEN: usize = 40;
pub const UDP_HEADER_LEN: usize = 8;
const IPPROTO_UDP: u8 = 17;

/// A UDP datagram for a VIP on the DNS port.
pub struct Datagram {
    /// The client's address; IPv4 in the first four bytes.
    pub src: [u8; 16],
    /// Offset of the IP header.
    pub l3: usize,
    pub ipv6: bool,
    /// Offset of the UDP header.
    pub udp: usize,
    /// UDP length (header included), consistent with the IP header.
    pub udp_len: usize,
    /// Checksum sum of the source and destination addresses.
    pub addr_sum: u64,
    /// Checksum sum of the two ports (the same after they are swapped).
    pub ports_sum: u64,
    /// The UDP checksum field as received.
    pub udp_csum: u16,
}

pub fn parse(ctx: &XdpContext, cfg: &FastPathConfig) -> Result<Datagram, Outcome> {
    let (l3, ethertype) = ethernet(ctx)?;
    let (ipv6, udp, ip_payload_len, addr_sum, src) = match ethertype {
        ETH_P_IPV4 => ipv4(ctx, cfg, l3)?,
        ETH_P_IPV6 => ipv6(ctx, cfg, l3)?,
        _ => return Err(Outcome::NotIp),
    };
    let sport = read_u16(ctx, udp).ok_or(Outcome::Malformed)?;
    let dport = read_u16(ctx, udp + 2).ok_or(Outcome::Malformed)?;
    let udp_len = read_u16(ctx, udp + 4).ok_or(Outcome::Malformed)? as usize;
    let udp_csum = read_u16(ctx, udp + 6).ok_or(Outcome::Malformed)?;
    if dport != cfg.udp_port {
        return Err(Outcome::NotDnsPort);
    }
    // Port 0 cannot be answered; a length other than the IP payload means
    // the packet is not what it claims.
    if sport == 0 || udp_len != ip_payload_len {
        return Err(Outcome::Malformed);
    }
    // Each VLAN tag count and family is another constant offset: forgotten
    // (and masked to the largest each can be), they are one state to
    // verify what follows with, rather than six.
    let l3 = forget(FORGET_L3, l3 as u64) as usize & MAX_L3_OFFSET_MASK;
    let udp = forget(FORGET_UDP, udp as u64) as usize & MAX_UDP_OFFSET_MASK;
    Ok(Datagram { src, l3, ipv6, udp, udp_len, addr_sum, ports_sum: sport as u64 + dport as u64, udp_csum })
}

/// Masks covering the largest offsets of the IP header (two VLAN tags:
/// 22) and the UDP header (then IPv6: 62).
pub const MAX_L3_OFFSET_MASK: usize = 0x1f;
pub const MAX_UDP_OFFSET_MASK: usize = 0x3f;

/// What the IP header says: (ipv6, UDP offset, payload length, address sum,
/// source address).
type Ip = (bool, usize, usize, u64, [u8; 16]);

/// The offset of the L3 header and its ethertype, after at most two tags.
fn ethernet(ctx: &XdpContext) -> Result<(usize, u16), Outcome> {
    let mut type_at = ETH_HEADER_LEN - 2;
    let mut ethertype = read_u16(ctx, type_at).ok_or(Outcome::Malformed)?;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        type_at += VLAN_TAG_LEN;
        ethertype = read_u16(ctx, type_at).ok_or(Outcome::Malformed)?;
    }
    Ok((type_at + 2, ethertype))
}

/// Checks an IPv4 header: no options, no fragment, UDP, to a VIP, lengths
/// within the frame.
fn ipv4(ctx: &XdpContext, cfg: &FastPathConfig, l3: usize) -> Result<Ip, Outcome> {
    let version_ihl = read_u8(ctx, l3).ok_or(Outcome::Malformed)?;
    if version_ihl >> 4 != 4 {
        return Err(Outcome::Malformed);
    }
    if version_ihl & 0x0f != (IPV4_HEADER_LEN / 4) as u8 {
        return Err(Outcome::Ipv4OptionsOrFragment);
    }
    let total_len = read_u16(ctx, l3 + 2).ok_or(Outcome::Malformed)? as usize;
    // More-fragments flag or a fragment offset: a piece of a datagram.
    let frag = read_u16(ctx, l3 + 6).ok_or(Outcome::Malformed)?;
    if frag & 0x3fff != 0 {
        return Err(Outcome::Ipv4OptionsOrFragment);
    }
    if read_u8(ctx, l3 + 9).ok_or(Outcome::Malformed)? != IPPROTO_UDP {
        return Err(Outcome::NotUdp);
    }
    // The stack drops a header that fails its checksum; so must we, or a
    // corrupted address could be answered (the UDP checksum is optional).
    let header = ptr_at::<[u8; IPV4_HEADER_LEN]>(ctx, l3).ok_or(Outcome::Malformed)?;
    // SAFETY: ptr_at checked the bounds.
    if checksum::fold(checksum::bytes(unsafe { &*header })) != 0xffff {
        return Err(Outcome::BadChecksum);
    }
    let addrs = ptr_at::<[[u8; 4]; 2]>(ctx, l3 + 12).ok_or(Outcome::Malformed)?;
    // SAFETY: ptr_at checked the bounds.
    let [src, dst] = unsafe { *addrs };
    if !is_vip(&cfg.vips_v4, cfg.vip_v4_count, dst, u32::from_ne_bytes) {
        return Err(Outcome::NotVip);
    }
    if !allowed_v4(cfg, src) {
        return Err(Outcome::NotAllowed);
    }
    if total_len < IPV4_HEADER_LEN + UDP_HEADER_LEN || !holds(ctx, l3 + total_len) {
        return Err(Outcome::Malformed);
    }
    let addr_sum = checksum::u32_words(u32::from_be_bytes(src)) + checksum::u32_words(u32::from_be_bytes(dst));
    let mut client = [0u8; 16];
    client[..4].copy_from_slice(&src);
    Ok((false, l3 + IPV4_HEADER_LEN, total_len - IPV4_HEADER_LEN, addr_sum, client))
}

/// Checks an IPv6 header: UDP right after it, to a VIP, payload within the
/// frame.
fn ipv6(ctx: &XdpContext, cfg: &FastPathConfig, l3: usize) -> Result<Ip, Outcome> {
    if read_u8(ctx, l3).ok_or(Outcome::Malformed)? >> 4 != 6 {
        return Err(Outcome::Malformed);
    }
    let payload_len = read_u16(ctx, l3 + 4).ok_or(Outcome::Malformed)? as usize;
    match read_u8(ctx, l3 + 6).ok_or(Outcome::Malformed)? {
        IPPROTO_UDP => {}
        // Hop-by-hop, routing, fragment, ESP, AH, destination options,
        // mobility, HIP, shim6, experimental (RFC 8200, IANA registry).
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254 => {
            return Err(Outcome::Ipv6ExtensionHeader);
        }
        _ => return Err(Outcome::NotUdp),
    }
    let addrs = ptr_at::<[[u8; 16]; 2]>(ctx, l3 + 8).ok_or(Outcome::Malformed)?;
    // SAFETY: ptr_at checked the bounds.
    let [src, dst] = unsafe { *addrs };
    if !is_vip(&cfg.vips_v6, cfg.vip_v6_count, dst, u128::from_ne_bytes) {
        return Err(Outcome::NotVip);
    }
    if !allowed_v6(cfg, &src) {
        return Err(Outcome::NotAllowed);
    }
    if payload_len < UDP_HEADER_LEN || !holds(ctx, l3 + IPV6_HEADER_LEN + payload_len) {
        return Err(Outcome::Malformed);
    }
    let mut addr_sum = 0;
    for i in 0..4 {
        let at = i * 4;
        addr_sum += checksum::u32_words(u32::from_be_bytes([src[at], src[at + 1], src[at + 2], src[at + 3]]));
        addr_sum += checksum::u32_words(u32::from_be_bytes([dst[at], dst[at + 1], dst[at + 2], dst[at + 3]]));
    }
    Ok((true, l3 + IPV6_HEADER_LEN, payload_len, addr_sum, src))
}

/// Whether the ACL lets the IPv4 client `src` query.
#[inline(always)]
fn allowed_v4(cfg: &FastPathConfig, src: [u8; 4]) -> bool {
    match cfg.acl_v4_mode {
        ACL_OPEN => true,
        ACL_INLINE => {
            let addr = u32::from_ne_bytes(src);
            for i in 0..MAX_INLINE_ACL_V4 {
                if i >= cfg.acl_v4_count as usize {
                    break;
                }
                let [network, mask] = cfg.acl_v4[i];
                if addr & mask == network {
                    return true;
                }
            }
            false
        }
        _ => ACL_V4.get(Key::new(32, src)).is_some(),
    }
}

/// Whether the ACL lets the IPv6 client `src` query.
#[inline(always)]
fn allowed_v6(cfg: &FastPathConfig, src: &[u8; 16]) -> bool {
    match cfg.acl_v6_mode {
        ACL_OPEN => true,
        ACL_INLINE => {
            let s = src;
            let hi = u64::from_ne_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
            let lo = u64::from_ne_bytes([s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15]]);
            for i in 0..MAX_INLINE_ACL_V6 {
                if i >= cfg.acl_v6_count as usize {
                    break;
                }
                let [network_hi, network_lo, mask_hi, mask_lo] = cfg.acl_v6[i];
                if hi & mask_hi == network_hi && lo & mask_lo == network_lo {
                    return true;
                }
            }
            false
        }
        _ => ACL_V6.get(Key::new(128, *src)).is_some(),
    }
}

/// Whether `dst` is one of the first `count` of `vips`, compared as one
/// machine word each (`word`: u32 for IPv4, u128 for IPv6).
#[inline(always)]
fn is_vip<const N: usize, W: PartialEq>(vips: &[[u8; N]], count: u8, dst: [u8; N], word: fn([u8; N]) -> W) -> bool {
    let dst = word(dst);
    for (i, vip) in vips.iter().enumerate() {
        if i >= count as usize {
            break;
        }
        if word(*vip) == dst {
            return true;
        }
    }
    false
}
