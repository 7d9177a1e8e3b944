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
/// A captured answer lost: the CAPTURE ring was full.
pub const TAP_CAPTURE_LOST: u32 = 3;
pub const TAP_STATS_LEN: u32 = 4;

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

/// Bytes of a query frame a capture keeps: more than any query the fast
/// path answers (headers, a 255-byte name, 256 bytes of options).
pub const CAPTURE_QUERY_MAX: usize = 1024;
/// Bytes of a response frame a capture keeps: headers and the largest
/// response.
pub const CAPTURE_RESPONSE_MAX: usize = 1536;

/// One answer at XDP as `ctl capture` takes it: the query frame as it
/// arrived and the frame sent back, whole (the `CAPTURE` ring).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CaptureRecord {
    /// CLOCK_BOOTTIME when it was answered.
    pub time_ns: u64,
    pub query_len: u16,
    pub response_len: u16,
    pub _pad: [u8; 4],
    pub query: [u8; CAPTURE_QUERY_MAX],
    pub response: [u8; CAPTURE_RESPONSE_MAX],
}
const _: () = assert!(core::mem::size_of::<CaptureRecord>() == 16 + CAPTURE_QUERY_MAX + CAPTURE_RESPONSE_MAX);

/// Per CPU, the frame of the query being handled while a capture runs
/// (the `CAPTURE_QUERY` map).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CaptureQuery {
    pub len: u64,
    pub frame: [u8; CAPTURE_QUERY_MAX],
}
