//! DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018),
//! computed the same way by the XDP program and the daemon: the server
//! cookie of a response is a function of the client cookie, the client's
//! address, the time and the secret, so both paths send the same bytes,
//! and nodes of one anycast service that share the secret accept each
//! other's cookies.
//!
//! A server cookie is version 1, three reserved zero bytes, a timestamp
//! (seconds of Unix time, serial arithmetic) and SipHash-2-4 over client
//! cookie | version | reserved | timestamp | client address, keyed with the
//! 16-byte secret.

use crate::siphash;

/// EDNS option code of COOKIE.
pub const OPTION_COOKIE: u16 = 10;
pub const CLIENT_COOKIE_LEN: usize = 8;
/// The server cookies this node makes (RFC 9018 version 1).
pub const SERVER_COOKIE_LEN: usize = 16;
/// A server cookie of another implementation may be 8 to 32 bytes long
/// (RFC 7873 4); the option carries the client cookie before it.
const MIN_OPTION_LEN: usize = CLIENT_COOKIE_LEN + 8;
const MAX_OPTION_LEN: usize = CLIENT_COOKIE_LEN + 32;

/// Whether a query's COOKIE option of `len` bytes is well formed: a client
/// cookie alone, or followed by a server cookie of 8 to 32 bytes (RFC 7873
/// 5.2.2 answers any other length with FORMERR).
#[inline(always)]
pub fn valid_option_len(len: usize) -> bool {
    len == CLIENT_COOKIE_LEN || (MIN_OPTION_LEN..=MAX_OPTION_LEN).contains(&len)
}
/// The COOKIE option of a response: code, length, client and server cookie.
pub const RESPONSE_OPTION_LEN: usize = 4 + CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN;
const VERSION: u8 = 1;
/// A server cookie is accepted for an hour after its timestamp, and up to
/// five minutes before it (another node's clock), as RFC 9018 4.3 says.
pub const VALID_AFTER_SECS: u32 = 3600;
pub const VALID_BEFORE_SECS: u32 = 300;
/// A valid server cookie younger than half an hour is sent back as it
/// came; an older one is renewed (RFC 9018 4.3).
pub const RENEW_AFTER_SECS: u32 = 1800;

/// The secrets both paths make and check server cookies with, in the
/// cookie map (slot chosen by the slot map, see `map_names::COOKIE_SLOT`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieSecrets {
    /// What new server cookies are made with.
    pub current: [u8; 16],
    /// The secret before the last rotation, still accepted (when
    /// `has_previous` is 1) so that clients keep their cookies across it.
    pub previous: [u8; 16],
    /// Seconds CLOCK_TAI is ahead of Unix time: both paths take the time
    /// from CLOCK_TAI (`bpf_ktime_get_tai_ns` in XDP) minus this.
    pub tai_offset: u64,
    pub has_previous: u8,
    pub _pad: [u8; 7],
}
const _: () = assert!(core::mem::size_of::<CookieSecrets>() == 48);

/// Unix seconds as RFC 9018 timestamps count them, from CLOCK_TAI.
#[inline(always)]
pub fn timestamp(tai_ns: u64, secrets: &CookieSecrets) -> u32 {
    (tai_ns / 1_000_000_000).wrapping_sub(secrets.tai_offset) as u32
}

/// The client's address as the hash takes it: four or sixteen bytes, as
/// two little-endian words (an IPv4 address in the low half of the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub words: [u64; 2],
    pub ipv6: bool,
}

impl ClientAddr {
    /// From the address bytes: an IPv4 address in the first four.
    #[inline(always)]
    pub fn new(bytes: &[u8; 16], ipv6: bool) -> ClientAddr {
        let [first, second] = siphash::le_words(bytes);
        if ipv6 {
            ClientAddr { words: [first, second], ipv6 }
        } else {
            ClientAddr { words: [first & 0xffff_ffff, 0], ipv6 }
        }
    }
}

/// A server cookie as it is on the wire, read as two little-endian words:
/// version, reserved and timestamp; then the hash. The XDP program works
/// on words: arrays would take stack it does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerCookie {
    pub head: u64,
    pub hash: u64,
}

impl ServerCookie {
    pub fn from_bytes(bytes: &[u8; SERVER_COOKIE_LEN]) -> ServerCookie {
        let [head, hash] = siphash::le_words(bytes);
        ServerCookie { head, hash }
    }

    pub fn to_bytes(self) -> [u8; SERVER_COOKIE_LEN] {
        let mut out = [0u8; SERVER_COOKIE_LEN];
        out[..8].copy_from_slice(&self.head.to_le_bytes());
        out[8..].copy_from_slice(&self.hash.to_le_bytes());
        out
    }

    /// The timestamp (big-endian on the wire, in bytes 4..8).
    #[inline(always)]
    fn timestamp(&self) -> u32 {
        ((self.head >> 32) as u32).swap_bytes()
    }
}

/// Which of the two secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    Current = 0,
    Previous = 1,
}

/// The hash of a server cookie, under one of the secrets: SipHash-2-4 of
/// client cookie | version word | address. The daemon computes it here;
/// the XDP program calls a function of its own that computes it here too,
/// one hash per call (see `anycast-ebpf`'s cookie module).
pub trait CookieHash {
    fn hash(&self, secret: Secret, client: u64, head: u64, addr: &ClientAddr) -> u64;
    /// Whether there is a previous secret to check with.
    fn has_previous(&self) -> bool;
}

impl CookieHash for CookieSecrets {
    #[inline(always)]
    fn hash(&self, secret: Secret, client: u64, head: u64, addr: &ClientAddr) -> u64 {
        let key = match secret {
            Secret::Current => &self.current,
            Secret::Previous => &self.previous,
        };
        hash(key, client, head, addr)
    }

    fn has_previous(&self) -> bool {
        self.has_previous == 1
    }
}

/// SipHash-2-4 of client cookie | version word | address under `key`.
#[inline(always)]
pub fn hash(key: &[u8; 16], client: u64, head: u64, addr: &ClientAddr) -> u64 {
    let mut v = siphash::start(key);
    siphash::word(&mut v, client);
    siphash::word(&mut v, head);
    if addr.ipv6 {
        siphash::word(&mut v, addr.words[0]);
        siphash::word(&mut v, addr.words[1]);
        siphash::finish(v, 0, 32)
    } else {
        siphash::finish(v, addr.words[0], 20)
    }
}

/// The version-1 server cookie for the client cookie `client` (a
/// little-endian word) at `now`, made with the current secret.
#[inline(always)]
pub fn make(hasher: &impl CookieHash, client: u64, addr: &ClientAddr, now: u32) -> ServerCookie {
    let head = VERSION as u64 | (now.swap_bytes() as u64) << 32;
    ServerCookie { head, hash: hasher.hash(Secret::Current, client, head, addr) }
}

/// What a query's server cookie is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Made by this service, recently, for this client: sent back as is.
    Valid,
    /// Made by this service for this client, but old or under the previous
    /// secret: valid, and answered with a new one.
    Renew,
    /// Not one of ours, expired, or for another client (or none at all):
    /// the query is answered as if it had only the client cookie, with a
    /// new server cookie.
    Invalid,
}

impl Verdict {
    /// Whether the client proved it receives at its address: the rate
    /// limiter lets it through.
    #[inline(always)]
    pub fn is_valid(self) -> bool {
        !matches!(self, Verdict::Invalid)
    }
}

/// Checks a server cookie of this node's length at `now`, against the
/// current secret and, if there is one, the previous.
#[inline(always)]
pub fn check(hasher: &impl CookieHash, server: &ServerCookie, client: u64, addr: &ClientAddr, now: u32) -> Verdict {
    if server.head as u8 != VERSION {
        return Verdict::Invalid;
    }
    let stamp = server.timestamp();
    let age = now.wrapping_sub(stamp);
    // Serial arithmetic: a cookie from slightly ahead has a huge age.
    let fresh = age < VALID_AFTER_SECS;
    if !fresh && stamp.wrapping_sub(now) > VALID_BEFORE_SECS {
        return Verdict::Invalid;
    }
    if hasher.hash(Secret::Current, client, server.head, addr) == server.hash {
        return if fresh && age >= RENEW_AFTER_SECS { Verdict::Renew } else { Verdict::Valid };
    }
    if hasher.has_previous() && hasher.hash(Secret::Previous, client, server.head, addr) == server.hash {
        return Verdict::Renew;
    }
    Verdict::Invalid
}

/// The server cookie of the response to a query with the client cookie
/// `client` and `server` (if it had one of this node's length), and
/// whether that one was valid.
#[inline(always)]
pub fn respond(
    hasher: &impl CookieHash,
    server: Option<&ServerCookie>,
    client: u64,
    addr: &ClientAddr,
    now: u32,
) -> (ServerCookie, Verdict) {
    let verdict = match server {
        Some(server) => check(hasher, server, client, addr, now),
        None => Verdict::Invalid,
    };
    match (verdict, server) {
        (Verdict::Valid, Some(server)) => (*server, verdict),
        _ => (make(hasher, client, addr, now), verdict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(current: [u8; 16]) -> CookieSecrets {
        CookieSecrets { current, previous: [0; 16], tai_offset: 0, has_previous: 0, _pad: [0; 7] }
    }

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        core::array::from_fn(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
    }

    fn v4(a: [u8; 4]) -> ClientAddr {
        let mut bytes = [0; 16];
        bytes[..4].copy_from_slice(&a);
        ClientAddr::new(&bytes, false)
    }

    fn word(client: [u8; 8]) -> u64 {
        u64::from_le_bytes(client)
    }

    /// RFC 9018 appendix A.1: a client learns a server cookie.
    #[test]
    fn rfc_9018_learning_a_new_server_cookie() {
        let secret = hex::<16>("e5e973e5a6b2a43f48e7dc849e37bfcf");
        let client = hex::<8>("2464c4abcf10c957");
        let made = make(&secrets(secret), word(client), &v4([198, 51, 100, 100]), 1_559_731_985);
        assert_eq!(made.to_bytes(), hex::<16>("010000005cf79f111f8130c3eee29480"));
    }

    /// The word-at-a-time hash is SipHash over the RFC's concatenation,
    /// for both address families.
    #[test]
    fn the_hash_covers_the_rfc_input_for_both_families() {
        let secret = [0x5a; 16];
        let client = [1, 2, 3, 4, 5, 6, 7, 8];
        let v6_bytes: [u8; 16] = core::array::from_fn(|i| 0x20 + i as u8);
        let mut v4_bytes = [0u8; 16];
        v4_bytes[..4].copy_from_slice(&[203, 0, 113, 7]);
        for (bytes, ipv6, len) in [(v4_bytes, false, 4), (v6_bytes, true, 16)] {
            let made = make(&secrets(secret), word(client), &ClientAddr::new(&bytes, ipv6), 0x6000_0001).to_bytes();
            let mut input = [0u8; 32];
            input[..8].copy_from_slice(&client);
            input[8..16].copy_from_slice(&made[..8]);
            input[16..16 + len].copy_from_slice(&bytes[..len]);
            let expected = siphash::hash(&secret, &input[..16 + len]).to_le_bytes();
            assert_eq!(made[8..], expected, "ipv6: {ipv6}");
        }
    }

    #[test]
    fn verdicts_by_age_secret_and_client() {
        let s = secrets([7; 16]);
        let client = [1, 2, 3, 4, 5, 6, 7, 8];
        let addr = v4([192, 0, 2, 1]);
        let now = 1_800_000_000;
        let at = |t: u32| make(&s, word(client), &addr, t);
        let cases: [(&str, ServerCookie, [u8; 8], ClientAddr, Verdict); 7] = [
            ("just made", at(now), client, addr, Verdict::Valid),
            ("29 minutes old", at(now - 1799), client, addr, Verdict::Valid),
            ("31 minutes old", at(now - 1860), client, addr, Verdict::Renew),
            ("over an hour old", at(now - 3601), client, addr, Verdict::Invalid),
            ("4 minutes ahead", at(now + 240), client, addr, Verdict::Valid),
            ("another client cookie", at(now), [9; 8], addr, Verdict::Invalid),
            ("another address", at(now), client, v4([192, 0, 2, 2]), Verdict::Invalid),
        ];
        for (what, server, client, addr, expected) in cases {
            assert_eq!(check(&s, &server, word(client), &addr, now), expected, "{what}");
        }
        assert_eq!(check(&s, &at(now + 600), word(client), &addr, now), Verdict::Invalid, "10 minutes ahead");
    }

    #[test]
    fn the_previous_secret_is_accepted_and_renewed() {
        let client = word([3; 8]);
        let addr = ClientAddr::new(&[0x20; 16], true);
        let old = make(&secrets([1; 16]), client, &addr, 100);
        let rotated = CookieSecrets { previous: [1; 16], has_previous: 1, ..secrets([2; 16]) };
        let renewed = respond(&rotated, Some(&old), client, &addr, 100);
        assert_eq!(renewed, (make(&secrets([2; 16]), client, &addr, 100), Verdict::Renew), "renewed, current secret");
        let forgotten = CookieSecrets { has_previous: 0, ..rotated };
        assert_eq!(check(&forgotten, &old, client, &addr, 100), Verdict::Invalid, "the previous one forgotten");
        let fresh = make(&rotated, client, &addr, 100);
        assert_eq!(respond(&rotated, Some(&fresh), client, &addr, 100), (fresh, Verdict::Valid), "sent back");
    }
}
