//! Delivery: the XDP_TX frames the interface's driver could not send,
//! counted from the tracepoints drivers report them at. The fast path's
//! `answered` counts frames handed back to the driver; the daemon compares
//! the two and turns the fast path to pass everything when its answers
//! are not leaving.

use anycast_common::delivery::XDP_TX;
use aya_ebpf::programs::TracePointContext;

use crate::maps::{CONFIG, TX_ERRORS};

/// Offsets in the tracepoints' records (their `format` files).
const EXCEPTION_ACT: usize = 12;
const EXCEPTION_IFINDEX: usize = 16;
const BULK_IFINDEX: usize = 8;
const BULK_ACT: usize = 12;
const BULK_DROPS: usize = 16;

/// `xdp:xdp_exception`: one frame the driver refused.
#[inline(always)]
pub fn exception(ctx: &TracePointContext) {
    // SAFETY: offsets within the tracepoint's record, read by a helper.
    let (act, ifindex) = unsafe { (ctx.read_at::<u32>(EXCEPTION_ACT), ctx.read_at::<i32>(EXCEPTION_IFINDEX)) };
    if let (Ok(XDP_TX), Ok(ifindex)) = (act, ifindex) {
        count(ifindex, 1);
    }
}

/// `xdp:xdp_bulk_tx`: frames a bulk send dropped.
#[inline(always)]
pub fn bulk_tx(ctx: &TracePointContext) {
    // SAFETY: offsets within the tracepoint's record, read by a helper.
    let (ifindex, act, drops) =
        unsafe { (ctx.read_at::<i32>(BULK_IFINDEX), ctx.read_at::<u32>(BULK_ACT), ctx.read_at::<i32>(BULK_DROPS)) };
    if let (Ok(ifindex), Ok(XDP_TX), Ok(drops)) = (ifindex, act, drops)
        && drops > 0
    {
        count(ifindex, drops as u64);
    }
}

#[inline(always)]
fn count(ifindex: i32, frames: u64) {
    let Some(cfg) = CONFIG.get(0) else { return };
    if cfg.ifindex == 0 || cfg.ifindex as i32 != ifindex {
        return;
    }
    if let Some(slot) = TX_ERRORS.get_ptr_mut(0) {
        // SAFETY: per-CPU slot; a tracepoint program is not preempted by
        // itself on a CPU.
        unsafe { *slot += frames };
    }
}
