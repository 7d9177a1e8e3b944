//! The hot names: the questions a node is asked again and again, counted
//! where the repeats are answered (the XDP program's map entries and the
//! daemon's hot answers) and summed by question. `anycastd ctl dump-hot N`
//! and the metrics address's `/hot` list them, and a warm start reads
//! them back. A line per question, most repeated first:
//!
//! ```text
//! # anycastd hot names, most repeated first: name class type repeats do
//! www.example.lab. IN A 5123 -
//! www.example.lab. IN A 211 do
//! ```
//!
//! `do` marks a question asked with EDNS DO=1 (validating forwarders ask
//! so; its answer carries the signatures). No client is named: the list
//! is what a peer's cache should hold, nothing more.

use std::{collections::HashMap, fmt::Write, str::FromStr};

use anycast_common::{AnswerKey, KEY_FLAG_DO};
use hickory_proto::{
    op::{Edns, Message, Query},
    rr::{DNSClass, Name, RecordType},
    serialize::binary::BinDecodable,
};

use crate::{fastpath::FastPathError, feed::Feed, server::hot::HotAnswers};

/// The first line of a listing.
const HEADER: &str = "# anycastd hot names, most repeated first: name class type repeats do";

/// One question and how often it was answered again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotName {
    pub name: Name,
    pub class: DNSClass,
    pub qtype: RecordType,
    pub dnssec_ok: bool,
    /// Answers given from a kept entry: at XDP and from the hot answers.
    pub repeats: u64,
}

impl HotName {
    /// A query that asks it, as its clients did: the question, and EDNS
    /// with DO if they had it.
    pub fn query(&self) -> Message {
        let mut query = Message::query();
        let mut question = Query::query(self.name.clone(), self.qtype);
        question.set_query_class(self.class);
        query.queries.push(question);
        if self.dnssec_ok {
            let mut edns = Edns::new();
            edns.flags_mut().dnssec_ok = true;
            query.edns = Some(edns);
        }
        query
    }
}

/// The `n` most repeated live questions at `now_ns`, out of how many.
pub fn hottest(
    feed: Option<&Feed>,
    hot: &HotAnswers,
    n: usize,
    now_ns: u64,
) -> Result<(Vec<HotName>, usize), FastPathError> {
    let mut repeats: HashMap<(AnswerKey, Box<[u8]>), u64> = HashMap::new();
    if let Some(feed) = feed {
        for entry in feed.live_entries(now_ns)? {
            *repeats.entry((entry.key, entry.name.into())).or_default() += u64::from(entry.served);
        }
    }
    for (key, name, served) in hot.asked(now_ns) {
        *repeats.entry((key, name)).or_default() += u64::from(served);
    }
    let mut names: Vec<HotName> = repeats
        .into_iter()
        .filter_map(|((key, name), repeats)| {
            Some(HotName {
                name: Name::from_bytes(&name).ok()?,
                class: DNSClass::from(key.qclass),
                qtype: RecordType::from(key.qtype),
                dnssec_ok: key.flags & KEY_FLAG_DO != 0,
                repeats,
            })
        })
        .collect();
    let total = names.len();
    names.sort_unstable_by(|a, b| b.repeats.cmp(&a.repeats).then_with(|| a.name.cmp(&b.name)));
    names.truncate(n);
    Ok((names, total))
}

/// The listing of `names`, `total` questions kept in all.
pub fn render(names: &[HotName], total: usize) -> String {
    let mut out = format!("{HEADER}\n# {} of {total} questions kept\n", names.len());
    for hot in names {
        let flag = if hot.dnssec_ok { "do" } else { "-" };
        let _ = writeln!(out, "{} {} {} {} {flag}", hot.name, hot.class, hot.qtype, hot.repeats);
    }
    out
}

/// What a listing read back held.
#[derive(Debug, Default)]
pub struct Parsed {
    /// At most the number asked for, in the listing's order.
    pub names: Vec<HotName>,
    /// Lines that were not a question (skipped).
    pub bad: usize,
    /// The first of them: its number and what is wrong with it.
    pub first_bad: Option<(usize, String)>,
}

/// Reads the first `max` questions of a listing; a line that is not one
/// is skipped and counted, so a peer of another version still warms.
pub fn parse(text: &str, max: usize) -> Parsed {
    let mut parsed = Parsed::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if parsed.names.len() == max {
            break;
        }
        match parse_line(line) {
            Ok(name) => parsed.names.push(name),
            Err(why) => {
                parsed.bad += 1;
                parsed.first_bad.get_or_insert((number + 1, why));
            }
        }
    }
    parsed
}

fn parse_line(line: &str) -> Result<HotName, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, class, qtype, repeats, flag] = fields[..] else {
        return Err(format!("{} fields, not 5 (name class type repeats do)", fields.len()));
    };
    if !name.ends_with('.') {
        return Err(format!("`{name}` is not a fully qualified name"));
    }
    let name = Name::from_ascii(name).map_err(|e| format!("`{name}`: {e}"))?;
    let class = DNSClass::from_str(class).map_err(|_| format!("`{class}` is not a class"))?;
    let qtype = RecordType::from_str(qtype).map_err(|_| format!("`{qtype}` is not a record type"))?;
    let repeats = repeats.parse().map_err(|_| format!("`{repeats}` is not a count"))?;
    let dnssec_ok = match flag {
        "do" => true,
        "-" => false,
        other => return Err(format!("`{other}` is neither `do` nor `-`")),
    };
    Ok(HotName { name, class, qtype, dnssec_ok, repeats })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hot(name: &str, qtype: RecordType, dnssec_ok: bool, repeats: u64) -> HotName {
        HotName { name: Name::from_ascii(name).unwrap(), class: DNSClass::IN, qtype, dnssec_ok, repeats }
    }

    #[test]
    fn a_listing_reads_back_as_it_was_written() {
        let names = [
            hot("www.example.lab.", RecordType::A, false, 5123),
            hot("www.example.lab.", RecordType::A, true, 211),
            hot("mail.example.lab.", RecordType::MX, false, 0),
        ];
        let text = render(&names, 40);
        assert!(text.starts_with(HEADER), "{text}");
        assert!(text.contains("# 3 of 40 questions kept"), "{text}");
        let parsed = parse(&text, 10);
        assert_eq!(parsed.names, names);
        assert_eq!(parsed.bad, 0);
        assert_eq!(parse(&text, 2).names, names[..2], "no more than asked for");
    }

    #[test]
    fn lines_that_are_not_questions_are_skipped_and_the_first_named() {
        let cases = [
            ("www.example.lab. IN A 5", "4 fields, not 5"),
            ("www.example.lab IN A 5 -", "not a fully qualified name"),
            ("www.example.lab. XX A 5 -", "`XX` is not a class"),
            ("www.example.lab. IN NOPE 5 -", "`NOPE` is not a record type"),
            ("www.example.lab. IN A many -", "`many` is not a count"),
            ("www.example.lab. IN A 5 yes", "neither `do` nor `-`"),
            ("<html><body>404</body></html>", "1 fields"),
        ];
        for (line, why) in cases {
            let text = format!("{HEADER}\n{line}\nok.example.lab. IN AAAA 1 -\n");
            let parsed = parse(&text, 10);
            assert_eq!(parsed.names, [hot("ok.example.lab.", RecordType::AAAA, false, 1)], "{line}");
            assert_eq!(parsed.bad, 1, "{line}");
            let (number, said) = parsed.first_bad.expect("the bad line named");
            assert_eq!(number, 2, "{line}");
            assert!(said.contains(why), "{line}: {said}");
        }
    }

    #[test]
    fn a_question_is_asked_as_its_clients_asked_it() {
        let plain = hot("www.example.lab.", RecordType::A, false, 1).query();
        assert_eq!(plain.queries[0].query_type(), RecordType::A);
        assert!(plain.edns.is_none());
        let signed = hot("www.example.lab.", RecordType::A, true, 1).query();
        assert!(signed.edns.is_some_and(|e| e.flags().dnssec_ok));
    }
}
