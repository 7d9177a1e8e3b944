//! `[dnssec]`: validation (on unless turned off), its trust anchors and
//! the crypto one client question may cost.

use std::path::PathBuf;

use hickory_proto::rr::Name;
use serde::Deserialize;

use super::error::{ConfigError, invalid, positive};
use crate::dnssec::verify::WorkLimits;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnssecSection {
    /// Validate answers (true if absent). Off, the node never asks for
    /// DNSSEC records and never sets AD: for forward mode behind
    /// validating forwarders the operator trusts.
    pub validation: Option<bool>,
    /// A file of DS or DNSKEY lines to start from; IANA's root KSKs if
    /// absent.
    pub trust_anchor: Option<PathBuf>,
    /// Domains served as insecure whatever their signatures say
    /// (RFC 7646), for a zone known to be broken.
    pub negative_trust_anchors: Option<Vec<String>>,
    /// Signature verifications one client question may cost (64 if
    /// absent).
    pub max_verifications: Option<u32>,
    /// NSEC3 hashes and DS digests one client question may cost (128 if
    /// absent).
    pub max_hashes: Option<u32>,
}

/// `[dnssec]`, checked: None when validation is off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnssecSettings {
    pub trust_anchor: Option<PathBuf>,
    pub negative_trust_anchors: Vec<Name>,
    pub work: WorkLimits,
}

impl DnssecSection {
    pub fn check(self) -> Result<Option<DnssecSettings>, ConfigError> {
        let names = self.negative_trust_anchors.unwrap_or_default();
        let negative_trust_anchors = names
            .iter()
            .map(|n| {
                let name =
                    Name::from_ascii(n).map_err(|e| invalid("dnssec.negative_trust_anchors", format!("`{n}`: {e}")))?;
                Ok(if name.is_fqdn() { name } else { name.append_domain(&Name::root()).expect("the root fits") })
            })
            .collect::<Result<_, ConfigError>>()?;
        let defaults = WorkLimits::default();
        let work = WorkLimits {
            verifications: positive(
                "dnssec.max_verifications",
                self.max_verifications.map(u64::from),
                defaults.verifications.into(),
            )? as u32,
            hashes: positive("dnssec.max_hashes", self.max_hashes.map(u64::from), defaults.hashes.into())? as u32,
        };
        if self.validation == Some(false) {
            if self.trust_anchor.is_some() {
                return Err(invalid("dnssec.trust_anchor", "given with validation = false"));
            }
            return Ok(None);
        }
        Ok(Some(DnssecSettings { trust_anchor: self.trust_anchor, negative_trust_anchors, work }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Option<DnssecSettings>, String> {
        toml::from_str::<DnssecSection>(text).unwrap().check().map_err(|e| e.to_string())
    }

    #[test]
    fn validation_is_on_by_default_with_iana_anchors() {
        let settings = check("").unwrap().expect("validating");
        assert_eq!(settings.trust_anchor, None);
        assert_eq!(settings.work, WorkLimits::default());
    }

    #[test]
    fn settings_and_their_errors() {
        let settings = check(
            "trust_anchor = \"/etc/lab.anchor\"\nnegative_trust_anchors = [\"broken.example\"]\nmax_verifications = 8",
        )
        .unwrap()
        .unwrap();
        assert_eq!(settings.negative_trust_anchors, vec![Name::from_ascii("broken.example.").unwrap()]);
        assert_eq!(settings.work.verifications, 8);
        assert_eq!(check("validation = false").unwrap(), None);
        for (text, error) in [
            ("max_verifications = 0", "dnssec.max_verifications: must be above 0"),
            ("validation = false\ntrust_anchor = \"x\"", "dnssec.trust_anchor: given with validation = false"),
            ("negative_trust_anchors = [\"a..b\"]", "dnssec.negative_trust_anchors: `a..b`"),
        ] {
            let got = check(text).unwrap_err();
            assert!(got.starts_with(error), "{text}: {got}");
        }
    }
}
