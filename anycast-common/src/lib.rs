//! Types and functions both sides of the fast path share: the XDP program
//! (built for `bpfel-unknown-none`) and `anycastd`. Everything that crosses a
//! BPF map is defined here once, `#[repr(C)]` with explicit padding, and its
//! size is asserted so that a layout change is a compile error on both sides.
#![no_std]

pub mod bench;
pub mod checksum;
pub mod cookie;
pub mod dns;
pub mod hash;
mod named;
pub mod ratelimit;
pub mod rotation;
pub mod siphash;
pub mod stats;
pub mod tap;

pub use ratelimit::RateLimit;
pub use stats::Outcome;

/// Longest DNS name on the wire, root label included (RFC 1035 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 2.3.4).
pub const MAX_LABEL_LEN: u8 = 63;
/// Name buffer: one byte more than the longest name keeps the buffer a
/// multiple of eight, so names compare as 32 words.
pub const NAME_BUF_LEN: usize = 256;
/// The largest DNS message the fast path sends: the EDNS buffer size the
/// DNS flag day 2020 settled on, which fits any path MTU without fragments.
pub const MAX_RESPONSE_LEN: usize = 1232;
/// What a client without EDNS accepts (RFC 1035 4.2.1).
pub const CLASSIC_UDP_LEN: u16 = 512;
/// Bytes of the sections after the question that one entry may carry.
pub const MAX_DATA_LEN: usize = MAX_RESPONSE_LEN;
/// Resource records one entry may carry: each one's TTL is rewritten on a
/// hit, in a loop with this constant bound.
pub const MAX_RECORDS: usize = 32;
/// Wire size of an OPT record without options.
pub const OPT_RECORD_LEN: usize = 11;

/// `AnswerKey::flags` bit: the query had EDNS with the DO bit set.
pub const KEY_FLAG_DO: u8 = 1;

/// The answer map's key: the question, exactly.
///
/// The name is represented by a keyed hash of its lower-cased wire form; the
/// full name is stored in [`AnswerValue::name`] and compared on every hit, so
/// two names that collide can only cause a miss, never a wrong answer.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub name_hash: u64,
    pub qtype: u16,
    pub qclass: u16,
    /// [`KEY_FLAG_DO`] or 0.
    pub flags: u8,
    pub _pad: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<AnswerKey>() == 16);

impl AnswerKey {
    /// The key of a question: its name's hash, type and class, and
    /// whether the query had DO (the answer then carries DNSSEC records).
    #[inline(always)]
    pub const fn new(name_hash: u64, qtype: u16, qclass: u16, dnssec_ok: bool) -> AnswerKey {
        AnswerKey { name_hash, qtype, qclass, flags: if dnssec_ok { KEY_FLAG_DO } else { 0 }, _pad: [0; 3] }
    }
}

/// The answer map's value: everything after the question section, ready to
/// be copied behind the client's own question.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AnswerValue {
    /// CLOCK_BOOTTIME (what `bpf_ktime_get_boot_ns` reads) at which the TTLs
    /// stored in `data` were current.
    pub inserted_ns: u64,
    /// CLOCK_BOOTTIME from which on the entry must not be served.
    pub expires_ns: u64,
    /// CLOCK_BOOTTIME of the last answer the XDP program gave from the
    /// entry (0 if none): the daemon refreshes entries that are in use.
    pub last_hit_ns: u64,
    /// Length of the lower-cased wire name in `name`, root label included.
    pub name_len: u16,
    /// Bytes used in `data`.
    pub data_len: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    /// RCODE of the response (NOERROR or NXDOMAIN).
    pub rcode: u8,
    /// Entries used in `ttl_offsets`.
    pub ttl_count: u8,
    /// Folded ones-complement sum of `data[..data_len]` as stored, summed as
    /// if `data` started at an even offset. A TTL aged by `e` seconds sums
    /// to its stored value minus `e` modulo 65535 (a 32-bit field's two
    /// halves sum to the field modulo 65535), or minus `256 e` at an odd
    /// offset (the sum of swapped bytes): the program subtracts that rather
    /// than summing every TTL it writes.
    pub data_csum: u16,
    /// 1 when the data was validated secure: the answer gets AD when the
    /// query had DO or AD (see `dns::authentic_data`).
    pub secure: u8,
    /// Of the TTL fields, those at an odd offset in `data`.
    pub ttl_odd_count: u8,
    /// The RRset whose records are handed out in turn (see [`rotation`]).
    pub rotation: rotation::Rotation,
    /// Answers the XDP program gave from the entry (a plain read and
    /// write: CPUs answering at once may count one), carried over when the
    /// daemon writes the entry again for the same name: how much the name
    /// is asked (`ctl dump-hot`), and where records that turn start
    /// (record `served % count`).
    pub served: u32,
    /// Offset in `data` of each record's 32-bit TTL field.
    pub ttl_offsets: [u16; MAX_RECORDS],
    /// Lower-cased wire-format question name, zero padded.
    pub name: [u8; NAME_BUF_LEN],
    /// Answer, authority and additional records (no OPT) in wire format, with
    /// names compressed against the question at offset 12.
    pub data: [u8; MAX_DATA_LEN],
}
const _: () = assert!(core::mem::size_of::<AnswerValue>() == 48 + 2 * MAX_RECORDS + NAME_BUF_LEN + MAX_DATA_LEN);
const _: () = assert!(core::mem::size_of::<AnswerValue>().is_multiple_of(8));

/// VIPs of each family the fast path answers for.
pub const MAX_VIPS: usize = 8;

/// Settings userspace writes into the config map (index 0) once, before
/// the program is attached. A zero `udp_port` means "not configured": every
/// packet passes.
///
/// The VIPs live here rather than in a hash map: a node has a handful, and
/// comparing them inline costs a few ns where a map lookup costs twenty.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastPathConfig {
    /// Secret key of the name hash; random per run of the daemon.
    pub hash_key: [u64; 2],
    /// Response rate limiting per client prefix (off when its interval is 0).
    pub rate_limit: RateLimit,
    /// IPv6 VIPs as they appear in the packet; the first `vip_v6_count`.
    pub vips_v6: [[u8; 16]; MAX_VIPS],
    /// IPv4 VIPs as they appear in the packet; the first `vip_v4_count`.
    pub vips_v4: [[u8; 4]; MAX_VIPS],
    /// UDP port of the DNS service, host byte order.
    pub udp_port: u16,
    /// EDNS UDP payload size the node advertises, at most
    /// [`MAX_RESPONSE_LEN`].
    pub edns_udp_size: u16,
    pub vip_v4_count: u8,
    pub vip_v6_count: u8,
    /// How the clients of each family are checked: [`ACL_OPEN`],
    /// [`ACL_INLINE`] (the networks below) or [`ACL_TRIE`] (the LPM map,
    /// for more networks than fit here). A trie lookup costs tens of
    /// nanoseconds; a handful of masked compares, a few.
    pub acl_v4_mode: u8,
    pub acl_v6_mode: u8,
    /// Networks used in `acl_v4` / `acl_v6` (inline mode).
    pub acl_v4_count: u8,
    pub acl_v6_count: u8,
    /// Bytes used in `nsid`; 0 when the node gives none.
    pub nsid_len: u8,
    /// The node's NSID (RFC 5001), for queries that ask for it.
    pub nsid: [u8; dns::MAX_NSID_LEN],
    /// 1 when DNS cookies are on: queries with a COOKIE get a server
    /// cookie made with the secrets of the cookie map.
    pub cookies: u8,
    /// 1 while the daemon has turned the fast path to pass everything:
    /// its answers were not leaving the interface (see `TX_ERRORS`).
    pub pass_only: u8,
    /// 1 to answer queries whose UDP checksum is partial (the
    /// pseudo-header's sum alone, as local senders leave it to offload);
    /// 0 to pass them.
    pub accept_partial_checksums: u8,
    /// 1 while `ctl capture` runs: every answer's query and response
    /// frames go to the CAPTURE ring.
    pub capture: u8,
    /// How answers order the records of their last A or AAAA RRset:
    /// `rotation::ORDER_*`.
    pub rrset_order: u8,
    /// The interface the program is attached to, whose transmit errors
    /// the delivery programs count.
    pub ifindex: u32,
    /// IPv4 networks as (address, mask), each the packet's four bytes read
    /// as a native u32.
    pub acl_v4: [[u32; 2]; MAX_INLINE_ACL_V4],
    /// Every `tap_every`-th answer, slip or drop of a CPU is recorded in
    /// the TAP ring for dnstap; 0: none (the cost is this one check).
    pub tap_every: u32,
    /// IPv6 networks as (address halves, mask halves), each half the
    /// packet's eight bytes read as a native u64.
    pub acl_v6: [[u64; 4]; MAX_INLINE_ACL_V6],
    /// Records a CPU writes in a second, at most.
    pub tap_per_cpu_second: u32,
    /// Where `ifindex` lies in the kernel's `struct net_device` (from its
    /// BTF), for the delivery programs, which get a device pointer; 0
    /// until the daemon has found it (then they count nothing).
    pub netdev_ifindex_offset: u32,
}
const _: () = assert!(
    core::mem::size_of::<FastPathConfig>()
        == 16
            + 48
            + 16 * MAX_VIPS
            + 4 * MAX_VIPS
            + 10
            + dns::MAX_NSID_LEN
            + 10
            + 8 * MAX_INLINE_ACL_V4
            + 4
            + 32 * MAX_INLINE_ACL_V6
            + 8
);

/// `FastPathConfig::acl_v4_mode` and `acl_v6_mode`.
pub const ACL_OPEN: u8 = 0;
pub const ACL_INLINE: u8 = 1;
pub const ACL_TRIE: u8 = 2;
/// Networks of each family checked inline, at most.
pub const MAX_INLINE_ACL_V4: usize = 8;
pub const MAX_INLINE_ACL_V6: usize = 4;

/// Names of the maps in the object file, so the loader cannot misspell them.
pub mod map_names {
    pub const ANSWERS: &str = "ANSWERS";
    pub const CONFIG: &str = "CONFIG";
    pub const STATS: &str = "STATS";
    pub const ACL_V4: &str = "ACL_V4";
    pub const ACL_V6: &str = "ACL_V6";
    pub const SCRATCH: &str = "SCRATCH";
    pub const RATE_BUCKETS: &str = "RATE_BUCKETS";
    /// Two slots of [`crate::cookie::CookieSecrets`]: the daemon writes the
    /// one not in use, then points the slot map at it, so the program never
    /// reads a secret half written.
    pub const COOKIE_SECRETS: &str = "COOKIE_SECRETS";
    /// One u32: the slot of `COOKIE_SECRETS` in use.
    pub const COOKIE_SLOT: &str = "COOKIE_SLOT";
    /// Per CPU, the XDP_TX frames the driver of the interface could not
    /// send (counted by the delivery programs).
    pub const TX_ERRORS: &str = "TX_ERRORS";
    /// The ring of [`crate::tap::TapRecord`]s (never pinned: each daemon
    /// reads its own program's).
    pub const TAP: &str = "TAP";
    /// Per CPU, the [`crate::tap::TapState`] of the sampling.
    pub const TAP_STATE: &str = "TAP_STATE";
    /// Per CPU, the tap's counters (`crate::tap::TAP_RECORDED`, ...).
    pub const TAP_STATS: &str = "TAP_STATS";
    /// The ring of [`crate::tap::CaptureRecord`]s (never pinned).
    pub const CAPTURE: &str = "CAPTURE";
    /// Per CPU, the [`crate::tap::CaptureQuery`] being handled.
    pub const CAPTURE_QUERY: &str = "CAPTURE_QUERY";
}

/// Names of the delivery programs, on the tracepoints where drivers
/// report XDP_TX frames they could not send: `xdp:xdp_exception` (a frame
/// the driver refused) and `xdp:xdp_bulk_tx` (frames a bulk send dropped,
/// as veth reports a peer that cannot receive them).
pub mod delivery {
    pub const EXCEPTION_PROGRAM: &str = "anycast_xdp_exception";
    pub const BULK_TX_PROGRAM: &str = "anycast_xdp_bulk_tx";
    /// The raw tracepoints (of the `xdp` category) they attach to.
    pub const EXCEPTION_TRACEPOINT: &str = "xdp_exception";
    pub const BULK_TX_TRACEPOINT: &str = "xdp_bulk_tx";
    /// XDP_TX, as the tracepoints report the action.
    pub const XDP_TX: u32 = 3;
}

/// Name of the XDP program in the object file.
pub const PROGRAM_NAME: &str = "anycast";

/// Bump when the meaning of a pinned map's contents changes without its
/// types' sizes changing (a field reordered, a counter slot renamed).
const MAP_LAYOUT_VERSION: u64 = 8;

/// A fingerprint of everything a pinned map's contents depend on: a new
/// daemon reuses pinned maps only if theirs is the same, so a map written
/// by another layout is never read as this one.
pub const MAP_LAYOUT: u64 = {
    let parts = [
        MAP_LAYOUT_VERSION,
        core::mem::size_of::<AnswerKey>() as u64,
        core::mem::size_of::<AnswerValue>() as u64,
        core::mem::size_of::<FastPathConfig>() as u64,
        core::mem::size_of::<ratelimit::RateKey>() as u64,
        core::mem::size_of::<ratelimit::RateBucket>() as u64,
        core::mem::size_of::<cookie::CookieSecrets>() as u64,
        Outcome::COUNT as u64,
        MAX_RECORDS as u64,
        MAX_VIPS as u64,
    ];
    // FNV-1a over the parts' bytes.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < parts.len() {
        let bytes = parts[i].to_le_bytes();
        let mut j = 0;
        while j < 8 {
            hash = (hash ^ bytes[j] as u64).wrapping_mul(0x0100_0000_01b3);
            j += 1;
        }
        i += 1;
    }
    hash
};

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are repr(C), made of integers and integer arrays,
    // with every padding byte an explicit field: any bit pattern is valid.
    unsafe impl aya::Pod for super::AnswerKey {}
    unsafe impl aya::Pod for super::AnswerValue {}
    unsafe impl aya::Pod for super::FastPathConfig {}
    unsafe impl aya::Pod for super::ratelimit::RateKey {}
    unsafe impl aya::Pod for super::ratelimit::RateBucket {}
    unsafe impl aya::Pod for super::cookie::CookieSecrets {}
    unsafe impl aya::Pod for super::bench::GeneratorFrame {}
    unsafe impl aya::Pod for super::tap::TapRecord {}
    unsafe impl aya::Pod for super::tap::TapState {}
    unsafe impl aya::Pod for super::tap::CaptureRecord {}
}
