//! The one way the program touches packet bytes: every access goes through
//! [`ptr_at`], which checks it against the end of the frame.

use aya_ebpf::programs::XdpContext;

/// A pointer to a `T` at `offset` from the start of the frame, if the frame
/// holds all of it.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Option<*mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + core::mem::size_of::<T>() > end {
        return None;
    }
    Some((start + offset) as *mut T)
}

/// A byte that is followed by at least one more byte in any packet worth
/// parsing. For a one-byte check LLVM emits `p >= end`, from which the
/// verifier grants no range, so the byte is read from a two-byte window.
#[inline(always)]
pub fn read_u8(ctx: &XdpContext, offset: usize) -> Option<u8> {
    read_u16(ctx, offset).map(|word| (word >> 8) as u8)
}

/// A big-endian 16-bit field.
#[inline(always)]
pub fn read_u16(ctx: &XdpContext, offset: usize) -> Option<u16> {
    // SAFETY: ptr_at checked the bounds; packet data has no alignment.
    ptr_at::<[u8; 2]>(ctx, offset).map(|p| u16::from_be_bytes(unsafe { *p }))
}

#[inline(always)]
pub fn write<const N: usize>(ctx: &XdpContext, offset: usize, bytes: [u8; N]) -> Option<()> {
    // SAFETY: ptr_at checked the bounds.
    ptr_at::<[u8; N]>(ctx, offset).map(|p| unsafe { *p = bytes })
}

/// Exchanges two equally long fields of the frame.
#[inline(always)]
pub fn swap<const N: usize>(ctx: &XdpContext, a: usize, b: usize) -> Option<()> {
    let pa = ptr_at::<[u8; N]>(ctx, a)?;
    let pb = ptr_at::<[u8; N]>(ctx, b)?;
    // SAFETY: both checked; the fields do not overlap (callers pass fixed
    // header offsets).
    unsafe { core::ptr::swap(pa, pb) };
    Some(())
}

/// True if the frame holds at least `len` (>= 2) bytes; checked as its last
/// two, for the reason given at [`read_u8`].
#[inline(always)]
pub fn holds(ctx: &XdpContext, len: usize) -> bool {
    len >= 2 && ptr_at::<[u8; 2]>(ctx, len - 2).is_some()
}
