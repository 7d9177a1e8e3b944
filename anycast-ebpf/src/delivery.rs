//! Delivery: the XDP_TX frames the interface's driver could not send,
//! counted at the raw tracepoints drivers report them at. The fast path's
//! `answered` counts frames handed back to the driver; the daemon compares
//! the two and turns the fast path to pass everything when its answers
//! are not leaving.
//!
//! Raw tracepoints get the tracepoint's arguments (its TP_PROTO), not its
//! record, and are attached by name: no tracefs, which only root may read.
//! The device comes as a pointer; its ifindex is read at the offset the
//! daemon found in the kernel's BTF.

use anycast_common::delivery::XDP_TX;
use aya_ebpf::{helpers::bpf_probe_read_kernel, programs::RawTracePointContext};

use crate::maps::{CONFIG, TX_ERRORS};

/// `xdp_exception(const struct net_device *dev, const struct bpf_prog
/// *xdp, u32 act)`: one frame the driver refused.
#[inline(always)]
pub fn exception(ctx: &RawTracePointContext) {
    let (dev, act): (u64, u64) = (ctx.arg(0), ctx.arg(2));
    if act as u32 == XDP_TX {
        count(dev, 1);
    }
}

/// `xdp_bulk_tx(const struct net_device *dev, int sent, int drops, int
/// err)`: frames a bulk XDP_TX send dropped.
#[inline(always)]
pub fn bulk_tx(ctx: &RawTracePointContext) {
    let (dev, drops): (u64, u64) = (ctx.arg(0), ctx.arg(2));
    let drops = drops as u32 as i32;
    if drops > 0 {
        count(dev, drops as u64);
    }
}

#[inline(always)]
fn count(dev: u64, frames: u64) {
    let Some(cfg) = CONFIG.get(0) else { return };
    if cfg.ifindex == 0 || cfg.netdev_ifindex_offset == 0 {
        return;
    }
    let at = dev.wrapping_add(cfg.netdev_ifindex_offset as u64) as *const u32;
    // SAFETY: a kernel read through the helper, which fails safely on a
    // bad address.
    let Ok(ifindex) = (unsafe { bpf_probe_read_kernel(at) }) else { return };
    if ifindex != cfg.ifindex {
        return;
    }
    if let Some(slot) = TX_ERRORS.get_ptr_mut(0) {
        // SAFETY: per-CPU slot; a tracepoint program is not preempted by
        // itself on a CPU.
        unsafe { *slot += frames };
    }
}
