//! `[policy]`, `[[local_zone]]`, `[[local_data]]` and `[[blocklist]]`:
//! what the node answers itself (see [`crate::policy::local`]). The
//! records and names are checked here; the blocklist files are read when
//! the policy is loaded, at start and on every reload.

use std::{collections::HashSet, path::PathBuf};

use serde::Deserialize;

use super::error::{ConfigError, domain_name, invalid};
use crate::{
    answer_entry::RrsetOrder,
    policy::local::{ListFormat, ListSource, LocalSettings, records, zones::ZoneType},
};

/// A hosts file's answers live this long unless `ttl` says otherwise.
const DEFAULT_HOSTS_TTL: u32 = 3600;
/// Local data without a TTL of its own has Unbound's default.
const DEFAULT_DATA_TTL: u32 = 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// The RFC 6761 / RFC 6303 zones answered locally (true if absent).
    pub default_zones: Option<bool>,
    /// How answers order their last A or AAAA RRset: "fixed" (if
    /// absent), "rotate" or "random".
    pub rrset_order: Option<RrsetOrder>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalZoneSection {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ZoneType,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalDataSection {
    /// One record in zone-file form: `www.corp.example. 300 IN A 10.0.0.1`.
    pub record: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocklistSection {
    pub name: String,
    pub file: PathBuf,
    pub format: ListFormat,
    /// The RPZ's zone name, when the file has no `$ORIGIN`.
    pub origin: Option<String>,
    /// Seconds a hosts file's answers live (3600 if absent).
    pub ttl: Option<u32>,
}

/// The sections, checked together.
pub fn check(
    policy: PolicySection,
    zones: Vec<LocalZoneSection>,
    data: Vec<LocalDataSection>,
    lists: Vec<BlocklistSection>,
) -> Result<LocalSettings, ConfigError> {
    let zones = zones
        .into_iter()
        .enumerate()
        .map(|(i, zone)| Ok((domain_name(&format!("local_zone[{i}].name"), &zone.name)?, zone.kind)))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let mut apexes = HashSet::new();
    if let Some((i, _)) = zones.iter().enumerate().find(|(_, (apex, _))| !apexes.insert(apex.to_lowercase())) {
        return Err(invalid(format!("local_zone[{i}].name"), format!("{} is given twice", zones[i].0)));
    }
    let mut records_given = Vec::new();
    for (i, entry) in data.iter().enumerate() {
        let key = format!("local_data[{i}].record");
        let mut parsed = records(&entry.record, DEFAULT_DATA_TTL).map_err(|e| invalid(&key, e.to_string()))?;
        if parsed.len() != 1 {
            return Err(invalid(key, format!("holds {} records; give one per [[local_data]]", parsed.len())));
        }
        records_given.push(parsed.remove(0));
    }
    let mut names = HashSet::new();
    let lists = lists
        .into_iter()
        .enumerate()
        .map(|(i, list)| {
            let key = |field: &str| format!("blocklist[{i}].{field}");
            if list.name.is_empty() || !names.insert(list.name.clone()) {
                return Err(invalid(key("name"), "must be given, and once"));
            }
            if list.format == ListFormat::Rpz && list.ttl.is_some() {
                return Err(invalid(key("ttl"), "is for hosts files; an RPZ's records carry their own"));
            }
            if list.format == ListFormat::Hosts && list.origin.is_some() {
                return Err(invalid(key("origin"), "is for RPZ files"));
            }
            let origin = list.origin.as_deref().map(|o| domain_name(&key("origin"), o)).transpose()?;
            let ttl = list.ttl.unwrap_or(DEFAULT_HOSTS_TTL);
            Ok(ListSource { name: list.name, path: list.file, format: list.format, origin, ttl })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    Ok(LocalSettings { default_zones: policy.default_zones.unwrap_or(true), zones, data: records_given, lists })
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Name;

    use super::*;

    fn parse(text: &str) -> Result<LocalSettings, ConfigError> {
        #[derive(Deserialize)]
        struct Sections {
            #[serde(default)]
            policy: PolicySection,
            #[serde(default)]
            local_zone: Vec<LocalZoneSection>,
            #[serde(default)]
            local_data: Vec<LocalDataSection>,
            #[serde(default)]
            blocklist: Vec<BlocklistSection>,
        }
        let s: Sections = toml::from_str(text).map_err(|e| invalid("toml", e.to_string()))?;
        check(s.policy, s.local_zone, s.local_data, s.blocklist)
    }

    #[test]
    fn zones_data_and_lists_are_checked_with_their_keys() {
        let good = parse(
            "[policy]\ndefault_zones = false\n\
             [[local_zone]]\nname = \"corp.example\"\ntype = \"static\"\n\
             [[local_data]]\nrecord = \"www.corp.example. A 10.0.0.1\"\n\
             [[blocklist]]\nname = \"ads\"\nfile = \"/etc/anycastd/ads.hosts\"\nformat = \"hosts\"\nttl = 60\n",
        )
        .unwrap();
        assert!(!good.default_zones);
        assert_eq!(good.zones, vec![(Name::from_ascii("corp.example.").unwrap(), ZoneType::Static)]);
        assert_eq!((good.data[0].ttl, good.lists[0].ttl), (3600, 60));
        let cases = [
            ("[[local_zone]]\nname = \"a..b\"\ntype = \"static\"\n", "local_zone[0].name:"),
            (
                "[[local_zone]]\nname = \"a\"\ntype = \"static\"\n[[local_zone]]\nname = \"A.\"\ntype = \"deny\"\n",
                "local_zone[1].name: A. is given twice",
            ),
            ("[[local_data]]\nrecord = \"www.example. A 300.1.1.1\"\n", "local_data[0].record:"),
            ("[[local_data]]\nrecord = \"a. A 1.1.1.1\\nb. A 1.1.1.2\"\n", "local_data[0].record: holds 2 records"),
            ("[[blocklist]]\nname = \"x\"\nfile = \"/x\"\nformat = \"rpz\"\nttl = 5\n", "blocklist[0].ttl:"),
            (
                "[[blocklist]]\nname = \"x\"\nfile = \"/x\"\nformat = \"hosts\"\norigin = \"rpz.\"\n",
                "blocklist[0].origin:",
            ),
            (
                "[[blocklist]]\nname = \"x\"\nfile = \"/x\"\nformat = \"rpz\"\n[[blocklist]]\nname = \"x\"\nfile = \"/y\"\nformat = \"rpz\"\n",
                "blocklist[1].name:",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
        let err = parse("[[local_zone]]\nname = \"a.\"\ntype = \"nxdomainish\"\n").unwrap_err().to_string();
        assert!(err.contains("unknown variant"), "{err}");
    }
}
