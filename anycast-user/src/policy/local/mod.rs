//! What the node answers itself instead of resolving: blocklists
//! ([`blocklist`]: RPZ or hosts files), then local zones and their data
//! ([`zones`], Unbound's zone types), with the RFC 6761 / RFC 6303 zones
//! on by default ([`defaults`]). The resolver asks it about every name it
//! is about to resolve, so that what the policy says is what both paths
//! serve: its answers reach the fast path's map like any other.
//!
//! [`Local`] holds the policy in force and counts its decisions; a reload
//! replaces the policy whole, never in part.

pub mod blocklist;
mod decision;
pub mod defaults;
pub mod zones;

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex, RwLock},
};

use hickory_proto::rr::{Name, Record, RecordType};

pub use self::decision::{Decision, records};
use self::{
    blocklist::{Blocklist, BlocklistError},
    zones::{LocalZones, ZoneError, ZoneType},
};

/// How a blocklist file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListFormat {
    /// A Response Policy Zone in zone-file form.
    Rpz,
    /// `ADDRESS NAME...` lines, as /etc/hosts.
    Hosts,
}

/// One configured blocklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListSource {
    /// Its name in metrics and logs.
    pub name: String,
    pub path: PathBuf,
    pub format: ListFormat,
    /// The RPZ's origin when the file has no `$ORIGIN`.
    pub origin: Option<Name>,
    /// The TTL of a hosts file's answers.
    pub ttl: u32,
}

/// The local policy as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalSettings {
    /// The RFC 6761 / RFC 6303 zones (Unbound's defaults).
    pub default_zones: bool,
    /// Zones by apex, in the order given; `nodefault` ones remove a
    /// default.
    pub zones: Vec<(Name, ZoneType)>,
    pub data: Vec<Record>,
    /// Consulted in this order before the zones; the first match wins.
    pub lists: Vec<ListSource>,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings { default_zones: true, zones: Vec::new(), data: Vec::new(), lists: Vec::new() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read blocklist {name} ({path}): {source}")]
    Read { name: String, path: PathBuf, source: std::io::Error },
    #[error("blocklist {name} ({path}): {source}")]
    List { name: String, path: PathBuf, source: BlocklistError },
    #[error("local zones: {0}")]
    Zone(#[from] ZoneError),
}

/// One loaded policy: the lists, then the zones.
#[derive(Clone, Debug, Default)]
pub struct LocalPolicy {
    lists: Vec<(String, Blocklist)>,
    zones: LocalZones,
}

impl LocalPolicy {
    /// The policy `settings` make, its files read.
    pub fn load(settings: &LocalSettings) -> Result<LocalPolicy, LoadError> {
        let mut zones = LocalZones::default();
        for (apex, kind) in settings.zones.iter().filter(|(_, kind)| *kind != ZoneType::Nodefault) {
            zones.add_zone(apex, *kind)?;
        }
        for record in &settings.data {
            zones.add_record(record.clone())?;
        }
        if settings.default_zones {
            let nodefault = |name: &Name| {
                settings.zones.iter().any(|(apex, kind)| *kind == ZoneType::Nodefault && apex.eq_case(name))
            };
            defaults::add(&mut zones, nodefault)?;
        }
        let lists = settings.lists.iter().map(load_list).collect::<Result<_, _>>()?;
        Ok(LocalPolicy { lists, zones })
    }

    /// What the policy says of (`name`, `rtype`), and which part said it
    /// (a list's name, or None for the local zones).
    pub fn decide(&self, name: &Name, rtype: RecordType) -> (Option<&str>, Decision) {
        let name = name.to_lowercase();
        for (list_name, list) in &self.lists {
            if let Some(decision) = list.decide(&name, rtype) {
                return (Some(list_name), decision);
            }
        }
        (None, self.zones.decide(&name, rtype))
    }

    /// The names the policy answers for at or below: every zone's apex and
    /// every trigger's name. Whatever was answered for these, and for the
    /// names below them, may mean something else under another policy.
    pub fn roots(&self) -> impl Iterator<Item = &Name> {
        self.lists.iter().flat_map(|(_, list)| list.roots()).chain(self.zones.apexes())
    }

    /// Zones, defaults included.
    pub fn zone_count(&self) -> usize {
        self.zones.apexes().count()
    }

    /// Triggers in each list, by name.
    pub fn list_sizes(&self) -> impl Iterator<Item = (&str, usize)> {
        self.lists.iter().map(|(name, list)| (name.as_str(), list.len()))
    }
}

fn load_list(source: &ListSource) -> Result<(String, Blocklist), LoadError> {
    let (name, path) = (source.name.clone(), source.path.clone());
    let text = std::fs::read_to_string(&source.path).map_err(|e| LoadError::Read {
        name: name.clone(),
        path: path.clone(),
        source: e,
    })?;
    let list = match source.format {
        ListFormat::Rpz => Blocklist::from_rpz(&text, source.origin.clone()),
        ListFormat::Hosts => Blocklist::from_hosts(&text, source.ttl),
    };
    let list = list.map_err(|e| LoadError::List { name: name.clone(), path, source: e })?;
    Ok((name, list))
}

/// Decisions counted by (list name or `local`, action).
type Counts = BTreeMap<(String, &'static str), u64>;

/// The policy in force, shared by whoever asks it, and what it decided.
#[derive(Debug, Default)]
pub struct Local {
    current: RwLock<Arc<LocalPolicy>>,
    counts: Mutex<Counts>,
}

impl Local {
    pub fn new(policy: LocalPolicy) -> Local {
        Local { current: RwLock::new(Arc::new(policy)), counts: Mutex::default() }
    }

    /// What the policy in force says of (`name`, `rtype`), counted unless
    /// it is the local zones' "resolve".
    pub fn decide(&self, name: &Name, rtype: RecordType) -> Decision {
        let policy = self.policy();
        let (source, decision) = policy.decide(name, rtype);
        if source.is_some() || decision != Decision::Resolve {
            let key = (source.unwrap_or("local").to_string(), decision.action());
            *self.counts.lock().expect("policy counts lock").entry(key).or_default() += 1;
        }
        decision
    }

    /// Whether the policy in force has something to say of (`name`,
    /// `rtype`), uncounted.
    pub fn covers(&self, name: &Name, rtype: RecordType) -> bool {
        self.policy().decide(name, rtype).1 != Decision::Resolve
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<LocalPolicy> {
        self.current.read().expect("policy lock").clone()
    }

    /// Puts `policy` in force, whole.
    pub fn replace(&self, policy: LocalPolicy) {
        *self.current.write().expect("policy lock") = Arc::new(policy);
    }

    /// Decisions so far: (list name or `local`, action, count).
    pub fn counts(&self) -> Vec<(String, &'static str, u64)> {
        let counts = self.counts.lock().expect("policy counts lock");
        counts.iter().map(|((source, action), n)| (source.clone(), *action, *n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn lists_come_before_zones_and_decisions_are_counted_by_source() {
        let dir = std::env::temp_dir().join(format!("anycast-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hosts = dir.join("ads.hosts");
        std::fs::write(&hosts, "0.0.0.0 ads.corp.example\n").unwrap();
        let settings = LocalSettings {
            zones: vec![(name("corp.example."), ZoneType::Static), (name("onion."), ZoneType::Nodefault)],
            data: records("www.corp.example. IN A 10.0.0.1\nads.corp.example 60 IN A 10.0.0.2", 3600).unwrap(),
            lists: vec![ListSource {
                name: "ads".into(),
                path: hosts,
                format: ListFormat::Hosts,
                origin: None,
                ttl: 60,
            }],
            ..LocalSettings::default()
        };
        let local = Local::new(LocalPolicy::load(&settings).unwrap());
        let Decision::Records(www) = local.decide(&name("WWW.corp.example."), RecordType::A) else { panic!("data") };
        assert_eq!((www[0].ttl, www[0].data.to_string()), (3600, "10.0.0.1".to_string()), "default TTL");
        let Decision::Records(ads) = local.decide(&name("ads.corp.example."), RecordType::A) else { panic!("data") };
        assert_eq!(ads[0].data.to_string(), "0.0.0.0", "the list wins over local data");
        assert!(matches!(local.decide(&name("x.onion."), RecordType::A), Decision::Resolve), "nodefault");
        assert!(matches!(local.decide(&name("localhost."), RecordType::A), Decision::Records(_)));
        assert!(matches!(local.decide(&name("example.com."), RecordType::A), Decision::Resolve));
        let counts = local.counts();
        assert_eq!(counts, vec![("ads".into(), "data", 1), ("local".into(), "data", 2)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_or_broken_list_fails_with_its_name_and_path() {
        let missing = ListSource {
            name: "gone".into(),
            path: "/nonexistent/list.rpz".into(),
            format: ListFormat::Rpz,
            origin: None,
            ttl: 60,
        };
        let settings = LocalSettings { lists: vec![missing], ..LocalSettings::default() };
        let err = LocalPolicy::load(&settings).unwrap_err().to_string();
        assert!(err.starts_with("cannot read blocklist gone (/nonexistent/list.rpz)"), "{err}");
        assert!(records("www.example. IN A not-an-address", 60).is_err());
    }
}
