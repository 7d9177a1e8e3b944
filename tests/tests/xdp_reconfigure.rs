//! A reload's new ACL, rate limit and NSID put into the running XDP
//! program (`FastPath::reconfigure`), through BPF_PROG_TEST_RUN: the next
//! packet is judged by the new settings, inline ACLs and tries alike.

use anycast_common::{Outcome, dns::OPTION_NSID};
use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT4, NSID, Node, VIP4},
    reply::{self, Sender},
    zone::{self, with_options},
};
use anycast_user::policy::{acl::Acl, ratelimit::RateLimitSettings};
use hickory_proto::op::Message;

fn acl(networks: &[&str]) -> Acl {
    Acl::new(networks.iter().map(|n| n.parse().expect("a network")).collect())
}

/// The query the cases send: www.example. A from CLIENT4, asking for
/// the NSID.
fn frame() -> Vec<u8> {
    let query = zone::wire(&zone::query(7, "www.example.", hickory_proto::rr::RecordType::A, zone::EDNS));
    FrameSpec::dns(CLIENT4.into(), VIP4.into(), with_options(query, &[(OPTION_NSID, vec![])])).build()
}

fn nsid_of(node: &mut Node) -> Vec<u8> {
    let (run, outcome) = node.run_counted(&frame());
    assert_eq!(outcome, Outcome::Answered);
    let m = Message::from_vec(&reply::parse(&run.frame, Sender::Node).expect("the reply").dns).expect("parses");
    let option = m.edns.expect("OPT").options().as_ref().iter().find(|(c, _)| u16::from(*c) == OPTION_NSID).cloned();
    Vec::<u8>::try_from(&option.expect("an NSID").1).expect("NSID bytes")
}

#[test]
fn a_reloaded_acl_rate_limit_and_nsid_hold_from_the_next_packet() {
    let (mut node, _) = Node::populated();
    assert_eq!(nsid_of(&mut node), NSID);
    let many: Vec<String> = (1..=20).map(|i| format!("10.{i}.0.0/16")).collect();
    let with_client: Vec<&str> = many.iter().map(String::as_str).chain(["198.51.100.0/24"]).collect();
    let cases: [(&str, Acl, Outcome); 4] = [
        ("inline, the client's network gone", acl(&["203.0.113.0/24"]), Outcome::NotAllowed),
        ("tries, with the client's network", acl(&with_client), Outcome::Answered),
        ("tries, without it", acl(&with_client[..20]), Outcome::NotAllowed),
        ("inline again, with it", acl(&["198.51.100.0/24"]), Outcome::Answered),
    ];
    for (what, acl, expected) in cases {
        node.fast_path.reconfigure(&acl, &RateLimitSettings::OFF, NSID).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(node.run_counted(&frame()).1, expected, "{what}");
    }
    let same_acl = acl(&["198.51.100.0/24"]);
    node.fast_path.reconfigure(&same_acl, &RateLimitSettings::OFF, b"node-b").expect("a new NSID");
    assert_eq!(nsid_of(&mut node), b"node-b");
    let one = RateLimitSettings { responses_per_second: 1, burst: 1, slip: 0, ..RateLimitSettings::OFF };
    node.fast_path.reconfigure(&same_acl, &one, b"node-b").expect("a rate limit");
    let outcomes: Vec<Outcome> = (0..3).map(|_| node.run_counted(&frame()).1).collect();
    assert_eq!(outcomes[0], Outcome::Answered);
    assert!(outcomes[1..].iter().all(|o| *o == Outcome::RateLimited), "over the new limit: {outcomes:?}");
    assert!(node.fast_path.reconfigure(&same_acl, &one, &[b'n'; 300]).is_err(), "an NSID too long is refused");
}
