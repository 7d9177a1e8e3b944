//! Turns a query that hits a fresh entry into the response, in place: the
//! client's question stays as it is (0x20 case echoed), the entry's records
//! follow it with TTLs rewritten to their remaining lifetime, an OPT record
//! closes it when the query had one, and every header is turned around with
//! correct lengths and checksums.
//!
//! Nothing is written before every check has passed: a packet that is
//! passed up the stack is always the packet that arrived.

use anycast_common::{
    AnswerKey, AnswerValue, CLASSIC_UDP_LEN, FastPathConfig, MAX_DATA_LEN, MAX_RECORDS, NAME_BUF_LEN, Outcome,
    checksum, dns, ratelimit::Verdict,
};
use aya_ebpf::{
    helpers::generated::{
        bpf_ktime_get_boot_ns, bpf_xdp_adjust_head, bpf_xdp_adjust_tail, bpf_xdp_load_bytes, bpf_xdp_store_bytes,
    },
    programs::XdpContext,
};

use anycast_ebpf::packet::{holds, ptr_at, swap};

use crate::{
    cookie,
    edns::{Assembled, Opt},
    maps::{ANSWERS, CONFIG, FRAME_HEAD, FRAME_HEAD_MAX, REPLY_OPT_LEN, SCRATCH},
    net::{self, Datagram, IPV4_HEADER_LEN, IPV6_HEADER_LEN, UDP_HEADER_LEN},
    query::{self, Query},
    ratelimit, turn,
};

/// Hop limit / TTL of the responses.
const RESPONSE_HOP_LIMIT: u8 = 64;
const NS_PER_SEC: u64 = 1_000_000_000;
/// Frames longer than this are never queries the fast path answers.
const MAX_FRAME_LEN: usize = 4096;

/// Answers the packet in place (Ok with the outcome it was sent with), or
/// says why not (Err); a packet not answered is as it arrived.
pub fn handle(ctx: &XdpContext) -> Result<Outcome, Outcome> {
    let cfg = CONFIG.get(0).ok_or(Outcome::NotConfigured)?;
    if cfg.udp_port == 0 {
        return Err(Outcome::NotConfigured);
    }
    if cfg.pass_only != 0 {
        return Err(Outcome::PassOnly);
    }
    let dgram = net::parse(ctx, cfg)?;
    let query = query::parse(ctx, &dgram, cfg)?;
    let query_cookie = query.edns.as_ref().and_then(|e| e.options.cookie);
    // Every query is charged, hit or miss (a miss costs the node more),
    // but for those of clients that proved their address with a server
    // cookie: spoofed floods cannot have one. Without a limit the cookie
    // and the clock wait for a hit: a miss costs no hash and no clock read.
    let limited = cfg.rate_limit.is_on();
    // SAFETY: a helper without arguments.
    let mut now = if limited { unsafe { bpf_ktime_get_boot_ns() } } else { 0 };
    let mut proven = None;
    if limited {
        if let Some(c) = query_cookie {
            proven = Some(cookie::reply(c, &dgram)?);
        }
        if proven != Some(true) {
            match ratelimit::check(&cfg.rate_limit, &dgram, now) {
                Verdict::Answer => {}
                Verdict::Slip => {
                    Reply::slip(cfg, &query, proven.is_some())?.write(ctx, &dgram, &query, None)?;
                    return Ok(Outcome::Slipped);
                }
                Verdict::Drop => return Err(Outcome::RateLimited),
            }
        }
    }
    let dnssec_ok = query.edns.as_ref().is_some_and(|e| e.dnssec_ok);
    let key = AnswerKey::new(query.name_hash, query.qtype, query.qclass, dnssec_ok);
    // SAFETY: the value is only read, and LRU entries are not freed while an
    // RCU read section (the XDP run) holds them.
    let slot = ANSWERS.get_ptr_mut(key).ok_or(Outcome::Miss)?;
    // SAFETY: see above; only `last_hit_ns` and `served` are written,
    // through `slot`.
    let entry = unsafe { &*slot };
    same_name(entry, query.name_len)?;
    if !limited {
        // SAFETY: a helper without arguments.
        now = unsafe { bpf_ktime_get_boot_ns() };
    }
    if now >= entry.expires_ns {
        return Err(Outcome::Expired);
    }
    if let (Some(c), None) = (query_cookie, proven) {
        cookie::reply(c, &dgram)?;
    }
    let opt = reply_opt(cfg, &query, query_cookie.is_some(), 0)?;
    let mut reply = Reply::plan(cfg, &query, opt, entry, now)?;
    reply.first = turn::first(cfg, entry);
    reply.write(ctx, &dgram, &query, Some(entry))?;
    // Marks the entry as in use, for the daemon's refresher, and counts
    // the answer. Concurrent hits on other CPUs write nearly the same time
    // and may count one: either will do (the line is written anyway).
    // SAFETY: aligned 8- and 4-byte fields of a live map value.
    unsafe {
        core::ptr::write_volatile(core::ptr::addr_of_mut!((*slot).last_hit_ns), now);
        let served = core::ptr::addr_of_mut!((*slot).served);
        core::ptr::write_volatile(served, core::ptr::read_volatile(served).wrapping_add(1));
    }
    Ok(Outcome::Answered)
}

/// Compares the lower-cased name in the scratch buffer with the entry's, a
/// word at a time: both are zero padded to a whole word.
#[inline(always)]
fn same_name(entry: &AnswerValue, name_len: usize) -> Result<(), Outcome> {
    if entry.name_len as usize != name_len {
        return Err(Outcome::HashCollision);
    }
    let scratch = SCRATCH.get_ptr(0).ok_or(Outcome::TxFailed)?;
    for word in 0..NAME_BUF_LEN / 8 {
        let at = word * 8;
        if at >= name_len {
            break;
        }
        // SAFETY: word < 32, so at + 8 <= NAME_BUF_LEN for both buffers.
        let (a, b) = unsafe {
            (*((*scratch).name.as_ptr().add(at) as *const u64), *(entry.name.as_ptr().add(at) as *const u64))
        };
        if a != b {
            return Err(Outcome::HashCollision);
        }
    }
    Ok(())
}

/// What the response will be, decided before anything is written.
struct Reply {
    /// Whole seconds the entry's TTLs have aged.
    elapsed: u32,
    /// Bytes of the entry's data it carries (0 for an empty response).
    data_len: usize,
    /// Length of the DNS message.
    dns_len: usize,
    opt: Option<Assembled>,
    /// Checksum sum of the data with its rewritten TTLs, placed after the
    /// question.
    data_sum: u64,
    flags: u16,
    ancount: u16,
    nscount: u16,
    /// OPT included.
    arcount: u16,
    /// The record of the turned RRset the answer starts at (see `turn`).
    first: u32,
}

impl Reply {
    #[inline(always)]
    fn plan(
        cfg: &FastPathConfig,
        query: &Query,
        opt: Option<Assembled>,
        entry: &AnswerValue,
        now: u64,
    ) -> Result<Reply, Outcome> {
        let data_len = entry.data_len as usize;
        if data_len == 0 || data_len > MAX_DATA_LEN {
            return Err(Outcome::TxFailed);
        }
        let dns_len = dns::HEADER_LEN + query.question_len() + data_len + opt.map_or(0, |o| o.len);
        let limit = match &query.edns {
            // RFC 6891 6.2.5: values below 512 are treated as 512.
            Some(edns) => edns.udp_size.max(CLASSIC_UDP_LEN).min(cfg.edns_udp_size),
            None => CLASSIC_UDP_LEN,
        };
        if dns_len > limit as usize {
            return Err(Outcome::TooBig);
        }
        // Every TTL field must be inside the data before anything is
        // written (the map writer's entries always are).
        for i in 0..MAX_RECORDS {
            if i >= entry.ttl_count as usize {
                break;
            }
            if entry.ttl_offsets[i] as usize + 4 > data_len {
                return Err(Outcome::TxFailed);
            }
        }
        // No TTL reaches zero before the entry expires (it lives as long as
        // its shortest TTL): each has aged by `elapsed`, which the stored
        // sum is corrected by at once.
        let elapsed = ((now.saturating_sub(entry.inserted_ns)) / NS_PER_SEC) as u32;
        let odd = entry.ttl_odd_count.min(entry.ttl_count) as u64;
        let even = entry.ttl_count as u64 - odd;
        let aged = checksum::aged_sum(entry.data_csum, even, odd, elapsed);
        let question_odd = query.question_len() & 1 == 1;
        Ok(Reply {
            elapsed,
            data_len,
            dns_len,
            opt,
            data_sum: checksum::at_parity(checksum::fold(aged), question_odd),
            flags: dns::response_flags(query.flags, entry.rcode)
                | dns::authentic_data(query.flags, query.edns.as_ref().is_some_and(|e| e.dnssec_ok), entry.secure != 0),
            ancount: entry.ancount,
            nscount: entry.nscount,
            arcount: entry.arcount + opt.is_some() as u16,
            first: 0,
        })
    }

    /// The rate limiter's slip: no records, the question and OPT as for an
    /// answer. TC set (the client retries over TCP), or BADCOOKIE with a
    /// new server cookie for a query with a client cookie: the client
    /// retries over UDP with it and is let through (RFC 7873 5.2.3).
    #[inline(always)]
    fn slip(cfg: &FastPathConfig, query: &Query, cookie: bool) -> Result<Reply, Outcome> {
        let (flags, extended_rcode) = if cookie {
            let (rcode, extended_rcode) = dns::split_rcode(dns::RCODE_BADCOOKIE);
            (dns::response_flags(query.flags, rcode), extended_rcode)
        } else {
            (dns::response_flags(query.flags, dns::RCODE_NOERROR) | dns::FLAG_TC, 0)
        };
        let opt = reply_opt(cfg, query, cookie, extended_rcode)?;
        Ok(Reply {
            elapsed: 0,
            data_len: 0,
            dns_len: dns::HEADER_LEN + query.question_len() + opt.map_or(0, |o| o.len),
            opt,
            data_sum: 0,
            flags,
            ancount: 0,
            nscount: 0,
            arcount: opt.is_some() as u16,
            first: 0,
        })
    }

    /// Writes the response over the query: `entry` is where the records
    /// come from (None for an empty response).
    #[inline(always)]
    fn write(
        &self,
        ctx: &XdpContext,
        dgram: &Datagram,
        query: &Query,
        entry: Option<&AnswerValue>,
    ) -> Result<(), Outcome> {
        let dns = dgram.udp + UDP_HEADER_LEN;
        let data_at = dns + dns::HEADER_LEN + query.question_len();
        // The program is not frags-aware (no xdp.frags): the kernel gives
        // it linear frames only, whose length is the data's.
        let frame_len = ctx.data_end() - ctx.data();
        if frame_len > MAX_FRAME_LEN || !holds(ctx, frame_len) {
            return Err(Outcome::TxFailed);
        }
        let delta = (dgram.udp + UDP_HEADER_LEN + self.dns_len) as i32 - frame_len as i32;
        // SAFETY: helper call on our own context; on failure the frame is
        // unchanged.
        if unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
            grow_at_head(ctx, delta, data_at)?;
        }
        // From here the headers are still the query's until the end, so any
        // failure leaves a packet whose IP length still ends at the query.
        if let Some(entry) = entry {
            self.write_records(ctx, data_at, entry)?;
        }
        let opt_sum = match &self.opt {
            Some(opt) => {
                write_opt(ctx, opt, data_at + self.data_len)?;
                checksum::at_parity(checksum::fold(opt.sum), (query.question_len() + self.data_len) & 1 == 1)
            }
            None => 0,
        };
        self.turn_headers(ctx, dgram, query, opt_sum).ok_or(Outcome::TxFailed)
    }

    /// Copies the entry's records behind the question, with their TTLs aged.
    #[inline(always)]
    fn write_records(&self, ctx: &XdpContext, data_at: usize, entry: &AnswerValue) -> Result<(), Outcome> {
        // The verifier wants the bound of the helper's length right here.
        let data_len = self.data_len as u32;
        if data_len == 0 || data_len > MAX_DATA_LEN as u32 {
            return Err(Outcome::TxFailed);
        }
        // SAFETY: data_len is within the entry's data array; the helper
        // checks the frame bounds.
        let stored = unsafe { bpf_xdp_store_bytes(ctx.ctx, data_at as u32, entry.data.as_ptr() as *mut _, data_len) };
        if stored != 0 {
            return Err(Outcome::TxFailed);
        }
        if self.first != 0 {
            turn::write(ctx, data_at, entry, self.data_len, self.first)?;
        }
        for i in 0..MAX_RECORDS {
            if i >= entry.ttl_count as usize {
                break;
            }
            let at = entry.ttl_offsets[i] as usize;
            let mut ttl = stored_ttl(entry, at, self.data_len)?.saturating_sub(self.elapsed).to_be_bytes();
            // Through the helper rather than a packet pointer: variable-offset
            // packet pointers in a loop multiply the verifier's states.
            // SAFETY: a 4-byte stack buffer; the helper checks the frame.
            let stored = unsafe { bpf_xdp_store_bytes(ctx.ctx, (data_at + at) as u32, ttl.as_mut_ptr() as *mut _, 4) };
            if stored != 0 {
                return Err(Outcome::TxFailed);
            }
        }
        Ok(())
    }

    /// Rewrites Ethernet, IP, UDP and DNS headers into the response's;
    /// `opt_sum` is the OPT record's checksum sum at its place.
    #[inline(always)]
    fn turn_headers(&self, ctx: &XdpContext, dgram: &Datagram, query: &Query, opt_sum: u64) -> Option<()> {
        let udp_len = UDP_HEADER_LEN + self.dns_len;

        // The checksum from parts: the pseudo-header (addresses sum the
        // same swapped), the UDP header, the DNS header, the client's
        // question, the entry's data and the OPT record, each at its parity.
        let header_sum =
            query.id as u64 + self.flags as u64 + 1 + self.ancount as u64 + self.nscount as u64 + self.arcount as u64;
        let sum = dgram.addr_sum
            + 17
            + 2 * udp_len as u64
            + dgram.ports_sum
            + header_sum
            + query.question_sum
            + self.data_sum
            + opt_sum;

        swap::<6>(ctx, 0, 6)?;
        // Each header through one checked pointer: its offset is not a
        // constant (VLAN tags), and fields at constant offsets from one
        // checked pointer are what the verifier follows best.
        if dgram.ipv6 {
            // SAFETY: ptr_at checked the bounds.
            let ip = unsafe { &mut *ptr_at::<[u8; IPV6_HEADER_LEN]>(ctx, dgram.l3)? };
            ip[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
            ip[7] = RESPONSE_HOP_LIMIT;
            let (src, dst) = ip[8..40].split_at_mut(16);
            src.swap_with_slice(dst);
        } else {
            // SAFETY: ptr_at checked the bounds.
            let ip = unsafe { &mut *ptr_at::<[u8; IPV4_HEADER_LEN]>(ctx, dgram.l3)? };
            ip[2..4].copy_from_slice(&((IPV4_HEADER_LEN + udp_len) as u16).to_be_bytes());
            ip[8] = RESPONSE_HOP_LIMIT;
            let (src, dst) = ip[12..20].split_at_mut(4);
            src.swap_with_slice(dst);
            ip[10..12].copy_from_slice(&[0, 0]);
            let header_sum = checksum::bytes(ip);
            ip[10..12].copy_from_slice(&(!checksum::fold(header_sum)).to_be_bytes());
        }
        // SAFETY: ptr_at checked the bounds.
        let udp = unsafe { &mut *ptr_at::<[u8; UDP_HEADER_LEN + dns::HEADER_LEN]>(ctx, dgram.udp)? };
        let (sport, dport) = udp[..4].split_at_mut(2);
        sport.swap_with_slice(dport);
        udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
        udp[6..8].copy_from_slice(&checksum::finish_udp(sum).to_be_bytes());
        let dns = &mut udp[UDP_HEADER_LEN..];
        dns[2..4].copy_from_slice(&self.flags.to_be_bytes());
        dns[6..8].copy_from_slice(&self.ancount.to_be_bytes());
        dns[8..10].copy_from_slice(&self.nscount.to_be_bytes());
        dns[10..12].copy_from_slice(&self.arcount.to_be_bytes());
        Some(())
    }
}

/// The response's OPT record for `query` (None if it had none), assembled
/// in the scratch buffer: what is left of the options after is its length
/// and sum. `cookie`: with the cookie `cookie::reply` left there.
#[inline(always)]
fn reply_opt(
    cfg: &FastPathConfig,
    query: &Query,
    cookie: bool,
    extended_rcode: u8,
) -> Result<Option<Assembled>, Outcome> {
    let Some(edns) = &query.edns else { return Ok(None) };
    let opt = Opt { dnssec_ok: edns.dnssec_ok, extended_rcode, nsid: edns.options.nsid, cookie };
    Ok(Some(opt.assemble(cfg)?))
}

/// Writes the OPT record assembled in the scratch buffer at `at`.
#[inline(always)]
fn write_opt(ctx: &XdpContext, opt: &Assembled, at: usize) -> Result<(), Outcome> {
    let len = opt.len;
    if len == 0 || len > REPLY_OPT_LEN {
        return Err(Outcome::TxFailed);
    }
    let buf = SCRATCH.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
    // SAFETY: `len` bytes of the per-CPU buffer; the helper checks the
    // frame bounds.
    let stored =
        unsafe { bpf_xdp_store_bytes(ctx.ctx, at as u32, (*buf).reply_opt.as_mut_ptr() as *mut _, len as u32) };
    if stored != 0 {
        return Err(Outcome::TxFailed);
    }
    Ok(())
}

/// Grows the frame by `delta` bytes at its head and moves its first `keep`
/// bytes (headers and question) to the new start, for frames without the
/// tailroom to grow at the end: a veth hands XDP the buffer of the
/// sender's skb, which may end soon after the packet. XDP guarantees 256
/// bytes of headroom. On failure the frame is as it was.
#[inline(always)]
fn grow_at_head(ctx: &XdpContext, delta: i32, keep: usize) -> Result<(), Outcome> {
    let head = FRAME_HEAD.get_ptr_mut(0).ok_or(Outcome::TxFailed)?;
    // As a helper's size, `keep` would be tracked precisely back to the
    // name length it comes from, and what follows verified once per value:
    // read back from memory, it is a range (see `query::widen`).
    // SAFETY: per-CPU buffer; volatile keeps the round trip.
    let keep = unsafe {
        core::ptr::write_volatile(&mut (*head).len, keep as u64);
        core::ptr::read_volatile(&(*head).len)
    } as usize;
    if delta <= 0 || keep == 0 || keep > FRAME_HEAD_MAX {
        return Err(Outcome::TxFailed);
    }
    // SAFETY: `keep` bytes of the per-CPU buffer of FRAME_HEAD_MAX; the
    // helpers check the frame's bounds.
    let buf = unsafe { (*head).bytes.as_mut_ptr() };
    unsafe {
        if bpf_xdp_load_bytes(ctx.ctx, 0, buf as *mut _, keep as u32) != 0 {
            return Err(Outcome::TxFailed);
        }
        if bpf_xdp_adjust_head(ctx.ctx, -delta) != 0 {
            return Err(Outcome::TxFailed);
        }
        if bpf_xdp_store_bytes(ctx.ctx, 0, buf as *mut _, keep as u32) != 0 {
            bpf_xdp_adjust_head(ctx.ctx, delta);
            return Err(Outcome::TxFailed);
        }
    }
    Ok(())
}

/// The TTL the entry stores for the record whose TTL field is at `at`.
#[inline(always)]
fn stored_ttl(entry: &AnswerValue, at: usize, data_len: usize) -> Result<u32, Outcome> {
    if at + 4 > data_len || at + 4 > MAX_DATA_LEN {
        return Err(Outcome::TxFailed);
    }
    let field = entry.data.get(at..at + 4).ok_or(Outcome::TxFailed)?;
    Ok(u32::from_be_bytes([field[0], field[1], field[2], field[3]]))
}
