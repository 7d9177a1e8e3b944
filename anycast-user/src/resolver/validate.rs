//! Validation of the resolver's answers (RFC 4035 5): each part of an
//! answer (a CNAME link, the RRset, the negative end) is judged once, its
//! verdict kept in the cache.
//!
//! A signed RRset is verified with the keys of its signer's zone. The
//! trust of a zone comes down from the closest trust anchor: a zone's
//! DNSKEY RRset must be signed by a key its parent's DS RRset names (or
//! an anchor), and the DS RRset must verify under the parent's keys. A DS
//! query whose answer is a proven NODATA at a name that is no delegation
//! says the name is inside its parent's zone; a proven absence of DS at a
//! delegation makes everything below insecure. Unsigned data is judged by
//! the trust of the zone its name is in: insecure, or bogus if that zone
//! is signed.
//!
//! What cannot be fetched (a DNSKEY or DS query that fails) fails the
//! question like any resolution failure; nothing is marked for it.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use hickory_proto::{
    dnssec::rdata::DNSKEY,
    rr::{DNSClass, Name, Record, RecordType},
};

use super::{
    Answer, Budget, Resolver,
    cache::{BOGUS_TTL, Kind, Verdict},
    chain::{Ask, Chain, Part},
    failure::Failure,
    iterate::rrsets,
    upstream::Upstream,
    zones::{MAX_ZONE_TTL, MIN_ZONE_TTL, Trust, Zone},
};
use crate::dnssec::{
    self, Bogus, Security,
    anchors::Anchor,
    denial::{self, Denial},
    verify::{self, KeyTrust, Memo},
};

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

/// Signature times are UNIX seconds (RFC 4034 3.1.5).
fn unix_now() -> u32 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as u32)
}

/// An RRset's records and its RRSIGs, apart.
fn split(records: &[Record]) -> (Vec<Record>, Vec<Record>) {
    records.iter().cloned().partition(|r| r.record_type() != RecordType::RRSIG)
}

/// The zone that signed the `rtype` RRset at `owner`, by its RRSIGs: one
/// at or above the owner.
fn signer(sigs: &[Record], owner: &Name, rtype: RecordType) -> Option<Name> {
    sigs.iter().filter_map(dnssec::rrsig).map(|sig| sig.input()).find_map(|input| {
        (input.type_covered == rtype && input.signer_name.zone_of(owner)).then(|| input.signer_name.to_lowercase())
    })
}

/// The time something judged from `records` may be believed.
fn lifetime(records: &[Record], now: Instant) -> Instant {
    let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
    now + Duration::from_secs(ttl.into()).clamp(MIN_ZONE_TTL, MAX_ZONE_TTL)
}

impl<U: Upstream> Resolver<U> {
    /// The answer `chain` makes, each part judged (when validation is on
    /// and the part was not judged before) and its verdict kept.
    pub(super) async fn validate(
        &self,
        mut chain: Chain,
        class: DNSClass,
        budget: &mut Budget,
    ) -> Result<Answer, Failure> {
        if self.validation.is_none() {
            return Ok(Answer::from_chain(chain, false));
        }
        for part in chain.parts.iter_mut().filter(|p| p.found.security == Security::Unchecked) {
            let before = budget.work;
            let (verdict, expiration) = self.judge(part, class, budget).await?;
            self.stats.verified(budget.work.spent_since(before));
            self.stats.verdict(verdict);
            part.found.security = verdict;
            let now = Instant::now();
            let judged = Verdict {
                security: verdict,
                // Secure data is not believed past its signatures.
                until: expiration.map(|e| until(e, now)),
            };
            let entry = (&part.name, part.rtype, part.kind);
            self.cache.lock().expect("cache lock").mark(entry, class, &part.found, judged, now);
            if let Security::Bogus(why) = verdict {
                tracing::debug!(name = %part.name, rtype = %part.rtype, %why, "bogus");
            }
        }
        Ok(Answer::from_chain(chain, false))
    }

    /// The verdict on `part`, and for a secure one when the first
    /// signature it rests on expires (UNIX seconds).
    async fn judge(
        &self,
        part: &Part,
        class: DNSClass,
        budget: &mut Budget,
    ) -> Result<(Security, Option<u32>), Failure> {
        let (records, sigs) = match part.kind {
            Kind::Records => split(&part.found.records),
            Kind::NoData | Kind::NxDomain => split(&part.found.authority),
        };
        let signed_type = match part.kind {
            Kind::Records => part.rtype,
            Kind::NoData | Kind::NxDomain => RecordType::SOA,
        };
        let owner = records.first().map_or(&part.name, |r| &r.name);
        let Some(signer) = signer(&sigs, owner, signed_type) else {
            // Unsigned: as trusted as the zone the name is in.
            let zone = self.zone_of(part.name.clone(), class, budget).await?;
            let verdict = match zone.trust {
                Trust::Insecure => Security::Insecure,
                Trust::Secure(_) => Security::Bogus(Bogus::RrsigsMissing),
                Trust::Bogus(why) => Security::Bogus(why),
            };
            return Ok((verdict, None));
        };
        let zone = self.zone_of(signer, class, budget).await?;
        let keys = match &zone.trust {
            Trust::Insecure => return Ok((Security::Insecure, None)),
            Trust::Bogus(why) => return Ok((Security::Bogus(*why), None)),
            Trust::Secure(keys) => keys.clone(),
        };
        let signer = Signer { zone: &zone.apex, keys: &keys, now: unix_now(), memo: &self.memo };
        let work = &mut budget.work;
        let verdict = match part.kind {
            Kind::Records => verify_positive(part, &records, &sigs, &signer, work),
            Kind::NoData | Kind::NxDomain => {
                verify_negative((&part.name, part.rtype, part.kind), &part.found.authority, &signer, work).map(
                    |(denial, expiration)| match (part.kind, denial) {
                        (_, Denial::Insecure) => (Security::Insecure, expiration),
                        (Kind::NxDomain, Denial::NxDomain) | (Kind::NoData, Denial::NoData | Denial::Unsigned) => {
                            (Security::Secure, expiration)
                        }
                        _ => (Security::Bogus(Bogus::NsecMissing), expiration),
                    },
                )
            }
        };
        Ok(match verdict {
            Ok((Security::Secure, expiration)) => (Security::Secure, Some(expiration)),
            Ok((verdict, _)) => (verdict, None),
            Err(why) => (Security::Bogus(why), None),
        })
    }

    /// The zone `name` is in, with its trust, from the closest anchor
    /// down (see the module's comment).
    fn zone_of<'a>(&'a self, name: Name, class: DNSClass, budget: &'a mut Budget) -> Boxed<'a, Zone> {
        Box::pin(async move {
            let validation = self.validation.as_ref().expect("zone_of is only asked when validating");
            let name = name.to_lowercase();
            let now = Instant::now();
            let unsigned =
                |apex: &Name| Zone { apex: apex.clone(), trust: Trust::Insecure, expires: now + MAX_ZONE_TTL };
            if validation.anchors.is_negative(&name) {
                return Ok(unsigned(&name));
            }
            let Some(anchor) = validation.anchors.closest(&name) else { return Ok(unsigned(&Name::root())) };
            if let Some(zone) = self.zones.lock().expect("zones lock").get(&name, now) {
                return Ok(zone);
            }
            let zone = if name == *anchor {
                let anchors: Vec<Anchor> = validation.anchors.of(anchor).cloned().collect();
                self.keys_of(&name, &anchors, now + MAX_ZONE_TTL, class, budget).await?
            } else {
                let parent = self.zone_of(name.base_name(), class, budget).await?;
                match &parent.trust {
                    Trust::Secure(keys) => {
                        let keys = keys.clone();
                        self.below(&name, parent, &keys, class, budget).await?
                    }
                    Trust::Insecure | Trust::Bogus(_) => parent,
                }
            };
            self.zones.lock().expect("zones lock").insert(name, zone.clone(), now);
            Ok(zone)
        })
    }

    /// The zone `name` is in, given that its parent name is in the secure
    /// zone `parent`: the parent's DS RRset for it says.
    async fn below(
        &self,
        name: &Name,
        parent: Zone,
        keys: &[DNSKEY],
        class: DNSClass,
        budget: &mut Budget,
    ) -> Result<Zone, Failure> {
        let chain = self.resolve_name(name.clone(), RecordType::DS, class, budget, 0, Ask::Internal).await?;
        let (Some(end), 1) = (chain.parts.last(), chain.parts.len()) else {
            // A CNAME: no zone starts here (a zone apex has no CNAME).
            return Ok(parent);
        };
        let now = Instant::now();
        let bogus = |why| Zone { apex: name.clone(), trust: Trust::Bogus(why), expires: now + BOGUS_TTL };
        let work = &mut budget.work;
        let signer = Signer { zone: &parent.apex, keys, now: unix_now(), memo: &self.memo };
        if end.kind == Kind::Records {
            let (ds, sigs) = split(&end.found.records);
            let verified = match signer.verify(&ds, &sigs, work) {
                Ok(verified) => verified,
                Err(why) => return Ok(bogus(why)),
            };
            let anchors: Vec<Anchor> = ds.iter().filter_map(dnssec::ds).cloned().map(Anchor::Ds).collect();
            let expires = lifetime(&ds, now).min(parent.expires).min(until(verified.expiration, now));
            return self.keys_of(name, &anchors, expires, class, budget).await;
        }
        let authority = &end.found.authority;
        let expires = lifetime(authority, now).min(parent.expires);
        Ok(match verify_negative((name, RecordType::DS, end.kind), authority, &signer, work) {
            // The name is inside the parent's zone (or does not exist).
            Ok((Denial::NoData | Denial::NxDomain, _)) => parent,
            Ok((Denial::Unsigned | Denial::Insecure, _)) => {
                Zone { apex: name.clone(), trust: Trust::Insecure, expires }
            }
            Err(why) => bogus(why),
        })
    }

    /// The zone `apex` with its DNSKEY RRset checked against `anchors`
    /// (its DS RRset, or trust anchors).
    async fn keys_of(
        &self,
        apex: &Name,
        anchors: &[Anchor],
        expires: Instant,
        class: DNSClass,
        budget: &mut Budget,
    ) -> Result<Zone, Failure> {
        let chain = self.resolve_name(apex.clone(), RecordType::DNSKEY, class, budget, 0, Ask::Internal).await?;
        let now = Instant::now();
        let zone = |trust, expires| Zone { apex: apex.clone(), trust, expires };
        let found = match chain.parts.as_slice() {
            [end] if end.kind == Kind::Records => &end.found,
            _ => return Ok(zone(Trust::Bogus(Bogus::DnskeyMissing), now + BOGUS_TTL)),
        };
        let (keys, sigs) = split(&found.records);
        let expires = lifetime(&keys, now).min(expires);
        Ok(match verify::trust_keys(apex, &keys, &sigs, anchors, unix_now(), &mut budget.work, &self.memo) {
            Ok(KeyTrust::Secure(keys)) => zone(Trust::Secure(Arc::new(keys)), expires),
            Ok(KeyTrust::Insecure) => zone(Trust::Insecure, expires),
            Err(why) => zone(Trust::Bogus(why), now + BOGUS_TTL),
        })
    }
}

/// What a verification checks against: a zone, its keys, the time, and
/// what has verified before.
struct Signer<'a> {
    zone: &'a Name,
    keys: &'a [DNSKEY],
    now: u32,
    memo: &'a Memo,
}

impl Signer<'_> {
    fn verify(&self, rrset: &[Record], sigs: &[Record], work: &mut verify::Work) -> Result<verify::Verified, Bogus> {
        verify::verify_rrset(rrset, sigs, self.zone, self.keys, self.now, work, self.memo)
    }
}

/// A signed RRset, and the proof that the name does not exist when it
/// was expanded from a wildcard.
fn verify_positive(
    part: &Part,
    rrset: &[Record],
    sigs: &[Record],
    signer: &Signer,
    work: &mut verify::Work,
) -> Result<(Security, u32), Bogus> {
    let verified = signer.verify(rrset, sigs, work)?;
    let owner = &rrset[0].name;
    if verified.labels >= owner.num_labels() {
        return Ok((Security::Secure, verified.expiration));
    }
    let (proof, expiration) = verified_denial(&part.found.authority, signer, work)?;
    let expiration = earlier(verified.expiration, expiration, signer.now);
    Ok(match denial::wildcard_expansion(owner, verified.labels, signer.zone, &proof, work)? {
        Denial::Insecure => (Security::Insecure, expiration),
        _ => (Security::Secure, expiration),
    })
}

/// What the authority records of a negative answer prove about (qname,
/// qtype): every RRset in them (the SOA, the NSEC or NSEC3 records) must
/// verify.
fn verify_negative(
    (qname, qtype, kind): (&Name, RecordType, Kind),
    authority: &[Record],
    signer: &Signer,
    work: &mut verify::Work,
) -> Result<(Denial, u32), Bogus> {
    let (proof, expiration) = verified_denial(authority, signer, work)?;
    let denial = match kind {
        Kind::NxDomain => denial::nxdomain(qname, signer.zone, &proof, work),
        _ => denial::nodata(qname, qtype, signer.zone, &proof, work),
    }?;
    Ok((denial, expiration))
}

/// The records of `authority` (without their RRSIGs), every RRset of them
/// verified, and when the first of the signatures expires.
fn verified_denial(
    authority: &[Record],
    signer: &Signer,
    work: &mut verify::Work,
) -> Result<(Vec<Record>, u32), Bogus> {
    let mut proof = Vec::new();
    let mut expiration = signer.now.wrapping_add(i32::MAX as u32);
    for set in rrsets(authority.iter()) {
        let (records, sigs) = split(&set);
        expiration = earlier(expiration, signer.verify(&records, &sigs, work)?.expiration, signer.now);
        proof.extend(records);
    }
    Ok((proof, expiration))
}

/// The earlier of two signature expirations (serial arithmetic from
/// `now`).
fn earlier(a: u32, b: u32, now: u32) -> u32 {
    if a.wrapping_sub(now) <= b.wrapping_sub(now) { a } else { b }
}

/// The instant a signature expiring at `expiration` (UNIX seconds) does.
fn until(expiration: u32, now: Instant) -> Instant {
    now + Duration::from_secs(expiration.wrapping_sub(unix_now()).min(i32::MAX as u32).into())
}
