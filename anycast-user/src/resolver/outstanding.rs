//! Queries under way to each zone and each server, bounded, so that one
//! zone under a random-subdomain flood (or one slow server) cannot take
//! every slot the misses share: past the bound, a question for that zone
//! fails at once (SERVFAIL) instead of waiting its turn. The tables hold
//! only what is under way, so they stay as small as the traffic.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use hickory_proto::rr::Name;

/// Counts under way by key, each at most `max`.
struct Counts<K> {
    under_way: Mutex<HashMap<K, usize>>,
    max: usize,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new(max: usize) -> Counts<K> {
        Counts { under_way: Mutex::new(HashMap::new()), max: max.max(1) }
    }

    fn take(self: &Arc<Self>, key: &K) -> Option<Slot<K>> {
        let mut under_way = self.under_way.lock().expect("outstanding lock");
        let n = under_way.entry(key.clone()).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot { counts: self.clone(), key: key.clone() })
    }
}

/// One query under way; counted until dropped.
pub struct Slot<K: Hash + Eq> {
    counts: Arc<Counts<K>>,
    key: K,
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut under_way = self.counts.under_way.lock().expect("outstanding lock");
        if let Some(n) = under_way.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                under_way.remove(&self.key);
            }
        }
    }
}

/// The bounds, from [`super::Limits`].
pub struct Outstanding {
    zones: Arc<Counts<Name>>,
    servers: Arc<Counts<IpAddr>>,
}

impl Outstanding {
    pub fn new(per_zone: usize, per_server: usize) -> Outstanding {
        Outstanding { zones: Arc::new(Counts::new(per_zone)), servers: Arc::new(Counts::new(per_server)) }
    }

    /// A place for one more question to `zone`, if it has room.
    pub fn zone(&self, zone: &Name) -> Option<Slot<Name>> {
        self.zones.take(&zone.to_lowercase())
    }

    /// A place for one more query to `server`, if it has room.
    pub fn server(&self, server: IpAddr) -> Option<Slot<IpAddr>> {
        self.servers.take(&server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let outstanding = Outstanding::new(2, 1);
        let zone = Name::from_ascii("victim.test.").unwrap();
        let a = outstanding.zone(&zone).unwrap();
        let _b = outstanding.zone(&Name::from_ascii("VICTIM.test.").unwrap()).unwrap();
        assert!(outstanding.zone(&zone).is_none(), "the zone's two places are taken, in any case");
        assert!(outstanding.zone(&Name::from_ascii("other.test.").unwrap()).is_some(), "another zone has room");
        drop(a);
        assert!(outstanding.zone(&zone).is_some(), "a place comes back when its query ends");
        let server = "192.0.2.1".parse().unwrap();
        let held = outstanding.server(server).unwrap();
        assert!(outstanding.server(server).is_none());
        drop(held);
        assert!(outstanding.servers.under_way.lock().unwrap().is_empty(), "nothing under way, nothing kept");
    }
}
