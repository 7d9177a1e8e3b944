//! The one TTL policy of the node, applied to everything the resolver
//! returns and caches, and so to what both paths send (the fast path is
//! fed the resolver's answers): TTLs capped at `max_ttl`; a negative
//! answer's SOA carries min(its TTL, its MINIMUM) (RFC 2308 3, 5), capped
//! at `max_negative_ttl`; a TTL with the top bit set counts as 0 (RFC 2181
//! 8), so it is served once and never cached.

use hickory_proto::rr::{RData, Record};

/// TTLs at or above this are 0 (RFC 2181 8).
const TOP_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlPolicy {
    /// Seconds at most for positive data (like Unbound's cache-max-ttl).
    pub max_ttl: u32,
    /// Seconds at most for negative answers, however long the SOA allows
    /// (a flood of random names must not fill the cache for a day).
    pub max_negative_ttl: u32,
}

impl Default for TtlPolicy {
    fn default() -> Self {
        TtlPolicy { max_ttl: 86_400, max_negative_ttl: 900 }
    }
}

/// RFC 2181 8: a TTL with the top bit set is 0.
fn sane(ttl: u32) -> u32 {
    if ttl >= TOP_BIT { 0 } else { ttl }
}

impl TtlPolicy {
    /// The TTL positive data is served and cached with.
    pub fn positive(self, ttl: u32) -> u32 {
        sane(ttl).min(self.max_ttl)
    }

    /// `records` with their TTLs under the policy.
    pub fn apply(self, mut records: Vec<Record>) -> Vec<Record> {
        for record in &mut records {
            record.ttl = self.positive(record.ttl);
        }
        records
    }

    /// The SOA of a negative answer, its TTL the answer's lifetime.
    pub fn negative(self, mut soa: Record) -> Record {
        let minimum = match &soa.data {
            RData::SOA(data) => sane(data.minimum),
            _ => 0,
        };
        soa.ttl = sane(soa.ttl).min(minimum).min(self.max_negative_ttl);
        soa
    }

    /// A negative answer's authority records (the SOA first, then its
    /// RRSIGs and the denial records), none living longer than the SOA:
    /// a proof must not outlast what it proves.
    pub fn negative_authority(self, authority: Vec<Record>) -> Vec<Record> {
        let mut records = authority.into_iter();
        let Some(soa) = records.next().map(|soa| self.negative(soa)) else { return Vec::new() };
        let ttl = soa.ttl;
        let rest = records.map(|mut r| {
            r.ttl = sane(r.ttl).min(ttl);
            r
        });
        std::iter::once(soa).chain(rest).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::{Name, rdata::SOA};

    use super::*;

    fn soa(ttl: u32, minimum: u32) -> Record {
        let name = |s| Name::from_str(s).unwrap();
        let data = SOA::new(name("ns.example."), name("admin.example."), 1, 1, 1, 1, minimum);
        Record::from_rdata(name("example."), ttl, RData::SOA(data))
    }

    #[test]
    fn caps_the_top_bit_and_the_negative_rules() {
        let policy = TtlPolicy { max_ttl: 3600, max_negative_ttl: 300 };
        let cases = [(60, 60), (3600, 3600), (604_800, 3600), (TOP_BIT - 1, 3600), (TOP_BIT, 0), (u32::MAX, 0)];
        for (ttl, served) in cases {
            assert_eq!(policy.positive(ttl), served, "TTL {ttl}");
        }
        let negatives =
            [((3600, 60), 60), ((30, 600), 30), ((86_400, 86_400), 300), ((TOP_BIT, 60), 0), ((60, TOP_BIT), 0)];
        for ((ttl, minimum), served) in negatives {
            assert_eq!(policy.negative(soa(ttl, minimum)).ttl, served, "SOA TTL {ttl}, MINIMUM {minimum}");
        }
    }
}
