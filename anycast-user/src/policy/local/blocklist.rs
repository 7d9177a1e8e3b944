//! Blocklists: a Response Policy Zone file (QNAME triggers, the
//! draft-vixie-dnsop-dns-rpz actions) or a hosts-style file, loaded whole
//! and looked up by the name asked.
//!
//! In an RPZ, a trigger `NAME.ORIGIN` matches NAME itself and
//! `*.NAME.ORIGIN` every name below it; an exact trigger wins over a
//! wildcard, a longer wildcard over a shorter. The trigger's records say
//! what to do: `CNAME .` NXDOMAIN, `CNAME *.` NODATA, `CNAME rpz-passthru.`
//! resolve as usual, `CNAME rpz-drop.` no response; any other records are
//! the answer (a CNAME to another name is answered and followed). IP,
//! NSDNAME, NSIP and client-IP triggers are not supported: loading a zone
//! with them fails rather than leaving a hole in the list. In a hosts file
//! each `ADDRESS NAME...` line answers NAME with that address (A or AAAA)
//! and every other type with NODATA.

use std::{collections::HashMap, net::IpAddr};

use hickory_proto::{
    rr::{
        Name, RData, Record, RecordType,
        rdata::{A, AAAA, SOA},
    },
    serialize::txt::Parser,
};

use super::decision::{Decision, RRsets, data_answer};
use crate::names;

/// What a matching trigger does.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    NxDomain,
    NoData,
    Passthru,
    Drop,
    /// Local data: the RRsets to answer with, by type.
    Data(RRsets),
}

#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("line {line}: {problem}")]
    Hosts { line: usize, problem: String },
    #[error("not a zone file: {0}")]
    Zone(String),
    #[error("{trigger}: {kind} triggers are not supported (QNAME triggers only)")]
    Unsupported { trigger: String, kind: &'static str },
    #[error("{trigger}: {problem}")]
    Trigger { trigger: String, problem: String },
}

/// One loaded list.
#[derive(Clone, Debug)]
pub struct Blocklist {
    exact: HashMap<Name, Action>,
    /// Wildcard triggers, by the name below which they match.
    below: HashMap<Name, Action>,
    /// The SOA negative answers carry: the RPZ's own, or one made for a
    /// hosts file at the blocked name.
    soa: Option<Record>,
    /// The TTL of what a hosts file answers.
    hosts_ttl: Option<u32>,
}

/// The special trigger labels an RPZ may hold, with what they name.
const SPECIAL_TRIGGERS: &[(&str, &str)] =
    &[("rpz-ip", "IP"), ("rpz-nsdname", "NSDNAME"), ("rpz-nsip", "NSIP"), ("rpz-client-ip", "client-IP")];

impl Blocklist {
    /// The list an RPZ zone file makes; `origin` names the zone when the
    /// file does not (`$ORIGIN`).
    pub fn from_rpz(text: &str, origin: Option<Name>) -> Result<Blocklist, BlocklistError> {
        let (origin, rrsets) =
            Parser::new(text, None, origin).parse().map_err(|e| BlocklistError::Zone(e.to_string()))?;
        let origin = origin.to_lowercase();
        let mut list = Blocklist { exact: HashMap::new(), below: HashMap::new(), soa: None, hosts_ttl: None };
        let mut by_trigger: HashMap<Name, Vec<Record>> = HashMap::new();
        for record in rrsets.into_values().flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>()) {
            let owner = record.name.to_lowercase();
            if owner == origin {
                if let RData::SOA(soa) = &record.data {
                    let mut negative = record.clone();
                    negative.ttl = negative.ttl.min(soa.minimum);
                    list.soa = Some(negative);
                }
                continue;
            }
            if !origin.zone_of(&owner) {
                return Err(BlocklistError::Trigger {
                    trigger: owner.to_string(),
                    problem: format!("outside the zone {origin}"),
                });
            }
            // Labels counted with iter(): num_labels() leaves out a
            // wildcard's `*`.
            let relative = owner.iter().count() - origin.iter().count();
            let trigger =
                Name::from_labels(owner.iter().take(relative)).map_err(|e| BlocklistError::Zone(e.to_string()))?;
            if let Some((_, kind)) = SPECIAL_TRIGGERS
                .iter()
                .find(|(label, _)| trigger.iter().any(|l| l.eq_ignore_ascii_case(label.as_bytes())))
            {
                return Err(BlocklistError::Unsupported { trigger: owner.to_string(), kind });
            }
            by_trigger.entry(trigger).or_default().push(record);
        }
        for (trigger, records) in by_trigger {
            let action = action(&trigger, records)?;
            if trigger.is_wildcard() {
                list.below.insert(trigger.base_name(), action);
            } else {
                list.exact.insert(trigger, action);
            }
        }
        Ok(list)
    }

    /// The list a hosts file makes: every name answered with its
    /// addresses, with `ttl`.
    pub fn from_hosts(text: &str, ttl: u32) -> Result<Blocklist, BlocklistError> {
        let mut exact: HashMap<Name, Action> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let Some(address) = words.next() else { continue };
            let problem = |problem: String| BlocklistError::Hosts { line: index + 1, problem };
            let address: IpAddr = address.parse().map_err(|_| problem(format!("`{address}` is not an address")))?;
            let names: Vec<&str> = words.collect();
            if names.is_empty() {
                return Err(problem("an address without a name".into()));
            }
            for text in names {
                let mut name = Name::from_ascii(text).map_err(|e| problem(format!("`{text}`: {e}")))?.to_lowercase();
                name.set_fqdn(true);
                let data = match address {
                    IpAddr::V4(v4) => RData::A(A(v4)),
                    IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
                };
                let record = Record::from_rdata(name.clone(), ttl, data);
                let Action::Data(rrsets) = exact.entry(name).or_insert_with(|| Action::Data(HashMap::new())) else {
                    unreachable!("a hosts file makes data actions only")
                };
                rrsets.entry(record.record_type()).or_default().push(record);
            }
        }
        Ok(Blocklist { exact, below: HashMap::new(), soa: None, hosts_ttl: Some(ttl) })
    }

    /// The names the triggers match at or below.
    pub fn roots(&self) -> impl Iterator<Item = &Name> {
        self.exact.keys().chain(self.below.keys())
    }

    /// Triggers in the list.
    pub fn len(&self) -> usize {
        self.exact.len() + self.below.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the list says of (`name`, `rtype`), `name` lower-cased; None
    /// when no trigger matches.
    pub fn decide(&self, name: &Name, rtype: RecordType) -> Option<Decision> {
        // A wildcard matches the names strictly below its base.
        let below = || (!name.is_root()).then(|| names::closest(&self.below, &name.base_name())).flatten();
        let action = self.exact.get(name).or_else(|| below().map(|(_, action)| action))?;
        Some(match action {
            Action::NxDomain => Decision::NxDomain { soa: self.negative_soa(name) },
            Action::NoData => Decision::NoData { soa: self.negative_soa(name) },
            Action::Passthru => Decision::Resolve,
            Action::Drop => Decision::Drop,
            Action::Data(rrsets) => match data_answer(rrsets, name, rtype) {
                Some((found, mut cname)) if found == RecordType::CNAME && rtype != RecordType::CNAME => {
                    Decision::Alias(cname.remove(0))
                }
                Some((_, records)) => Decision::Records(records),
                None => Decision::NoData { soa: self.negative_soa(name) },
            },
        })
    }

    /// The SOA of a negative answer for `name`: the zone's, or for a hosts
    /// file one at the name itself, so that the answer can be cached.
    fn negative_soa(&self, name: &Name) -> Option<Record> {
        if let Some(ttl) = self.hosts_ttl {
            let mname = Name::from_ascii("localhost.").expect("a valid name");
            let rname = Name::from_ascii("nobody.invalid.").expect("a valid name");
            let soa = SOA::new(mname, rname, 1, 3600, 1200, 604_800, ttl);
            return Some(Record::from_rdata(name.clone(), ttl, RData::SOA(soa)));
        }
        self.soa.clone()
    }
}

/// The action the records at one trigger say.
fn action(trigger: &Name, records: Vec<Record>) -> Result<Action, BlocklistError> {
    let cname_to = records.iter().find_map(|r| match &r.data {
        RData::CNAME(target) => Some(target.0.to_lowercase()),
        _ => None,
    });
    let problem = |problem: &str| BlocklistError::Trigger { trigger: trigger.to_string(), problem: problem.into() };
    if let Some(target) = cname_to {
        if records.len() > 1 {
            return Err(problem("a CNAME must be the only record of its trigger"));
        }
        let special = match target.to_ascii().as_str() {
            "." => Some(Action::NxDomain),
            "*." => Some(Action::NoData),
            "rpz-passthru." => Some(Action::Passthru),
            "rpz-drop." => Some(Action::Drop),
            "rpz-tcp-only." => return Err(problem("the rpz-tcp-only action is not supported")),
            _ => None,
        };
        if let Some(special) = special {
            return Ok(special);
        }
    }
    let mut rrsets = RRsets::new();
    for record in records {
        rrsets.entry(record.record_type()).or_default().push(record);
    }
    Ok(Action::Data(rrsets))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RPZ: &str = "$TTL 60\n\
        $ORIGIN rpz.lab.\n\
        @ IN SOA localhost. hostmaster.rpz.lab. 1 3600 600 86400 30\n\
        @ IN NS localhost.\n\
        ads.example.com CNAME .\n\
        *.ads.example.com CNAME .\n\
        tracker.example.net CNAME *.\n\
        ok.ads.example.com CNAME rpz-passthru.\n\
        silent.example.org CNAME rpz-drop.\n\
        portal.example.org A 10.0.0.80\n\
        portal.example.org AAAA fd00::80\n\
        *.cdn.example.org CNAME portal.example.org.\n";

    fn ask(list: &Blocklist, name: &str, rtype: RecordType) -> String {
        match list.decide(&Name::from_ascii(name).unwrap(), rtype) {
            None => "no match".into(),
            Some(Decision::NxDomain { soa }) => format!("nxdomain {}", soa.map_or("-".into(), |s| s.name.to_string())),
            Some(Decision::NoData { soa }) => format!("nodata {}", soa.map_or("-".into(), |s| s.name.to_string())),
            Some(Decision::Records(r)) => {
                format!("records {} {}", r[0].name, r.iter().map(|r| r.data.to_string()).collect::<Vec<_>>().join(","))
            }
            Some(Decision::Alias(r)) => format!("alias {} {}", r.name, r.data),
            Some(Decision::Resolve) => "passthru".into(),
            Some(Decision::Drop) => "drop".into(),
            Some(Decision::Refuse) => "refuse".into(),
        }
    }

    #[test]
    fn rpz_actions_and_trigger_precedence() {
        let list = Blocklist::from_rpz(RPZ, None).unwrap();
        assert_eq!(list.len(), 7);
        let cases = [
            ("ads.example.com.", RecordType::A, "nxdomain rpz.lab."),
            ("x.y.ads.example.com.", RecordType::A, "nxdomain rpz.lab."),
            ("ok.ads.example.com.", RecordType::A, "passthru"),
            ("tracker.example.net.", RecordType::A, "nodata rpz.lab."),
            ("sub.tracker.example.net.", RecordType::A, "no match"),
            ("silent.example.org.", RecordType::TXT, "drop"),
            ("portal.example.org.", RecordType::AAAA, "records portal.example.org. fd00::80"),
            ("portal.example.org.", RecordType::MX, "nodata rpz.lab."),
            ("img.cdn.example.org.", RecordType::A, "alias img.cdn.example.org. portal.example.org."),
            ("cdn.example.org.", RecordType::A, "no match"),
            ("example.com.", RecordType::A, "no match"),
        ];
        for (name, rtype, expected) in cases {
            assert_eq!(ask(&list, name, rtype), expected, "{name} {rtype}");
        }
    }

    #[test]
    fn unsupported_triggers_and_broken_zones_fail_loading() {
        let ip = format!("{RPZ}32.1.2.0.192.rpz-ip CNAME .\n");
        assert!(matches!(Blocklist::from_rpz(&ip, None), Err(BlocklistError::Unsupported { kind: "IP", .. })));
        let tcp = format!("{RPZ}slow.example CNAME rpz-tcp-only.\n");
        assert!(matches!(Blocklist::from_rpz(&tcp, None), Err(BlocklistError::Trigger { .. })));
        assert!(matches!(Blocklist::from_rpz("@ IN A 1.2.3.4\n", None), Err(BlocklistError::Zone(_))));
    }

    #[test]
    fn a_hosts_file_answers_its_addresses_and_nodata_for_the_rest() {
        let text = "# ad servers\n0.0.0.0 ads.example.com banner.example.com\n:: ads.example.com # v6\n\n";
        let list = Blocklist::from_hosts(text, 300).unwrap();
        assert_eq!(ask(&list, "banner.example.com.", RecordType::A), "records banner.example.com. 0.0.0.0");
        assert_eq!(ask(&list, "ads.example.com.", RecordType::AAAA), "records ads.example.com. ::");
        assert_eq!(ask(&list, "banner.example.com.", RecordType::AAAA), "nodata banner.example.com.");
        assert_eq!(ask(&list, "x.ads.example.com.", RecordType::A), "no match", "hosts names are exact");
        let bad = Blocklist::from_hosts("0.0.0.0 fine.example\nnot-an-address x.example\n", 300).unwrap_err();
        assert_eq!(bad.to_string(), "line 2: `not-an-address` is not an address");
        assert!(Blocklist::from_hosts("10.0.0.1\n", 300).is_err(), "an address alone");
    }
}
