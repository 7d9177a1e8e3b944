//! How the XDP program samples its answers for dnstap, and the size of
//! the ring it writes them into (see [`super::tap`]).

/// How the program samples its answers for dnstap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapSampling {
    /// Every `every`-th answer (per CPU) is recorded; 0: none.
    pub every: u32,
    /// Records a second, at most, for the node (shared out by CPU).
    pub per_second: u32,
}

/// Bytes of the ring: 3,000 records, a third of a second at the default
/// cap, for the daemon to fall behind by before records are dropped.
pub const RING_BYTES: u32 = 1 << 22;
/// The ring's size when nothing is recorded: one page, the least a ring
/// can be.
pub const IDLE_RING_BYTES: u32 = 4096;
/// Bytes of the CAPTURE ring: about 800 answers' frames.
pub const CAPTURE_RING_BYTES: u32 = 1 << 21;
