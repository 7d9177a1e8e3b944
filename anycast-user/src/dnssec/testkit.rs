//! Signed test data for the validator's unit tests: zone keys made with
//! ring, RRSIGs over RRsets, NSEC and NSEC3 chains over a list of names.

use hickory_proto::{
    dnssec::{
        Algorithm, Nsec3HashAlgorithm, SigningKey, TBS,
        crypto::EcdsaSigningKey,
        rdata::{DNSKEY, DNSSECRData, NSEC, NSEC3, RRSIG, sig::SigInput},
    },
    rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber, rdata::A},
};

pub const NOW: u32 = 1_800_000_000;

pub fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

pub fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(name(owner), 300, RData::A(A::new(192, 0, 2, last)))
}

/// A zone's signing key (a CSK, flags 257).
pub struct ZoneKey {
    key: EcdsaSigningKey,
    pub zone: Name,
    pub dnskey: DNSKEY,
}

impl ZoneKey {
    pub fn new(zone: &str) -> ZoneKey {
        let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).unwrap();
        let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256).unwrap();
        let dnskey = DNSKEY::with_flags(257, key.to_public_key().unwrap());
        ZoneKey { key, zone: name(zone), dnskey }
    }

    /// The DNSKEY RRset of the zone with `keys`.
    pub fn dnskey_rrset(&self, keys: &[&DNSKEY]) -> Vec<Record> {
        keys.iter()
            .map(|k| Record::from_rdata(self.zone.clone(), 3600, RData::DNSSEC(DNSSECRData::DNSKEY((*k).clone()))))
            .collect()
    }

    /// An RRSIG over `rrset` valid around [`NOW`].
    pub fn sign(&self, rrset: &[Record]) -> Record {
        self.sign_with(rrset, NOW - 3600, NOW + 3600, rrset[0].name.num_labels())
    }

    /// An RRSIG over `rrset` with these inception, expiration and labels.
    pub fn sign_with(&self, rrset: &[Record], inception: u32, expiration: u32, labels: u8) -> Record {
        let first = &rrset[0];
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: Algorithm::ECDSAP256SHA256,
            num_labels: labels,
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.dnskey.calculate_key_tag().unwrap(),
            signer_name: self.zone.clone(),
        };
        let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, rrset.iter()).unwrap();
        let sig = self.key.sign(&tbs).unwrap();
        let rrsig = RRSIG::from_sig(input, sig);
        Record::from_rdata(first.name.clone(), first.ttl, RData::DNSSEC(DNSSECRData::RRSIG(rrsig)))
    }
}

/// The NSEC chain of a zone whose names (apex first) have these types.
pub fn nsec_chain(names: &[(&str, &[RecordType])]) -> Vec<Record> {
    let mut sorted: Vec<(Name, Vec<RecordType>)> = names.iter().map(|(n, t)| (name(n), t.to_vec())).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    (0..sorted.len())
        .map(|i| {
            let next = sorted[(i + 1) % sorted.len()].0.clone();
            let mut types = sorted[i].1.clone();
            types.extend([RecordType::RRSIG, RecordType::NSEC]);
            Record::from_rdata(sorted[i].0.clone(), 60, RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(next, types))))
        })
        .collect()
}

/// The NSEC3 chain (SHA-1, `iterations`, no salt) of `zone`'s names;
/// `opt_out` on every span.
pub fn nsec3_chain(zone: &str, names: &[(&str, &[RecordType])], iterations: u16, opt_out: bool) -> Vec<Record> {
    let hash = |n: &str| Nsec3HashAlgorithm::SHA1.hash(&[], &name(n), iterations).unwrap().as_ref().to_vec();
    let mut hashed: Vec<(Vec<u8>, Vec<RecordType>)> = names.iter().map(|(n, t)| (hash(n), t.to_vec())).collect();
    hashed.sort();
    (0..hashed.len())
        .map(|i| {
            let next = hashed[(i + 1) % hashed.len()].0.clone();
            let mut types = hashed[i].1.clone();
            types.push(RecordType::RRSIG);
            let label = data_encoding::BASE32HEX_NOPAD.encode(&hashed[i].0).to_ascii_lowercase();
            let owner = name(&format!("{label}.{zone}"));
            let nsec3 = NSEC3::new(Nsec3HashAlgorithm::SHA1, opt_out, iterations, Vec::new(), next, types);
            Record::from_rdata(owner, 60, RData::DNSSEC(DNSSECRData::NSEC3(nsec3)))
        })
        .collect()
}
