//! `rrset_order` at XDP: the answer's last A or AAAA RRset handed out in
//! turn (see `anycast_common::rotation`). The entry's data goes into the
//! packet as stored; then, when the records turn, the RRset's records are
//! written again one by one from the record the answer starts at. Each has
//! one constant size, so every copy is a helper call of a constant length
//! from a bounded offset, and nothing but the RRset's bytes moves: the
//! checksum and the TTL offsets hold as planned.

use anycast_common::{
    AnswerValue, FastPathConfig, MAX_DATA_LEN, Outcome,
    rotation::{A_RECORD_LEN, AAAA_RECORD_LEN, MAX_TURNED, ORDER_FIXED, ORDER_RANDOM},
};
use aya_ebpf::{
    helpers::generated::{bpf_get_prandom_u32, bpf_xdp_store_bytes},
    programs::XdpContext,
};

/// The record the answer from `entry` starts at: 0 (as stored) unless its
/// records turn; in turn, from the answers it gave so far (`served`, which
/// `answer::handle` counts): two CPUs answering at once may start at the
/// same record, which only evens out over the next answers.
#[inline(always)]
pub fn first(cfg: &FastPathConfig, entry: &AnswerValue) -> u32 {
    if cfg.rrset_order == ORDER_FIXED || !entry.rotation.turns() {
        return 0;
    }
    let turn = if cfg.rrset_order == ORDER_RANDOM {
        // SAFETY: a helper without arguments.
        unsafe { bpf_get_prandom_u32() }
    } else {
        entry.served
    };
    entry.rotation.first(turn)
}

/// Writes the entry's turned RRset over its place in the packet, its
/// record `first` first; the data starts at `data_at` in the frame and
/// holds `data_len` bytes.
#[inline(always)]
pub fn write(
    ctx: &XdpContext,
    data_at: usize,
    entry: &AnswerValue,
    data_len: usize,
    first: u32,
) -> Result<(), Outcome> {
    let rotation = entry.rotation;
    let (at, size, count) = (rotation.at as usize, rotation.size, rotation.count as usize);
    if first as usize >= count || count > MAX_TURNED || at + count * size as usize > data_len {
        return Err(Outcome::TxFailed);
    }
    for j in 0..MAX_TURNED {
        if j >= count {
            break;
        }
        let mut from = j + first as usize;
        if from >= count {
            from -= count;
        }
        let src = at + from * size as usize;
        let dst = data_at + at + j * size as usize;
        // The verifier wants the source's bound right before the call.
        if src > MAX_DATA_LEN - AAAA_RECORD_LEN as usize {
            return Err(Outcome::TxFailed);
        }
        // SAFETY: src + size <= MAX_DATA_LEN, inside the entry's data; the
        // helper checks the frame's bounds.
        let stored = unsafe {
            let from = entry.data.as_ptr().add(src) as *mut _;
            match size {
                A_RECORD_LEN => bpf_xdp_store_bytes(ctx.ctx, dst as u32, from, A_RECORD_LEN as u32),
                AAAA_RECORD_LEN => bpf_xdp_store_bytes(ctx.ctx, dst as u32, from, AAAA_RECORD_LEN as u32),
                _ => -1,
            }
        };
        if stored != 0 {
            return Err(Outcome::TxFailed);
        }
    }
    Ok(())
}
