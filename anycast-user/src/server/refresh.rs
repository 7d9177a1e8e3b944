//! Keeps hot names in the fast path: the daemon remembers each answer it
//! wrote into the map; shortly before one expires, if the XDP program has
//! answered from it since it was written, the question is resolved again
//! from the servers and the fresh answer replaces it, so a name in use is
//! answered at XDP across its TTL boundaries. Entries nobody asks for
//! just expire.

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use anycast_common::{AnswerKey, KEY_FLAG_DO};
use hickory_proto::{
    op::{Edns, Message, Query},
    rr::{DNSClass, Name, RecordType},
    serialize::binary::BinDecodable,
};
use tokio::sync::watch;

use super::respond::Responder;
use crate::{
    clock,
    fastpath::{FastPath, FastPathError},
    resolver::upstream::Upstream,
};

/// How often the entries are looked over.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// An answer written into the map.
#[derive(Clone)]
pub struct Written {
    /// The query it answered (question and EDNS; no records).
    pub query: Message,
    pub written_ns: u64,
    pub expires_ns: u64,
}

impl Written {
    /// Whether it is due: within the last 40% of its life (at least the
    /// last second), still alive.
    fn due(&self, now: u64) -> bool {
        let lifetime = self.expires_ns.saturating_sub(self.written_ns);
        let window = (lifetime * 2 / 5).max(1_000_000_000);
        now < self.expires_ns && self.expires_ns - now <= window
    }
}

#[derive(Default)]
pub struct Refresher {
    written: Mutex<HashMap<AnswerKey, Written>>,
}

impl Refresher {
    pub fn track(&self, key: AnswerKey, written: Written) {
        self.written.lock().expect("refresher lock").insert(key, written);
    }

    /// Tracks the live entries of a fast path taken over from a previous
    /// daemon, so that those in use are refreshed as if written here.
    /// Returns how many.
    pub fn adopt(&self, fast_path: &mut FastPath) -> Result<usize, FastPathError> {
        let now = clock::boottime_ns();
        let mut adopted = 0;
        for entry in fast_path.live_entries(now)? {
            let Ok(name) = Name::from_bytes(&entry.name) else { continue };
            let mut query = Message::query();
            let mut question = Query::query(name, RecordType::from(entry.key.qtype));
            question.set_query_class(DNSClass::from(entry.key.qclass));
            query.queries.push(question);
            if entry.key.flags & KEY_FLAG_DO != 0 {
                let mut edns = Edns::new();
                edns.flags_mut().dnssec_ok = true;
                query.edns = Some(edns);
            }
            self.track(entry.key, Written { query, written_ns: entry.inserted_ns, expires_ns: entry.expires_ns });
            adopted += 1;
        }
        Ok(adopted)
    }

    pub fn tracked(&self) -> usize {
        self.written.lock().expect("refresher lock").len()
    }
}

/// Refreshes due entries that are in use, until `shutdown` turns true.
pub async fn run<U: Upstream>(responder: Arc<Responder<U>>, mut shutdown: watch::Receiver<bool>) {
    let Some(feed) = &responder.feed else { return };
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        let now = clock::boottime_ns();
        let due: Vec<(AnswerKey, Written)> = {
            let mut written = feed.refresher.written.lock().expect("refresher lock");
            written.retain(|_, w| w.expires_ns > now);
            written.iter().filter(|(_, w)| w.due(now)).map(|(k, w)| (*k, w.clone())).collect()
        };
        for (key, written) in due {
            let last_hit = feed.fast_path.lock().expect("fast path lock").last_hit(&key);
            match last_hit {
                Ok(Some(hit)) if hit >= written.written_ns => {
                    let question = &written.query.queries[0];
                    let resolution = responder.resolver.refresh(question).await;
                    if responder.write_fast_path(&written.query, &resolution) {
                        responder.stats.refreshed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                // Not asked for since it was written, or gone: let it go.
                _ => {
                    feed.refresher.written.lock().expect("refresher lock").remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_in_the_last_forty_percent_or_second_of_life() {
        let s = 1_000_000_000;
        let written =
            |lifetime: u64| Written { query: Message::query(), written_ns: 100 * s, expires_ns: (100 + lifetime) * s };
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
