//! The server cookie of a response (RFC 7873, RFC 9018), from the secrets
//! in the cookie map and CLOCK_TAI, as the daemon makes it.
//!
//! A SipHash run is over a thousand instructions. Inlined, or as a static
//! function (which the verifier checks again for every state it is called
//! in), the cookie's hashes take the program over the verifier's budget.
//! So each hash is a call of a global function, verified once on its own:
//! it takes scalars, reads the secret from the map and the client's
//! address from the scratch buffer, and needs little stack (its frame adds
//! to the caller's within the 512 bytes the two may use together).

use anycast_common::{
    Outcome,
    cookie::{self, CLIENT_COOKIE_LEN, ClientAddr, CookieHash, Secret, ServerCookie},
};
use aya_ebpf::helpers::generated::bpf_ktime_get_tai_ns;

use crate::{
    edns::{QueryCookie, le_word},
    maps::{COOKIE_SECRETS, COOKIE_SLOT, OPTIONS_MAX, SCRATCH},
    net::Datagram,
};

/// The secrets of the slot in use.
#[inline(always)]
fn secrets() -> Option<&'static anycast_common::cookie::CookieSecrets> {
    let slot = COOKIE_SLOT.get(0).copied().unwrap_or(0) & 1;
    COOKIE_SECRETS.get(slot)
}

/// The hashes, through [`anycast_cookie_hash`].
struct GlobalHash {
    has_previous: bool,
}

impl CookieHash for GlobalHash {
    #[inline(always)]
    fn hash(&self, secret: Secret, client: u64, head: u64, addr: &ClientAddr) -> u64 {
        anycast_cookie_hash(secret as u64, client, head, addr.ipv6 as u64)
    }

    fn has_previous(&self) -> bool {
        self.has_previous
    }
}

/// One hash: `secret` is a [`Secret`], the address is the scratch
/// buffer's `client`. 0 if there are no secrets (then no cookie checks).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn anycast_cookie_hash(secret: u64, client: u64, head: u64, ipv6: u64) -> u64 {
    let (Some(secrets), Some(buf)) = (secrets(), SCRATCH.get_ptr(0)) else { return 0 };
    // SAFETY: the per-CPU buffer; XDP does not preempt itself on a CPU.
    let addr = ClientAddr { words: unsafe { (*buf).client }, ipv6: ipv6 == 1 };
    let key = if secret == Secret::Previous as u64 { &secrets.previous } else { &secrets.current };
    cookie::hash(key, client, head, &addr)
}

/// Leaves the response's cookie option (client cookie, then server
/// cookie, as little-endian words) in the scratch buffer. True if the
/// query's server cookie was valid: the client receives at its address,
/// and the rate limiter lets it through.
#[inline(always)]
pub fn reply(query: QueryCookie, dgram: &Datagram) -> Result<bool, Outcome> {
    let secrets = secrets().ok_or(Outcome::NotConfigured)?;
    let buf = SCRATCH.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
    // SAFETY: the per-CPU buffer; XDP does not preempt itself on a CPU.
    let scratch = unsafe { &mut *buf };
    let addr = ClientAddr::new(&dgram.src, dgram.ipv6);
    scratch.client = addr.words;
    let at = query.at & (OPTIONS_MAX - 1);
    let client = le_word(&scratch.options, at).ok_or(Outcome::TxFailed)?;
    let server = match query.server {
        true => Some(ServerCookie {
            head: le_word(&scratch.options, at + CLIENT_COOKIE_LEN).ok_or(Outcome::TxFailed)?,
            hash: le_word(&scratch.options, at + CLIENT_COOKIE_LEN + 8).ok_or(Outcome::TxFailed)?,
        }),
        false => None,
    };
    // SAFETY: a helper without arguments.
    let now = cookie::timestamp(unsafe { bpf_ktime_get_tai_ns() }, secrets);
    let hasher = GlobalHash { has_previous: secrets.has_previous == 1 };
    let (made, verdict) = cookie::respond(&hasher, server.as_ref(), client, &addr, now);
    scratch.reply_cookie = [client, made.head, made.hash];
    Ok(verdict.is_valid())
}
