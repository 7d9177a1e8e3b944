//! The resolver against a fake hierarchy (see `testnet`): no sockets.

use std::{net::SocketAddr, sync::Arc};

use hickory_proto::{
    op::{Query, ResponseCode},
    rr::{DNSClass, RData, RecordType},
};

use super::{
    Answer, Limits, Mode, Resolver,
    cache::{CacheLimits, Lookup},
    testnet::{self, Behavior, FakeNet, hierarchy, hints, ip, name, root_zone},
};

fn recursive(net: FakeNet, limits: Limits) -> Resolver<FakeNet> {
    Resolver::new(net, Mode::Recursive(hints()), limits, CacheLimits::default())
}

async fn ask(resolver: &Resolver<FakeNet>, qname: &str, qtype: RecordType) -> Answer {
    resolver.resolve(&Query::query(name(qname), qtype)).await
}

fn sources(resolver: &Resolver<FakeNet>) -> Vec<(&'static str, u64)> {
    resolver.stats.questions().map(|(source, n)| (source.name(), n)).collect()
}

fn exchanges(resolver: &Resolver<FakeNet>) -> Vec<(&'static str, u64)> {
    resolver.stats.exchanges().map(|(outcome, n)| (outcome.name(), n)).collect()
}

fn addresses(resolution: &Answer) -> Vec<String> {
    resolution
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.to_string(),
            RData::CNAME(c) => format!("CNAME {}", c.0),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn follows_referrals_with_glue_and_answers_from_cache_after() {
    let resolver = recursive(hierarchy(), Limits::default());
    let first = ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!((first.rcode, addresses(&first)), (ResponseCode::NoError, vec!["10.53.0.101".to_string()]));
    assert_eq!(resolver.upstream.queries(), 3, "root, lab., example.lab.");
    let again = ask(&resolver, "WWW.Example.LAB.", RecordType::A).await;
    assert_eq!(addresses(&again), addresses(&first));
    assert_eq!(resolver.upstream.queries(), 3, "the second answer comes from the cache");
    let sibling = ask(&resolver, "www.lab.", RecordType::A).await;
    assert_eq!(addresses(&sibling), vec!["10.53.0.100"]);
    assert_eq!(resolver.upstream.queries(), 4, "the cached lab. delegation is used, not the root");
    assert_eq!(sources(&resolver), [("cache", 1), ("network", 2), ("shared", 0), ("stale", 0)]);
    assert_eq!(exchanges(&resolver)[0], ("answered", 4));
    assert_eq!(resolver.stats.latency.cumulative().0.last(), Some(&4), "every reply's RTT is in the histogram");
}

#[tokio::test]
async fn looks_up_name_servers_that_come_without_glue() {
    let resolver = recursive(hierarchy(), Limits::default());
    let answer = ask(&resolver, "host.noglue.lab.", RecordType::A).await;
    assert_eq!(addresses(&answer), vec!["10.53.0.103"]);
    let log = resolver.upstream.log.lock().unwrap().clone();
    assert!(log.iter().any(|(_, n, t)| *n == name("ns.elsewhere.other.") && *t == RecordType::A), "{log:?}");
}

#[tokio::test]
async fn follows_cname_chains_across_zones() {
    let resolver = recursive(hierarchy(), Limits::default());
    let answer = ask(&resolver, "chain.example.lab.", RecordType::A).await;
    assert_eq!(
        addresses(&answer),
        vec!["CNAME alias.example.lab.", "CNAME www.other.", "10.53.0.102"],
        "the in-zone link comes from the same response, the other zone is asked"
    );
    assert_eq!(answer.rcode, ResponseCode::NoError);
}

#[tokio::test]
async fn negative_answers_carry_and_cache_their_soa() {
    let resolver = recursive(hierarchy(), Limits::default());
    let nx = ask(&resolver, "nope.example.lab.", RecordType::A).await;
    assert_eq!(nx.rcode, ResponseCode::NXDomain);
    assert_eq!(nx.authorities.len(), 1);
    assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
    let nodata = ask(&resolver, "www.example.lab.", RecordType::MX).await;
    assert_eq!((nodata.rcode, nodata.answers.len(), nodata.authorities.len()), (ResponseCode::NoError, 0, 1));
    let before = resolver.upstream.queries();
    ask(&resolver, "nope.example.lab.", RecordType::AAAA).await;
    ask(&resolver, "www.example.lab.", RecordType::MX).await;
    assert_eq!(resolver.upstream.queries(), before, "NXDOMAIN covers every type, NODATA its own");
}

#[tokio::test]
async fn refusing_and_silent_servers_are_skipped_and_sink() {
    let resolver = recursive(hierarchy(), Limits::default());
    assert_eq!(addresses(&ask(&resolver, "host.lame.lab.", RecordType::A).await), vec!["10.53.0.104"]);
    assert_eq!(addresses(&ask(&resolver, "host.slow.lab.", RecordType::A).await), vec!["10.53.0.105"]);
    let stats = resolver.servers.lock().unwrap();
    for bad in [ip(5), ip(7)] {
        if let Some(srtt) = stats.srtt(bad) {
            assert!(srtt > stats.srtt(ip(8)).unwrap(), "{bad} ranks below a good server");
        }
    }
}

#[tokio::test]
async fn out_of_bailiwick_records_are_not_believed() {
    let net = hierarchy().serve(ip(1), Behavior::Poison, vec![root_zone()]);
    let resolver = recursive(net, Limits::default());
    ask(&resolver, "www.lab.", RecordType::A).await;
    assert_eq!(resolver.cached(&name("www.victim.test."), RecordType::A, DNSClass::IN), None);
    // lab.'s servers send glue for a name in other.: it is not kept, and
    // the address other.'s servers give is used.
    assert_eq!(addresses(&ask(&resolver, "host.noglue.lab.", RecordType::A).await), vec!["10.53.0.103"]);
    let Some(Lookup::Records(glue)) = resolver.cached(&name("ns.elsewhere.other."), RecordType::A, DNSClass::IN) else {
        panic!("the NS address was looked up and cached");
    };
    assert_eq!(
        addresses(&Answer {
            rcode: ResponseCode::NoError,
            answers: glue.records,
            authorities: vec![],
            stale: false,
            security: crate::dnssec::Security::Unchecked,
            dropped: false,
        }),
        vec!["10.53.0.9"]
    );
}

#[tokio::test]
async fn a_referral_that_does_not_lead_down_is_lame() {
    let resolver = recursive(hierarchy(), Limits::default());
    let answer = ask(&resolver, "host.up.lab.", RecordType::A).await;
    assert_eq!(answer.rcode, ResponseCode::ServFail);
    assert!(exchanges(&resolver).contains(&("lame", 1)));
    assert!(resolver.stats.failures().any(|(reason, n)| reason == "no_server" && n == 1));
    assert_eq!(resolver.upstream.queries(), 3, "root, lab., up.lab.'s server; not back to the root");
}

#[tokio::test]
async fn limits_turn_into_servfail() {
    let resolver = recursive(hierarchy(), Limits::default());
    let looped = ask(&resolver, "loop1.lab.", RecordType::A).await;
    assert_eq!(looped.rcode, ResponseCode::ServFail, "a CNAME loop ends at the link limit");
    let resolver = recursive(hierarchy(), Limits { max_queries: 2, ..Limits::default() });
    let starved = ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(starved.rcode, ResponseCode::ServFail);
    assert_eq!(resolver.upstream.queries(), 2, "no query past the budget");
    assert!(resolver.stats.failures().any(|(reason, n)| reason == "budget" && n == 1));
}

#[tokio::test]
async fn concurrent_identical_questions_share_one_resolution() {
    let resolver = recursive(hierarchy(), Limits::default());
    let q = Query::query(name("www.example.lab."), RecordType::A);
    let (one, two, three) = tokio::join!(resolver.resolve(&q), resolver.resolve(&q), resolver.resolve(&q));
    assert_eq!(one, two);
    assert_eq!(two, three);
    assert_eq!(resolver.upstream.queries(), 3, "one walk down the tree for three askers");
    assert_eq!(sources(&resolver), [("cache", 0), ("network", 1), ("shared", 2), ("stale", 0)]);
}

#[tokio::test]
async fn forwarding_fails_over_to_the_next_upstream() {
    let forwarders: Vec<SocketAddr> = [ip(7), ip(3)].iter().map(|ip| SocketAddr::new(*ip, 53)).collect();
    let resolver = Resolver::new(hierarchy(), Mode::Forward(forwarders), Limits::default(), CacheLimits::default());
    // The silent forwarder once answered fast: it is asked first.
    resolver.servers.lock().unwrap().answered(ip(7), std::time::Duration::from_millis(1));
    let answer = ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(addresses(&answer), vec!["10.53.0.101"]);
    assert!(matches!(
        resolver.cached(&name("www.example.lab."), RecordType::A, DNSClass::IN),
        Some(Lookup::Records(_))
    ));
    let failed_over = exchanges(&resolver);
    assert!(failed_over.contains(&("timeout", 1)) && failed_over.contains(&("answered", 1)), "{failed_over:?}");
}

#[tokio::test]
async fn servers_whose_addresses_are_gone_are_found_again_from_above() {
    let resolver = recursive(hierarchy(), Limits::default());
    // The root's own NS RRset from an answer: its server's address comes
    // only as glue, which answers do not cache.
    let ns = ask(&resolver, ".", RecordType::NS).await;
    assert_eq!(ns.rcode, ResponseCode::NoError, "{ns:?}");
    let soa = ask(&resolver, ".", RecordType::SOA).await;
    assert_eq!((soa.rcode, soa.answers.len()), (ResponseCode::NoError, 1), "the root hints step in: {soa:?}");
    // lab.'s server is named inside lab.: with its address expired, only
    // the root's referral (glue) can give it again.
    ask(&resolver, "www.lab.", RecordType::A).await;
    assert!(resolver.purge(&name("ns.lab.")), "its address was cached");
    let again = ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(addresses(&again), vec!["10.53.0.101"]);
}

#[tokio::test]
async fn the_ttl_policy_holds_for_fresh_and_cached_answers_alike() {
    use super::{testnet::Zone, ttl::TtlPolicy};
    // A zone whose TTLs are a week, the top bit, and a day-long negative.
    let mut zone =
        Zone::new("ttl.", vec![testnet::a("week.ttl.", 604_800, ip(110)), testnet::a("top.ttl.", 1 << 31, ip(111))]);
    zone.records[0] = testnet::soa("ttl.", 86_400);
    zone.records[0].ttl = 86_400;
    let mut root = root_zone();
    root.records.push(testnet::ns("ttl.", "ns.ttl."));
    root.records.push(testnet::a("ns.ttl.", 3600, ip(11)));
    let net = FakeNet::default().serve(ip(1), Behavior::Authoritative, vec![root]).serve(
        ip(11),
        Behavior::Authoritative,
        vec![zone],
    );
    let policy = TtlPolicy { max_ttl: 3600, max_negative_ttl: 300 };
    let cache = CacheLimits { ttl: policy, ..CacheLimits::default() };
    let resolver = Resolver::new(net, Mode::Recursive(hints()), Limits::default(), cache);
    let ttls = |answer: &Answer| answer.answers.iter().chain(&answer.authorities).map(|r| r.ttl).collect::<Vec<_>>();
    let cases = [
        ("week.ttl.", RecordType::A, vec![3600]),
        ("top.ttl.", RecordType::A, vec![0]),
        ("nope.ttl.", RecordType::A, vec![300]),
        ("week.ttl.", RecordType::TXT, vec![300]),
    ];
    for (qname, qtype, expected) in cases {
        let fresh = ask(&resolver, qname, qtype).await;
        assert_eq!(ttls(&fresh), expected, "{qname} {qtype} from the server");
        let before = resolver.upstream.queries();
        let again = ask(&resolver, qname, qtype).await;
        assert_eq!(ttls(&again), expected, "{qname} {qtype} again");
        let asked_again = resolver.upstream.queries() > before;
        assert_eq!(asked_again, expected == [0], "{qname} {qtype}: only a TTL of 0 is not cached");
    }
}

#[tokio::test]
async fn only_the_cname_chain_of_an_answer_section_is_believed() {
    let net = hierarchy().serve(ip(3), Behavior::Stuffing, vec![testnet::example_zone()]);
    let resolver = recursive(net, Limits::default());
    let chain = ask(&resolver, "chain.example.lab.", RecordType::A).await;
    assert_eq!(addresses(&chain), ["CNAME alias.example.lab.", "CNAME www.other.", "10.53.0.102"]);
    assert_eq!(resolver.cached(&name("planted.example.lab."), RecordType::A, DNSClass::IN), None);
    assert!(resolver.cached(&name("alias.example.lab."), RecordType::CNAME, DNSClass::IN).is_some(), "a link");
}

#[tokio::test]
async fn glue_and_a_parents_ns_rrset_never_answer_a_client() {
    let resolver = recursive(hierarchy(), Limits::default());
    ask(&resolver, "www.example.lab.", RecordType::A).await;
    for (qname, qtype) in [("ns.example.lab.", RecordType::A), ("example.lab.", RecordType::NS)] {
        let before = resolver.upstream.queries();
        let answer = ask(&resolver, qname, qtype).await;
        assert_eq!((answer.rcode, answer.answers.len()), (ResponseCode::NoError, 1), "{qname} {qtype}");
        let log = resolver.upstream.log.lock().unwrap();
        assert_eq!(log.len(), before + 1, "{qname} {qtype}: one query, not an answer from the referral");
        assert_eq!(log[before], (ip(3), name(qname), qtype), "asked of the zone's own server");
    }
}

#[tokio::test]
async fn upstream_queries_carry_0x20_and_a_server_that_drops_it_is_asked_without() {
    let net = hierarchy().serve(ip(2), Behavior::CaseBlind, vec![testnet::lab_zone()]);
    let resolver = recursive(net, Limits::default());
    let names = ["www.lab.", "host.noglue.lab.", "www.example.lab.", "chain.example.lab.", "nope.lab."];
    for qname in names {
        let answer = ask(&resolver, qname, RecordType::A).await;
        assert_ne!(answer.rcode, ResponseCode::ServFail, "{qname} is answered despite the case-blind server");
    }
    let mismatches = exchanges(&resolver).into_iter().find(|(outcome, _)| *outcome == "case_mismatch");
    assert_eq!(mismatches, Some(("case_mismatch", 1)), "one mismatch, then lab.'s server is asked without 0x20");
    let log = resolver.upstream.log.lock().unwrap();
    let mixed =
        |server: std::net::IpAddr| log.iter().filter(|(s, n, _)| *s == server && !n.to_lowercase().eq_case(n)).count();
    assert!(mixed(ip(1)) > 0 && mixed(ip(3)) > 0, "other servers are asked with 0x20");
    assert_eq!(mixed(ip(2)), 1, "lab.'s server got one query in mixed case");
}

/// A resolver over `hierarchy()` whose www.lab. lives one second, serving
/// stale after `stale_after`.
fn short_lived(stale_after: std::time::Duration) -> Resolver<FakeNet> {
    let mut lab = testnet::lab_zone();
    lab.records.push(testnet::a("short.lab.", 1, ip(120)));
    let net = hierarchy().serve(ip(2), Behavior::Authoritative, vec![lab]);
    recursive(net, Limits { stale_after, ..Limits::default() })
}

fn set_outage(resolver: &Resolver<FakeNet>, cut: bool) {
    resolver.upstream.outage.store(cut, std::sync::atomic::Ordering::Relaxed);
}

#[tokio::test]
async fn an_outage_is_answered_stale_and_marked_and_not_asked_again_at_once() {
    let resolver = short_lived(std::time::Duration::from_millis(1800));
    let fresh = ask(&resolver, "short.lab.", RecordType::A).await;
    assert_eq!((addresses(&fresh), fresh.stale), (vec!["10.53.0.120".to_string()], false));
    // A refresh that fails while the data is fresh takes nothing away.
    set_outage(&resolver, true);
    let refreshed = resolver.refresh(&Query::query(name("short.lab."), RecordType::A)).await;
    assert_eq!(refreshed.rcode, ResponseCode::ServFail);
    assert!(!ask(&resolver, "short.lab.", RecordType::A).await.stale, "still fresh from the cache");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let stale = ask(&resolver, "short.lab.", RecordType::A).await;
    assert_eq!(
        (stale.rcode, addresses(&stale), stale.stale),
        (ResponseCode::NoError, vec!["10.53.0.120".to_string()], true)
    );
    assert!(stale.answers.iter().all(|r| r.ttl == 30), "stale answers carry TTL 30: {stale:?}");
    let asked = resolver.upstream.queries();
    let again = ask(&resolver, "short.lab.", RecordType::A).await;
    assert!(again.stale && resolver.upstream.queries() == asked, "within the recheck time, stale at once, unasked");
    assert_eq!(sources(&resolver).last(), Some(&("stale", 2)));
    let never = ask(&resolver, "never.lab.", RecordType::A).await;
    assert_eq!((never.rcode, never.stale), (ResponseCode::ServFail, false), "nothing cached, nothing stale");
}

#[tokio::test]
async fn a_name_a_reload_puts_under_the_policy_is_not_answered_stale() {
    use crate::policy::local::{Local, LocalPolicy, LocalSettings, records};
    let local = Arc::new(Local::new(LocalPolicy::default()));
    let resolver = short_lived(std::time::Duration::from_millis(1800)).with_local_policy(local.clone());
    ask(&resolver, "short.lab.", RecordType::A).await;
    set_outage(&resolver, true);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(ask(&resolver, "short.lab.", RecordType::A).await.stale, "answered stale: the recheck timer runs");
    let settings =
        LocalSettings { data: records("short.lab. 60 IN A 10.9.9.9", 60).unwrap(), ..LocalSettings::default() };
    local.replace(LocalPolicy::load(&settings).unwrap());
    let local_answer = ask(&resolver, "short.lab.", RecordType::A).await;
    assert_eq!((addresses(&local_answer), local_answer.stale), (vec!["10.9.9.9".to_string()], false));
}

#[tokio::test]
async fn a_slow_upstream_gets_the_client_a_stale_answer_after_the_client_timer() {
    let stale_after = std::time::Duration::from_millis(100);
    let resolver = short_lived(stale_after);
    ask(&resolver, "short.lab.", RecordType::A).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    *resolver.upstream.latency.lock().unwrap() = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let answer = ask(&resolver, "short.lab.", RecordType::A).await;
    assert!(answer.stale, "{answer:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "after the client timer, not the upstream: {:?}",
        started.elapsed()
    );
    *resolver.upstream.latency.lock().unwrap() = std::time::Duration::from_millis(200);
    let cold = ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(
        (cold.rcode, cold.stale),
        (ResponseCode::NoError, false),
        "with nothing stale, the resolution is awaited"
    );
}

/// The root delegates nxns. (.30) and sink. (.31); nxns.'s server refers
/// victim.nxns. to a hundred name servers in sink., where no name exists.
fn nxns_net() -> FakeNet {
    let mut root = root_zone();
    root.records.extend([testnet::ns("nxns.", "ns.nxns."), testnet::a("ns.nxns.", 3600, ip(30))]);
    root.records.extend([testnet::ns("sink.", "ns.sink."), testnet::a("ns.sink.", 3600, ip(31))]);
    let referral = (0..100).map(|i| testnet::ns("victim.nxns.", &format!("ns{i}.sink."))).collect();
    hierarchy()
        .serve(ip(1), Behavior::Authoritative, vec![root])
        .serve(ip(30), Behavior::Authoritative, vec![testnet::Zone::new("nxns.", referral)])
        .serve(ip(31), Behavior::Authoritative, vec![testnet::Zone::new("sink.", vec![])])
}

#[tokio::test]
async fn a_referral_to_a_hundred_unresolvable_name_servers_costs_a_few_lookups() {
    let resolver = recursive(nxns_net(), Limits::default());
    let answer = ask(&resolver, "www.victim.nxns.", RecordType::A).await;
    assert_eq!(answer.rcode, ResponseCode::ServFail);
    let log = resolver.upstream.log.lock().unwrap();
    let lookups = log.iter().filter(|(server, _, _)| *server == ip(31)).count();
    assert!(lookups <= 2 * 8, "at most 8 NS names looked up (A and AAAA): {lookups} queries to sink.");
    assert!(log.len() <= 2 + 1 + 2 * 8, "{} upstream queries for one client question", log.len());
}

#[tokio::test]
async fn a_slow_zone_under_a_flood_fails_fast_past_its_bound_and_others_are_answered() {
    let limits = Limits { max_outstanding_per_zone: 2, ..Limits::default() };
    let resolver = Arc::new(recursive(hierarchy(), limits));
    // The delegations are cached, so only example.lab.'s and other.'s
    // servers are asked below.
    ask(&resolver, "www.example.lab.", RecordType::A).await;
    ask(&resolver, "www.other.", RecordType::A).await;
    *resolver.upstream.latency.lock().unwrap() = std::time::Duration::from_millis(300);
    let flood: Vec<_> = (0..5)
        .map(|i| {
            let resolver = resolver.clone();
            tokio::spawn(async move { ask(&resolver, &format!("r{i}.example.lab."), RecordType::A).await.rcode })
        })
        .collect();
    tokio::task::yield_now().await;
    let other = ask(&resolver, "ns.elsewhere.other.", RecordType::A).await;
    assert_eq!(other.rcode, ResponseCode::NoError, "another zone is answered meanwhile");
    let mut rcodes = Vec::new();
    for task in flood {
        rcodes.push(task.await.unwrap());
    }
    let failed = rcodes.iter().filter(|r| **r == ResponseCode::ServFail).count();
    assert_eq!((rcodes.len() - failed, failed), (2, 3), "two asked, three failed at once: {rcodes:?}");
    assert!(resolver.stats.failures().any(|(reason, n)| reason == "busy" && n == 3));
}

/// The servers asked since the log was last taken, in order.
fn servers_asked(resolver: &Resolver<FakeNet>) -> Vec<String> {
    let mut log = resolver.upstream.log.lock().unwrap();
    log.drain(..).map(|(server, qname, qtype)| format!("{server} {} {qtype}", qname.to_lowercase())).collect()
}

fn route_zones(routes: &[(&str, bool, u8)]) -> super::routes::Routes {
    use super::routes::{Route, Routes};
    Routes::new(routes.iter().map(|(zone, stub, server)| {
        let servers = vec![SocketAddr::new(ip(*server), 53)];
        (name(zone), if *stub { Route::Stub(servers) } else { Route::Forward(servers) })
    }))
    .unwrap()
}

#[tokio::test]
async fn forward_and_stub_zones_go_to_their_own_servers_longest_first() {
    // lab. iterated from its server (a stub), example.lab. forwarded to
    // its authoritative server; other. the global way, from the root.
    let resolver = recursive(hierarchy(), Limits::default())
        .with_routes(route_zones(&[("lab.", true, 2), ("example.lab.", false, 3)]));
    let cases = [
        ("www.example.lab.", vec!["10.53.0.3 www.example.lab. A"], vec!["10.53.0.101"]),
        ("www.lab.", vec!["10.53.0.2 www.lab. A"], vec!["10.53.0.100"]),
        (
            "host.noglue.lab.",
            // Minimised: lab.'s server hears of noglue.lab. only; the NS
            // name's address is looked up whole.
            vec![
                "10.53.0.2 noglue.lab. A",
                "10.53.0.1 ns.elsewhere.other. A",
                "10.53.0.4 ns.elsewhere.other. A",
                "10.53.0.4 ns.elsewhere.other. AAAA",
                "10.53.0.9 host.noglue.lab. A",
            ],
            vec!["10.53.0.103"],
        ),
        ("www.other.", vec!["10.53.0.4 www.other. A"], vec!["10.53.0.102"]),
    ];
    for (qname, asked, answer) in cases {
        let got = ask(&resolver, qname, RecordType::A).await;
        assert_eq!(addresses(&got), answer, "{qname}");
        assert_eq!(servers_asked(&resolver), asked, "{qname}");
    }
}

#[tokio::test]
async fn a_route_changed_on_reload_drops_what_was_learned_under_it() {
    let resolver = recursive(hierarchy(), Limits::default());
    ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(servers_asked(&resolver).len(), 3, "root, lab., example.lab.");
    ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert!(servers_asked(&resolver).is_empty(), "cached");
    let changed = resolver.replace_routes(route_zones(&[("example.lab.", true, 3)]));
    assert_eq!(changed, vec![name("example.lab.")]);
    ask(&resolver, "www.example.lab.", RecordType::A).await;
    assert_eq!(servers_asked(&resolver), ["10.53.0.3 www.example.lab. A"], "the stub's server, at once");
    ask(&resolver, "www.lab.", RecordType::A).await;
    assert_eq!(servers_asked(&resolver), ["10.53.0.2 www.lab. A"], "lab.'s cut is kept: its route did not change");
}

/// A root delegating `broken.` to a server that denies empty
/// non-terminals; `host.ent.broken.` exists below one.
fn broken_ent_net() -> FakeNet {
    let mut root = root_zone();
    root.records.push(testnet::ns("broken.", "ns.broken."));
    root.records.push(testnet::a("ns.broken.", 3600, ip(11)));
    let broken = testnet::Zone::new("broken.", vec![testnet::a("host.ent.broken.", 300, ip(110))]);
    FakeNet::default().serve(ip(1), Behavior::Authoritative, vec![root]).serve(
        ip(11),
        Behavior::DeniesEmptyNonTerminals,
        vec![broken],
    )
}

/// A root delegating `both.` to a server that also serves
/// `child.both.`, which `both.` delegates to it (one server for a zone
/// and its children, as knotd serves bench.sec. and its z zones).
fn parent_and_child_net() -> FakeNet {
    let mut root = root_zone();
    root.records.push(testnet::ns("both.", "ns.both."));
    root.records.push(testnet::a("ns.both.", 3600, ip(12)));
    let parent =
        testnet::Zone::new("both.", vec![testnet::ns("child.both.", "ns.both."), testnet::a("ns.both.", 3600, ip(12))]);
    let hosts = (1..=2).map(|i| testnet::a(&format!("h{i}.child.both."), 300, ip(120 + i))).collect();
    let child = testnet::Zone::new("child.both.", hosts);
    FakeNet::default().serve(ip(1), Behavior::Authoritative, vec![root]).serve(
        ip(12),
        Behavior::Authoritative,
        vec![parent, child],
    )
}

#[tokio::test]
async fn a_minimised_question_answered_before_is_not_asked_again() {
    let resolver = recursive(parent_and_child_net(), Limits::default());
    let cases: [(&str, &[&str]); 3] = [
        ("h1.child.both.", &["10.53.0.1 both. A", "10.53.0.12 child.both. A", "10.53.0.12 h1.child.both. A"]),
        // The child's apex answered NODATA (no referral: the server has
        // the child too), which the cache keeps.
        ("h2.child.both.", &["10.53.0.12 h2.child.both. A"]),
        ("h3.child.both.", &["10.53.0.12 h3.child.both. A"]),
    ];
    for (qname, asked) in cases {
        ask(&resolver, qname, RecordType::A).await;
        assert_eq!(servers_asked(&resolver), asked, "{qname}");
    }
    assert_eq!(resolver.stats.minimised_queries(), 2, "both. and child.both., once each");
}

#[tokio::test]
async fn qname_minimisation_tells_each_server_only_the_next_label() {
    use super::minimise::Minimisation;
    let relaxed = recursive(broken_ent_net(), Limits::default());
    let answer = ask(&relaxed, "host.ent.broken.", RecordType::A).await;
    assert_eq!(addresses(&answer), vec!["10.53.0.110"], "relaxed: the whole name after the false NXDOMAIN");
    let asked = ["10.53.0.1 broken. A", "10.53.0.11 ent.broken. A", "10.53.0.11 host.ent.broken. A"];
    assert_eq!(servers_asked(&relaxed), asked, "the root hears of the TLD only");
    assert_eq!(relaxed.stats.minimised_queries(), 2);

    let strict = recursive(broken_ent_net(), Limits::default()).with_qname_minimisation(Minimisation::Strict);
    let denied = ask(&strict, "host.ent.broken.", RecordType::A).await;
    assert_eq!(denied.rcode, ResponseCode::NXDomain, "strict: the NXDOMAIN holds below (RFC 8020)");
    assert_eq!(servers_asked(&strict), asked[..2]);

    let off = recursive(broken_ent_net(), Limits::default()).with_qname_minimisation(Minimisation::Off);
    assert_eq!(addresses(&ask(&off, "host.ent.broken.", RecordType::A).await), vec!["10.53.0.110"]);
    assert_eq!(servers_asked(&off), ["10.53.0.1 host.ent.broken. A", "10.53.0.11 host.ent.broken. A"]);
}
