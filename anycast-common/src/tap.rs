//! The XDP program's records of what it answered, for dnstap: one per
//! sampled answer, slip or rate-limited drop, in the `TAP` ring buffer,
//! which the daemon reads and writes out as dnstap messages.

use crate::MAX_RESPONSE_LEN;

/// What the program did with the query a record is of.
pub const TAP_ANSWERED: u8 = 0;
/// The rate limiter's slip (TC=1 or BADCOOKIE).
pub const TAP_SLIPPED: u8 = 1;
/// The rate limiter's drop: nothing was sent.
pub const TAP_DROPPED: u8 = 2;

/// One answer (or drop) at XDP.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TapRecord {
    /// CLOCK_BOOTTIME when it was answered.
    pub time_ns: u64,
    /// The client's address; IPv4 in the first four bytes.
    pub client: [u8; 16],
    /// The address it asked (a VIP).
    pub server: [u8; 16],
    /// Ports, host byte order.
    pub client_port: u16,
    pub server_port: u16,
    /// [`TAP_ANSWERED`], [`TAP_SLIPPED`] or [`TAP_DROPPED`].
    pub verdict: u8,
    pub ipv6: u8,
    /// Bytes of `message` used.
    pub message_len: u16,
    /// The DNS message sent (answered, slipped), or the query dropped.
    pub message: [u8; MAX_RESPONSE_LEN],
}
const _: () = assert!(core::mem::size_of::<TapRecord>() == 48 + MAX_RESPONSE_LEN);

/// Slots of the `TAP_STATS` per-CPU counters.
pub const TAP_RECORDED: u32 = 0;
/// Sampled, but the ring was full (the daemon is behind).
pub const TAP_RING_FULL: u32 = 1;
/// Sampled, but over the records-per-second cap.
pub const TAP_CAPPED: u32 = 2;
pub const TAP_STATS_LEN: u32 = 3;

/// Per CPU, the sampling and the cap's window (the `TAP_STATE` map).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct TapState {
    /// Taps seen: every `tap_every`-th is recorded.
    pub seen: u64,
    /// CLOCK_BOOTTIME the cap's current second started.
    pub window_ns: u64,
    /// Records in the current second.
    pub in_window: u32,
    pub _pad: [u8; 4],
}
const _: () = assert!(core::mem::size_of::<TapState>() == 24);
