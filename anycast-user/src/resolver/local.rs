//! The local policy's word in a client's resolution: before the cache and
//! the servers, every link of the CNAME chain is put to the policy
//! ([`crate::policy::local`]). Its data becomes a part of the chain like
//! any other, judged insecure (no signature can prove it) and never
//! cached: what the policy says is asked again every time, so that a
//! reload takes effect at once. REFUSED and "no response" stop the
//! question at its first link only; a CNAME's target the policy refuses
//! or drops is resolved as usual.

use hickory_proto::rr::{Name, Record, RecordType};

use super::{Resolver, cache::Found, chain::Step, upstream::Upstream};
use crate::{dnssec::Security, policy::local::Decision};

/// What the policy makes of one link.
pub(super) enum LocalStep {
    /// The policy answers this link.
    Step(Step),
    /// The question ends: REFUSED, or no response when `dropped`.
    Stop { dropped: bool },
    /// Not the policy's: the cache or the servers answer.
    Resolve,
}

impl<U: Upstream> Resolver<U> {
    /// What the local policy says of (`name`, `rtype`); `first`, the link
    /// is the client's own question.
    pub(super) fn local_step(&self, name: &Name, rtype: RecordType, first: bool) -> LocalStep {
        let found =
            |records: Vec<Record>, authority: Vec<Record>| Found { records, authority, security: Security::Insecure };
        match self.local.decide(name, rtype) {
            Decision::Resolve => LocalStep::Resolve,
            Decision::Refuse if first => LocalStep::Stop { dropped: false },
            Decision::Drop if first => LocalStep::Stop { dropped: true },
            Decision::Refuse | Decision::Drop => LocalStep::Resolve,
            Decision::Records(records) => LocalStep::Step(Step::Records(found(records, Vec::new()))),
            Decision::Alias(cname) => LocalStep::Step(Step::Cname(found(vec![cname], Vec::new()))),
            Decision::NoData { soa } => LocalStep::Step(Step::NoData(found(Vec::new(), soa.into_iter().collect()))),
            Decision::NxDomain { soa } => LocalStep::Step(Step::NxDomain(found(Vec::new(), soa.into_iter().collect()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hickory_proto::{
        op::{Query, ResponseCode},
        rr::RecordType,
    };

    use crate::{
        policy::local::{ListFormat, ListSource, Local, LocalPolicy, LocalSettings, records, zones::ZoneType},
        resolver::{
            Limits, Mode, Resolver,
            cache::CacheLimits,
            testnet::{FakeNet, hierarchy, hints, name},
        },
    };

    const RPZ: &str = "$ORIGIN rpz.lab.\n$TTL 60\n@ SOA localhost. hostmaster.rpz.lab. 1 3600 600 86400 30\n\
                       www.other CNAME .\nquiet.lab CNAME rpz-drop.\n";

    fn resolver() -> Resolver<FakeNet> {
        let dir = std::env::temp_dir().join(format!("anycast-resolver-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rpz = dir.join("block.rpz");
        std::fs::write(&rpz, RPZ).unwrap();
        let data = "www.corp.lab. 300 IN A 10.9.0.1\ncdn.lab. 300 IN CNAME www.example.lab.";
        let settings = LocalSettings {
            zones: vec![
                (name("corp.lab."), ZoneType::Static),
                (name("cdn.lab."), ZoneType::Redirect),
                (name("closed.lab."), ZoneType::Refuse),
            ],
            data: records(data, 3600).unwrap(),
            lists: vec![ListSource { name: "block".into(), path: rpz, format: ListFormat::Rpz, origin: None, ttl: 0 }],
            ..LocalSettings::default()
        };
        let local = Arc::new(Local::new(LocalPolicy::load(&settings).unwrap()));
        std::fs::remove_dir_all(&dir).unwrap();
        Resolver::new(hierarchy(), Mode::Recursive(hints()), Limits::default(), CacheLimits::default())
            .with_local_policy(local)
    }

    fn question(qname: &str, rtype: RecordType) -> Query {
        Query::query(name(qname), rtype)
    }

    /// RCODE, the answer section as `name type data`, and the authority
    /// section's owners.
    fn summary(answer: &crate::resolver::Answer) -> (ResponseCode, Vec<String>, Vec<String>) {
        let records = answer.answers.iter().map(|r| format!("{} {} {}", r.name, r.record_type(), r.data)).collect();
        (answer.rcode, records, answer.authorities.iter().map(|r| r.name.to_string()).collect())
    }

    #[tokio::test]
    async fn the_policy_answers_before_the_cache_and_the_servers() {
        let r = resolver();
        // (name, type, RCODE, answer section, authority section owners)
        type Case = (&'static str, RecordType, ResponseCode, &'static [&'static str], &'static [&'static str]);
        let cases: &[Case] = &[
            ("www.corp.lab.", RecordType::A, ResponseCode::NoError, &["www.corp.lab. A 10.9.0.1"], &[]),
            ("nope.corp.lab.", RecordType::A, ResponseCode::NXDomain, &[], &[]),
            ("localhost.", RecordType::AAAA, ResponseCode::NoError, &["localhost. AAAA ::1"], &[]),
            ("9.8.7.10.in-addr.arpa.", RecordType::PTR, ResponseCode::NXDomain, &[], &["10.in-addr.arpa."]),
            ("x.closed.lab.", RecordType::A, ResponseCode::Refused, &[], &[]),
        ];
        for (qname, rtype, rcode, answers, authority) in cases {
            let got = summary(&r.resolve(&question(qname, *rtype)).await);
            assert_eq!(
                got,
                (
                    *rcode,
                    answers.iter().map(|s| s.to_string()).collect(),
                    authority.iter().map(|s| s.to_string()).collect()
                ),
                "{qname} {rtype}"
            );
        }
        assert_eq!(r.upstream_for_tests().queries(), 0, "nothing was asked upstream");
        assert_eq!(r.cache_len(), 0, "nor cached");
        let quiet = r.resolve(&question("quiet.lab.", RecordType::A)).await;
        assert!(quiet.dropped, "an RPZ drop gets no response");
    }

    #[tokio::test]
    async fn cname_links_meet_the_policy_too() {
        let r = resolver();
        let blocked = summary(&r.resolve(&question("alias.example.lab.", RecordType::A)).await);
        let expected = (
            ResponseCode::NXDomain,
            vec!["alias.example.lab. CNAME www.other.".to_string()],
            vec!["rpz.lab.".to_string()],
        );
        assert_eq!(blocked, expected, "the upstream CNAME's target is blocked");
        let redirected = summary(&r.resolve(&question("img.cdn.lab.", RecordType::A)).await);
        let followed =
            vec!["img.cdn.lab. CNAME www.example.lab.".to_string(), "www.example.lab. A 10.53.0.101".to_string()];
        assert_eq!(redirected, (ResponseCode::NoError, followed, vec![]), "a redirect zone's CNAME is followed");
        let refreshed = summary(&r.refresh(&question("www.corp.lab.", RecordType::A)).await);
        assert_eq!(refreshed.1, vec!["www.corp.lab. A 10.9.0.1".to_string()], "a refresh asks the policy as well");
    }
}
