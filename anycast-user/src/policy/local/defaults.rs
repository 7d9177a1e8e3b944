//! The zones a resolver answers itself rather than asking the root about
//! them: RFC 6761 and its successors' special-use names, and RFC 6303's
//! locally served reverse zones (private, link-local, documentation
//! space). The same set, with the same records, as Unbound's defaults,
//! so that a node leaks none of them upstream and answers them as
//! Unbound would.

use hickory_proto::rr::Name;

use super::{
    decision::records,
    zones::{LocalZones, ZoneError, ZoneType},
};

/// Special-use domains (RFC 6761, 7686, 8375, 9462, 9665): empty zones.
const SPECIAL: &[&str] = &["test.", "invalid.", "onion.", "home.arpa.", "resolver.arpa.", "service.arpa."];

/// The loopback reverse zones, which answer their one PTR.
const LOOPBACK_REVERSE: &[(&str, &str)] = &[
    ("127.in-addr.arpa.", "1.0.0.127.in-addr.arpa."),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    ),
];

/// RFC 6303's reverse zones (the AS112 set): empty zones.
fn as112() -> impl Iterator<Item = String> {
    let fixed = [
        "10.in-addr.arpa.",
        "168.192.in-addr.arpa.",
        "0.in-addr.arpa.",
        "254.169.in-addr.arpa.",
        "2.0.192.in-addr.arpa.",
        "100.51.198.in-addr.arpa.",
        "113.0.203.in-addr.arpa.",
        "255.255.255.255.in-addr.arpa.",
        "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
        "d.f.ip6.arpa.",
        "8.e.f.ip6.arpa.",
        "9.e.f.ip6.arpa.",
        "a.e.f.ip6.arpa.",
        "b.e.f.ip6.arpa.",
        "8.b.d.0.1.0.0.2.ip6.arpa.",
    ];
    let private_172 = (16..=31).map(|octet| format!("{octet}.172.in-addr.arpa."));
    let shared_100 = (64..=127).map(|octet| format!("{octet}.100.in-addr.arpa."));
    private_172.chain(shared_100).chain(fixed.into_iter().map(String::from))
}

/// The SOA and NS every default zone holds at its apex.
fn apex_records(apex: &str) -> String {
    format!(
        "{apex} 10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800\n\
         {apex} 10800 IN NS localhost.\n"
    )
}

/// Adds the default zones to `zones`, but those it already has (an
/// operator's zone of the same name, or `nodefault`).
pub fn add(zones: &mut LocalZones, skip: impl Fn(&Name) -> bool) -> Result<(), ZoneError> {
    let mut add_zone = |apex: &str, kind: ZoneType, data: String| -> Result<(), ZoneError> {
        let name = Name::from_ascii(apex).expect("default zone names are valid");
        if zones.has_zone(&name) || skip(&name) {
            return Ok(());
        }
        zones.add_zone(&name, kind)?;
        for record in records(&data, 10800).expect("default zone data is valid") {
            zones.add_record(record)?;
        }
        Ok(())
    };
    let localhost =
        format!("{}localhost. 10800 IN A 127.0.0.1\nlocalhost. 10800 IN AAAA ::1\n", apex_records("localhost."));
    add_zone("localhost.", ZoneType::Redirect, localhost)?;
    for (apex, ptr) in LOOPBACK_REVERSE {
        add_zone(apex, ZoneType::Static, format!("{}{ptr} 10800 IN PTR localhost.\n", apex_records(apex)))?;
    }
    for apex in SPECIAL.iter().map(|s| s.to_string()).chain(as112()) {
        add_zone(&apex, ZoneType::Static, apex_records(&apex))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::policy::local::decision::Decision;

    #[test]
    fn the_defaults_answer_localhost_loopback_and_private_reverse_names_locally() {
        let mut zones = LocalZones::default();
        add(&mut zones, |_| false).unwrap();
        let ask = |q: &str, t| zones.decide(&Name::from_ascii(q).unwrap(), t);
        assert!(
            matches!(ask("db.localhost.", RecordType::A), Decision::Records(r) if r[0].data.to_string() == "127.0.0.1")
        );
        assert!(matches!(ask("1.0.0.127.in-addr.arpa.", RecordType::PTR), Decision::Records(_)));
        for private in ["4.3.2.10.in-addr.arpa.", "1.1.20.172.in-addr.arpa.", "9.9.168.192.in-addr.arpa.", "x.onion."] {
            let Decision::NxDomain { soa: Some(soa) } = ask(private, RecordType::PTR) else { panic!("{private}") };
            assert_eq!(soa.ttl, 10800, "{private}");
        }
        assert!(matches!(ask("1.1.32.172.in-addr.arpa.", RecordType::PTR), Decision::Resolve), "172.32/16 is public");
        assert!(matches!(ask("example.com.", RecordType::A), Decision::Resolve));
    }

    #[test]
    fn an_operators_zone_or_nodefault_wins_over_a_default() {
        let mut zones = LocalZones::default();
        zones.add_zone(&Name::from_ascii("10.in-addr.arpa.").unwrap(), ZoneType::Transparent).unwrap();
        add(&mut zones, |name| *name == Name::from_ascii("test.").unwrap()).unwrap();
        let ask = |q: &str| zones.decide(&Name::from_ascii(q).unwrap(), RecordType::PTR);
        assert!(matches!(ask("1.0.0.10.in-addr.arpa."), Decision::Resolve));
        assert!(matches!(ask("www.hosting.test."), Decision::Resolve));
        assert!(matches!(ask("x.invalid."), Decision::NxDomain { .. }));
    }
}
