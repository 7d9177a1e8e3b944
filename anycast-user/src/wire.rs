//! Responses in wire form, the same bytes on both paths: the client's own
//! question, then the sections encoded against the lower-cased question at
//! offset 12 (so that compression pointers hold behind any 0x20 casing of
//! it), then the node's OPT record when the query had one. The map writer
//! stores the sections for the XDP program, which assembles exactly this;
//! the daemon assembles it with [`assemble`].

use anycast_common::{
    OPT_RECORD_LEN,
    cookie::{CLIENT_COOKIE_LEN, OPTION_COOKIE, SERVER_COOKIE_LEN},
    dns::{self, HEADER_LEN, MAX_NSID_LEN},
};
use hickory_proto::{
    ProtoError,
    op::{Message, OpCode, Query},
    rr::Record,
};

/// Why records could not be put into a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// hickory's reason (its error is not `Clone`, the map writer's
    /// refusals are).
    #[error("{0}")]
    Message(String),
    #[error("the question name does not encode")]
    Name,
    #[error("{0} records in a section")]
    TooManyRecords(usize),
}

/// A response's sections after the question, encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sections {
    /// The lower-cased question name in wire form.
    pub name: Vec<u8>,
    /// Answer, authority and additional records, compressed against the
    /// question at offset 12.
    pub data: Vec<u8>,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Sections {
    /// Encodes the records of a response to `question`.
    pub fn encode(
        question: &Query,
        answers: &[Record],
        authorities: &[Record],
        additionals: &[Record],
    ) -> Result<Sections, EncodeError> {
        let mut lowered = question.clone();
        lowered.set_name(question.name().to_lowercase());
        let mut message = Message::response(0, OpCode::Query);
        message.queries.push(lowered);
        message.answers = answers.to_vec();
        message.authorities = authorities.to_vec();
        message.additionals = additionals.to_vec();
        let wire = message.to_vec().map_err(|e: ProtoError| EncodeError::Message(e.to_string()))?;
        let name_len = name_len(&wire[HEADER_LEN..]).ok_or(EncodeError::Name)?;
        let count = |n: usize| u16::try_from(n).map_err(|_| EncodeError::TooManyRecords(n));
        Ok(Sections {
            name: wire[HEADER_LEN..HEADER_LEN + name_len].to_vec(),
            data: wire[HEADER_LEN + name_len + 4..].to_vec(),
            ancount: count(answers.len())?,
            nscount: count(authorities.len())?,
            arcount: count(additionals.len())?,
        })
    }
}

/// The EDNS option code of an Extended DNS Error (RFC 8914).
const OPTION_EDE: u16 = 15;
/// EDE INFO-CODE 3: a stale answer (RFC 8914 4.4).
pub const EDE_STALE_ANSWER: u16 = 3;

/// The node's NSID (RFC 5001), in a form that copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nsid {
    len: u8,
    bytes: [u8; MAX_NSID_LEN],
}

impl Nsid {
    pub const NONE: Nsid = Nsid { len: 0, bytes: [0; MAX_NSID_LEN] };

    /// None if it is longer than [`MAX_NSID_LEN`] (the config refuses it).
    pub fn new(nsid: &[u8]) -> Option<Nsid> {
        let mut bytes = [0; MAX_NSID_LEN];
        bytes.get_mut(..nsid.len())?.copy_from_slice(nsid);
        Some(Nsid { len: nsid.len() as u8, bytes })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// The EDNS part of a response: the node's OPT record, DO echoed, and the
/// options in the order of their codes (NSID, COOKIE, EDE), as the fast
/// path writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseEdns {
    pub udp_size: u16,
    pub dnssec_ok: bool,
    /// The upper eight bits of a 12-bit RCODE (RFC 6891 6.1.3): 1 for
    /// BADVERS and BADCOOKIE.
    pub extended_rcode: u8,
    /// The NSID, when the query asked for it and the node has one.
    pub nsid: Option<Nsid>,
    /// The client cookie then the server cookie, for a query with a COOKIE.
    pub cookie: Option<[u8; CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN]>,
    /// An Extended DNS Error's INFO-CODE (RFC 8914), without text.
    pub ede: Option<u16>,
}

impl ResponseEdns {
    /// The OPT record in wire form.
    pub fn record(&self) -> Vec<u8> {
        let mut opt = Vec::with_capacity(OPT_RECORD_LEN);
        self.write_record(&mut opt);
        opt
    }

    /// Appends the OPT record to `out`.
    pub fn write_record(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut base = dns::opt_record(self.udp_size, self.dnssec_ok);
        base[5] = self.extended_rcode;
        out.extend_from_slice(&base);
        let mut option = |code: u16, data: &[u8]| {
            out.extend_from_slice(&code.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
        };
        if let Some(nsid) = self.nsid.filter(|n| n.len > 0) {
            option(dns::OPTION_NSID, nsid.bytes());
        }
        if let Some(cookie) = &self.cookie {
            option(OPTION_COOKIE, cookie);
        }
        if let Some(code) = self.ede {
            option(OPTION_EDE, &code.to_be_bytes());
        }
        let rdlen = (out.len() - start - OPT_RECORD_LEN) as u16;
        out[start + 9..start + 11].copy_from_slice(&rdlen.to_be_bytes());
    }
}

/// A whole response: header (ID, flags, counts), the client's question
/// bytes as received (name, type, class), the sections, the OPT record.
pub fn assemble(
    id: u16,
    flags: u16,
    question: &[u8],
    sections: Option<&Sections>,
    edns: Option<ResponseEdns>,
) -> Vec<u8> {
    let (data, counts) = sections.map_or((&[][..], [0; 3]), |s| (&s.data[..], [s.ancount, s.nscount, s.arcount]));
    let mut out = Vec::with_capacity(HEADER_LEN + question.len() + data.len() + OPT_RECORD_LEN);
    write_response(&mut out, id, flags, question, (data, counts), edns.as_ref());
    out
}

/// Appends [`assemble`]'s response to `out`, the sections given as their
/// bytes and (answer, authority, additional) counts, OPT not counted.
pub fn write_response(
    out: &mut Vec<u8>,
    id: u16,
    flags: u16,
    question: &[u8],
    (data, [an, ns, ar]): (&[u8], [u16; 3]),
    edns: Option<&ResponseEdns>,
) {
    for field in [id, flags, 1, an, ns, ar + edns.is_some() as u16] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(question);
    out.extend_from_slice(data);
    if let Some(edns) = edns {
        edns.write_record(out);
    }
}

/// The uncompressed wire name `name` and every name above it, down to the
/// root: each a suffix of `name` that starts at a label.
pub fn suffixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let start = at?;
        let suffix = name.get(start..)?;
        at = match suffix.first() {
            Some(&len) if len > 0 && len <= 63 => Some(start + 1 + len as usize),
            _ => None,
        };
        Some(suffix)
    })
}

/// Length of the uncompressed wire name at the start of `wire`.
pub fn name_len(wire: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        match *wire.get(at)? {
            0 => return Some(at + 1),
            len if len <= 63 => at += 1 + len as usize,
            _ => return None,
        }
    }
}
