//! `rrset_order`: the addresses of an answer handed out in turn (DNS load
//! balancing). What turns is the answer section's last A or AAAA RRset of
//! two or more records: each of its records has the same owner (a
//! compression pointer), type, class and TTL and one size (16 or 28
//! bytes), so turning the RRset is rotating whole records in the wire
//! bytes, and nothing else moves. The records stay at even distances from
//! each other, so the response's checksum and its TTL offsets do not
//! change either. The n-th answer from an entry starts at its record
//! n mod count, on both paths; `random` starts at a random record.

/// The RRset an entry turns: `count` records of `size` bytes from `at` in
/// the entry's data; none when `count` is below 2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    pub at: u16,
    pub size: u8,
    pub count: u8,
}
const _: () = assert!(core::mem::size_of::<Rotation>() == 4);

/// `FastPathConfig::rrset_order`: records in the order stored.
pub const ORDER_FIXED: u8 = 0;
/// Each answer from an entry starts one record further.
pub const ORDER_ROTATE: u8 = 1;
/// Each answer starts at a random record.
pub const ORDER_RANDOM: u8 = 2;

/// Records an RRset may have and still turn: the XDP program copies them
/// one by one, in a loop with this constant bound.
pub const MAX_TURNED: usize = 16;
/// Wire size of an A record whose owner is a compression pointer.
pub const A_RECORD_LEN: u8 = 16;
/// Of an AAAA record.
pub const AAAA_RECORD_LEN: u8 = 28;

impl Rotation {
    /// Whether there is anything to turn.
    #[inline(always)]
    pub const fn turns(&self) -> bool {
        self.count >= 2
    }

    /// The record an answer starts at, for `turn` (the entry's answer
    /// count, or a random number).
    #[inline(always)]
    pub const fn first(&self, turn: u32) -> u32 {
        if self.count == 0 { 0 } else { turn % self.count as u32 }
    }

    /// Rotates `data` (an entry's data, or a response's from the same
    /// offset on) in place so that it starts at record `first`.
    pub fn apply(&self, data: &mut [u8], first: u32) {
        let (at, size, count) = (self.at as usize, self.size as usize, self.count as usize);
        if let Some(block) = data.get_mut(at..at + size * count) {
            block.rotate_left(size * (first as usize % count.max(1)));
        }
    }
}
