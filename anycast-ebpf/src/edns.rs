//! EDNS options: what a query's options ask for (NSID, a COOKIE), read
//! from a copy of them in the scratch buffer, and the response's OPT
//! record with the node's UDP size, DO echoed, its NSID and server cookie,
//! assembled there. The daemon reads and writes them the same way (see
//! `anycast_common::dns::option_use`).

use anycast_common::{
    FastPathConfig, OPT_RECORD_LEN, Outcome, checksum,
    cookie::{self, CLIENT_COOKIE_LEN, SERVER_COOKIE_LEN},
    dns::{self, MAX_NSID_LEN, OptionUse},
};
use aya_ebpf::{helpers::generated::bpf_xdp_load_bytes, programs::XdpContext};

use crate::maps::{
    FORGET_AT, FORGET_FOUND, FORGET_LEN, FORGET_SUM, OPTIONS_BUF_LEN, OPTIONS_MAX, REPLY_OPT_LEN, SCRATCH, forget,
};

/// Options one query may carry for the fast path: the loop's bound.
const MAX_OPTIONS: usize = 8;
/// An option's code and length.
const OPTION_HEADER_LEN: usize = 4;

/// A query's COOKIE option (RFC 7873 4), left in the scratch buffer's
/// copy of the options: the stack has no room for cookies.
#[derive(Clone, Copy)]
pub struct QueryCookie {
    /// Where the client cookie starts in the copy.
    pub at: usize,
    /// Whether a server cookie of the length this node makes follows it;
    /// one of another length (another implementation's) is invalid here.
    pub server: bool,
}

/// What a query's options ask for.
pub struct Options {
    pub nsid: bool,
    pub cookie: Option<QueryCookie>,
}

impl Options {
    pub const NONE: Options = Options { nsid: false, cookie: None };
}

/// Reads the `len` bytes of options at `at`: what they ask for, and the
/// checksum sum of their bytes as if they started at an even offset.
/// Options the answer could depend on, and more or longer options than
/// the fast path reads, are the daemon's; so are malformed ones, which it
/// answers with FORMERR.
#[inline(always)]
pub fn options(ctx: &XdpContext, cfg: &FastPathConfig, at: usize, len: usize) -> Result<(Options, u64), Outcome> {
    if len == 0 {
        return Ok((Options::NONE, 0));
    }
    if len > OPTIONS_MAX {
        return Err(Outcome::EdnsOption);
    }
    let buf = SCRATCH.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
    // 1..=OPTIONS_MAX by construction (len is already in it): the verifier
    // does not see the checks above on the copy LLVM passes, and without
    // the black box LLVM folds this back into that copy.
    let size = (((core::hint::black_box(len).wrapping_sub(1)) & (OPTIONS_MAX - 1)) + 1) as u32;
    // SAFETY: at most OPTIONS_MAX bytes into the per-CPU buffer; the
    // helper checks the frame bounds.
    if unsafe { bpf_xdp_load_bytes(ctx.ctx, at as u32, (*buf).options.as_mut_ptr() as *mut _, size) } != 0 {
        return Err(Outcome::Malformed);
    }
    // SAFETY: the per-CPU buffer, written above.
    let bytes = unsafe { &(*buf).options };
    let found = walk(bytes, len, cfg.cookies == 1)?;
    let cookie = (found & FOUND_COOKIE != 0)
        .then_some(QueryCookie { at: (found >> 8 & 0xff) as usize, server: found & FOUND_SERVER != 0 });
    Ok((Options { nsid: found & FOUND_NSID != 0, cookie }, sum(bytes, len, OPTIONS_MAX)))
}

/// The checksum sum of the first `len` bytes of `bytes` (at most `max`),
/// a word at a time.
#[inline(always)]
fn sum<const N: usize>(bytes: &[u8; N], len: usize, max: usize) -> u64 {
    let mut sum = 0;
    for word in 0..N / 8 {
        let at = word * 8;
        if at >= len || at >= max {
            break;
        }
        let Some(word) = le_word(bytes, at) else { break };
        // Forgotten each word, so that every word and every exit of the
        // loop is one state (see `forget`).
        sum = forget(FORGET_SUM, sum + checksum::le_word_sum(checksum::le_prefix(word, len - at)));
    }
    sum
}

/// The little-endian word at `at` of `bytes`, if they hold all of it.
#[inline(always)]
pub fn le_word(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// Bits of what [`walk`] found: NSID asked, a COOKIE (its offset in bits
/// 8..16), with a server cookie of this node's length.
const FOUND_NSID: u64 = 1;
const FOUND_COOKIE: u64 = 2;
const FOUND_SERVER: u64 = 4;

/// Walks the options. What it found and where it is are kept in memory
/// (see `forget`): options in any order are then one state per step.
#[inline(always)]
fn walk(bytes: &[u8; OPTIONS_BUF_LEN], len: usize, cookies: bool) -> Result<u64, Outcome> {
    let mut found = 0u64;
    let mut at = 0usize;
    for _ in 0..MAX_OPTIONS {
        found = forget(FORGET_FOUND, found);
        at = forget(FORGET_AT, at as u64) as usize;
        if at >= len {
            return Ok(found);
        }
        let data = at + OPTION_HEADER_LEN;
        // `at` < len <= OPTIONS_MAX: the mask only tells the verifier.
        let header = bytes.get((at & (OPTIONS_MAX - 1))..).and_then(|b| b.get(..OPTION_HEADER_LEN));
        let (Some(header), true) = (header, data <= len) else { return Err(Outcome::BadEdns) };
        let code = u16::from_be_bytes([header[0], header[1]]);
        let option_len = u16::from_be_bytes([header[2], header[3]]) as usize;
        if data + option_len > len {
            return Err(Outcome::BadEdns);
        }
        match dns::option_use(code) {
            OptionUse::Cookie if cookies => {
                if found & FOUND_COOKIE != 0 {
                    return Err(Outcome::BadCookie);
                }
                let cookie = query_cookie(data, option_len)?;
                found |= FOUND_COOKIE | if cookie.server { FOUND_SERVER } else { 0 } | (cookie.at as u64 & 0xff) << 8;
            }
            OptionUse::Nsid => found |= FOUND_NSID,
            OptionUse::Tailoring => return Err(Outcome::EdnsOption),
            OptionUse::Cookie | OptionUse::Ignored => {}
        }
        at = data + option_len;
    }
    if at >= len { Ok(found) } else { Err(Outcome::EdnsOption) }
}

/// The COOKIE option whose `len` bytes are at `at`: a client cookie alone
/// or followed by a server cookie of 8 to 32 bytes (RFC 7873 5.2.2; the
/// daemon answers any other length with FORMERR).
#[inline(always)]
fn query_cookie(at: usize, len: usize) -> Result<QueryCookie, Outcome> {
    if !cookie::valid_option_len(len) {
        return Err(Outcome::BadCookie);
    }
    Ok(QueryCookie { at, server: len == CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN })
}

/// The OPT record of a response.
#[derive(Clone, Copy)]
pub struct Opt {
    pub dnssec_ok: bool,
    /// The upper bits of a 12-bit RCODE: 1 for BADCOOKIE.
    pub extended_rcode: u8,
    pub nsid: bool,
    /// Whether it carries the cookie `cookie::reply` left in the scratch
    /// buffer.
    pub cookie: bool,
}

/// An OPT record assembled in the scratch buffer: its length and its
/// checksum sum as if it started at an even offset. Both are forgotten
/// (see `forget`): the options it was made from are one state after it.
#[derive(Clone, Copy)]
pub struct Assembled {
    pub len: usize,
    pub sum: u64,
}

impl Opt {
    /// Bytes of the NSID option, if it is sent.
    #[inline(always)]
    fn nsid_len(&self, cfg: &FastPathConfig) -> usize {
        let len = (cfg.nsid_len as usize).min(MAX_NSID_LEN);
        if self.nsid && len > 0 { OPTION_HEADER_LEN + len } else { 0 }
    }

    /// Assembles it in the scratch buffer.
    #[inline(always)]
    pub fn assemble(&self, cfg: &FastPathConfig) -> Result<Assembled, Outcome> {
        let buf = SCRATCH.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
        // SAFETY: the per-CPU buffer; XDP does not preempt itself on a CPU.
        let (out, reply_cookie) = unsafe { (&mut (*buf).reply_opt, &(*buf).reply_cookie) };
        let nsid_len = self.nsid_len(cfg);
        let len = OPT_RECORD_LEN + nsid_len + if self.cookie { cookie::RESPONSE_OPTION_LEN } else { 0 };
        let mut fixed = dns::opt_record(cfg.edns_udp_size, self.dnssec_ok);
        fixed[5] = self.extended_rcode;
        fixed[9..11].copy_from_slice(&((len - OPT_RECORD_LEN) as u16).to_be_bytes());
        out.get_mut(..OPT_RECORD_LEN).ok_or(Outcome::TxFailed)?.copy_from_slice(&fixed);
        let mut at = OPT_RECORD_LEN;
        if nsid_len > 0 {
            let header = [0, dns::OPTION_NSID as u8, 0, (nsid_len - OPTION_HEADER_LEN) as u8];
            out.get_mut(at..at + OPTION_HEADER_LEN).ok_or(Outcome::TxFailed)?.copy_from_slice(&header);
            // The whole field: bytes past the NSID are overwritten or left
            // past the record's end.
            let field = at + OPTION_HEADER_LEN;
            out.get_mut(field..field + MAX_NSID_LEN).ok_or(Outcome::TxFailed)?.copy_from_slice(&cfg.nsid);
            at += nsid_len;
        }
        if self.cookie {
            let header = [0, cookie::OPTION_COOKIE as u8, 0, (cookie::RESPONSE_OPTION_LEN - OPTION_HEADER_LEN) as u8];
            // At most 79: the mask only tells the verifier.
            let at = at & 127;
            let option = out.get_mut(at..at + cookie::RESPONSE_OPTION_LEN).ok_or(Outcome::TxFailed)?;
            option[..OPTION_HEADER_LEN].copy_from_slice(&header);
            for (i, word) in reply_cookie.iter().enumerate() {
                let at = OPTION_HEADER_LEN + 8 * i;
                option[at..at + 8].copy_from_slice(&word.to_le_bytes());
            }
        }
        let sum = sum(out, len, REPLY_OPT_LEN);
        Ok(Assembled { len: forget(FORGET_LEN, len as u64) as usize, sum })
    }
}
