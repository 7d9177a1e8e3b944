//! Finds the UDP header of an untagged IPv4 (no options, not a fragment)
//! or IPv6 (no extension header) frame: what the bench programs need.

use aya_ebpf::programs::XdpContext;

use crate::packet::{read_u8, read_u16};

pub const IPV4_SRC: usize = 26;
pub const IPV6_SRC: usize = 22;
pub const UDP_HEADER_LEN: usize = 8;
/// DNS header fields, from the start of the message.
pub const DNS_FLAGS: usize = 2;

/// Where a UDP datagram starts in the frame.
pub struct Udp {
    pub ipv6: bool,
    /// Offset of the UDP header.
    pub l4: usize,
}

impl Udp {
    pub fn src_port(&self, ctx: &XdpContext) -> Option<u16> {
        read_u16(ctx, self.l4)
    }

    pub fn dst_port(&self, ctx: &XdpContext) -> Option<u16> {
        read_u16(ctx, self.l4 + 2)
    }

    /// Offset of the DNS message.
    pub fn dns(&self) -> usize {
        self.l4 + UDP_HEADER_LEN
    }
}

#[inline(always)]
pub fn locate(ctx: &XdpContext) -> Option<Udp> {
    match read_u16(ctx, 12)? {
        0x0800 => {
            let plain = read_u8(ctx, 14)? == 0x45 && read_u16(ctx, 20)? & 0x3fff == 0;
            (plain && read_u8(ctx, 23)? == 17).then_some(Udp { ipv6: false, l4: 34 })
        }
        0x86dd => (read_u8(ctx, 20)? == 17).then_some(Udp { ipv6: true, l4: 54 }),
        _ => None,
    }
}
