//! Passes every packet. Attached to the client end of a lab's veth pair:
//! a veth delivers the frames its peer sends with XDP_TX only when an XDP
//! program runs on it too.
#![no_std]
#![no_main]

anycast_ebpf::program_runtime!();

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

#[xdp]
pub fn pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}
