//! The benchmark's answer counter, on the client's end of the bench link
//! while the frame generator runs: DNS responses (UDP from port 53 with
//! QR set) are counted by RCODE and dropped, everything else (ARP,
//! neighbour discovery) is counted and passed.
#![no_std]
#![no_main]

anycast_ebpf::program_runtime!();

use anycast_common::bench::SinkCounter;
use anycast_ebpf::packet::read_u16;
use anycast_ebpf::udp::{self, DNS_FLAGS};
use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::PerCpuArray,
    programs::XdpContext,
};

#[map(name = "SINK")]
static SINK: PerCpuArray<u64> = PerCpuArray::with_max_entries(SinkCounter::COUNT, 0);

#[xdp]
pub fn sink(ctx: XdpContext) -> u32 {
    match response_flags(&ctx) {
        Some(flags) => {
            if flags & 0x0200 != 0 {
                count(SinkCounter::Truncated);
            }
            count(match flags & 0xf {
                0 => SinkCounter::NoError,
                3 => SinkCounter::NxDomain,
                _ => SinkCounter::OtherRcode,
            });
            xdp_action::XDP_DROP
        }
        None => {
            count(SinkCounter::Passed);
            xdp_action::XDP_PASS
        }
    }
}

/// The DNS flags of a response from port 53.
#[inline(always)]
fn response_flags(ctx: &XdpContext) -> Option<u16> {
    let udp = udp::locate(ctx)?;
    if udp.src_port(ctx)? != 53 {
        return None;
    }
    let flags = read_u16(ctx, udp.dns() + DNS_FLAGS)?;
    (flags & 0x8000 != 0).then_some(flags)
}

#[inline(always)]
fn count(counter: SinkCounter) {
    if let Some(slot) = SINK.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU slot: no other CPU writes it.
        unsafe { *slot += 1 };
    }
}
