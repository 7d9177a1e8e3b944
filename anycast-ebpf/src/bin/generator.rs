//! The benchmark's frame generator, run with BPF_PROG_RUN in live-frame
//! mode on the client's end of the bench link: each run writes the next
//! prebuilt query frame into the packet and returns XDP_TX, which live-
//! frame mode turns into a transmission out of that interface. The frame
//! is written on every run because live-frame mode recycles pages without
//! restoring their bytes, and the server may have rewritten them into its
//! answer on the way back.
#![no_std]
#![no_main]

anycast_ebpf::program_runtime!();

use anycast_common::bench::{FRAME_SLOT, GENERATOR_COUNT, GENERATOR_SLOTS, GeneratorFrame};
use anycast_ebpf::packet::ptr_at;
use aya_ebpf::{
    bindings::xdp_action,
    helpers::bpf_xdp_adjust_tail,
    macros::{map, xdp},
    maps::{Array, PerCpuArray},
    programs::XdpContext,
};

#[map(name = "FRAMES")]
static FRAMES: Array<GeneratorFrame> = Array::with_max_entries(GENERATOR_SLOTS, 0);

/// [`GENERATOR_COUNT`]: how many of the slots hold frames.
#[map(name = "GENERATOR")]
static GENERATOR: Array<u32> = Array::with_max_entries(1, 0);

/// The slot the next run sends, per CPU.
#[map(name = "NEXT")]
static NEXT: PerCpuArray<u32> = PerCpuArray::with_max_entries(1, 0);

#[xdp]
pub fn generator(ctx: XdpContext) -> u32 {
    match next_frame(&ctx) {
        Some(()) => xdp_action::XDP_TX,
        // The bench's own input is wrong (no frames loaded): send nothing.
        None => xdp_action::XDP_DROP,
    }
}

#[inline(always)]
fn next_frame(ctx: &XdpContext) -> Option<()> {
    let count = *GENERATOR.get(GENERATOR_COUNT)?;
    let next = NEXT.get_ptr_mut(0)?;
    // SAFETY: a per-CPU slot, only this CPU's run touches it.
    let slot = unsafe { *next };
    let slot = if slot >= count { 0 } else { slot };
    // SAFETY: as above.
    unsafe { *next = slot + 1 };
    let frame = FRAMES.get(slot)?;
    let len = frame.len as usize;
    if !(14..=FRAME_SLOT).contains(&len) {
        return None;
    }
    let packet = ptr_at::<[u8; FRAME_SLOT]>(ctx, 0)?;
    // SAFETY: ptr_at checked that the frame holds FRAME_SLOT bytes.
    unsafe { *packet = frame.data };
    // SAFETY: a helper call on this program's own context.
    (unsafe { bpf_xdp_adjust_tail(ctx.ctx, len as i32 - FRAME_SLOT as i32) } == 0).then_some(())
}
