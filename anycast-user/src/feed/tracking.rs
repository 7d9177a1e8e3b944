//! What the feed remembers of each answer it wrote into the map: the
//! query it answered and its lifetime, so that the refresher can tell
//! which entries are due and ask the same question again.

use std::{collections::HashMap, sync::Mutex};

use anycast_common::{AnswerKey, KEY_FLAG_DO};
use hickory_proto::{
    op::{Edns, Message, Query},
    rr::{DNSClass, Name, RecordType},
    serialize::binary::BinDecodable,
};

use crate::{
    answer_entry::AnswerEntry,
    fastpath::{FastPath, FastPathError},
};

/// An answer written into the map: what it answered, in little room (the
/// table holds as many as the map).
#[derive(Clone)]
pub struct Written {
    pub question: Query,
    /// Whether the query had EDNS with DO set (the map's key has the bit).
    pub dnssec_ok: bool,
    pub written_ns: u64,
    pub expires_ns: u64,
}

impl Written {
    /// What `entry` answers, if its name reads as one.
    pub fn of(entry: &AnswerEntry) -> Option<Written> {
        Written::new(entry.key, entry.name(), entry.value.inserted_ns, entry.value.expires_ns)
    }

    /// The question of `key` for the lower-cased wire `name`, written at
    /// `written_ns` and live until `expires_ns`.
    fn new(key: AnswerKey, name: &[u8], written_ns: u64, expires_ns: u64) -> Option<Written> {
        let name = Name::from_bytes(name).ok()?;
        let mut question = Query::query(name, RecordType::from(key.qtype));
        question.set_query_class(DNSClass::from(key.qclass));
        Some(Written { question, dnssec_ok: key.flags & KEY_FLAG_DO != 0, written_ns, expires_ns })
    }

    /// A query that asks the same: the question, and EDNS if it had DO.
    pub fn query(&self) -> Message {
        let mut query = Message::query();
        query.queries.push(self.question.clone());
        if self.dnssec_ok {
            let mut edns = Edns::new();
            edns.flags_mut().dnssec_ok = true;
            query.edns = Some(edns);
        }
        query
    }

    /// Whether it is due: within the last 40% of its life (at least the
    /// last second), still alive.
    fn due(&self, now: u64) -> bool {
        let lifetime = self.expires_ns.saturating_sub(self.written_ns);
        let window = (lifetime * 2 / 5).max(1_000_000_000);
        now < self.expires_ns && self.expires_ns - now <= window
    }
}

/// The written answers by map key, at most as many as the map holds: the
/// map forgets the least recently used, so tracking more would only keep
/// what is gone (writes times TTLs of up to a day would grow it without
/// bound).
pub struct Tracking {
    written: Mutex<HashMap<AnswerKey, Written>>,
    capacity: usize,
}

impl Tracking {
    /// Room for `capacity` answers and the churn of a full table: what
    /// leaves a full hash table leaves tombstones, and one more than half
    /// full then grows to twice its size; reserving twice the capacity now
    /// keeps that from happening minutes into a flood.
    pub fn new(capacity: usize) -> Tracking {
        let capacity = capacity.max(1);
        Tracking { written: Mutex::new(HashMap::with_capacity(2 * capacity)), capacity }
    }

    /// Tracks `written`; when full, what has expired goes, then the eighth
    /// that expires soonest.
    pub fn track(&self, key: AnswerKey, written: Written) {
        let mut tracked = self.written.lock().expect("tracking lock");
        if tracked.len() >= self.capacity && !tracked.contains_key(&key) {
            tracked.retain(|_, w| w.expires_ns > written.written_ns);
            if tracked.len() >= self.capacity {
                let mut expiries: Vec<u64> = tracked.values().map(|w| w.expires_ns).collect();
                expiries.sort_unstable();
                let cut = expiries[(tracked.len() / 8).min(expiries.len() - 1)];
                tracked.retain(|_, w| w.expires_ns > cut);
            }
        }
        tracked.insert(key, written);
    }

    pub fn forget(&self, key: &AnswerKey) {
        self.written.lock().expect("tracking lock").remove(key);
    }

    /// Forgets what has expired at `now` and returns what is due.
    pub fn due(&self, now: u64) -> Vec<(AnswerKey, Written)> {
        let mut written = self.written.lock().expect("tracking lock");
        written.retain(|_, w| w.expires_ns > now);
        written.iter().filter(|(_, w)| w.due(now)).map(|(k, w)| (*k, w.clone())).collect()
    }

    /// Tracks the live entries of a fast path taken over from a previous
    /// daemon, so that those in use are refreshed as if written here.
    /// Returns how many.
    pub fn adopt(&self, fast_path: &mut FastPath, now: u64) -> Result<usize, FastPathError> {
        let mut adopted = 0;
        for entry in fast_path.live_entries(now)? {
            let Some(written) = Written::new(entry.key, &entry.name, entry.inserted_ns, entry.expires_ns) else {
                continue;
            };
            self.track(entry.key, written);
            adopted += 1;
        }
        Ok(adopted)
    }

    pub fn len(&self) -> usize {
        self.written.lock().expect("tracking lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_holds_no_more_than_the_map() {
        let tracking = Tracking::new(64);
        let s = 1_000_000_000;
        for i in 0..1000u64 {
            let key = AnswerKey { name_hash: i, qtype: 1, qclass: 1, flags: 0, _pad: [0; 3] };
            let written =
                Written { question: Query::new(), dnssec_ok: false, written_ns: i * s, expires_ns: (i + 86_400) * s };
            tracking.track(key, written);
            assert!(tracking.len() <= 64, "{} tracked after {i}", tracking.len());
        }
    }

    #[test]
    fn due_in_the_last_forty_percent_or_second_of_life() {
        let s = 1_000_000_000;
        let written = |lifetime: u64| Written {
            question: Query::new(),
            dnssec_ok: false,
            written_ns: 100 * s,
            expires_ns: (100 + lifetime) * s,
        };
        let five = written(5);
        assert!(!five.due(100 * s));
        assert!(!five.due(102 * s + s / 2), "2.5 s left of 5");
        assert!(five.due(103 * s), "2 s left of 5");
        assert!(!five.due(105 * s), "expired: too late");
        let two = written(2);
        assert!(!two.due(100 * s + s / 2));
        assert!(two.due(101 * s), "at least the last second");
    }
}
