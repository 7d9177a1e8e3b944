//! The floor of the XDP_TX path: swaps the MAC addresses and sends the frame
//! back. Benchmarks time the fast path against it.
#![no_std]
#![no_main]

#[path = "../runtime.rs"]
mod runtime;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

#[xdp]
pub fn reflector(ctx: XdpContext) -> u32 {
    let start = ctx.data();
    if start + 12 > ctx.data_end() {
        return xdp_action::XDP_PASS;
    }
    // SAFETY: the 12 bytes of both MAC addresses were checked above.
    unsafe { core::ptr::swap(start as *mut [u8; 6], (start + 6) as *mut [u8; 6]) };
    xdp_action::XDP_TX
}
