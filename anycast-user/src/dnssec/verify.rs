//! RRSIG verification (RFC 4035 5.3) and the trust of a zone's DNSKEY
//! RRset (5.2), with the work bounded: KeyTrap (CVE-2023-50387) makes a
//! validator try every key of a tag against every signature, so the keys
//! tried per signature, the signatures tried per RRset and the crypto
//! operations per client question all have caps.

use std::{collections::HashSet, sync::Mutex};

use hickory_proto::{
    dnssec::{
        PublicKey, TBS, Verifier,
        rdata::{DNSKEY, RRSIG},
    },
    rr::{DNSClass, Name, Record},
};

use super::{Bogus, anchors::Anchor, dnskey, rrsig, validates_algorithm, validates_digest};

/// Keys of one tag and algorithm tried for one signature: a legitimate
/// zone rolling keys has two or three at most.
pub const MAX_KEYS_PER_SIGNATURE: usize = 4;
/// Signatures tried for one RRset: one per algorithm and key in a
/// rollover is plenty.
pub const MAX_SIGNATURES_PER_RRSET: usize = 8;

/// What one client question may spend on crypto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkLimits {
    /// Signature verifications (each an RSA or ECDSA operation).
    pub verifications: u32,
    /// NSEC3 hashes and DS digests (each up to 151 SHA-1 rounds: RFC 9276
    /// caps the iterations at 150, see `denial`).
    pub hashes: u32,
}

impl Default for WorkLimits {
    fn default() -> Self {
        WorkLimits { verifications: 64, hashes: 128 }
    }
}

/// What is left of a question's [`WorkLimits`].
#[derive(Clone, Copy, Debug)]
pub struct Work {
    verifications: u32,
    hashes: u32,
}

impl Work {
    pub fn new(limits: WorkLimits) -> Work {
        Work { verifications: limits.verifications, hashes: limits.hashes }
    }

    fn spend_verification(&mut self) -> Result<(), Bogus> {
        self.verifications = self.verifications.checked_sub(1).ok_or(Bogus::Budget)?;
        Ok(())
    }

    pub fn spend_hash(&mut self) -> Result<(), Bogus> {
        self.hashes = self.hashes.checked_sub(1).ok_or(Bogus::Budget)?;
        Ok(())
    }

    /// Verifications spent since `earlier`, what was left then.
    pub fn spent_since(&self, earlier: Work) -> u32 {
        earlier.verifications - self.verifications
    }
}

/// Signatures that verified, each with the key and the data it signs:
/// the same signature over the same data is checked once (a wildcard's
/// signature serves every name it expands to, an NSEC3 span many
/// denials), as a validator's RRset cache would. Bounded: emptied when
/// full.
pub struct Memo {
    verified: Mutex<HashSet<Box<[u8]>>>,
    capacity: usize,
}

impl Memo {
    pub fn new(capacity: usize) -> Memo {
        Memo { verified: Mutex::new(HashSet::new()), capacity }
    }

    /// The key, the signed data and the signature, each with its length,
    /// as one exact key.
    fn entry(key: &[u8], tbs: &[u8], sig: &[u8]) -> Box<[u8]> {
        let mut entry = Vec::with_capacity(12 + key.len() + tbs.len() + sig.len());
        for part in [key, tbs, sig] {
            entry.extend_from_slice(&(part.len() as u32).to_be_bytes());
            entry.extend_from_slice(part);
        }
        entry.into_boxed_slice()
    }

    fn holds(&self, entry: &[u8]) -> bool {
        self.verified.lock().expect("memo lock").contains(entry)
    }

    fn insert(&self, entry: Box<[u8]>) {
        let mut verified = self.verified.lock().expect("memo lock");
        if verified.len() >= self.capacity {
            verified.clear();
        }
        verified.insert(entry);
    }
}

/// A verified RRset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The Labels field of the signature that verified: fewer than the
    /// owner's labels when the RRset was expanded from a wildcard, which
    /// then needs a proof that the name itself does not exist.
    pub labels: u8,
    /// When that signature expires (seconds, serial arithmetic).
    pub expiration: u32,
}

/// Verifies the RRset `rrset` (one owner, type and class) by one of the
/// RRSIGs in `sigs`, made by `zone` with one of `keys`, at `now` (UNIX
/// seconds); what `memo` has seen verify is not verified again.
pub fn verify_rrset(
    rrset: &[Record],
    sigs: &[Record],
    zone: &Name,
    keys: &[DNSKEY],
    now: u32,
    work: &mut Work,
    memo: &Memo,
) -> Result<Verified, Bogus> {
    let Some(first) = rrset.first() else { return Err(Bogus::RrsigsMissing) };
    let (owner, rtype) = (&first.name, first.record_type());
    let candidates = sigs.iter().filter_map(rrsig).filter(|sig| {
        let input = sig.input();
        input.type_covered == rtype
            && input.signer_name == *zone
            && zone.zone_of(owner)
            && input.num_labels <= owner.num_labels()
            && validates_algorithm(input.algorithm)
    });
    let mut failure = Bogus::RrsigsMissing;
    for sig in candidates.take(MAX_SIGNATURES_PER_RRSET) {
        match verify_one(owner, first.dns_class, rrset, sig, keys, now, work, memo) {
            Ok(verified) => return Ok(verified),
            Err(Bogus::Budget) => return Err(Bogus::Budget),
            // A signature that fails verification says more than a
            // missing key or a date.
            Err(why) if failure != Bogus::BadSignature => failure = why,
            Err(_) => {}
        }
    }
    Err(failure)
}

#[allow(clippy::too_many_arguments)]
fn verify_one(
    owner: &Name,
    class: DNSClass,
    rrset: &[Record],
    sig: &RRSIG,
    keys: &[DNSKEY],
    now: u32,
    work: &mut Work,
    memo: &Memo,
) -> Result<Verified, Bogus> {
    let input = sig.input();
    let (inception, expiration) = (input.sig_inception.get(), input.sig_expiration.get());
    // Serial arithmetic (RFC 4034 3.1.5): the fields wrap in 2106.
    if (expiration.wrapping_sub(now) as i32) < 0 {
        return Err(Bogus::SignatureExpired);
    }
    if (now.wrapping_sub(inception) as i32) < 0 {
        return Err(Bogus::SignatureNotYetValid);
    }
    let matching = keys.iter().filter(|key| {
        key.zone_key()
            && !key.revoke()
            && key.algorithm() == input.algorithm
            && key.calculate_key_tag().is_ok_and(|tag| tag == input.key_tag)
    });
    let tbs = TBS::from_input(owner, class, input, rrset.iter()).map_err(|_| Bogus::BadSignature)?;
    let verified = Verified { labels: input.num_labels, expiration };
    let mut tried = false;
    for key in matching.take(MAX_KEYS_PER_SIGNATURE) {
        tried = true;
        let entry = Memo::entry(key.public_key().public_bytes(), tbs.as_ref(), sig.sig());
        if memo.holds(&entry) {
            return Ok(verified);
        }
        work.spend_verification()?;
        if key.verify(tbs.as_ref(), sig.sig()).is_ok() {
            memo.insert(entry);
            return Ok(verified);
        }
    }
    Err(if tried { Bogus::BadSignature } else { Bogus::DnskeyMissing })
}

/// The trust of a zone's DNSKEY RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyTrust {
    /// Signed by a key the anchors (the parent's DS RRset, or configured
    /// anchors) vouch for: these are the zone's keys.
    Secure(Vec<DNSKEY>),
    /// The anchors name only algorithms or digests this node does not
    /// validate (RFC 4035 5.2): the zone is served as unsigned.
    Insecure,
}

/// Checks the DNSKEY RRset `dnskeys` (with its `sigs`) of `zone` against
/// `anchors`.
pub fn trust_keys(
    zone: &Name,
    dnskeys: &[Record],
    sigs: &[Record],
    anchors: &[Anchor],
    now: u32,
    work: &mut Work,
    memo: &Memo,
) -> Result<KeyTrust, Bogus> {
    let usable: Vec<&Anchor> = anchors
        .iter()
        .filter(|anchor| match anchor {
            Anchor::Ds(ds) => validates_algorithm(ds.algorithm()) && validates_digest(ds.digest_type()),
            Anchor::Key(key) => validates_algorithm(key.algorithm()),
        })
        .collect();
    if usable.is_empty() {
        return Ok(KeyTrust::Insecure);
    }
    let keys: Vec<DNSKEY> = dnskeys.iter().filter_map(dnskey).cloned().collect();
    let mut entry_points: Vec<DNSKEY> = Vec::new();
    for anchor in usable {
        // Keys of the anchor's tag and algorithm, a few at most: a zone
        // stuffed with keys of one tag costs a few digests, not one each.
        let candidates = keys.iter().filter(|k| k.zone_key() && !k.revoke() && may_match(anchor, k));
        for key in candidates.take(MAX_KEYS_PER_SIGNATURE) {
            if vouches(anchor, zone, key, work)? {
                if !entry_points.contains(key) {
                    entry_points.push(key.clone());
                }
                break;
            }
        }
    }
    if entry_points.is_empty() {
        return Err(Bogus::DnskeyMissing);
    }
    verify_rrset(dnskeys, sigs, zone, &entry_points, now, work, memo)?;
    Ok(KeyTrust::Secure(keys))
}

/// Whether `key` has the tag and algorithm `anchor` names.
fn may_match(anchor: &Anchor, key: &DNSKEY) -> bool {
    match anchor {
        Anchor::Key(anchored) => anchored.algorithm() == key.algorithm(),
        Anchor::Ds(ds) => {
            ds.algorithm() == key.algorithm() && key.calculate_key_tag().is_ok_and(|tag| tag == ds.key_tag())
        }
    }
}

/// Whether `anchor` names `key` (of its tag and algorithm): a DS by its
/// digest, a DNSKEY anchor by equality.
fn vouches(anchor: &Anchor, zone: &Name, key: &DNSKEY, work: &mut Work) -> Result<bool, Bogus> {
    match anchor {
        Anchor::Key(anchored) => Ok(anchored.public_key().public_bytes() == key.public_key().public_bytes()),
        Anchor::Ds(ds) => {
            work.spend_hash()?;
            Ok(ds.covers(zone, key).unwrap_or(false))
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::{Algorithm, DigestType, rdata::DS};

    use super::*;
    use crate::dnssec::testkit::{NOW, ZoneKey, a};

    fn work() -> Work {
        Work::new(WorkLimits::default())
    }

    #[test]
    fn rrsets_verify_and_what_breaks_them_is_named() {
        let key = ZoneKey::new("example.");
        let rrset = vec![a("www.example.", 1), a("www.example.", 2)];
        let sig = key.sign(&rrset);
        let keys = [key.dnskey.clone()];
        let zone = key.zone.clone();
        let verify = |rrset: &[Record], sigs: &[Record]| {
            verify_rrset(rrset, sigs, &zone, &keys, NOW, &mut work(), &Memo::new(16))
        };
        assert!(verify(&rrset, std::slice::from_ref(&sig)).is_ok(), "a valid RRset");
        let reordered = vec![rrset[1].clone(), rrset[0].clone()];
        assert!(verify(&reordered, std::slice::from_ref(&sig)).is_ok(), "canonical order, not the section's");
        let cases = [
            (
                "a changed record",
                vec![a("www.example.", 1), a("www.example.", 3)],
                vec![sig.clone()],
                Bogus::BadSignature,
            ),
            ("no signature", rrset.clone(), vec![], Bogus::RrsigsMissing),
            ("expired", rrset.clone(), vec![key.sign_with(&rrset, NOW - 7200, NOW - 1, 2)], Bogus::SignatureExpired),
            (
                "not yet valid",
                rrset.clone(),
                vec![key.sign_with(&rrset, NOW + 60, NOW + 7200, 2)],
                Bogus::SignatureNotYetValid,
            ),
            ("another zone's key", rrset.clone(), vec![ZoneKey::new("example.").sign(&rrset)], Bogus::DnskeyMissing),
            (
                "a signer that is not the zone",
                rrset.clone(),
                vec![ZoneKey::new("other.").sign(&rrset)],
                Bogus::RrsigsMissing,
            ),
        ];
        for (what, rrset, sigs, why) in cases {
            assert_eq!(verify(&rrset, &sigs), Err(why), "{what}");
        }
    }

    #[test]
    fn a_signature_verified_once_is_not_verified_again_but_other_data_is() {
        let key = ZoneKey::new("example.");
        let keys = [key.dnskey.clone()];
        let memo = Memo::new(16);
        // Every expansion of *.wild.example. carries the wildcard's signature.
        let signature = key.sign_with(&[a("*.wild.example.", 1)], NOW - 60, NOW + 60, 2);
        let wildcard = |owner: &str| {
            let rrset = vec![a(owner, 1)];
            let mut sig = signature.clone();
            sig.name = rrset[0].name.clone();
            (rrset, sig)
        };
        let mut budget = work();
        for owner in ["one.wild.example.", "two.wild.example.", "three.wild.example."] {
            let (rrset, sig) = wildcard(owner);
            verify_rrset(&rrset, &[sig], &key.zone, &keys, NOW, &mut budget, &memo).unwrap();
        }
        assert_eq!(budget.spent_since(work()), 1, "one verification for three expansions");
        let (mut changed, sig) = wildcard("four.wild.example.");
        changed[0] = a("four.wild.example.", 2);
        let outcome = verify_rrset(&changed, &[sig], &key.zone, &keys, NOW, &mut budget, &memo);
        assert_eq!(outcome, Err(Bogus::BadSignature), "other data under the same signature is checked, and fails");
    }

    #[test]
    fn a_wildcard_expansion_shows_in_the_labels() {
        let key = ZoneKey::new("example.");
        let rrset = vec![a("any.wild.example.", 1)];
        let sig = key.sign_with(&rrset, NOW - 60, NOW + 60, 2);
        let verified = verify_rrset(
            &rrset,
            &[sig],
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &mut work(),
            &Memo::new(16),
        )
        .unwrap();
        assert_eq!(verified.labels, 2, "*.wild.example. has 2 labels, the owner 3");
    }

    #[test]
    fn keytrap_signatures_cost_a_bounded_number_of_verifications() {
        let key = ZoneKey::new("example.");
        let rrset = vec![a("www.example.", 1)];
        // A hundred signatures that all name the zone's key and fail.
        let bad: Vec<Record> = (0..100).map(|_| key.sign(&[a("www.example.", 9)])).collect();
        let bad: Vec<Record> = bad
            .into_iter()
            .map(|mut r| {
                r.name = rrset[0].name.clone();
                r
            })
            .collect();
        let mut budget = work();
        let before = budget;
        assert_eq!(
            verify_rrset(&rrset, &bad, &key.zone, std::slice::from_ref(&key.dnskey), NOW, &mut budget, &Memo::new(16)),
            Err(Bogus::BadSignature)
        );
        assert_eq!(budget.spent_since(before), MAX_SIGNATURES_PER_RRSET as u32, "signatures tried per RRset");
        let mut small = Work::new(WorkLimits { verifications: 20, hashes: 1 });
        let outcomes: Vec<_> = (0..4)
            .map(|_| {
                verify_rrset(
                    &rrset,
                    &bad,
                    &key.zone,
                    std::slice::from_ref(&key.dnskey),
                    NOW,
                    &mut small,
                    &Memo::new(16),
                )
            })
            .collect();
        assert_eq!(outcomes[3], Err(Bogus::Budget), "the question's budget ends it: {outcomes:?}");
    }

    #[test]
    fn a_dnskey_rrset_is_trusted_through_a_matching_ds() {
        let key = ZoneKey::new("example.");
        let rrset = key.dnskey_rrset(&[&key.dnskey]);
        let sigs = vec![key.sign(&rrset)];
        let digest = key.dnskey.to_digest(&key.zone, DigestType::SHA256).unwrap().as_ref().to_vec();
        let ds =
            DS::new(key.dnskey.calculate_key_tag().unwrap(), Algorithm::ECDSAP256SHA256, DigestType::SHA256, digest);
        let trust =
            |anchors: &[Anchor]| trust_keys(&key.zone, &rrset, &sigs, anchors, NOW, &mut work(), &Memo::new(16));
        assert_eq!(trust(&[Anchor::Ds(ds.clone())]), Ok(KeyTrust::Secure(vec![key.dnskey.clone()])));
        assert_eq!(trust(&[Anchor::Key(key.dnskey.clone())]), Ok(KeyTrust::Secure(vec![key.dnskey.clone()])));
        let mut digest = ds.digest().to_vec();
        digest[0] ^= 1;
        let wrong = DS::new(ds.key_tag(), ds.algorithm(), DigestType::SHA256, digest);
        assert_eq!(trust(&[Anchor::Ds(wrong)]), Err(Bogus::DnskeyMissing), "a DS that matches no key");
        let unsupported = DS::new(ds.key_tag(), Algorithm::Unknown(16), DigestType::SHA256, ds.digest().to_vec());
        assert_eq!(trust(&[Anchor::Ds(unsupported)]), Ok(KeyTrust::Insecure), "only algorithms not validated");
        let unsigned = trust_keys(&key.zone, &rrset, &[], &[Anchor::Ds(ds)], NOW, &mut work(), &Memo::new(16));
        assert_eq!(unsigned, Err(Bogus::RrsigsMissing));
    }
}
