//! DNS wire constants the fast path and the map writer agree on.

/// The fixed header before the question (RFC 1035 4.1.1).
pub const HEADER_LEN: usize = 12;

/// Header flag bits (RFC 1035 4.1.1, RFC 4035 3.2).
pub const FLAG_QR: u16 = 0x8000;
pub const OPCODE_MASK: u16 = 0x7800;
pub const FLAG_TC: u16 = 0x0200;
pub const FLAG_RD: u16 = 0x0100;
pub const FLAG_RA: u16 = 0x0080;
pub const FLAG_AD: u16 = 0x0020;
pub const FLAG_CD: u16 = 0x0010;
pub const RCODE_MASK: u16 = 0x000f;

pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_NXDOMAIN: u8 = 3;

pub const TYPE_OPT: u16 = 41;
/// EDNS DO bit in the OPT record's TTL field (RFC 3225).
pub const EDNS_FLAG_DO: u16 = 0x8000;

/// Header flags of every answer the node gives from its cache: a response,
/// recursion available, RD and CD echoed from the query, AA clear, AD
/// clear (see [`authentic_data`]). Userspace answers the same way, so a
/// fast-path answer and a daemon answer for the same question are the
/// same bytes.
#[inline(always)]
pub const fn response_flags(query_flags: u16, rcode: u8) -> u16 {
    FLAG_QR | FLAG_RA | (query_flags & (FLAG_RD | FLAG_CD)) | (rcode as u16 & RCODE_MASK)
}

/// The AD bit of an answer: set for validated (secure) data when the
/// query asked for DNSSEC with DO or for the bit itself with AD (RFC 6840
/// 5.8), whatever its CD bit.
#[inline(always)]
pub const fn authentic_data(query_flags: u16, dnssec_ok: bool, secure: bool) -> u16 {
    if secure && (dnssec_ok || query_flags & FLAG_AD != 0) { FLAG_AD } else { 0 }
}

/// The OPT record the node appends to an answer for a query that had one.
#[inline(always)]
pub const fn opt_record(udp_size: u16, dnssec_ok: bool) -> [u8; crate::OPT_RECORD_LEN] {
    let size = udp_size.to_be_bytes();
    let flags = if dnssec_ok { EDNS_FLAG_DO } else { 0 }.to_be_bytes();
    // root name, TYPE, CLASS = UDP size, ext-RCODE 0, version 0, flags, RDLEN 0
    [0, 0, 41, size[0], size[1], 0, 0, flags[0], flags[1], 0, 0]
}

/// RCODE 16, BADVERS (RFC 6891 9).
pub const RCODE_BADVERS: u16 = 16;
/// RCODE 23, BADCOOKIE (RFC 7873 8).
pub const RCODE_BADCOOKIE: u16 = 23;

/// A 12-bit RCODE as the wire carries it (RFC 6891 6.1.3): the low four
/// bits in the header, the upper eight in the OPT record's extended RCODE.
#[inline(always)]
pub const fn split_rcode(rcode: u16) -> (u8, u8) {
    ((rcode & RCODE_MASK) as u8, (rcode >> 4) as u8)
}

/// EDNS option codes the node looks at.
pub const OPTION_NSID: u16 = 3;
pub const OPTION_CLIENT_SUBNET: u16 = 8;

/// Longest NSID the node gives (RFC 5001 sets no limit; a node name fits).
pub const MAX_NSID_LEN: usize = 64;

/// What both paths do with an EDNS option of a query. Responses carry
/// their options in the order of their codes: NSID, COOKIE, then (from the
/// daemon only) an Extended DNS Error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionUse {
    /// COOKIE (RFC 7873): checked, and answered with a server cookie.
    Cookie,
    /// NSID (RFC 5001): answered with the node's identifier.
    Nsid,
    /// An option the answer could be tailored by (client subnet): the
    /// fast path leaves the query to the daemon.
    Tailoring,
    /// Anything else (padding, keepalive over UDP, unknown codes): no
    /// effect on the answer (RFC 6891 6.1.2).
    Ignored,
}

#[inline(always)]
pub const fn option_use(code: u16) -> OptionUse {
    match code {
        crate::cookie::OPTION_COOKIE => OptionUse::Cookie,
        OPTION_NSID => OptionUse::Nsid,
        OPTION_CLIENT_SUBNET => OptionUse::Tailoring,
        _ => OptionUse::Ignored,
    }
}
