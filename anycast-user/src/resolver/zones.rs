//! The zones validation has walked through: each one's apex and the
//! trust of its keys, by name.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use hickory_proto::{dnssec::rdata::DNSKEY, rr::Name};

use crate::dnssec::Bogus;

/// Zones whose trust is known, at most this many (a flood of names in
/// distinct zones must not grow it without bound).
const ZONES_CAPACITY: usize = 10_000;
/// Shortest and longest time a zone's trust is kept.
pub const MIN_ZONE_TTL: Duration = Duration::from_secs(5);
pub const MAX_ZONE_TTL: Duration = Duration::from_secs(86_400);

/// The zone a name is in, and what is known of its keys.
#[derive(Clone, Debug)]
pub struct Zone {
    pub apex: Name,
    pub trust: Trust,
    pub expires: Instant,
}

#[derive(Clone, Debug)]
pub enum Trust {
    Secure(Arc<Vec<DNSKEY>>),
    Insecure,
    Bogus(Bogus),
}

/// The trust of the zones validation has walked through, by name (a
/// name inside a zone maps to that zone, so the walk is done once).
#[derive(Default)]
pub struct Zones {
    by_name: HashMap<Name, Zone>,
}

impl Zones {
    pub fn get(&self, name: &Name, now: Instant) -> Option<Zone> {
        self.by_name.get(name).filter(|z| z.expires > now).cloned()
    }

    pub fn insert(&mut self, name: Name, zone: Zone, now: Instant) {
        if self.by_name.len() >= ZONES_CAPACITY {
            self.by_name.retain(|_, z| z.expires > now);
            if self.by_name.len() >= ZONES_CAPACITY {
                self.by_name.clear();
            }
        }
        self.by_name.insert(name, zone);
    }
}
