//! The maps shared with userspace (layouts in anycast-common).

use anycast_common::{
    AnswerKey, AnswerValue, FastPathConfig, NAME_BUF_LEN, Outcome,
    ratelimit::{RateBucket, RateKey},
};
use aya_ebpf::{
    macros::map,
    maps::{Array, LpmTrie, LruHashMap, PerCpuArray},
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

/// One counter per [`Outcome`], per CPU.
#[map(name = "STATS")]
pub static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Outcome::COUNT, 0);

/// The question name of the packet being handled, lower-cased: too large
/// for the 512-byte stack.
#[repr(C)]
pub struct NameScratch {
    pub name: [u8; NAME_BUF_LEN],
    /// The name's length, passed through memory on purpose (see
    /// `query::name`).
    pub len: u64,
}

#[map(name = "SCRATCH")]
pub static SCRATCH: PerCpuArray<NameScratch> = PerCpuArray::with_max_entries(1, 0);

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
