//! RFC 8767's failure recheck timer: a question answered stale is not
//! asked of the servers again for 30 s, and answered stale at once
//! meanwhile, so an outage does not cost every client the wait. Bounded,
//! so an outage under a flood of names does not grow it forever.

use std::{
    collections::HashMap,
    hash::Hash,
    time::{Duration, Instant},
};

/// How long a question answered stale goes unasked (RFC 8767 4).
const RECHECK: Duration = Duration::from_secs(30);
/// Questions remembered at most; past that, those whose timer ran out go,
/// then all (an outage under a flood of names must not grow it forever).
const MAX_RECHECKS: usize = 10_000;

/// When each question answered stale may be asked again.
pub struct Rechecks<K> {
    until: HashMap<K, Instant>,
}

impl<K> Default for Rechecks<K> {
    fn default() -> Self {
        Rechecks { until: HashMap::new() }
    }
}

impl<K: Hash + Eq> Rechecks<K> {
    /// Whether `key` was answered stale less than the recheck time ago.
    pub fn pending(&self, key: &K, now: Instant) -> bool {
        self.until.get(key).is_some_and(|until| *until > now)
    }

    /// `key` was answered stale at `now`.
    pub fn start(&mut self, key: K, now: Instant) {
        if self.until.len() >= MAX_RECHECKS {
            self.until.retain(|_, until| *until > now);
            if self.until.len() >= MAX_RECHECKS {
                self.until.clear();
            }
        }
        self.until.insert(key, now + RECHECK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rechecks_run_out_and_stay_bounded() {
        let mut rechecks = Rechecks::default();
        let now = Instant::now();
        use hickory_proto::rr::{DNSClass, Name, RecordType};
        let key = |i: usize| (Name::root(), RecordType::from(i as u16), DNSClass::IN);
        rechecks.start(key(1), now);
        assert!(rechecks.pending(&key(1), now + Duration::from_secs(29)));
        assert!(!rechecks.pending(&key(1), now + RECHECK));
        for i in 0..3 * MAX_RECHECKS {
            rechecks.start(key(i), now);
            assert!(rechecks.until.len() <= MAX_RECHECKS);
        }
    }
}
