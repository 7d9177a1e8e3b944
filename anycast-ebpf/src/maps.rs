//! The maps shared with userspace (layouts in anycast-common).

use anycast_common::{
    AnswerKey, AnswerValue, FastPathConfig, NAME_BUF_LEN, Outcome,
    cookie::CookieSecrets,
    ratelimit::{RateBucket, RateKey},
    tap::{CaptureQuery, TAP_STATS_LEN, TapState},
};
use aya_ebpf::{
    macros::map,
    maps::{Array, LpmTrie, LruHashMap, PerCpuArray, RingBuf},
};

/// Cached answers. LRU, so that a full map makes room for new answers
/// without the daemon having to evict; the daemon sets the size at load.
#[map(name = "ANSWERS")]
pub static ANSWERS: LruHashMap<AnswerKey, AnswerValue> = LruHashMap::with_max_entries(16384, 0);

#[map(name = "CONFIG")]
pub static CONFIG: Array<FastPathConfig> = Array::with_max_entries(1, 0);

/// Networks whose clients the fast path answers (the daemon's ACL).
#[map(name = "ACL_V4")]
pub static ACL_V4: LpmTrie<[u8; 4], u8> = LpmTrie::with_max_entries(1024, 0);

#[map(name = "ACL_V6")]
pub static ACL_V6: LpmTrie<[u8; 16], u8> = LpmTrie::with_max_entries(1024, 0);

/// The rate limiter's buckets, one per client prefix. Shared by the CPUs
/// (a prefix's budget must not multiply with them); an update racing with
/// one on another CPU may be lost, which errs towards answering. LRU, so a
/// flood from many prefixes evicts the idle ones; the daemon sets the size.
#[map(name = "RATE_BUCKETS")]
pub static RATE_BUCKETS: LruHashMap<RateKey, RateBucket> = LruHashMap::with_max_entries(65536, 0);

/// XDP_TX frames the interface's driver could not send, per CPU (see
/// `delivery`).
#[map(name = "TX_ERRORS")]
pub static TX_ERRORS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Records of answers for dnstap (see `tap`); the daemon sets the size.
#[map(name = "TAP")]
pub static TAP: RingBuf = RingBuf::with_byte_size(1 << 22, 0);

#[map(name = "TAP_STATE")]
pub static TAP_STATE: PerCpuArray<TapState> = PerCpuArray::with_max_entries(1, 0);

#[map(name = "TAP_STATS")]
pub static TAP_STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(TAP_STATS_LEN, 0);

/// Answers' query and response frames while `ctl capture` runs (see
/// `capture`); the daemon sets the size.
#[map(name = "CAPTURE")]
pub static CAPTURE: RingBuf = RingBuf::with_byte_size(1 << 22, 0);

#[map(name = "CAPTURE_QUERY")]
pub static CAPTURE_QUERY: PerCpuArray<CaptureQuery> = PerCpuArray::with_max_entries(1, 0);

/// One counter per [`Outcome`], per CPU.
#[map(name = "STATS")]
pub static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Outcome::COUNT, 0);

/// OPT RDATA the fast path reads; a query with more is the daemon's.
pub const OPTIONS_MAX: usize = 256;
/// The options buffer: room for a whole cookie option read at any offset
/// below [`OPTIONS_MAX`].
pub const OPTIONS_BUF_LEN: usize = OPTIONS_MAX + 64;
/// The OPT record of a response: fixed part, NSID and COOKIE options
/// (107 bytes at most), with room for the cookie's write at any offset
/// below 128.
pub const REPLY_OPT_LEN: usize = 160;

/// What the packet being handled needs beyond the 512-byte stack.
#[repr(C)]
pub struct Scratch {
    /// The question name, lower-cased.
    pub name: [u8; NAME_BUF_LEN],
    /// The name's length, passed through memory on purpose (see
    /// `query::name`).
    pub len: u64,
    /// The query's EDNS options as received (see `edns::options`).
    pub options: [u8; OPTIONS_BUF_LEN],
    /// The response's OPT record, assembled (see `edns::assemble`).
    pub reply_opt: [u8; REPLY_OPT_LEN],
    /// The response's client and server cookie, as little-endian words
    /// (see `cookie::reply`).
    pub reply_cookie: [u64; 3],
    /// The client's address as the cookie hash takes it.
    pub client: [u64; 2],
    /// Values passed through memory on purpose (see [`forget`]).
    pub forgotten: [u64; FORGET_SLOTS],
}

/// Slots of [`Scratch::forgotten`], one per value.
pub const FORGET_SLOTS: usize = 8;
pub const FORGET_SUM: usize = 0;
pub const FORGET_FOUND: usize = 1;
pub const FORGET_AT: usize = 2;
pub const FORGET_LEN: usize = 3;
pub const FORGET_L3: usize = 4;
pub const FORGET_UDP: usize = 5;

/// `value`, read back from map memory: to the verifier, any value of its
/// type. A loop with a variable exit leaves values whose ranges differ by
/// the iteration it left at; everything after it is then verified once
/// per range, over the budget. Forgotten, they are one state. Only for
/// values nothing after depends on for safety (sums, flags, offsets that
/// are checked again).
#[inline(always)]
pub fn forget(slot: usize, value: u64) -> u64 {
    let Some(buf) = SCRATCH.get_ptr_mut(0) else { return value };
    // SAFETY: the per-CPU buffer; volatile keeps the round trip.
    unsafe {
        let slot = core::ptr::addr_of_mut!((*buf).forgotten[slot % FORGET_SLOTS]);
        core::ptr::write_volatile(slot, value);
        core::ptr::read_volatile(slot)
    }
}

#[map(name = "SCRATCH")]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// The cookie secrets, in two slots (see `map_names::COOKIE_SECRETS`).
#[map(name = "COOKIE_SECRETS")]
pub static COOKIE_SECRETS: Array<CookieSecrets> = Array::with_max_entries(2, 0);

#[map(name = "COOKIE_SLOT")]
pub static COOKIE_SLOT: Array<u32> = Array::with_max_entries(1, 0);

/// Bytes of headers and question the head-growing path can move.
pub const FRAME_HEAD_MAX: usize = 512;

/// Headers and question of a frame being grown at its head (see
/// `answer::grow_at_head`).
#[repr(C)]
pub struct FrameHead {
    pub bytes: [u8; FRAME_HEAD_MAX],
    /// How many of them, passed through memory on purpose (see
    /// `answer::grow_at_head`).
    pub len: u64,
}

#[map(name = "FRAME_HEAD")]
pub static FRAME_HEAD: PerCpuArray<FrameHead> = PerCpuArray::with_max_entries(1, 0);

#[inline(always)]
pub fn count(outcome: Outcome) {
    if let Some(slot) = STATS.get_ptr_mut(outcome as u32) {
        // SAFETY: per-CPU slot, and XDP does not preempt itself on a CPU.
        unsafe { *slot += 1 };
    }
}
