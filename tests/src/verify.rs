//! The check of an answer the fast path sent: every header turned around
//! with correct checksums, the ID and question echoed byte for byte, and the
//! response equal, TTLs aside (which must have aged by the entry's age), to
//! what the node answers for that query from the catalog entry that was
//! given to the map writer.

use std::ops::RangeInclusive;

use hickory_proto::{
    op::{Message, ResponseCode},
    rr::Record,
};

use crate::{
    harness::EDNS_UDP_SIZE,
    reply::{self, Sender},
    zone::{Entry, Sections, catalog, question_len, respond},
};

/// Checks `answer`, sent in reply to `query`, from entries whose TTLs have
/// aged by a number of seconds in `ages`; its OPT record, if any, must
/// have no options.
pub fn answer(query: &[u8], answer: &[u8], ages: RangeInclusive<u32>) -> Result<(), String> {
    answer_with_opt(query, answer, ages, None)
}

/// [`answer`], with the OPT record the daemon makes for the query: the
/// fast path's must be the same bytes.
pub fn answer_with_opt(
    query: &[u8],
    answer: &[u8],
    ages: RangeInclusive<u32>,
    opt: Option<&[u8]>,
) -> Result<(), String> {
    let (asked, got, dns) = turned_around(query, answer)?;
    let [question] = asked.queries.as_slice() else {
        return Err(format!("answered a query with {} questions", asked.queries.len()));
    };
    let dnssec_ok = asked.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
    let entry = catalog()
        .into_iter()
        .find(|e| e.answers(question, dnssec_ok))
        .ok_or_else(|| format!("answered {question} (DO={dnssec_ok}), which has no live entry"))?;
    compare(&asked, &got, &entry, &ages)?;
    check_opt(&asked, &got, &entry.answer_to(&asked), &dns, opt)
}

/// Checks `answer`, the rate limiter's slip in reply to `query`: headers
/// turned around as for an answer, no records, TC set, the OPT as for an
/// answer.
pub fn truncated(query: &[u8], answer: &[u8]) -> Result<(), String> {
    let (asked, got, dns) = turned_around(query, answer)?;
    let mut expected = respond(&asked, ResponseCode::NoError, Sections::answers(Vec::new()));
    expected.metadata.truncation = true;
    if got.metadata != expected.metadata {
        return Err(format!("header {:?}, expected {:?}", got.metadata, expected.metadata));
    }
    if got.queries != expected.queries {
        return Err(format!("question {:?}", got.queries));
    }
    if !(got.answers.is_empty() && got.authorities.is_empty() && got.additionals.is_empty()) {
        return Err("records in a TC=1 slip".into());
    }
    check_opt(&asked, &got, &expected, &dns, None)
}

/// Checks `answer`, the rate limiter's slip in reply to `query` with a
/// client cookie: headers turned around, no records, RCODE BADCOOKIE, TC
/// clear, and the daemon's OPT record `opt` (which carries the cookie).
pub fn badcookie(query: &[u8], answer: &[u8], opt: &[u8]) -> Result<(), String> {
    let (asked, got, dns) = turned_around(query, answer)?;
    let expected = respond(&asked, ResponseCode::BADCOOKIE, Sections::answers(Vec::new()));
    if got.metadata != expected.metadata {
        return Err(format!("header {:?}, expected {:?}", got.metadata, expected.metadata));
    }
    if !(got.answers.is_empty() && got.authorities.is_empty() && got.additionals.is_empty()) {
        return Err("records in a BADCOOKIE slip".into());
    }
    check_opt(&asked, &got, &expected, &dns, Some(opt))
}

/// The query and response of a frame the fast path sent back (and the
/// response's DNS bytes), once every header is checked to be turned around
/// and the ID and question echoed.
fn turned_around(query: &[u8], answer: &[u8]) -> Result<(Message, Message, Vec<u8>), String> {
    let input =
        reply::parse(query, Sender::Client).map_err(|e| format!("answered a frame that is no valid query: {e}"))?;
    let out = reply::parse(answer, Sender::Node)?;
    if (out.eth_dst, out.eth_src) != (input.eth_src, input.eth_dst) {
        return Err("MAC addresses not swapped".into());
    }
    if out.vlans != input.vlans {
        return Err(format!("VLAN tags {:?}, query had {:?}", out.vlans, input.vlans));
    }
    if (out.src, out.dst, out.sport, out.dport) != (input.dst, input.src, input.dport, input.sport) {
        return Err(format!("addresses or ports not turned around: {out:?}"));
    }
    if out.hop_limit != 64 {
        return Err(format!("hop limit {}", out.hop_limit));
    }
    let asked = Message::from_vec(&input.dns).map_err(|e| format!("answered a query hickory cannot parse: {e}"))?;
    let qlen = question_len(&input.dns);
    if out.dns.len() < 12 + qlen || out.dns[..2] != input.dns[..2] || out.dns[12..12 + qlen] != input.dns[12..12 + qlen]
    {
        return Err("ID or question not echoed byte for byte".into());
    }
    let got = Message::from_vec(&out.dns).map_err(|e| format!("the answer does not parse: {e}"))?;
    Ok((asked, got, out.dns))
}

/// `got` against the node's answer to `asked` from `entry`.
fn compare(asked: &Message, got: &Message, entry: &Entry, ages: &RangeInclusive<u32>) -> Result<(), String> {
    let expected = entry.answer_to(asked);
    if got.metadata != expected.metadata {
        return Err(format!("header {:?}, expected {:?}", got.metadata, expected.metadata));
    }
    if got.queries != expected.queries {
        return Err(format!("question {:?}", got.queries));
    }
    // The writer's input carries the same sections: this is the round trip.
    let given = entry.response();
    for (section, got_records, want) in [
        ("answer", &got.answers, &given.answers),
        ("authority", &got.authorities, &given.authorities),
        ("additional", &got.additionals, &given.additionals),
    ] {
        if got_records.len() != want.len() {
            return Err(format!("{section}: {} records, expected {}", got_records.len(), want.len()));
        }
        for (g, w) in got_records.iter().zip(want) {
            aged(g, w, ages).map_err(|e| format!("{section}: {e}"))?;
        }
    }
    Ok(())
}

/// The node's OPT record in `got` if and only if `expected` has one; the
/// daemon's bytes `opt` at the end of the response `dns` if given, else
/// one without options.
fn check_opt(asked: &Message, got: &Message, expected: &Message, dns: &[u8], opt: Option<&[u8]>) -> Result<(), String> {
    match (&got.edns, &expected.edns) {
        (None, None) => Ok(()),
        (Some(g), Some(_)) => {
            let want_do = asked.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
            if g.max_payload() != EDNS_UDP_SIZE || g.version() != 0 || g.flags().dnssec_ok != want_do {
                return Err(format!("OPT {g:?}"));
            }
            match opt {
                Some(opt) if !dns.ends_with(opt) => Err(format!(
                    "OPT record {:02x?}, the daemon's is {opt:02x?}",
                    &dns[dns.len().saturating_sub(opt.len())..]
                )),
                Some(_) => Ok(()),
                None if !g.options().options.is_empty() => Err("OPT with options".into()),
                None => Ok(()),
            }
        }
        (g, e) => Err(format!("OPT {g:?}, expected {e:?}")),
    }
}

/// The same record, with a TTL aged by a number of seconds in `ages`.
fn aged(got: &Record, written: &Record, ages: &RangeInclusive<u32>) -> Result<(), String> {
    let fresh = written.ttl - ages.start()..=written.ttl;
    if written.ttl.checked_sub(got.ttl).is_none_or(|age| !ages.contains(&age)) {
        return Err(format!(
            "TTL {} for a record written with {} and aged {ages:?} s (at most {fresh:?})",
            got.ttl, written.ttl
        ));
    }
    let mut normalized = got.clone();
    normalized.ttl = written.ttl;
    if normalized != *written {
        return Err(format!("record {got} differs from {written}"));
    }
    Ok(())
}
