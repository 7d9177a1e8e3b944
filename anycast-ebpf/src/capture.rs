//! `ctl capture`: while it runs, the frame of every query is kept before
//! it is handled ([`start`]), and if it was answered (or slipped) the
//! query and the frame sent back go into the CAPTURE ring as one record
//! ([`finish`]). Off, it costs one check on each side.
//!
//! Nothing is carried from one to the other but the kept frame: a value
//! live across the handling would have the verifier check it once per
//! value. The kept frame is paired with the response only if they have
//! the same DNS ID and swapped ports (a capture turned on between the
//! two could otherwise pair a response with an older query).

use anycast_common::{
    Outcome,
    tap::{CAPTURE_QUERY_MAX, CAPTURE_RESPONSE_MAX, CaptureRecord, TAP_CAPTURE_LOST},
};
use aya_ebpf::{helpers::generated::bpf_ktime_get_boot_ns, programs::XdpContext};

use crate::{
    maps::{CAPTURE, CAPTURE_QUERY, CONFIG, FORGET_UDP, SCRATCH},
    net::MAX_UDP_OFFSET_MASK,
    tap,
};

/// Keeps the frame as it arrived, if a capture runs.
#[inline(always)]
pub fn start(ctx: &XdpContext) {
    let Some(cfg) = CONFIG.get(0) else { return };
    if cfg.capture == 0 {
        return;
    }
    let Some(buf) = CAPTURE_QUERY.get_ptr_mut(0) else { return };
    // SAFETY: the per-CPU buffer; XDP does not preempt itself on a CPU.
    let buf = unsafe { &mut *buf };
    buf.len = 0;
    // The length less one, bounded, then one added back (see `tap::fill`).
    let short = (ctx.data_end() - ctx.data()).wrapping_sub(1);
    if short < CAPTURE_QUERY_MAX && tap::load(ctx, 0, buf.frame.as_mut_ptr(), (short + 1) as u32).is_some() {
        buf.len = (short + 1) as u64;
    }
}

/// Records the kept query and the frame that leaves, if it was answered.
#[inline(always)]
pub fn finish(ctx: &XdpContext, outcome: Outcome) {
    let Some(cfg) = CONFIG.get(0) else { return };
    if cfg.capture == 0 {
        return;
    }
    let Some(buf) = CAPTURE_QUERY.get_ptr_mut(0) else { return };
    // SAFETY: the per-CPU buffer `start` filled; XDP does not preempt
    // itself on a CPU.
    let buf = unsafe { &mut *buf };
    let query_len = buf.len as usize;
    buf.len = 0;
    if !matches!(outcome, Outcome::Answered | Outcome::Slipped) {
        return;
    }
    let short = (ctx.data_end() - ctx.data()).wrapping_sub(1);
    if query_len == 0 || query_len > CAPTURE_QUERY_MAX || short >= CAPTURE_RESPONSE_MAX {
        return;
    }
    let Some(mut entry) = CAPTURE.reserve::<CaptureRecord>(0) else { return tap::count(TAP_CAPTURE_LOST) };
    // SAFETY: the reserved entry, written before it is submitted.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    // Word by word: both buffers are 8-aligned and a multiple of 8 long.
    let (from, to) = (buf.frame.as_ptr() as *const u64, record.query.as_mut_ptr() as *mut u64);
    for word in 0..CAPTURE_QUERY_MAX / 8 {
        if word * 8 >= query_len {
            break;
        }
        // SAFETY: word < 128: within both 1024-byte buffers.
        unsafe { *to.add(word) = *from.add(word) };
    }
    if tap::load(ctx, 0, record.response.as_mut_ptr(), (short + 1) as u32).is_none() {
        entry.discard(0);
        return tap::count(TAP_CAPTURE_LOST);
    }
    if !paired(record) {
        return entry.discard(0);
    }
    // SAFETY: a helper without arguments.
    record.time_ns = unsafe { bpf_ktime_get_boot_ns() };
    record.query_len = query_len as u16;
    record.response_len = (short + 1) as u16;
    entry.submit(0);
}

/// Whether the record's query and response are one exchange: the same
/// DNS ID, the ports swapped (the headers sit at the same offsets in
/// both: the response is the query rewritten in place).
#[inline(always)]
fn paired(record: &CaptureRecord) -> bool {
    let Some(scratch) = SCRATCH.get_ptr(0) else { return false };
    // SAFETY: the per-CPU buffer; `net::parse` left the offset, masked as
    // it masks it, for this packet, which was answered.
    let udp = unsafe { (*scratch).forgotten[FORGET_UDP] } as usize & MAX_UDP_OFFSET_MASK;
    let (q, r) = (&record.query, &record.response);
    q[udp..udp + 2] == r[udp + 2..udp + 4]
        && q[udp + 2..udp + 4] == r[udp..udp + 2]
        && q[udp + 8..udp + 10] == r[udp + 8..udp + 10]
}
