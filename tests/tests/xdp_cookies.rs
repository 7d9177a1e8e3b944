//! EDNS options at the XDP program, through BPF_PROG_TEST_RUN: DNS cookies
//! (RFC 7873, RFC 9018), NSID (RFC 5001), padding and the options the
//! program ignores or leaves to the daemon. Every answer's OPT record must
//! be, byte for byte, the one the daemon's own code makes for the same
//! query with the same secrets at the same second; what the program does
//! not take must pass, with its counter.

use std::net::IpAddr;

use anycast_common::{
    Outcome,
    cookie::{self, CLIENT_COOKIE_LEN, OPTION_COOKIE},
    dns::{OPTION_CLIENT_SUBNET, OPTION_NSID},
};
use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT4, CLIENT6, NSID, Node, VIP4, VIP6, XDP_PASS, XDP_TX, ages_since},
    verify,
    zone::{self, EDNS, EDNS_DO, query, wire},
};
use anycast_user::policy::cookies::client_addr;
use hickory_proto::{op::Message, rr::RecordType};

const PADDING: u16 = 12;
const CLIENT_COOKIE: [u8; CLIENT_COOKIE_LEN] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];

/// A query for `qname` A with EDNS (DO as asked) and these options.
fn with_options(qname: &str, dnssec_ok: bool, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    zone::with_options(wire(&query(0x0c0c, qname, RecordType::A, if dnssec_ok { EDNS_DO } else { EDNS })), options)
}

fn cookie_option(data: Vec<u8>) -> (u16, Vec<u8>) {
    (OPTION_COOKIE, data)
}

/// A server cookie for `client` made with the node's current secret,
/// `age` seconds ago.
fn server_cookie(node: &Node, client: IpAddr, age: u32) -> Vec<u8> {
    let (secrets, now) = node.edns.cookies.as_ref().unwrap().now();
    let made = cookie::make(&secrets, u64::from_le_bytes(CLIENT_COOKIE), &client_addr(client), now - age);
    [CLIENT_COOKIE.as_slice(), &made.to_bytes()].concat()
}

/// The daemon's OPT record for the DNS query `payload` from `client`.
fn daemons_opt(node: &Node, payload: &[u8], client: IpAddr) -> Vec<u8> {
    let m = Message::from_vec(payload).expect("the query parses");
    let edns = node.edns.answer_parsed(m.edns.as_ref().expect("EDNS"), client).expect("a well-formed cookie");
    edns.response.record()
}

/// Runs the query and checks the answer with the daemon's OPT, made in the
/// same second (a run that straddles a second is tried again: a cookie
/// made a second later is another cookie).
fn answered_like_the_daemon(node: &mut Node, spec: &FrameSpec, populated: u64) -> Result<(), String> {
    let frame = spec.build();
    for _ in 0..3 {
        let second = node.edns.cookies.as_ref().unwrap().now().1;
        let (run, outcome) = node.run_counted(&frame);
        let opt = daemons_opt(node, &spec.payload, spec.src);
        if node.edns.cookies.as_ref().unwrap().now().1 != second {
            continue;
        }
        if (run.action, outcome) != (XDP_TX, Outcome::Answered) {
            return Err(format!("action {} as {outcome:?}", run.action));
        }
        return verify::answer_with_opt(&frame, &run.frame, ages_since(populated), Some(&opt));
    }
    Err("three runs straddled a second".into())
}

enum Expect {
    /// Answered, with the daemon's OPT record.
    Daemons,
    Pass(Outcome),
}

struct Case {
    name: &'static str,
    client: IpAddr,
    dnssec_ok: bool,
    options: Vec<(u16, Vec<u8>)>,
    expect: Expect,
}

fn case(name: &'static str, client: IpAddr, dnssec_ok: bool, options: Vec<(u16, Vec<u8>)>, expect: Expect) -> Case {
    Case { name, client, dnssec_ok, options, expect }
}

#[test]
fn edns_options_are_answered_as_the_daemon_answers_them() {
    let (mut node, populated) = Node::populated();
    let v4: IpAddr = CLIENT4.into();
    let v6: IpAddr = CLIENT6.into();
    let valid = server_cookie(&node, v4, 0);
    let old = server_cookie(&node, v4, 1900);
    let expired = server_cookie(&node, v4, 3700);
    let mut forged = valid.clone();
    forged[CLIENT_COOKIE_LEN + 10] ^= 0x40;
    let for_v6 = server_cookie(&node, v6, 0);
    let foreign = [CLIENT_COOKIE.as_slice(), &[0x11; 20]].concat();
    let cookie = |data: &[u8]| vec![cookie_option(data.to_vec())];
    let cases = vec![
        case("a client cookie alone", v4, false, cookie(&CLIENT_COOKIE), Expect::Daemons),
        case("a valid server cookie: sent back", v4, false, cookie(&valid), Expect::Daemons),
        case("a server cookie 31 minutes old: renewed", v4, false, cookie(&old), Expect::Daemons),
        case("a server cookie over an hour old", v4, false, cookie(&expired), Expect::Daemons),
        case("a forged server cookie", v4, false, cookie(&forged), Expect::Daemons),
        case("a server cookie of another length", v4, false, cookie(&foreign), Expect::Daemons),
        case("another client's server cookie (IPv6)", v6, false, cookie(&valid), Expect::Daemons),
        case("IPv6, its own server cookie, DO=1", v6, true, cookie(&for_v6), Expect::Daemons),
        case("NSID asked", v4, false, vec![(OPTION_NSID, vec![])], Expect::Daemons),
        case(
            "NSID, padding and a cookie, DO=1",
            v4,
            true,
            vec![(OPTION_NSID, vec![]), (PADDING, vec![0; 30]), cookie_option(CLIENT_COOKIE.to_vec())],
            Expect::Daemons,
        ),
        case("padding to a 128-byte block", v6, false, vec![(PADDING, vec![0; 83])], Expect::Daemons),
        case("an unknown option", v4, false, vec![(65001, vec![1, 2, 3])], Expect::Daemons),
        case(
            "client subnet: the daemon's",
            v4,
            false,
            vec![(OPTION_CLIENT_SUBNET, vec![0, 1, 24, 0, 198, 51, 100])],
            Expect::Pass(Outcome::EdnsOption),
        ),
        case("a cookie of 5 bytes", v4, false, cookie(&[1; 5]), Expect::Pass(Outcome::BadCookie)),
        case("a cookie of 12 bytes", v4, false, cookie(&[1; 12]), Expect::Pass(Outcome::BadCookie)),
        case("a cookie of 41 bytes", v4, false, cookie(&[1; 41]), Expect::Pass(Outcome::BadCookie)),
        case(
            "two cookies",
            v4,
            false,
            vec![cookie_option(CLIENT_COOKIE.to_vec()), cookie_option(CLIENT_COOKIE.to_vec())],
            Expect::Pass(Outcome::BadCookie),
        ),
        case("nine options", v4, false, vec![(PADDING, vec![]); 9], Expect::Pass(Outcome::EdnsOption)),
        case("options over 256 bytes", v4, false, vec![(PADDING, vec![0; 300])], Expect::Pass(Outcome::EdnsOption)),
    ];
    let mut failures = Vec::new();
    for Case { name, client, dnssec_ok, options, expect } in cases {
        let dst: IpAddr = if client.is_ipv4() { VIP4.into() } else { VIP6.into() };
        let spec = FrameSpec::dns(client, dst, with_options("www.example.", dnssec_ok, &options));
        let verdict = match expect {
            Expect::Daemons => answered_like_the_daemon(&mut node, &spec, populated),
            Expect::Pass(expected) => {
                let frame = spec.build();
                let (run, outcome) = node.run_counted(&frame);
                if (run.action, outcome) != (XDP_PASS, expected) || run.frame != frame {
                    Err(format!("expected XDP_PASS as {expected:?}, unchanged; got {} as {outcome:?}", run.action))
                } else {
                    Ok(())
                }
            }
        };
        if let Err(why) = verdict {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn an_option_that_runs_past_the_record_passes() {
    let (mut node, _) = Node::populated();
    let mut payload = with_options("www.example.", false, &[(PADDING, vec![0; 8])]);
    let len_at = payload.len() - 10;
    payload[len_at..len_at + 2].copy_from_slice(&9u16.to_be_bytes());
    let frame = FrameSpec::dns(CLIENT4.into(), VIP4.into(), payload).build();
    let (run, outcome) = node.run_counted(&frame);
    assert_eq!((run.action, outcome), (XDP_PASS, Outcome::BadEdns));
}

#[test]
fn cookies_made_before_a_rotation_are_accepted_and_renewed() {
    let (mut node, populated) = Node::populated();
    let client: IpAddr = CLIENT4.into();
    let before = server_cookie(&node, client, 0);
    node.rotate_cookie_secret();
    let spec =
        FrameSpec::dns(client, VIP4.into(), with_options("www.example.", false, &[cookie_option(before.clone())]));
    answered_like_the_daemon(&mut node, &spec, populated).unwrap_or_else(|e| panic!("after one rotation: {e}"));
    let frame = spec.build();
    let run = node.run(&frame).unwrap();
    assert!(!run.frame.ends_with(&before), "renewed, not sent back");
    node.rotate_cookie_secret();
    answered_like_the_daemon(&mut node, &spec, populated).unwrap_or_else(|e| panic!("after two rotations: {e}"));
    let (secrets, now) = node.edns.cookies.as_ref().unwrap().now();
    let server = cookie::ServerCookie::from_bytes(before[CLIENT_COOKIE_LEN..].try_into().unwrap());
    let checked = cookie::check(&secrets, &server, u64::from_le_bytes(CLIENT_COOKIE), &client_addr(client), now);
    assert!(!checked.is_valid(), "forgotten");
}

#[test]
fn the_nsid_is_the_configured_one() {
    let (mut node, _) = Node::populated();
    let frame =
        FrameSpec::dns(CLIENT4.into(), VIP4.into(), with_options("www.example.", false, &[(OPTION_NSID, vec![])]))
            .build();
    let run = node.run(&frame).unwrap();
    let reply = anycast_tests::reply::parse(&run.frame, anycast_tests::reply::Sender::Node).unwrap();
    let m = Message::from_vec(&reply.dns).unwrap();
    let nsid = m.edns.unwrap().options().as_ref().iter().find(|(code, _)| u16::from(*code) == OPTION_NSID).cloned();
    let data = Vec::<u8>::try_from(&nsid.expect("an NSID option").1).unwrap();
    assert_eq!(data, NSID);
}
