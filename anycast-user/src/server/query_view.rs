//! A query read straight from its bytes, without building a message: what
//! the hot answers need (see [`super::hot`]). Only the plain shape real
//! clients send is read: one uncompressed question and nothing else but,
//! at the end, an OPT record of EDNS version 0 whose options are well
//! formed. Anything else is left to the full parse.

use anycast_common::{
    MAX_NAME_LEN, NAME_BUF_LEN,
    dns::{self, HEADER_LEN, TYPE_OPT},
};

/// The parts of a query the hot answers use.
pub struct QueryView<'a> {
    pub id: u16,
    pub flags: u16,
    /// The question as received (name, type, class), echoed in responses.
    pub question: &'a [u8],
    /// The name lower-cased, the first `name_len` bytes.
    name: [u8; NAME_BUF_LEN],
    name_len: usize,
    pub qtype: u16,
    pub qclass: u16,
    pub opt: Option<QueryOpt<'a>>,
}

/// The query's OPT record.
#[derive(Clone, Copy)]
pub struct QueryOpt<'a> {
    /// The client's UDP payload size, as sent.
    pub udp_size: u16,
    pub dnssec_ok: bool,
    /// The options, checked to be whole (code, length, data) records.
    options: &'a [u8],
}

/// Bytes of an OPT record before its options: root name, TYPE, CLASS
/// (the UDP size), TTL (extended RCODE, version, flags), RDLENGTH.
const OPT_FIXED_LEN: usize = 11;

impl<'a> QueryView<'a> {
    /// None unless `query` has exactly the plain shape.
    pub fn parse(query: &'a [u8]) -> Option<QueryView<'a>> {
        let word = |at: usize| Some(u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]));
        let flags = word(2)?;
        let counts = (word(4)?, word(6)?, word(8)?, word(10)?);
        if flags & (dns::FLAG_QR | dns::OPCODE_MASK) != 0 || !matches!(counts, (1, 0, 0, 0 | 1)) {
            return None;
        }
        let mut name = [0u8; NAME_BUF_LEN];
        let name_len = lower_name(query.get(HEADER_LEN..)?, &mut name)?;
        let question_end = HEADER_LEN + name_len + 4;
        let question = query.get(HEADER_LEN..question_end)?;
        let opt = match counts.3 {
            0 if query.len() == question_end => None,
            1 => Some(QueryOpt::parse(&query[question_end..])?),
            _ => return None,
        };
        Some(QueryView {
            id: word(0)?,
            flags,
            question,
            name,
            name_len,
            qtype: word(question_end - 4)?,
            qclass: word(question_end - 2)?,
            opt,
        })
    }

    /// The lower-cased wire name.
    pub fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    pub fn dnssec_ok(&self) -> bool {
        self.opt.is_some_and(|opt| opt.dnssec_ok)
    }
}

impl<'a> QueryOpt<'a> {
    /// The OPT record that is all of `rest`.
    fn parse(rest: &'a [u8]) -> Option<QueryOpt<'a>> {
        let fixed = rest.get(..OPT_FIXED_LEN)?;
        let word = |at: usize| u16::from_be_bytes([fixed[at], fixed[at + 1]]);
        let (version, edns_flags, rdlen) = (fixed[6], word(7), word(9) as usize);
        if fixed[0] != 0 || word(1) != TYPE_OPT || version != 0 || rest.len() != OPT_FIXED_LEN + rdlen {
            return None;
        }
        let options = &rest[OPT_FIXED_LEN..];
        let opt = QueryOpt { udp_size: word(3), dnssec_ok: edns_flags & dns::EDNS_FLAG_DO != 0, options };
        (opt.options().map(|(_, data)| 4 + data.len()).sum::<usize>() == options.len()).then_some(opt)
    }

    /// The options as (code, data), in order; a cut-off last one ends them.
    pub fn options(&self) -> impl Iterator<Item = (u16, &'a [u8])> + use<'a> {
        let mut rest = self.options;
        std::iter::from_fn(move || {
            let (head, tail) = rest.split_at_checked(4)?;
            let len = u16::from_be_bytes([head[2], head[3]]) as usize;
            let (data, tail) = tail.split_at_checked(len)?;
            rest = tail;
            Some((u16::from_be_bytes([head[0], head[1]]), data))
        })
    }
}

/// Copies the uncompressed wire name at the start of `wire` into `name`,
/// lower-cased (RFC 4343: A-Z only); its length, or None if it is
/// compressed, malformed or too long.
fn lower_name(wire: &[u8], name: &mut [u8; NAME_BUF_LEN]) -> Option<usize> {
    let mut at = 0;
    loop {
        let len = *wire.get(at)? as usize;
        if len > anycast_common::MAX_LABEL_LEN as usize || at + 1 + len > MAX_NAME_LEN {
            return None;
        }
        let label = wire.get(at..at + 1 + len)?;
        for (to, from) in name[at..at + 1 + len].iter_mut().zip(label) {
            *to = from.to_ascii_lowercase();
        }
        at += 1 + len;
        if len == 0 {
            return Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `www.Example.` A with `tail` after the question and
    /// `arcount` additional records.
    fn query(arcount: u16, tail: &[u8]) -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 0x01, 0x20, 0, 1, 0, 0, 0, 0];
        q.extend_from_slice(&arcount.to_be_bytes());
        q.extend_from_slice(b"\x03www\x07Example\x00\x00\x01\x00\x01");
        q.extend_from_slice(tail);
        q
    }

    fn opt(udp_size: u16, version: u8, flags: u16, options: &[u8]) -> Vec<u8> {
        let mut o = vec![0, 0, 41];
        o.extend_from_slice(&udp_size.to_be_bytes());
        o.extend_from_slice(&[0, version]);
        o.extend_from_slice(&flags.to_be_bytes());
        o.extend_from_slice(&(options.len() as u16).to_be_bytes());
        o.extend_from_slice(options);
        o
    }

    #[test]
    fn reads_the_plain_shapes() {
        let plain = query(0, &[]);
        let v = QueryView::parse(&plain).expect("a plain query");
        assert_eq!((v.id, v.flags, v.qtype, v.qclass), (0xabcd, 0x0120, 1, 1));
        assert_eq!(v.name(), b"\x03www\x07example\x00", "lower-cased");
        assert_eq!(v.question, &plain[12..], "the question as received");
        assert!(v.opt.is_none() && !v.dnssec_ok());

        let options = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 0, 0];
        let with_opt = query(1, &opt(1232, 0, 0x8000, &options));
        let v = QueryView::parse(&with_opt).expect("a query with EDNS");
        let o = v.opt.expect("its OPT");
        assert!(v.dnssec_ok() && o.udp_size == 1232);
        let read: Vec<(u16, &[u8])> = o.options().collect();
        assert_eq!(read, [(10, &[1u8, 2, 3, 4, 5, 6, 7, 8][..]), (3, &[][..])]);
    }

    #[test]
    fn leaves_everything_else_to_the_full_parse() {
        let mut response = query(0, &[]);
        response[2] |= 0x80;
        let mut notify = query(0, &[]);
        notify[2] |= 4 << 3;
        let mut two_questions = query(0, &[]);
        two_questions[5] = 2;
        let mut compressed = query(0, &[]);
        compressed[12..14].copy_from_slice(&[0xc0, 0x0c]);
        let long_label = [&[0u8; 12][..], &[64], &[b'a'; 64], &[0, 0, 1, 0, 1]].concat();
        let cases: [(&str, Vec<u8>); 11] = [
            ("a response", response),
            ("another opcode", notify),
            ("two questions", two_questions),
            ("a compressed name", compressed),
            ("a label over 63 bytes", long_label),
            ("cut short", query(0, &[])[..20].to_vec()),
            ("trailing bytes", query(0, &[0])),
            ("an additional record that is not OPT", query(1, &[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])),
            ("EDNS version 1", query(1, &opt(1232, 1, 0, &[]))),
            ("an option cut short", query(1, &opt(1232, 0, 0, &[0, 10, 0, 8, 1, 2]))),
            ("an OPT that claims more bytes", query(1, &[opt(1232, 0, 0, &[]), vec![0]].concat())),
        ];
        for (what, q) in cases {
            assert!(QueryView::parse(&q).is_none(), "{what}");
        }
    }
}
