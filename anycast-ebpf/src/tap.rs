//! Records of what the program answered, for dnstap: every `tap_every`-th
//! answer, slip or drop of a CPU, up to `tap_per_cpu_second` a second,
//! goes into the TAP ring as a [`TapRecord`]: addresses, ports, time and
//! the DNS message as sent (the query, for a drop). Off (`tap_every` 0) it
//! costs one check; a full ring or the cap drops the record, counted,
//! never the answer.
//!
//! It runs after the outcome, on the packet as it leaves: the headers are
//! the response's (the client is the destination) unless it was dropped.
//! Everything is read through helpers, at the offsets `net::parse` left.

use anycast_common::{
    MAX_RESPONSE_LEN, Outcome,
    tap::{TAP_ANSWERED, TAP_CAPPED, TAP_DROPPED, TAP_RECORDED, TAP_RING_FULL, TAP_SLIPPED, TapRecord},
};
use aya_ebpf::{
    helpers::generated::{bpf_ktime_get_boot_ns, bpf_xdp_load_bytes},
    programs::XdpContext,
};

use crate::{
    maps::{CONFIG, FORGET_L3, FORGET_UDP, SCRATCH, TAP, TAP_STATE, TAP_STATS},
    net::{MAX_L3_OFFSET_MASK, MAX_UDP_OFFSET_MASK, UDP_HEADER_LEN},
};

const NS_PER_SEC: u64 = 1_000_000_000;

/// Records the packet that got `outcome`, if it is sampled.
#[inline(always)]
pub fn record(ctx: &XdpContext, outcome: Outcome) {
    let verdict = match outcome {
        Outcome::Answered => TAP_ANSWERED,
        Outcome::Slipped => TAP_SLIPPED,
        Outcome::RateLimited => TAP_DROPPED,
        _ => return,
    };
    let Some(cfg) = CONFIG.get(0) else { return };
    let every = cfg.tap_every as u64;
    if every == 0 {
        return;
    }
    let Some(state) = TAP_STATE.get_ptr_mut(0) else { return };
    // SAFETY: per-CPU state; XDP does not preempt itself on a CPU.
    let state = unsafe { &mut *state };
    state.seen += 1;
    if state.seen % every != 0 {
        return;
    }
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_boot_ns() };
    if now.wrapping_sub(state.window_ns) >= NS_PER_SEC {
        state.window_ns = now;
        state.in_window = 0;
    }
    if state.in_window >= cfg.tap_per_cpu_second {
        return count(TAP_CAPPED);
    }
    state.in_window += 1;
    let Some(mut entry) = TAP.reserve::<TapRecord>(0) else { return count(TAP_RING_FULL) };
    match fill(ctx, entry.as_mut_ptr(), verdict, now) {
        Some(()) => {
            entry.submit(0);
            count(TAP_RECORDED);
        }
        None => entry.discard(0),
    }
}

/// Fills `record` from the packet; None if it cannot be read.
#[inline(always)]
fn fill(ctx: &XdpContext, record: *mut TapRecord, verdict: u8, now: u64) -> Option<()> {
    let scratch = SCRATCH.get_ptr(0)?;
    // SAFETY: the per-CPU buffer; `net::parse` left the offsets (masked
    // as it masks them) for this packet, which got past it.
    let (l3, udp) = unsafe {
        (
            (*scratch).forgotten[FORGET_L3] as usize & MAX_L3_OFFSET_MASK,
            (*scratch).forgotten[FORGET_UDP] as usize & MAX_UDP_OFFSET_MASK,
        )
    };
    // SAFETY: `record` is the reserved entry; the helper checks the frame.
    let r = unsafe { &mut *record };
    let mut version = [0u8; 1];
    load(ctx, l3, version.as_mut_ptr(), 1)?;
    let ipv6 = version[0] >> 4 == 6;
    let (src_at, len) = if ipv6 { (l3 + 8, 16) } else { (l3 + 12, 4) };
    r.client = [0; 16];
    r.server = [0; 16];
    // The response goes from the VIP to the client; a drop is the query.
    let (from, to) = if verdict == TAP_DROPPED {
        (r.client.as_mut_ptr(), r.server.as_mut_ptr())
    } else {
        (r.server.as_mut_ptr(), r.client.as_mut_ptr())
    };
    load(ctx, src_at, from, len)?;
    load(ctx, src_at + len as usize, to, len)?;
    let mut ports = [0u8; 4];
    load(ctx, udp, ports.as_mut_ptr(), 4)?;
    let (source, destination) = (u16::from_be_bytes([ports[0], ports[1]]), u16::from_be_bytes([ports[2], ports[3]]));
    (r.client_port, r.server_port) = if verdict == TAP_DROPPED { (source, destination) } else { (destination, source) };
    let dns = udp + UDP_HEADER_LEN;
    // The length less one, bounded, then one added back: the verifier
    // then knows it is at least 1 (a test for 0 LLVM turns into a compare
    // of the operands, from which it learns nothing).
    let short = (ctx.data_end() - ctx.data()).checked_sub(dns + 1)?;
    if short >= MAX_RESPONSE_LEN {
        return None;
    }
    let message_len = short + 1;
    load(ctx, dns, r.message.as_mut_ptr(), message_len as u32)?;
    r.time_ns = now;
    r.verdict = verdict;
    r.ipv6 = ipv6 as u8;
    r.message_len = message_len as u16;
    Some(())
}

/// `len` bytes of the frame at `at` into `to`.
#[inline(always)]
pub fn load(ctx: &XdpContext, at: usize, to: *mut u8, len: u32) -> Option<()> {
    // SAFETY: `to` has room for `len` bytes (the callers' buffers); the
    // helper checks the frame's bounds.
    (unsafe { bpf_xdp_load_bytes(ctx.ctx, at as u32, to as *mut _, len) } == 0).then_some(())
}

#[inline(always)]
pub fn count(slot: u32) {
    if let Some(counter) = TAP_STATS.get_ptr_mut(slot) {
        // SAFETY: per-CPU slot, and XDP does not preempt itself on a CPU.
        unsafe { *counter += 1 };
    }
}
