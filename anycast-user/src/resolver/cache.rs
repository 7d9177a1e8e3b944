//! The resolver's cache: RRsets by (name, type, class), negative answers
//! (RFC 2308: NXDOMAIN for a name, NODATA for a name and type, each with the
//! SOA that bounds it), and a trust rank so that glue never overwrites data
//! an authority gave (RFC 2181 5.4.1). Expired entries are kept for
//! `stale_max` more, for serving stale when the servers do not answer
//! (RFC 8767); a fresh lookup never sees them.
//!
//! With DNSSEC, an RRset entry holds the RRset followed by the RRSIGs
//! that cover it, and the proof that goes with it when it was expanded
//! from a wildcard; a negative entry holds the SOA with its RRSIGs and the
//! NSEC or NSEC3 records that prove it. Each entry carries its validation
//! verdict: unchecked when stored, marked once validated, and a bogus one
//! lives no longer than [`BOGUS_TTL`].
//!
//! Time is passed in, so the cache is plain logic and tests control it.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use hickory_proto::{
    rr::{DNSClass, Name, Record, RecordType},
    serialize::binary::BinEncodable,
};

use super::ttl::TtlPolicy;
use crate::dnssec::Security;

/// How long a bogus verdict (and the data it judged) is kept: long enough
/// that a zone that fails validation is not asked again by every client,
/// short enough that a repaired one recovers soon (Unbound's
/// val-bogus-ttl).
pub const BOGUS_TTL: Duration = Duration::from_secs(60);

/// How much a cached RRset is believed, lowest first (RFC 2181 5.4.1).
/// Only [`Trust::Answer`] data answers a client; glue and a parent's NS
/// RRset only lead the resolver to servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Additional-section data and glue from a referral.
    Glue,
    /// Authority-section NS RRsets of a referral.
    Referral,
    /// The answer section of an authoritative response (or a forwarder's).
    Answer,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    name: Name,
    rtype: RecordType,
    class: DNSClass,
}

impl Key {
    fn new(name: &Name, rtype: RecordType, class: DNSClass) -> Key {
        Key { name: name.to_lowercase(), rtype, class }
    }
}

#[derive(Clone, Debug)]
struct RrsetEntry {
    /// The RRset, then its RRSIGs.
    records: Vec<Record>,
    /// The proof of a wildcard expansion (NSEC or NSEC3 and their RRSIGs).
    proof: Vec<Record>,
    security: Security,
    stored: Instant,
    expires: Instant,
    trust: Trust,
    /// What it holds, roughly (see [`footprint`]).
    size: usize,
}

#[derive(Clone, Debug)]
struct NegativeEntry {
    /// The SOA, then its RRSIGs and the denial records.
    authority: Vec<Record>,
    security: Security,
    stored: Instant,
    expires: Instant,
    size: usize,
}

/// What an entry holds, roughly: its records as they sit in memory, their
/// wire form standing for what they point to (names, RDATA), and the
/// map's slot. An RRset can be 64 KB: counting entries alone bounds
/// nothing.
fn footprint(records: &[Record]) -> usize {
    const SLOT: usize = std::mem::size_of::<Key>() + std::mem::size_of::<RrsetEntry>() + 16;
    let record = |r: &Record| std::mem::size_of::<Record>() + r.to_bytes().map_or(64, |wire| wire.len());
    SLOT + records.iter().map(record).sum::<usize>()
}

/// What the cache knows about a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The RRset, TTLs aged to now.
    Records(Found),
    /// The name exists but has no such type.
    NoData(Found),
    /// The name does not exist.
    NxDomain(Found),
}

/// An entry as a lookup finds it, TTLs aged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The RRset, then its RRSIGs; empty for a negative answer.
    pub records: Vec<Record>,
    /// What goes in the authority section with it: a negative answer's
    /// SOA and proof, a wildcard expansion's proof.
    pub authority: Vec<Record>,
    pub security: Security,
}

impl Found {
    /// Data just received: not validated yet.
    pub fn unchecked(records: Vec<Record>, authority: Vec<Record>) -> Found {
        Found { records, authority, security: Security::Unchecked }
    }
}

/// A verdict to record on an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub security: Security,
    /// Not to be believed past this (a secure RRset's signatures expire).
    pub until: Option<Instant>,
}

/// Which entry a verdict is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Records,
    NoData,
    NxDomain,
}

/// The TTL a stale answer is served with (RFC 8767 4).
pub const STALE_TTL: u32 = 30;

/// Bounds on what is cached.
#[derive(Clone, Copy, Debug)]
pub struct CacheLimits {
    /// Entries (RRsets and negative answers) at most.
    pub capacity: usize,
    /// How long anything is kept (and served for).
    pub ttl: TtlPolicy,
    /// How long past its expiry an entry may still be served stale (zero:
    /// never).
    pub stale_max: Duration,
    /// Bytes the entries may hold at most (see [`footprint`]).
    pub max_bytes: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            capacity: 100_000,
            ttl: TtlPolicy::default(),
            stale_max: Duration::from_secs(86_400),
            max_bytes: 256 << 20,
        }
    }
}

pub struct Cache {
    rrsets: HashMap<Key, RrsetEntry>,
    nodata: HashMap<Key, NegativeEntry>,
    nxdomain: HashMap<(Name, DNSClass), NegativeEntry>,
    limits: CacheLimits,
    /// What the entries hold, by [`footprint`].
    bytes: usize,
    /// Whether the maps have been given room for a full cache's churn.
    sized: bool,
}

impl Cache {
    pub fn new(limits: CacheLimits) -> Cache {
        Cache {
            rrsets: HashMap::new(),
            nodata: HashMap::new(),
            nxdomain: HashMap::new(),
            limits,
            bytes: 0,
            sized: false,
        }
    }

    /// Entries held, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.rrsets.len() + self.nodata.len() + self.nxdomain.len()
    }

    /// Bytes the entries hold, roughly (see [`footprint`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Counts the bytes again, after entries went in bulk.
    fn recount(&mut self) {
        let negative = self.nodata.values().chain(self.nxdomain.values()).map(|e| e.size);
        self.bytes = self.rrsets.values().map(|e| e.size).chain(negative).sum();
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores an RRset (all `records` share owner, type and class, or are
    /// its RRSIGs) unless a live RRset of higher trust is there.
    pub fn insert_rrset(&mut self, records: Vec<Record>, trust: Trust, now: Instant) {
        self.insert_proven(records, Vec::new(), trust, now);
    }

    /// Stores an RRset with the proof of its wildcard expansion.
    pub fn insert_proven(&mut self, records: Vec<Record>, proof: Vec<Record>, trust: Trust, now: Instant) {
        let Some(first) = records.first() else { return };
        let key = Key::new(&first.name, first.record_type(), first.dns_class);
        if let Some(old) = self.rrsets.get(&key)
            && old.expires > now
            && old.trust > trust
        {
            return;
        }
        // Clients are told no more than the cache keeps.
        let records = self.limits.ttl.apply(records);
        let ttl = Duration::from_secs(records.iter().map(|r| r.ttl).min().unwrap_or(0) as u64);
        if ttl.is_zero() {
            return;
        }
        let proof = capped(self.limits.ttl.apply(proof), ttl);
        self.make_room(now);
        // Positive data for a name ends what was known of its absence.
        let absence = [self.nxdomain.remove(&(key.name.clone(), key.class)), self.nodata.remove(&key)];
        let size = footprint(&records) + footprint(&proof);
        self.bytes += size;
        let security = Security::Unchecked;
        let entry = RrsetEntry { records, proof, security, stored: now, expires: now + ttl, trust, size };
        let replaced = self.rrsets.insert(key, entry).map(|old| old.size);
        self.bytes -= absence.iter().flatten().map(|e| e.size).chain(replaced).sum::<usize>();
    }

    /// Stores a negative answer for `name` (and `rtype` when NODATA), for
    /// as long as the TTL policy gives its SOA: `authority` is the SOA,
    /// then its RRSIGs and the denial records.
    pub fn insert_negative(
        &mut self,
        name: &Name,
        rtype: Option<RecordType>,
        class: DNSClass,
        authority: Vec<Record>,
        now: Instant,
    ) {
        let authority = self.limits.ttl.negative_authority(authority);
        let Some(soa) = authority.first() else { return };
        let ttl = Duration::from_secs(soa.ttl.into());
        if ttl.is_zero() {
            return;
        }
        self.make_room(now);
        let size = footprint(&authority);
        self.bytes += size;
        let security = Security::Unchecked;
        let entry = NegativeEntry { authority, security, stored: now, expires: now + ttl, size };
        let replaced = match rtype {
            Some(rtype) => self.nodata.insert(Key::new(name, rtype, class), entry),
            None => self.nxdomain.insert((name.to_lowercase(), class), entry),
        };
        self.bytes -= replaced.map_or(0, |old| old.size);
    }

    /// What is known about (name, type, class) at `now`, RRsets believed
    /// at least as much as `trust`.
    pub fn lookup(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        trust: Trust,
        now: Instant,
    ) -> Option<Lookup> {
        self.find(name, rtype, class, trust, |expires| expires > now, |records, stored| aged_all(records, stored, now))
    }

    /// The entry for (name, type, class) that `live` accepts by its
    /// expiry, its records as `show` gives them.
    fn find(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        trust: Trust,
        live: impl Fn(Instant) -> bool,
        show: impl Fn(&[Record], Instant) -> Vec<Record>,
    ) -> Option<Lookup> {
        let key = Key::new(name, rtype, class);
        let negative = |n: &NegativeEntry| Found {
            records: Vec::new(),
            authority: show(&n.authority, n.stored),
            security: n.security,
        };
        if let Some(neg) = self.nxdomain.get(&(key.name.clone(), class)).filter(|n| live(n.expires)) {
            return Some(Lookup::NxDomain(negative(neg)));
        }
        if let Some(entry) = self.rrsets.get(&key).filter(|e| live(e.expires) && e.trust >= trust) {
            let found = Found {
                records: show(&entry.records, entry.stored),
                authority: show(&entry.proof, entry.stored),
                security: entry.security,
            };
            return Some(Lookup::Records(found));
        }
        let neg = self.nodata.get(&key).filter(|n| live(n.expires))?;
        Some(Lookup::NoData(negative(neg)))
    }

    /// Records the verdict on `found`, what a lookup or a reply gave for
    /// the entry of `kind` at (name, type, class), if the entry still
    /// holds that data: a bogus one is kept at most [`BOGUS_TTL`], a secure
    /// one no longer than its signatures.
    pub fn mark(
        &mut self,
        (name, rtype, kind): (&Name, RecordType, Kind),
        class: DNSClass,
        found: &Found,
        verdict: Verdict,
        now: Instant,
    ) {
        let key = Key::new(name, rtype, class);
        let (held, judged, security, expires) = match kind {
            Kind::Records => match self.rrsets.get_mut(&key) {
                Some(e) => (&e.records, &found.records, &mut e.security, &mut e.expires),
                None => return,
            },
            Kind::NoData => match self.nodata.get_mut(&key) {
                Some(e) => (&e.authority, &found.authority, &mut e.security, &mut e.expires),
                None => return,
            },
            Kind::NxDomain => match self.nxdomain.get_mut(&(key.name, class)) {
                Some(e) => (&e.authority, &found.authority, &mut e.security, &mut e.expires),
                None => return,
            },
        };
        // Data that replaced what was judged (or was never stored in its
        // place) is judged on its own.
        let same =
            held.len() == judged.len() && held.iter().zip(judged).all(|(h, j)| h.data == j.data && h.name == j.name);
        if !same {
            return;
        }
        *security = verdict.security;
        if matches!(verdict.security, Security::Bogus(_)) {
            *expires = (*expires).min(now + BOGUS_TTL);
        }
        if let Some(until) = verdict.until {
            *expires = (*expires).min(until);
        }
    }

    /// What is known about (name, type, class) at `now` including what
    /// expired less than `stale_max` ago, served with [`STALE_TTL`]; the
    /// flag says whether any of it is stale.
    pub fn lookup_stale(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        trust: Trust,
        now: Instant,
    ) -> Option<(Lookup, bool)> {
        if let Some(fresh) = self.lookup(name, rtype, class, trust, now) {
            return Some((fresh, false));
        }
        let servable = |expires: Instant| expires + self.limits.stale_max > now;
        let stale = |records: &[Record], _| {
            let mut records = records.to_vec();
            records.iter_mut().for_each(|r| r.ttl = STALE_TTL);
            records
        };
        Some((self.find(name, rtype, class, trust, servable, stale)?, true))
    }

    /// The trust of a live RRset, if one is cached.
    #[cfg(test)]
    pub fn trust(&self, name: &Name, rtype: RecordType, class: DNSClass, now: Instant) -> Option<Trust> {
        self.rrsets.get(&Key::new(name, rtype, class)).filter(|e| e.expires > now).map(|e| e.trust)
    }

    /// Forgets everything about the names (lower-cased) that are
    /// `doomed`, every type; how many entries went.
    pub fn purge_where(&mut self, doomed: impl Fn(&Name) -> bool) -> usize {
        let before = self.len();
        self.rrsets.retain(|k, _| !doomed(&k.name));
        self.nodata.retain(|k, _| !doomed(&k.name));
        self.nxdomain.retain(|(n, _), _| !doomed(n));
        self.recount();
        before - self.len()
    }

    /// Every live RRset, TTLs aged, for dumping.
    pub fn rrsets(&self, now: Instant) -> impl Iterator<Item = Vec<Record>> + '_ {
        self.rrsets.values().filter(move |e| e.expires > now).map(move |e| aged_all(&e.records, e.stored, now))
    }

    /// Keeps the cache within its capacity and its bytes: entries past
    /// serving stale go first; if that is not enough, those that expired
    /// or expire soonest (stale ones first, since they expired), negative
    /// answers before positive ones. A full cache is brought down to 7/8
    /// of its bounds at once: the sweep walks every entry, and doing that
    /// on every insert under a random-name flood made each miss cost
    /// milliseconds.
    fn make_room(&mut self, now: Instant) {
        let limits = self.limits;
        if self.len() < limits.capacity && self.bytes < limits.max_bytes {
            return;
        }
        self.rrsets.retain(|_, e| e.expires + limits.stale_max > now);
        self.nodata.retain(|_, e| e.expires + limits.stale_max > now);
        self.nxdomain.retain(|_, e| e.expires + limits.stale_max > now);
        self.recount();
        if !self.sized {
            // A full cache churns: what a sweep removes leaves tombstones
            // that inserts use up, and a table over half full then grows
            // to twice its size. Growing it now, the first time the cache
            // is full, makes that happen once and early rather than some
            // minutes into a flood.
            self.rrsets.reserve(self.rrsets.len());
            self.nodata.reserve(self.nodata.len());
            self.nxdomain.reserve(self.nxdomain.len());
            self.sized = true;
        }
        let seven_eighths = |bound: usize| bound.saturating_sub((bound / 8).max(1));
        let (target_len, target_bytes) = (seven_eighths(limits.capacity), seven_eighths(limits.max_bytes));
        let excess = |cache: &Cache| (cache.len().saturating_sub(target_len), cache.bytes.saturating_sub(target_bytes));
        // Negative answers go first: they are cheap to learn again and are
        // what a random-name flood produces.
        let negative = self.nodata.values().chain(self.nxdomain.values()).map(|e| (e.expires, e.size)).collect();
        if let Some(cut) = cut(negative, excess(self)) {
            self.nodata.retain(|_, e| e.expires > cut);
            self.nxdomain.retain(|_, e| e.expires > cut);
            self.recount();
        }
        let positive = self.rrsets.values().map(|e| (e.expires, e.size)).collect();
        if let Some(cut) = cut(positive, excess(self)) {
            self.rrsets.retain(|_, e| e.expires > cut);
            self.recount();
        }
    }
}

/// The expiry up to which `entries` (expiry, size), soonest first, must go
/// to shed `count` entries and `bytes` bytes; None if none need go.
fn cut(mut entries: Vec<(Instant, usize)>, (count, bytes): (usize, usize)) -> Option<Instant> {
    entries.sort();
    let (mut shed_count, mut shed_bytes, mut cut) = (0, 0, None);
    for (expires, size) in entries {
        if shed_count >= count && shed_bytes >= bytes {
            break;
        }
        (shed_count, shed_bytes, cut) = (shed_count + 1, shed_bytes + size, Some(expires));
    }
    cut
}

fn aged_all(records: &[Record], stored: Instant, now: Instant) -> Vec<Record> {
    records.iter().map(|r| aged(r, stored, now)).collect()
}

/// `records` with no TTL above `ttl`: what proves an entry lives no
/// longer than it.
fn capped(mut records: Vec<Record>, ttl: Duration) -> Vec<Record> {
    let ttl = ttl.as_secs().min(u32::MAX as u64) as u32;
    records.iter_mut().for_each(|r| r.ttl = r.ttl.min(ttl));
    records
}

/// `record` with its TTL lowered by the whole seconds since `stored`.
fn aged(record: &Record, stored: Instant, now: Instant) -> Record {
    let mut record = record.clone();
    let elapsed = now.saturating_duration_since(stored).as_secs();
    record.ttl = record.ttl.saturating_sub(elapsed.min(u32::MAX as u64) as u32);
    record
}

#[cfg(test)]
mod tests {
    use std::{net::Ipv4Addr, str::FromStr};

    use hickory_proto::rr::{
        RData,
        rdata::{A, SOA},
    };

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn a(owner: &str, ttl: u32, last: u8) -> Record {
        Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::new(192, 0, 2, last))))
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let soa = SOA::new(name("ns.example."), name("admin.example."), 1, 1, 1, 1, minimum);
        Record::from_rdata(name("example."), ttl, RData::SOA(soa))
    }

    #[test]
    fn rrsets_age_and_expire() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits::default());
        cache.insert_rrset(vec![a("WWW.example.", 300, 1)], Trust::Answer, t0);
        let later = t0 + Duration::from_secs(100);
        let Some(Lookup::Records(r)) =
            cache.lookup(&name("www.EXAMPLE."), RecordType::A, DNSClass::IN, Trust::Glue, later)
        else {
            panic!("cached RRset not found case-insensitively");
        };
        assert_eq!(r.records[0].ttl, 200);
        assert_eq!(
            cache.lookup(
                &name("www.example."),
                RecordType::A,
                DNSClass::IN,
                Trust::Glue,
                t0 + Duration::from_secs(300)
            ),
            None
        );
    }

    #[test]
    fn ttls_are_capped_in_the_records_too() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits {
            ttl: TtlPolicy { max_ttl: 60, ..TtlPolicy::default() },
            ..CacheLimits::default()
        });
        cache.insert_rrset(vec![a("www.example.", 604_800, 1)], Trust::Answer, t0);
        let Some(Lookup::Records(r)) =
            cache.lookup(&name("www.example."), RecordType::A, DNSClass::IN, Trust::Glue, t0)
        else {
            panic!("cached");
        };
        assert_eq!(r.records[0].ttl, 60);
    }

    #[test]
    fn glue_does_not_overwrite_answers_but_answers_overwrite_glue() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits::default());
        cache.insert_rrset(vec![a("ns.example.", 300, 1)], Trust::Answer, t0);
        cache.insert_rrset(vec![a("ns.example.", 300, 66)], Trust::Glue, t0);
        let lookup = cache.lookup(&name("ns.example."), RecordType::A, DNSClass::IN, Trust::Glue, t0);
        assert_eq!(lookup, Some(Lookup::Records(Found::unchecked(vec![a("ns.example.", 300, 1)], Vec::new()))));
        let mut cache = Cache::new(CacheLimits::default());
        cache.insert_rrset(vec![a("ns.example.", 300, 66)], Trust::Glue, t0);
        cache.insert_rrset(vec![a("ns.example.", 300, 1)], Trust::Answer, t0);
        assert_eq!(cache.trust(&name("ns.example."), RecordType::A, DNSClass::IN, t0), Some(Trust::Answer));
    }

    #[test]
    fn negative_answers_live_by_the_soa_and_the_cap() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits::default());
        cache.insert_negative(&name("nx.example."), None, DNSClass::IN, vec![soa(3600, 60)], t0);
        cache.insert_negative(&name("www.example."), Some(RecordType::MX), DNSClass::IN, vec![soa(30, 600)], t0);
        let at = |s| t0 + Duration::from_secs(s);
        assert!(matches!(
            cache.lookup(&name("nx.example."), RecordType::AAAA, DNSClass::IN, Trust::Glue, at(59)),
            Some(Lookup::NxDomain(_))
        ));
        assert_eq!(cache.lookup(&name("nx.example."), RecordType::A, DNSClass::IN, Trust::Glue, at(60)), None);
        assert!(matches!(
            cache.lookup(&name("www.example."), RecordType::MX, DNSClass::IN, Trust::Glue, at(29)),
            Some(Lookup::NoData(_))
        ));
        assert_eq!(cache.lookup(&name("www.example."), RecordType::A, DNSClass::IN, Trust::Glue, at(1)), None);
        let mut capped = Cache::new(CacheLimits {
            ttl: TtlPolicy { max_negative_ttl: 5, ..TtlPolicy::default() },
            ..CacheLimits::default()
        });
        capped.insert_negative(&name("nx.example."), None, DNSClass::IN, vec![soa(3600, 3600)], t0);
        assert_eq!(capped.lookup(&name("nx.example."), RecordType::A, DNSClass::IN, Trust::Glue, at(5)), None);
    }

    #[test]
    fn a_full_cache_drops_negative_answers_first() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits { capacity: 10, ..CacheLimits::default() });
        for i in 0..5 {
            cache.insert_rrset(vec![a(&format!("h{i}.example."), 300, i)], Trust::Answer, t0);
        }
        for i in 0..20 {
            cache.insert_negative(&name(&format!("nx{i}.example.")), None, DNSClass::IN, vec![soa(600, 600)], t0);
        }
        assert!(cache.len() <= 10, "{} entries", cache.len());
        for i in 0..5 {
            assert!(
                cache.lookup(&name(&format!("h{i}.example.")), RecordType::A, DNSClass::IN, Trust::Glue, t0).is_some()
            );
        }
    }

    #[test]
    fn a_full_cache_is_swept_down_to_seven_eighths_not_one_entry_at_a_time() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits { capacity: 80, ..CacheLimits::default() });
        for i in 0..80 {
            let ttl = 600 + i;
            cache.insert_negative(&name(&format!("nx{i}.example.")), None, DNSClass::IN, vec![soa(ttl, ttl)], t0);
        }
        assert_eq!(cache.len(), 80);
        cache.insert_negative(&name("one-more.example."), None, DNSClass::IN, vec![soa(900, 900)], t0);
        // 10 swept (the closest to expiry), then the new one stored.
        assert_eq!(cache.len(), 71);
        assert_eq!(cache.lookup(&name("nx9.example."), RecordType::A, DNSClass::IN, Trust::Glue, t0), None);
        assert!(cache.lookup(&name("nx10.example."), RecordType::A, DNSClass::IN, Trust::Glue, t0).is_some());
        // The next inserts find room without another sweep.
        for i in 0..9 {
            cache.insert_negative(&name(&format!("more{i}.example.")), None, DNSClass::IN, vec![soa(900, 900)], t0);
        }
        assert_eq!(cache.len(), 80);
    }

    #[test]
    fn the_cache_stays_within_its_bytes_and_counts_them_right() {
        use hickory_proto::rr::rdata::TXT;
        let t0 = Instant::now();
        let limits = CacheLimits { max_bytes: 64 << 10, ..CacheLimits::default() };
        let mut cache = Cache::new(limits);
        let big = |i: u32| {
            let text = vec!["x".repeat(250); 8];
            Record::from_rdata(name(&format!("big{i}.example.")), 300 + i, RData::TXT(TXT::new(text)))
        };
        for i in 0..200 {
            cache.insert_rrset(vec![big(i)], Trust::Answer, t0);
            cache.insert_negative(&name(&format!("nx{i}.example.")), None, DNSClass::IN, vec![soa(600, 600)], t0);
            assert!(cache.bytes() <= limits.max_bytes + 4096, "{} bytes after {i}", cache.bytes());
            let counted = cache.bytes();
            cache.recount();
            assert_eq!(counted, cache.bytes(), "the running count agrees with a recount");
        }
        assert!(cache.len() < 200, "entries went to keep the bytes: {}", cache.len());
        cache.insert_rrset(vec![big(1000)], Trust::Answer, t0);
        cache.insert_rrset(vec![big(1000)], Trust::Answer, t0);
        let counted = cache.bytes();
        cache.purge_where(|n| *n == name("big1000.example."));
        assert!(cache.bytes() < counted);
        let after_purge = cache.bytes();
        cache.recount();
        assert_eq!(after_purge, cache.bytes());
    }

    #[test]
    fn a_full_cache_has_room_for_its_churn_from_the_first_sweep() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits { capacity: 1000, ..CacheLimits::default() });
        for i in 0..1001 {
            cache.insert_rrset(vec![a(&format!("h{i}.example."), 300 + i, 1)], Trust::Answer, t0);
        }
        let room = cache.rrsets.capacity();
        assert!(room >= 2 * cache.rrsets.len(), "{room} for {} entries", cache.rrsets.len());
        for i in 1001..20_000 {
            cache.insert_rrset(vec![a(&format!("h{i}.example."), 300 + i, 1)], Trust::Answer, t0);
        }
        // capacity() counts tombstones against the room left, so it may dip
        // below `room` under churn; it must never grow past it.
        let after = cache.rrsets.capacity();
        assert!(after <= room, "the churn of 19,000 more inserts grew the table: {room} -> {after}");
    }

    #[test]
    fn verdicts_are_kept_with_the_data_they_judged() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits::default());
        let www = name("www.example.");
        let entry = (&www, RecordType::A, Kind::Records);
        let judged = Found::unchecked(vec![a("www.example.", 3600, 1)], Vec::new());
        let verdict = |security, until| Verdict { security, until };
        let lookup = |cache: &Cache, at| cache.lookup(&www, RecordType::A, DNSClass::IN, Trust::Answer, at);
        cache.insert_rrset(judged.records.clone(), Trust::Answer, t0);
        let other = Found::unchecked(vec![a("www.example.", 3600, 2)], Vec::new());
        cache.mark(entry, DNSClass::IN, &other, verdict(Security::Secure, None), t0);
        assert!(
            matches!(lookup(&cache, t0), Some(Lookup::Records(f)) if f.security == Security::Unchecked),
            "other data"
        );
        let until = t0 + Duration::from_secs(100);
        cache.mark(entry, DNSClass::IN, &judged, verdict(Security::Secure, Some(until)), t0);
        assert!(matches!(lookup(&cache, t0), Some(Lookup::Records(f)) if f.security == Security::Secure));
        assert_eq!(lookup(&cache, until), None, "not past the signatures, whatever the TTL");
        cache.insert_rrset(judged.records.clone(), Trust::Answer, t0);
        let bogus = Security::Bogus(crate::dnssec::Bogus::BadSignature);
        cache.mark(entry, DNSClass::IN, &judged, verdict(bogus, None), t0);
        assert!(
            matches!(lookup(&cache, t0 + BOGUS_TTL - Duration::from_secs(1)), Some(Lookup::Records(f)) if f.security == bogus)
        );
        assert_eq!(lookup(&cache, t0 + BOGUS_TTL), None, "a bogus verdict lives BOGUS_TTL");
    }

    #[test]
    fn purge_forgets_every_type_of_the_names_doomed() {
        let t0 = Instant::now();
        let mut cache = Cache::new(CacheLimits::default());
        cache.insert_rrset(vec![a("www.example.", 300, 1)], Trust::Answer, t0);
        cache.insert_rrset(vec![a("www.other.", 300, 2)], Trust::Answer, t0);
        cache.insert_negative(&name("www.example."), Some(RecordType::MX), DNSClass::IN, vec![soa(300, 300)], t0);
        cache.insert_negative(&name("x.www.example."), None, DNSClass::IN, vec![soa(300, 300)], t0);
        let zone = name("example.");
        assert_eq!(cache.purge_where(|n| zone.zone_of(n)), 3, "the zone's names, every kind of entry");
        assert_eq!(cache.len(), 1, "the other zone's name is kept");
        assert_eq!(cache.purge_where(|n| zone.zone_of(n)), 0);
    }
}
