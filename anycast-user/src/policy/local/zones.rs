//! Local zones and their data, answered the way Unbound's `local-zone`
//! and `local-data` are: the closest enclosing zone decides, exact local
//! data answers first (but in the `always_*` types), and the zone's type
//! says what the rest gets.

use std::collections::HashMap;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Deserialize;

use super::decision::{Decision, RRsets, data_answer};
use crate::names;

/// What a local zone does with the questions it covers, by Unbound's
/// names (`unbound.conf(5)`, local-zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneType {
    /// Local data answers; other names NXDOMAIN, other types NODATA.
    Static,
    /// Local data answers; other types of a name with data NODATA; the
    /// rest is resolved.
    Transparent,
    /// Local data answers; everything else is resolved.
    Typetransparent,
    /// The apex's local data answers every name in the zone.
    Redirect,
    /// Local data answers; the rest REFUSED.
    Refuse,
    /// Local data answers; the rest gets no response at all.
    Deny,
    /// NXDOMAIN for every name, local data or not.
    AlwaysNxdomain,
    /// NODATA for every name.
    AlwaysNodata,
    /// REFUSED for every name.
    AlwaysRefuse,
    /// No response for any name.
    AlwaysDeny,
    /// Not a zone: removes the built-in default zone of this name.
    Nodefault,
}

#[derive(Clone, Debug)]
struct Zone {
    kind: ZoneType,
    /// The RRsets at each name; none at an empty non-terminal.
    data: HashMap<Name, RRsets>,
    /// The apex SOA as negative answers carry it: its TTL lowered to the
    /// SOA minimum (RFC 2308 3).
    negative_soa: Option<Record>,
}

/// Every local zone, by lower-cased apex.
#[derive(Clone, Debug, Default)]
pub struct LocalZones {
    zones: HashMap<Name, Zone>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("{zone} is given twice")]
    Twice { zone: String },
    #[error("{owner} {rtype}: a CNAME must be the only RRset at its name (RFC 1034 3.6.2)")]
    CnameAndOther { owner: String, rtype: RecordType },
    #[error("{owner}: a redirect zone ({zone}) holds data at its apex only")]
    BelowRedirect { owner: String, zone: String },
}

impl LocalZones {
    /// Adds the zone `apex` of type `kind`, with no data yet.
    pub fn add_zone(&mut self, apex: &Name, kind: ZoneType) -> Result<(), ZoneError> {
        let apex = apex.to_lowercase();
        if self.zones.contains_key(&apex) {
            return Err(ZoneError::Twice { zone: apex.to_string() });
        }
        self.zones.insert(apex, Zone { kind, data: HashMap::new(), negative_soa: None });
        Ok(())
    }

    /// Whether a zone of this apex is configured.
    pub fn has_zone(&self, apex: &Name) -> bool {
        self.zones.contains_key(&apex.to_lowercase())
    }

    /// Adds `record` to the closest zone that encloses it; a record no zone
    /// encloses makes a transparent zone at its owner (as Unbound does).
    pub fn add_record(&mut self, record: Record) -> Result<(), ZoneError> {
        let owner = record.name.to_lowercase();
        let apex = match self.closest(&owner) {
            Some(apex) => apex.clone(),
            None => {
                self.add_zone(&owner, ZoneType::Transparent)?;
                owner.clone()
            }
        };
        let zone = self.zones.get_mut(&apex).expect("the closest zone exists");
        if zone.kind == ZoneType::Redirect && owner != apex {
            return Err(ZoneError::BelowRedirect { owner: owner.to_string(), zone: apex.to_string() });
        }
        let rtype = record.record_type();
        if rtype == RecordType::SOA && owner == apex {
            zone.negative_soa = Some(negative_soa(&record));
        }
        // Empty non-terminals between the owner and the apex exist.
        let mut above = owner.base_name();
        while above != apex && apex.zone_of(&above) {
            zone.data.entry(above.clone()).or_default();
            above = above.base_name();
        }
        let rrsets = zone.data.entry(owner.clone()).or_default();
        let clash = |t: &RecordType| (rtype == RecordType::CNAME) != (*t == RecordType::CNAME);
        if rrsets.keys().any(clash) {
            return Err(ZoneError::CnameAndOther { owner: owner.to_string(), rtype });
        }
        let mut record = record;
        record.name = owner;
        rrsets.entry(rtype).or_default().push(record);
        Ok(())
    }

    /// Every zone's apex.
    pub fn apexes(&self) -> impl Iterator<Item = &Name> {
        self.zones.keys()
    }

    /// The apex of the closest zone enclosing `name`.
    fn closest(&self, name: &Name) -> Option<&Name> {
        names::closest(&self.zones, name).map(|(apex, _)| apex)
    }

    /// What the local zones say of (`name`, `rtype`); `name` lower-cased.
    /// A DS question at an apex belongs to the parent's zone.
    pub fn decide(&self, name: &Name, rtype: RecordType) -> Decision {
        let start = if rtype == RecordType::DS && self.zones.contains_key(name) && !name.is_root() {
            name.base_name()
        } else {
            name.clone()
        };
        let Some(apex) = self.closest(&start) else { return Decision::Resolve };
        let zone = &self.zones[apex];
        let negative = |nx: bool| {
            let soa = zone.negative_soa.clone();
            if nx { Decision::NxDomain { soa } } else { Decision::NoData { soa } }
        };
        match zone.kind {
            ZoneType::AlwaysNxdomain => return negative(true),
            ZoneType::AlwaysNodata => return negative(false),
            ZoneType::AlwaysRefuse => return Decision::Refuse,
            ZoneType::AlwaysDeny => return Decision::Drop,
            _ => {}
        }
        let at = if zone.kind == ZoneType::Redirect { apex } else { name };
        let node = zone.data.get(at);
        if let Some(decision) = node.and_then(|rrsets| zone_data_answer(rrsets, name, rtype, zone.kind)) {
            return decision;
        }
        match zone.kind {
            ZoneType::Deny => Decision::Drop,
            ZoneType::Refuse => Decision::Refuse,
            ZoneType::Static => negative(node.is_none()),
            ZoneType::Redirect => negative(false),
            ZoneType::Transparent if node.is_some_and(|rrsets| !rrsets.is_empty()) => negative(false),
            _ => Decision::Resolve,
        }
    }
}

/// The answer local data at a name gives (see [`data_answer`]); its
/// CNAME is followed only in a redirect zone, as Unbound does.
fn zone_data_answer(rrsets: &RRsets, name: &Name, rtype: RecordType, kind: ZoneType) -> Option<Decision> {
    let (found_type, records) = data_answer(rrsets, name, rtype)?;
    if found_type == RecordType::CNAME && rtype != RecordType::CNAME && kind == ZoneType::Redirect {
        return Some(Decision::Alias(records.into_iter().next().expect("an RRset has a record")));
    }
    Some(Decision::Records(records))
}

/// The SOA as a negative answer carries it.
fn negative_soa(soa: &Record) -> Record {
    let mut record = soa.clone();
    if let RData::SOA(data) = &soa.data {
        record.ttl = record.ttl.min(data.minimum);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::local::decision::records;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn zones(zones: &[(&str, ZoneType)], data: &str) -> LocalZones {
        let mut local = LocalZones::default();
        for (apex, kind) in zones {
            local.add_zone(&name(apex), *kind).unwrap();
        }
        for record in records(data, 3600).unwrap() {
            local.add_record(record).unwrap();
        }
        local
    }

    /// A short form of a decision: its kind, and the answer's data.
    fn short(decision: Decision) -> String {
        match decision {
            Decision::Resolve => "resolve".into(),
            Decision::Refuse => "refuse".into(),
            Decision::Drop => "drop".into(),
            Decision::Records(r) => format!("records {} {}", r[0].name, r[0].data),
            Decision::Alias(r) => format!("alias {} {}", r.name, r.data),
            Decision::NoData { soa } => format!("nodata soa={}", soa.map_or(0, |s| s.ttl)),
            Decision::NxDomain { soa } => format!("nxdomain soa={}", soa.map_or(0, |s| s.ttl)),
        }
    }

    const SOA: &str = "corp.example. 3600 IN SOA ns.corp.example. admin.corp.example. 1 3600 600 86400 300\n";

    #[test]
    fn each_zone_type_answers_as_unbounds_does() {
        use ZoneType::*;
        let data = format!("{SOA}www.corp.example. 300 IN A 10.0.0.1\na.b.corp.example. 300 IN TXT \"deep\"\n");
        let cases: &[(ZoneType, &str, RecordType, &str)] = &[
            (Static, "www.corp.example.", RecordType::A, "records www.corp.example. 10.0.0.1"),
            (Static, "www.corp.example.", RecordType::AAAA, "nodata soa=300"),
            (Static, "b.corp.example.", RecordType::A, "nodata soa=300"),
            (Static, "nope.corp.example.", RecordType::A, "nxdomain soa=300"),
            (Transparent, "www.corp.example.", RecordType::A, "records www.corp.example. 10.0.0.1"),
            (Transparent, "www.corp.example.", RecordType::AAAA, "nodata soa=300"),
            (Transparent, "b.corp.example.", RecordType::A, "resolve"),
            (Transparent, "nope.corp.example.", RecordType::A, "resolve"),
            (Typetransparent, "www.corp.example.", RecordType::AAAA, "resolve"),
            (Refuse, "www.corp.example.", RecordType::A, "records www.corp.example. 10.0.0.1"),
            (Refuse, "nope.corp.example.", RecordType::A, "refuse"),
            (Deny, "nope.corp.example.", RecordType::A, "drop"),
            (AlwaysNxdomain, "www.corp.example.", RecordType::A, "nxdomain soa=300"),
            (AlwaysNodata, "nope.corp.example.", RecordType::A, "nodata soa=300"),
            (AlwaysRefuse, "www.corp.example.", RecordType::A, "refuse"),
            (AlwaysDeny, "www.corp.example.", RecordType::A, "drop"),
        ];
        for (kind, qname, rtype, expected) in cases {
            let local = zones(&[("corp.example.", *kind)], &data);
            assert_eq!(short(local.decide(&name(qname), *rtype)), *expected, "{kind:?} {qname} {rtype}");
        }
    }

    #[test]
    fn a_redirect_zone_answers_every_name_from_its_apex() {
        let data = "ads.example. 60 IN A 127.0.0.2\n";
        let local = zones(&[("ads.example.", ZoneType::Redirect)], data);
        assert_eq!(short(local.decide(&name("x.y.ads.example."), RecordType::A)), "records x.y.ads.example. 127.0.0.2");
        assert_eq!(short(local.decide(&name("x.ads.example."), RecordType::MX)), "nodata soa=0");
        let alias = zones(&[("cdn.example.", ZoneType::Redirect)], "cdn.example. 60 IN CNAME edge.example.net.\n");
        assert_eq!(
            short(alias.decide(&name("a.cdn.example."), RecordType::A)),
            "alias a.cdn.example. edge.example.net."
        );
        let mut bad = zones(&[("cdn.example.", ZoneType::Redirect)], "");
        let below = records("x.cdn.example. 60 IN A 192.0.2.1\n", 60).unwrap().remove(0);
        assert!(matches!(bad.add_record(below), Err(ZoneError::BelowRedirect { .. })));
    }

    #[test]
    fn the_closest_zone_decides_and_ds_belongs_to_the_parent() {
        let data = format!("{SOA}lab.corp.example. 300 IN A 10.0.0.9\n");
        let local = zones(&[("corp.example.", ZoneType::Static), ("lab.corp.example.", ZoneType::Transparent)], &data);
        assert_eq!(short(local.decide(&name("x.lab.corp.example."), RecordType::A)), "resolve", "the child's type");
        assert_eq!(short(local.decide(&name("lab.corp.example."), RecordType::DS)), "nxdomain soa=300", "the parent's");
        assert_eq!(short(local.decide(&name("other.example."), RecordType::A)), "resolve", "outside every zone");
    }

    #[test]
    fn data_outside_any_zone_makes_a_transparent_one_and_cnames_stand_alone() {
        let local = zones(&[], "printer.home.example. 60 IN A 192.168.1.5\n");
        assert_eq!(short(local.decide(&name("printer.home.example."), RecordType::AAAA)), "nodata soa=0");
        assert_eq!(short(local.decide(&name("home.example."), RecordType::A)), "resolve");
        let static_cname =
            zones(&[("corp.example.", ZoneType::Static)], "w.corp.example. 60 IN CNAME www.corp.example.\n");
        assert_eq!(
            short(static_cname.decide(&name("w.corp.example."), RecordType::A)),
            "records w.corp.example. www.corp.example."
        );
        let mut clash = static_cname.clone();
        let a = records("w.corp.example. 60 IN A 192.0.2.1\n", 60).unwrap().remove(0);
        assert!(matches!(clash.add_record(a), Err(ZoneError::CnameAndOther { .. })));
        let mut twice = LocalZones::default();
        twice.add_zone(&name("Corp.Example."), ZoneType::Static).unwrap();
        assert!(matches!(twice.add_zone(&name("corp.example."), ZoneType::Deny), Err(ZoneError::Twice { .. })));
    }
}
