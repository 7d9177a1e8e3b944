//! RRSIG verification (RFC 4035 5.3) and the trust of a zone's DNSKEY
//! RRset (5.2), with the work bounded: KeyTrap (CVE-2023-50387) makes a
//! validator try every key of a tag against every signature, so the keys
//! tried per signature, the signatures tried per RRset and the crypto
//! operations per client question all have caps.

use hickory_proto::{
    dnssec::{
        PublicKey, Verifier,
        rdata::{DNSKEY, RRSIG},
    },
    rr::{DNSClass, Name, Record},
};

use super::{Bogus, anchors::Anchor, rrsig, validates_algorithm, validates_digest};

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
/// seconds).
pub fn verify_rrset(
    rrset: &[Record],
    sigs: &[Record],
    zone: &Name,
    keys: &[DNSKEY],
    now: u32,
    work: &mut Work,
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
        match verify_one(owner, first.dns_class, rrset, sig, keys, now, work) {
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

fn verify_one(
    owner: &Name,
    class: DNSClass,
    rrset: &[Record],
    sig: &RRSIG,
    keys: &[DNSKEY],
    now: u32,
    work: &mut Work,
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
    let mut tried = false;
    for key in matching.take(MAX_KEYS_PER_SIGNATURE) {
        tried = true;
        work.spend_verification()?;
        if key.verify_rrsig(owner, class, sig, rrset.iter()).is_ok() {
            return Ok(Verified { labels: input.num_labels, expiration });
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
    let mut entry_points = Vec::new();
    for key in keys.iter().filter(|k| k.zone_key() && !k.revoke()) {
        for anchor in &usable {
            if vouches(anchor, zone, key, work)? {
                entry_points.push(key.clone());
                break;
            }
        }
    }
    if entry_points.is_empty() {
        return Err(Bogus::DnskeyMissing);
    }
    verify_rrset(dnskeys, sigs, zone, &entry_points, now, work)?;
    Ok(KeyTrust::Secure(keys))
}

/// Whether `anchor` names `key`: a DS by its digest (tag and algorithm
/// first, so that only a likely match costs a hash), a DNSKEY anchor by
/// equality.
fn vouches(anchor: &Anchor, zone: &Name, key: &DNSKEY, work: &mut Work) -> Result<bool, Bogus> {
    match anchor {
        Anchor::Key(anchored) => Ok(anchored.algorithm() == key.algorithm()
            && anchored.public_key().public_bytes() == key.public_key().public_bytes()),
        Anchor::Ds(ds) => {
            if ds.algorithm() != key.algorithm() || key.calculate_key_tag().map_or(true, |tag| tag != ds.key_tag()) {
                return Ok(false);
            }
            work.spend_hash()?;
            Ok(ds.covers(zone, key).unwrap_or(false))
        }
    }
}

pub fn dnskey(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        hickory_proto::rr::RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::DNSKEY(key)) => Some(key),
        _ => None,
    }
}
