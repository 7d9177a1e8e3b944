//! What the benchmark's frame generator and answer sink share with the
//! bench: prebuilt query frames in an array map, and the sink's counters.

/// Bytes of one prebuilt frame slot. A query frame (Ethernet, IPv6, UDP,
/// a question with a 40-byte name, an OPT record) fits with room to spare.
pub const FRAME_SLOT: usize = 160;
/// Prebuilt frames the generator cycles through.
pub const GENERATOR_SLOTS: u32 = 65_536;

/// One prebuilt frame: `len` bytes of `data` are sent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GeneratorFrame {
    pub len: u32,
    pub _pad: u32,
    pub data: [u8; FRAME_SLOT],
}
const _: () = assert!(core::mem::size_of::<GeneratorFrame>() == 8 + FRAME_SLOT);

/// Index of the generator's config array: how many slots are in use.
pub const GENERATOR_COUNT: u32 = 0;

/// What the sink saw: DNS responses (UDP from port 53 with QR set) by
/// RCODE class, counted and dropped; everything else passed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkCounter {
    NoError = 0,
    NxDomain,
    /// SERVFAIL, REFUSED and every other RCODE.
    OtherRcode,
    /// TC=1 (counted besides its RCODE).
    Truncated,
    /// Not a DNS response: passed up the stack.
    Passed,
}

impl SinkCounter {
    pub const COUNT: u32 = 5;
}
