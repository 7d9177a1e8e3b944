//! The ceiling of the XDP_TX path: the least a program can do to turn a
//! DNS query into something a client takes as the reply. It swaps the
//! MAC addresses, the IP addresses and the ports, flips QR, patches the
//! UDP checksum for that (RFC 1624) and sends the frame back: the query
//! echoed, with no answer. Anything but UDP to or from port 53 is passed.
//! Swapping twice and flipping twice is the original frame, so it can be
//! timed with repeated BPF_PROG_TEST_RUN calls.
#![no_std]
#![no_main]

anycast_ebpf::program_runtime!();

use anycast_common::checksum;
use anycast_ebpf::packet::{read_u16, swap, write};
use anycast_ebpf::udp::{self, DNS_FLAGS, IPV4_SRC, IPV6_SRC};
use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

const QR: u16 = 0x8000;

#[xdp]
pub fn reflector(ctx: XdpContext) -> u32 {
    echo(&ctx).unwrap_or(xdp_action::XDP_PASS)
}

#[inline(always)]
fn echo(ctx: &XdpContext) -> Option<u32> {
    let udp = udp::locate(ctx)?;
    if udp.src_port(ctx)? != 53 && udp.dst_port(ctx)? != 53 {
        return None;
    }
    let flags_at = udp.dns() + DNS_FLAGS;
    let flags = read_u16(ctx, flags_at)?;
    let sum_at = udp.l4 + 6;
    let sum = read_u16(ctx, sum_at)?;
    swap::<6>(ctx, 0, 6)?;
    if udp.ipv6 {
        swap::<16>(ctx, IPV6_SRC, IPV6_SRC + 16)?;
    } else {
        swap::<4>(ctx, IPV4_SRC, IPV4_SRC + 4)?;
    }
    swap::<2>(ctx, udp.l4, udp.l4 + 2)?;
    write(ctx, flags_at, (flags ^ QR).to_be_bytes())?;
    // A zero IPv4 UDP checksum means none was computed: it stays zero.
    if udp.ipv6 || sum != 0 {
        write(ctx, sum_at, checksum::replace_word(sum, flags, flags ^ QR).to_be_bytes())?;
    }
    Some(xdp_action::XDP_TX)
}
