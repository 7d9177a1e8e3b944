//! Proofs of denial: what the (already verified) NSEC or NSEC3 records of
//! a negative answer prove about (name, type), per RFC 4035 5.4 and
//! RFC 5155 8, and the proof that a wildcard-expanded answer's own name
//! does not exist (RFC 4035 5.3.4, RFC 5155 8.8).
//!
//! NSEC3 with more than 150 iterations is treated as unsigned (RFC 9276
//! 3.2): such a zone cannot make a validator do unbounded hashing, and
//! every hash counts against the question's work.

use std::cmp::Ordering;

use hickory_proto::{
    dnssec::{
        Nsec3HashAlgorithm,
        rdata::{DNSSECRData, NSEC, NSEC3},
    },
    rr::{Name, RData, Record, RecordType, RecordTypeSet},
};

use super::{Bogus, verify::Work};

/// NSEC3 iterations above which a zone is served as unsigned (RFC 9276).
pub const MAX_NSEC3_ITERATIONS: u16 = 150;

/// What a proof shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The name does not exist.
    NxDomain,
    /// The name exists without the type; for DS, at a name that is not a
    /// delegation.
    NoData,
    /// DS: the name is a delegation without DS: the child zone is
    /// unsigned.
    Unsigned,
    /// Only NSEC3 this node does not hash (over 150 iterations, an unknown
    /// algorithm), or an opt-out span that may hide an unsigned
    /// delegation: the answer is insecure, not bogus.
    Insecure,
}

/// Proves that `qname` does not exist, from `records` of `zone`.
pub fn nxdomain(qname: &Name, zone: &Name, records: &[Record], work: &mut Work) -> Result<Denial, Bogus> {
    let nsecs = nsecs(records, zone);
    if !nsecs.is_empty() {
        let covering = nsec_covering(&nsecs, qname).ok_or(Bogus::NsecMissing)?;
        let wildcard = wildcard_at(&closest_encloser_nsec(qname, covering, zone));
        let wildcard_exists = nsecs.iter().any(|(owner, _)| **owner == wildcard);
        if wildcard_exists || nsec_covering(&nsecs, &wildcard).is_none() {
            return Err(Bogus::NsecMissing);
        }
        return Ok(Denial::NxDomain);
    }
    let Some(chain) = Nsec3Chain::of(records, zone)? else { return Ok(Denial::Insecure) };
    let proof = chain.closest_encloser(qname, work)?;
    if chain.covering(&chain.hash(&wildcard_at(&proof.encloser), work)?).is_none() {
        return Err(Bogus::NsecMissing);
    }
    Ok(if proof.opt_out { Denial::Insecure } else { Denial::NxDomain })
}

/// Proves that `qname` has no `qtype`, from `records` of `zone`.
pub fn nodata(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    records: &[Record],
    work: &mut Work,
) -> Result<Denial, Bogus> {
    let nsecs = nsecs(records, zone);
    if !nsecs.is_empty() {
        return nsec_nodata(&nsecs, qname, qtype, zone);
    }
    let Some(chain) = Nsec3Chain::of(records, zone)? else { return Ok(Denial::Insecure) };
    if let Some(types) = chain.matching(&chain.hash(qname, work)?) {
        return at_name(types, qtype);
    }
    let proof = chain.closest_encloser(qname, work)?;
    if qtype == RecordType::DS && proof.opt_out {
        // An opt-out span may hide an unsigned delegation: the child is
        // unsigned, and the NODATA itself is not proven (RFC 5155 9.2).
        return Ok(Denial::Insecure);
    }
    // A wildcard NODATA: the wildcard at the closest encloser exists
    // without the type.
    match chain.matching(&chain.hash(&wildcard_at(&proof.encloser), work)?) {
        Some(types) => at_name(types, qtype),
        None => Err(Bogus::NsecMissing),
    }
}

/// Proves that the name of an RRset signed with `labels` labels (fewer
/// than its own: expanded from a wildcard) does not exist itself.
pub fn wildcard_expansion(
    qname: &Name,
    labels: u8,
    zone: &Name,
    records: &[Record],
    work: &mut Work,
) -> Result<Denial, Bogus> {
    let nsecs = nsecs(records, zone);
    if !nsecs.is_empty() {
        return nsec_covering(&nsecs, qname).map(|_| Denial::NxDomain).ok_or(Bogus::NsecMissing);
    }
    let Some(chain) = Nsec3Chain::of(records, zone)? else { return Ok(Denial::Insecure) };
    let next_closer = qname.trim_to(labels as usize + 1);
    match chain.covering(&chain.hash(&next_closer, work)?) {
        Some(_) => Ok(Denial::NxDomain),
        None => Err(Bogus::NsecMissing),
    }
}

/// What the types at an existing name say of `qtype` (for NSEC and NSEC3
/// alike).
fn at_name(types: &RecordTypeSet, qtype: RecordType) -> Result<Denial, Bogus> {
    if types.contains(qtype) || types.contains(RecordType::CNAME) {
        return Err(Bogus::NsecMissing);
    }
    let delegation = types.contains(RecordType::NS) && !types.contains(RecordType::SOA);
    match qtype {
        // The child's apex record says nothing of the parent's DS.
        RecordType::DS if types.contains(RecordType::SOA) => Err(Bogus::NsecMissing),
        RecordType::DS if delegation => Ok(Denial::Unsigned),
        RecordType::DS => Ok(Denial::NoData),
        // The parent's record of a delegation says nothing of the child's
        // data (RFC 6840 4.1).
        _ if delegation => Err(Bogus::NsecMissing),
        _ => Ok(Denial::NoData),
    }
}

/// `*.name`.
fn wildcard_at(name: &Name) -> Name {
    name.prepend_label("*").expect("a wildcard label fits below any encloser")
}

// ---- NSEC (RFC 4035) ----

fn nsecs<'a>(records: &'a [Record], zone: &Name) -> Vec<(&'a Name, &'a NSEC)> {
    records
        .iter()
        .filter(|r| zone.zone_of(&r.name))
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((&r.name, nsec)),
            _ => None,
        })
        .collect()
}

/// The NSEC whose span holds `name`, if one does and may say so: one at a
/// delegation above the name (NS without SOA, or DNAME) is the parent's
/// and proves nothing below the cut.
fn nsec_covering<'a>(nsecs: &[(&'a Name, &'a NSEC)], name: &Name) -> Option<(&'a Name, &'a NSEC)> {
    nsecs.iter().copied().find(|(owner, nsec)| {
        let types = nsec.type_set();
        let cut_above = owner.zone_of(name)
            && ((types.contains(RecordType::NS) && !types.contains(RecordType::SOA))
                || types.contains(RecordType::DNAME));
        !cut_above && spans(owner, nsec.next_domain_name(), name)
    })
}

/// Whether `name` falls strictly between `owner` and `next` in canonical
/// order; the last NSEC of a zone points back at the apex.
fn spans(owner: &Name, next: &Name, name: &Name) -> bool {
    match owner.cmp(next) {
        Ordering::Less => owner < name && name < next,
        _ => name > owner,
    }
}

/// The closest encloser a covering NSEC implies: the longer of the names
/// its owner and its next name share with `qname` (RFC 4035 5.4), never
/// above the zone.
fn closest_encloser_nsec(qname: &Name, (owner, nsec): (&Name, &NSEC), zone: &Name) -> Name {
    let shared = common_labels(qname, owner).max(common_labels(qname, nsec.next_domain_name()));
    qname.trim_to(shared.max(zone.num_labels() as usize))
}

/// Labels two names share from the root down.
fn common_labels(a: &Name, b: &Name) -> usize {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count()
}

fn nsec_nodata(nsecs: &[(&Name, &NSEC)], qname: &Name, qtype: RecordType, zone: &Name) -> Result<Denial, Bogus> {
    if let Some((_, nsec)) = nsecs.iter().find(|(owner, _)| *owner == qname) {
        return at_name(nsec.type_set(), qtype);
    }
    let covering = nsec_covering(nsecs, qname).ok_or(Bogus::NsecMissing)?;
    // An empty non-terminal: the next name lies below the name asked.
    let next = covering.1.next_domain_name();
    if qname.zone_of(next) && next != qname {
        return Ok(Denial::NoData);
    }
    let wildcard = wildcard_at(&closest_encloser_nsec(qname, covering, zone));
    match nsecs.iter().find(|(owner, _)| **owner == wildcard) {
        Some((_, nsec)) => at_name(nsec.type_set(), qtype),
        None => Err(Bogus::NsecMissing),
    }
}

// ---- NSEC3 (RFC 5155) ----

/// A zone's NSEC3 records that share the parameters of the first one
/// (all do, in a well-formed zone), with their owner hashes decoded.
struct Nsec3Chain<'a> {
    zone: &'a Name,
    salt: &'a [u8],
    iterations: u16,
    records: Vec<(Vec<u8>, &'a NSEC3)>,
}

/// A closest encloser proof (RFC 5155 8.3).
struct EncloserProof {
    encloser: Name,
    /// The span that covers the next closer name is opt-out.
    opt_out: bool,
}

impl<'a> Nsec3Chain<'a> {
    /// The chain in `records`; None if this node does not hash it (more
    /// than [`MAX_NSEC3_ITERATIONS`]); NsecMissing if there is none.
    fn of(records: &'a [Record], zone: &'a Name) -> Result<Option<Nsec3Chain<'a>>, Bogus> {
        let mut found = records.iter().filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) if r.name.base_name() == *zone => Some((&r.name, nsec3)),
            _ => None,
        });
        let Some((_, first)) = found.clone().next() else { return Err(Bogus::NsecMissing) };
        if first.hash_algorithm() != Nsec3HashAlgorithm::SHA1 || first.iterations() > MAX_NSEC3_ITERATIONS {
            return Ok(None);
        }
        let (salt, iterations) = (first.salt(), first.iterations());
        let same = |n: &NSEC3| {
            n.hash_algorithm() == first.hash_algorithm() && n.iterations() == iterations && n.salt() == salt
        };
        let records =
            found.by_ref().filter(|(_, n)| same(n)).filter_map(|(owner, n)| Some((hashed_label(owner)?, n))).collect();
        Ok(Some(Nsec3Chain { zone, salt, iterations, records }))
    }

    fn hash(&self, name: &Name, work: &mut Work) -> Result<Vec<u8>, Bogus> {
        work.spend_hash()?;
        let digest = Nsec3HashAlgorithm::SHA1
            .hash(self.salt, &name.to_lowercase(), self.iterations)
            .map_err(|_| Bogus::NsecMissing)?;
        Ok(digest.as_ref().to_vec())
    }

    fn matching(&self, hash: &[u8]) -> Option<&'a RecordTypeSet> {
        self.records.iter().find(|(owner, _)| owner == hash).map(|(_, n)| n.type_set())
    }

    fn covering(&self, hash: &[u8]) -> Option<&'a NSEC3> {
        self.records
            .iter()
            .find(|(owner, n)| {
                let next = n.next_hashed_owner_name();
                match owner.as_slice().cmp(next) {
                    Ordering::Less => owner.as_slice() < hash && hash < next,
                    _ => hash > owner.as_slice() || hash < next,
                }
            })
            .map(|(_, n)| *n)
    }

    /// The closest encloser of `qname` (an ancestor with a matching
    /// record, not a delegation) and the next closer name's span.
    fn closest_encloser(&self, qname: &Name, work: &mut Work) -> Result<EncloserProof, Bogus> {
        let mut next_closer_hash: Option<Vec<u8>> = None;
        let mut candidate = qname.clone();
        while self.zone.zone_of(&candidate) {
            let hash = self.hash(&candidate, work)?;
            if let Some(types) = self.matching(&hash) {
                let delegation = types.contains(RecordType::NS) && !types.contains(RecordType::SOA);
                if delegation || types.contains(RecordType::DNAME) {
                    return Err(Bogus::NsecMissing);
                }
                let span = next_closer_hash.and_then(|h| self.covering(&h)).ok_or(Bogus::NsecMissing)?;
                return Ok(EncloserProof { encloser: candidate, opt_out: span.opt_out() });
            }
            if candidate == *self.zone {
                break;
            }
            next_closer_hash = Some(hash);
            candidate = candidate.base_name();
        }
        Err(Bogus::NsecMissing)
    }
}

/// The hash an NSEC3 owner name's first label spells in base32hex.
fn hashed_label(owner: &Name) -> Option<Vec<u8>> {
    let label = owner.iter().next()?.to_ascii_uppercase();
    data_encoding::BASE32HEX_NOPAD.decode(&label).ok()
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::RecordType::{A, AAAA, DS, MX, NS, SOA};

    use super::*;
    use crate::dnssec::{
        testkit::{name, nsec_chain, nsec3_chain},
        verify::WorkLimits,
    };

    /// example.: a host, a wildcard below an empty non-terminal, another
    /// empty non-terminal, an unsigned and a signed delegation.
    const ZONE: &[(&str, &[RecordType])] = &[
        ("example.", &[SOA, NS, MX]),
        ("a.example.", &[A]),
        ("*.w.example.", &[A]),
        ("x.y.example.", &[A]),
        ("d.example.", &[NS]),
        ("s.example.", &[NS, DS]),
    ];

    fn work() -> Work {
        Work::new(WorkLimits::default())
    }

    #[test]
    fn nsec_proofs() {
        let chain = nsec_chain(ZONE);
        let zone = name("example.");
        let nx = |q: &str| nxdomain(&name(q), &zone, &chain, &mut work());
        let nd = |q: &str, t| nodata(&name(q), t, &zone, &chain, &mut work());
        assert_eq!(nx("b.example."), Ok(Denial::NxDomain));
        assert_eq!(nx("q.w.example."), Err(Bogus::NsecMissing), "the wildcard *.w.example. exists");
        assert_eq!(nx("z.d.example."), Err(Bogus::NsecMissing), "below a cut the parent proves nothing");
        assert_eq!(nx("a.example."), Err(Bogus::NsecMissing), "the name exists");
        assert_eq!(nd("a.example.", AAAA), Ok(Denial::NoData));
        assert_eq!(nd("a.example.", A), Err(Bogus::NsecMissing), "the type exists");
        assert_eq!(nd("y.example.", A), Ok(Denial::NoData), "an empty non-terminal");
        assert_eq!(nd("q.w.example.", AAAA), Ok(Denial::NoData), "a wildcard NODATA");
        assert_eq!(nd("d.example.", DS), Ok(Denial::Unsigned), "a delegation without DS");
        assert_eq!(nd("s.example.", DS), Err(Bogus::NsecMissing), "the DS exists");
        assert_eq!(nd("d.example.", A), Err(Bogus::NsecMissing), "the parent's NSEC says nothing of the child");
        assert_eq!(nd("a.example.", DS), Ok(Denial::NoData), "no delegation at a.example.");
        let expanded = wildcard_expansion(&name("q.w.example."), 2, &zone, &chain, &mut work());
        assert_eq!(expanded, Ok(Denial::NxDomain));
        let exists = wildcard_expansion(&name("a.example."), 1, &zone, &chain, &mut work());
        assert_eq!(exists, Err(Bogus::NsecMissing), "an expansion over a name that exists");
        assert_eq!(nodata(&name("a.example."), AAAA, &zone, &[], &mut work()), Err(Bogus::NsecMissing));
    }

    #[test]
    fn nsec3_proofs() {
        let chain = nsec3_chain("example.", ZONE, 0, false);
        let zone = name("example.");
        let nx = |q: &str| nxdomain(&name(q), &zone, &chain, &mut work());
        let nd = |q: &str, t| nodata(&name(q), t, &zone, &chain, &mut work());
        assert_eq!(nx("b.example."), Ok(Denial::NxDomain));
        assert_eq!(nx("deep.b.example."), Ok(Denial::NxDomain), "closest encloser two labels up");
        assert_eq!(nx("a.example."), Err(Bogus::NsecMissing), "the name exists");
        assert_eq!(nd("a.example.", AAAA), Ok(Denial::NoData));
        assert_eq!(nd("a.example.", A), Err(Bogus::NsecMissing));
        assert_eq!(nd("d.example.", DS), Ok(Denial::Unsigned));
        assert_eq!(nd("s.example.", DS), Err(Bogus::NsecMissing));
        let expanded = wildcard_expansion(&name("q.w.example."), 2, &zone, &chain, &mut work());
        assert_eq!(expanded, Ok(Denial::NxDomain));
    }

    #[test]
    fn nsec3_opt_out_iterations_and_budget() {
        let zone = name("example.");
        let opt_out = nsec3_chain("example.", ZONE, 0, true);
        let unlisted = nodata(&name("u.example."), DS, &zone, &opt_out, &mut work());
        assert_eq!(unlisted, Ok(Denial::Insecure), "an opt-out span may hide an unsigned delegation");
        let nx = nxdomain(&name("b.example."), &zone, &opt_out, &mut work());
        assert_eq!(nx, Ok(Denial::Insecure), "NXDOMAIN under opt-out is not proven");
        let costly = nsec3_chain("example.", ZONE, MAX_NSEC3_ITERATIONS + 1, false);
        assert_eq!(nxdomain(&name("b.example."), &zone, &costly, &mut work()), Ok(Denial::Insecure), "RFC 9276");
        let chain = nsec3_chain("example.", ZONE, 0, false);
        let mut poor = Work::new(WorkLimits { verifications: 1, hashes: 1 });
        assert_eq!(nxdomain(&name("deep.b.example."), &zone, &chain, &mut poor), Err(Bogus::Budget));
    }
}
