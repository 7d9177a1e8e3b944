//! DNSSEC validation as plain logic (RFC 4033-4035, 5155, 6840): the
//! trust anchors, the verdicts, RRSIG verification with a bounded amount
//! of work, and the NSEC and NSEC3 proofs of denial. What to fetch and
//! when (DNSKEY and DS up the chain of trust) is the resolver's
//! (`resolver::validate`); nothing here does I/O, and time is passed in.
//!
//! The crypto is hickory-proto's (with ring). Algorithms follow RFC 8624:
//! RSA/SHA-256 and SHA-512, ECDSA P-256 and P-384 and Ed25519 are
//! validated; a zone signed only with others (RSA/SHA-1, DSA, Ed448,
//! unknown ones) is treated as unsigned.

pub mod anchors;
pub mod denial;
#[cfg(test)]
pub(crate) mod testkit;
pub mod verify;

use hickory_proto::{
    dnssec::{
        Algorithm, DigestType,
        rdata::{DNSKEY, DNSSECRData, DS, RRSIG},
    },
    rr::{RData, Record, RecordType},
};

/// What validation says of an RRset, a negative answer or a whole answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Not validated (yet, or validation is off).
    Unchecked,
    /// Proven authentic from a trust anchor: AD may be set.
    Secure,
    /// Proven to be outside any signed zone (an unsigned delegation, no
    /// anchor above, a negative trust anchor, or only algorithms this
    /// node does not validate).
    Insecure,
    /// Should be signed and is not, or its signatures or proofs fail.
    Bogus(Bogus),
}

impl Security {
    /// The verdict of an answer made of parts with these verdicts: bogus
    /// if any part is, else insecure if any part is, else secure.
    pub fn and(self, other: Security) -> Security {
        use Security::*;
        match (self, other) {
            (Bogus(b), _) | (_, Bogus(b)) => Bogus(b),
            (Unchecked, _) | (_, Unchecked) => Unchecked,
            (Insecure, _) | (_, Insecure) => Insecure,
            (Secure, Secure) => Secure,
        }
    }
}

/// Why something is bogus, each with its Extended DNS Error (RFC 8914).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Bogus {
    #[error("every signature has expired")]
    SignatureExpired,
    #[error("no signature is valid yet")]
    SignatureNotYetValid,
    #[error("no DNSKEY of the zone matches its DS or trust anchor")]
    DnskeyMissing,
    #[error("the RRset has no signature by its zone")]
    RrsigsMissing,
    #[error("no NSEC or NSEC3 record proves the denial")]
    NsecMissing,
    #[error("no signature verifies")]
    BadSignature,
    #[error("validation ran out of its budget")]
    Budget,
}

impl Bogus {
    /// The EDE INFO-CODE a client is told (RFC 8914 4).
    pub fn ede(self) -> u16 {
        match self {
            Bogus::SignatureExpired => 7,
            Bogus::SignatureNotYetValid => 8,
            Bogus::DnskeyMissing => 9,
            Bogus::RrsigsMissing => 10,
            Bogus::NsecMissing => 12,
            Bogus::BadSignature | Bogus::Budget => 6,
        }
    }

    /// The label it is counted under.
    pub fn name(self) -> &'static str {
        match self {
            Bogus::SignatureExpired => "signature_expired",
            Bogus::SignatureNotYetValid => "signature_not_yet_valid",
            Bogus::DnskeyMissing => "dnskey_missing",
            Bogus::RrsigsMissing => "rrsigs_missing",
            Bogus::NsecMissing => "nsec_missing",
            Bogus::BadSignature => "bad_signature",
            Bogus::Budget => "budget",
        }
    }

    pub const ALL: [Bogus; 7] = [
        Bogus::SignatureExpired,
        Bogus::SignatureNotYetValid,
        Bogus::DnskeyMissing,
        Bogus::RrsigsMissing,
        Bogus::NsecMissing,
        Bogus::BadSignature,
        Bogus::Budget,
    ];
}

/// Whether this node validates signatures of `algorithm` (RFC 8624 3.1:
/// the MUST and RECOMMENDED ones that ring implements). RSA/SHA-1 is left
/// out: SHA-1 signatures can be forged by chosen-prefix collisions, and a
/// zone signed with it is served as unsigned rather than trusted.
pub fn validates_algorithm(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::RSASHA256
            | Algorithm::RSASHA512
            | Algorithm::ECDSAP256SHA256
            | Algorithm::ECDSAP384SHA384
            | Algorithm::ED25519
    )
}

/// Whether DS records of `digest` are used (RFC 8624 3.3: SHA-256 and
/// SHA-384; SHA-1 only where a DS set offers nothing better).
pub fn validates_digest(digest: DigestType) -> bool {
    matches!(digest, DigestType::SHA1 | DigestType::SHA256 | DigestType::SHA384)
}

/// Records only a DO client is sent (RFC 4035 3.2.1), unless asked for
/// by type.
pub fn is_dnssec_record(record: &Record) -> bool {
    matches!(record.record_type(), RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3)
}

/// The RRSIG of `record`, if it is one.
pub fn rrsig(record: &Record) -> Option<&RRSIG> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig),
        _ => None,
    }
}

/// The DS of `record`, if it is one.
pub fn ds(record: &Record) -> Option<&DS> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds),
        _ => None,
    }
}

/// The DNSKEY of `record`, if it is one.
pub fn dnskey(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key),
        _ => None,
    }
}

/// The type an RRSIG covers, or the record's own type: what RRset a
/// record belongs to in a section.
pub fn covered_type(record: &Record) -> RecordType {
    rrsig(record).map_or(record.record_type(), |sig| sig.input().type_covered)
}
