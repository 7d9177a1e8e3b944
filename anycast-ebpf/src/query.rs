//! The DNS query: strict header checks, the question name (bounded, hashed
//! and lower-cased into the scratch buffer as it is read), QTYPE/QCLASS and
//! an optional EDNS(0) OPT record, whose options [`edns`] reads.

use anycast_common::{
    FastPathConfig, MAX_LABEL_LEN, MAX_NAME_LEN, NAME_BUF_LEN, OPT_RECORD_LEN, Outcome, checksum,
    dns::{self, EDNS_FLAG_DO, FLAG_QR, FLAG_TC, OPCODE_MASK, RCODE_MASK, TYPE_OPT},
    hash,
};
use aya_ebpf::{helpers::generated::bpf_xdp_load_bytes, programs::XdpContext};

use anycast_ebpf::packet::{read_u8, read_u16};

use crate::{
    edns::{self, Options},
    maps::{SCRATCH, Scratch},
    net::{Datagram, UDP_HEADER_LEN},
};

/// EDNS(0) as the client sent it.
pub struct Edns {
    pub udp_size: u16,
    pub dnssec_ok: bool,
    pub options: Options,
}

pub struct Query {
    pub id: u16,
    pub flags: u16,
    /// Length of the question name, root label included.
    pub name_len: usize,
    pub name_hash: u64,
    pub qtype: u16,
    pub qclass: u16,
    /// Checksum sum of the question section as received (client's case).
    pub question_sum: u64,
    pub edns: Option<Edns>,
}

impl Query {
    /// Length of the question section.
    pub fn question_len(&self) -> usize {
        self.name_len + 4
    }
}

pub fn parse(ctx: &XdpContext, dgram: &Datagram, cfg: &FastPathConfig) -> Result<Query, Outcome> {
    let dns = dgram.udp + UDP_HEADER_LEN;
    let id = read_u16(ctx, dns).ok_or(Outcome::Malformed)?;
    let flags = read_u16(ctx, dns + 2).ok_or(Outcome::Malformed)?;
    let qdcount = read_u16(ctx, dns + 4).ok_or(Outcome::Malformed)?;
    let ancount = read_u16(ctx, dns + 6).ok_or(Outcome::Malformed)?;
    let nscount = read_u16(ctx, dns + 8).ok_or(Outcome::Malformed)?;
    let arcount = read_u16(ctx, dns + 10).ok_or(Outcome::Malformed)?;
    if flags & (FLAG_QR | OPCODE_MASK | FLAG_TC | RCODE_MASK) != 0 {
        return Err(Outcome::NotQuery);
    }
    if qdcount != 1 || ancount != 0 || nscount != 0 || arcount > 1 {
        return Err(Outcome::SectionCounts);
    }

    let question = dns + dns::HEADER_LEN;
    let msg_end = dgram.udp + dgram.udp_len;
    let (name_len, name_state, name_sum) = name(ctx, question, msg_end, &cfg.hash_key)?;
    let qtype = read_u16(ctx, question + name_len).ok_or(Outcome::Malformed)?;
    let qclass = read_u16(ctx, question + name_len + 2).ok_or(Outcome::Malformed)?;
    // The question starts at an even offset of the datagram (8 + 12), so
    // QTYPE/QCLASS sit at the parity of the name length.
    let tail = checksum::u32_words(((qtype as u32) << 16) | qclass as u32);
    let question_sum = name_sum + checksum::at_parity(checksum::fold(tail), name_len & 1 == 1);

    let mut end = question + name_len + 4;
    let mut opt_sum = 0;
    let edns = if arcount == 1 {
        let (edns, raw, rdlen) = opt(ctx, end)?;
        opt_sum = checksum::at_parity(checksum::fold(checksum::bytes(&raw)), name_len & 1 == 1);
        end += OPT_RECORD_LEN;
        let (options, options_sum) = edns::options(ctx, cfg, end, rdlen)?;
        // The options start an OPT record's length after it.
        opt_sum += checksum::at_parity(checksum::fold(options_sum), name_len & 1 == 0);
        end += rdlen;
        Some(Edns { options, ..edns })
    } else {
        None
    };
    // Bytes after the message (or a message that runs past the datagram).
    if end != msg_end {
        return Err(Outcome::BadName);
    }

    let header_sum = id as u64 + flags as u64 + qdcount as u64 + arcount as u64;
    verify_checksum(dgram, cfg, header_sum + question_sum + opt_sum)?;

    Ok(Query {
        id,
        flags,
        name_len,
        name_hash: hash::finish(name_state, name_len, &cfg.hash_key),
        qtype,
        qclass,
        question_sum,
        edns,
    })
}

/// Most labels a name can have: each but the root takes at least two bytes.
const MAX_LABELS: usize = MAX_NAME_LEN / 2 + 1;

/// Reads the question name at `at` (the message ends at `end`): labels of
/// at most 63 bytes, no compression pointer, at most 255 bytes. Leaves it
/// lower-cased in the scratch buffer, zero padded to a whole word, and
/// returns (length, hash state, checksum sum of the bytes as received).
///
/// One helper call copies up to 255 bytes into the scratch buffer; the
/// label walk and the word loop then run on map memory, with no packet
/// bound to check per byte, eight bytes per step.
#[inline(always)]
fn name(ctx: &XdpContext, at: usize, end: usize, key: &[u64; 2]) -> Result<(usize, u64, u64), Outcome> {
    let buf = SCRATCH.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
    let available = end.checked_sub(at).ok_or(Outcome::Malformed)?.min(MAX_NAME_LEN);
    if available == 0 {
        return Err(Outcome::Malformed);
    }
    // SAFETY: at most 255 bytes into the 256-byte per-CPU buffer; the
    // helper checks the frame bounds.
    if unsafe { bpf_xdp_load_bytes(ctx.ctx, at as u32, (*buf).name.as_mut_ptr() as *mut _, available as u32) } != 0 {
        return Err(Outcome::Malformed);
    }
    // SAFETY: the per-CPU buffer, written above.
    let len = widen(buf, name_len(unsafe { &(*buf).name }, available)?)?;

    let mut state = hash::start(key);
    let mut sum = 0u64;
    for word in 0..NAME_BUF_LEN / 8 {
        let at = word * 8;
        if at >= len {
            break;
        }
        // SAFETY: word < 32: eight bytes within the 256-byte buffer.
        let slot = unsafe { (*buf).name.as_mut_ptr().add(at) as *mut [u8; 8] };
        // Past the name the buffer holds bytes of the query (or of older
        // packets): zero them.
        // SAFETY: see above.
        let received = checksum::le_prefix(u64::from_le_bytes(unsafe { *slot }), len - at);
        // The question starts at an even offset of the datagram.
        sum += checksum::le_word_sum(received);
        let lowered = hash::lower_word(received);
        // SAFETY: see above.
        unsafe { *slot = lowered.to_le_bytes() };
        state = hash::step(state, lowered);
    }
    Ok((widen(buf, len)?, state, sum))
}

/// Length of the name at the start of `name`, root label included, from a
/// walk over its labels; `available` bytes of it came from the message.
#[inline(always)]
fn name_len(name: &[u8; NAME_BUF_LEN], available: usize) -> Result<usize, Outcome> {
    let mut label = 0usize;
    for _ in 0..MAX_LABELS {
        if label >= available {
            // The name runs past the message, or past 255 bytes.
            return Err(if available == MAX_NAME_LEN { Outcome::BadName } else { Outcome::Malformed });
        }
        let len = name[label & (NAME_BUF_LEN - 1)];
        if len == 0 {
            return Ok(label + 1);
        }
        // 0xC0.. is a compression pointer, 0x40.. an obsolete label type.
        if len > MAX_LABEL_LEN {
            return Err(Outcome::BadName);
        }
        label += 1 + len as usize;
    }
    Err(Outcome::BadName)
}

/// Hands the verifier a name length as the range 1..=255 rather than what
/// it knows on leaving a loop.
///
/// Because the length places packet accesses, the verifier tracks it
/// precisely: each of a loop's exits carries another range of it, and all
/// that follows would be verified once per exit, over its budget. Read back
/// from memory, the length is one range, and what follows is verified once.
/// Both loops over the name need it.
#[inline(always)]
fn widen(buf: *mut Scratch, len: usize) -> Result<usize, Outcome> {
    // SAFETY: per-CPU buffer; volatile keeps the round trip.
    let len = unsafe {
        core::ptr::write_volatile(&mut (*buf).len, len as u64);
        core::ptr::read_volatile(&(*buf).len)
    } as usize;
    if len == 0 || len > MAX_NAME_LEN { Err(Outcome::BadName) } else { Ok(len) }
}

/// An OPT record for EDNS version 0. Returns it (without its options), the
/// raw bytes of its fixed part (for the checksum) and the length of its
/// options.
#[inline(always)]
fn opt(ctx: &XdpContext, at: usize) -> Result<(Edns, [u8; OPT_RECORD_LEN], usize), Outcome> {
    let owner = read_u8(ctx, at).ok_or(Outcome::Malformed)?;
    let rtype = read_u16(ctx, at + 1).ok_or(Outcome::Malformed)?;
    let udp_size = read_u16(ctx, at + 3).ok_or(Outcome::Malformed)?;
    let ext_rcode_version = read_u16(ctx, at + 5).ok_or(Outcome::Malformed)?;
    let flags = read_u16(ctx, at + 7).ok_or(Outcome::Malformed)?;
    let rdlen = read_u16(ctx, at + 9).ok_or(Outcome::Malformed)?;
    // Root owner, type OPT, extended RCODE 0 and version 0: anything else is
    // for the daemon to answer (BADVERS, FORMERR).
    if owner != 0 || rtype != TYPE_OPT || ext_rcode_version != 0 {
        return Err(Outcome::BadEdns);
    }
    let [t0, t1] = rtype.to_be_bytes();
    let [s0, s1] = udp_size.to_be_bytes();
    let [f0, f1] = flags.to_be_bytes();
    let [r0, r1] = rdlen.to_be_bytes();
    let raw = [0, t0, t1, s0, s1, 0, 0, f0, f1, r0, r1];
    let edns = Edns { udp_size, dnssec_ok: flags & EDNS_FLAG_DO != 0, options: Options::NONE };
    Ok((edns, raw, rdlen as usize))
}

/// The query's UDP checksum over the whole datagram. A corrupted query goes
/// to the kernel, which drops it, rather than being answered.
///
/// A sender on the same host (a container behind a veth) may leave the
/// checksum to offload: the field then holds the pseudo-header's sum
/// alone, which no NIC delivers and the kernel accepts from a local
/// sender. Such a query is answered only where the operator said so: a
/// corrupted wire packet could look the same, once in 65536.
#[inline(always)]
fn verify_checksum(dgram: &Datagram, cfg: &FastPathConfig, dns_sum: u64) -> Result<(), Outcome> {
    if dgram.udp_csum == 0 {
        // No checksum is allowed over IPv4 (RFC 768), never over IPv6
        // (RFC 8200 8.1).
        return if dgram.ipv6 { Err(Outcome::BadChecksum) } else { Ok(()) };
    }
    // The length appears twice: in the pseudo-header and the UDP header.
    let len = dgram.udp_len as u64;
    let pseudo_header = dgram.addr_sum + 17 + len;
    let sum = pseudo_header + len + dgram.ports_sum + dgram.udp_csum as u64 + dns_sum;
    if checksum::fold(sum) == 0xffff {
        return Ok(());
    }
    if dgram.udp_csum == checksum::fold(pseudo_header) {
        return if cfg.accept_partial_checksums == 1 { Ok(()) } else { Err(Outcome::PartialChecksum) };
    }
    Err(Outcome::BadChecksum)
}
