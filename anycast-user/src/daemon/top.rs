//! `ctl top`'s names and clients: the questions and clients of the
//! sampled XDP answers (the dnstap records), counted until the next
//! `top` takes them. The tables are bounded: a key that finds them full
//! is counted under "other".

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use anycast_common::dns::HEADER_LEN;

/// Distinct names and clients counted at most between two takes.
const MAX_KEYS: usize = 10_000;
/// Rows `top` lists of each.
const ROWS: usize = 10;

#[derive(Default)]
pub struct Top {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    names: HashMap<String, u64>,
    clients: HashMap<IpAddr, u64>,
    other_names: u64,
    other_clients: u64,
}

fn count<K: std::hash::Hash + Eq>(table: &mut HashMap<K, u64>, other: &mut u64, key: K) {
    if table.len() < MAX_KEYS || table.contains_key(&key) {
        *table.entry(key).or_default() += 1;
    } else {
        *other += 1;
    }
}

impl Top {
    /// Counts one sampled answer: `message` is the DNS message (its
    /// question read, lower-cased).
    pub fn record(&self, client: IpAddr, message: &[u8]) {
        let name = question_name(message).unwrap_or_else(|| "(unreadable)".into());
        let mut counts = self.counts.lock().expect("top lock");
        let counts = &mut *counts;
        count(&mut counts.names, &mut counts.other_names, name);
        count(&mut counts.clients, &mut counts.other_clients, client);
    }

    /// The top names and clients since the last take, as text (a section
    /// of each, "<count> <key>" lines, most first), and a fresh start.
    pub fn take(&self) -> String {
        let counts = std::mem::take(&mut *self.counts.lock().expect("top lock"));
        let mut out = String::from("names\n");
        rows(&mut out, counts.names, counts.other_names);
        out += "clients\n";
        rows(&mut out, counts.clients, counts.other_clients);
        out
    }
}

fn rows<K: std::fmt::Display>(out: &mut String, table: HashMap<K, u64>, other: u64) {
    let mut rows: Vec<(u64, String)> = table.into_iter().map(|(k, n)| (n, k.to_string())).collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (n, key) in rows.iter().take(ROWS) {
        *out += &format!("{n} {key}\n");
    }
    if other > 0 {
        *out += &format!("{other} (other)\n");
    }
}

/// The question's name, dotted and lower-cased, from a message whose
/// question is uncompressed (as the fast path's are).
fn question_name(message: &[u8]) -> Option<String> {
    let mut at = HEADER_LEN;
    let mut name = String::new();
    loop {
        let len = usize::from(*message.get(at)?);
        if len == 0 {
            return Some(if name.is_empty() { ".".into() } else { name });
        }
        if len > 63 {
            return None;
        }
        let label = message.get(at + 1..at + 1 + len)?;
        name.extend(label.iter().map(|b| b.to_ascii_lowercase() as char));
        name.push('.');
        at += 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(name: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m.extend_from_slice(name);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    #[test]
    fn counts_names_and_clients_most_first_and_starts_again() {
        let top = Top::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        for _ in 0..3 {
            top.record(a, &message(b"\x03WwW\x03lab\x00"));
        }
        top.record(b, &message(b"\x02h1\x03lab\x00"));
        top.record(b, &message(b"\x00"));
        top.record(b, &message(b"\x05ab"));
        let expected = "names\n3 www.lab.\n1 (unreadable)\n1 .\n1 h1.lab.\nclients\n3 192.0.2.1\n3 2001:db8::1\n";
        assert_eq!(top.take(), expected);
        assert_eq!(top.take(), "names\nclients\n", "taken: counted afresh");
    }

    #[test]
    fn the_tables_are_bounded() {
        let top = Top::default();
        for i in 0..MAX_KEYS as u32 + 5 {
            top.record(IpAddr::from(i.to_be_bytes()), &message(b"\x01a\x00"));
        }
        let text = top.take();
        assert!(text.contains("\n5 (other)\n"), "{text}");
        assert_eq!(text.lines().filter(|l| !l.contains("(other)")).count(), 2 + 1 + ROWS);
    }
}
