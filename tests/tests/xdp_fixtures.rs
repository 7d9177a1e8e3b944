//! The XDP program, packet by packet, through BPF_PROG_TEST_RUN: a table of
//! crafted frames against a map filled by the real map writer. Answers are
//! parsed back and checked field by field, with both checksums recomputed
//! by the tests' own code; everything else must pass with the right
//! counter.

use std::net::IpAddr;

use anycast_common::Outcome;
use anycast_tests::{
    frame::{CLIENT_MAC, Checksum, FrameSpec, TPID_8021AD, TPID_8021Q},
    harness::{CLIENT4, CLIENT6, Node, VIP4, VIP6, XDP_PASS, XDP_TX, ages_since},
    verify,
    zone::{ClientEdns, EDNS, EDNS_DO, catalog, query, wire},
};
use hickory_proto::rr::RecordType;

enum Expect {
    /// XDP_TX with the catalog's answer for the query.
    Answer,
    /// XDP_PASS, counted under this outcome.
    Pass(Outcome),
}

struct Case {
    name: &'static str,
    frame: FrameSpec,
    expect: Expect,
}

fn v4(payload: Vec<u8>) -> FrameSpec {
    FrameSpec::dns(CLIENT4.into(), VIP4.into(), payload)
}

fn v6(payload: Vec<u8>) -> FrameSpec {
    FrameSpec::dns(CLIENT6.into(), VIP6.into(), payload)
}

fn q(qname: &str, qtype: RecordType, edns: Option<ClientEdns>) -> Vec<u8> {
    wire(&query(0x2a2a, qname, qtype, edns))
}

fn with(mut spec: FrameSpec, change: impl FnOnce(&mut FrameSpec)) -> FrameSpec {
    change(&mut spec);
    spec
}

/// `payload` with its bytes changed by `change`.
fn patched(mut payload: Vec<u8>, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    change(&mut payload);
    payload
}

/// A query header (ID 0x2a2a, RD, one question, `arcount`) and a raw
/// question name, type A class IN.
fn raw_query(name: &[u8], arcount: u16) -> Vec<u8> {
    let mut m = vec![0x2a, 0x2a, 0x01, 0x00, 0, 1, 0, 0, 0, 0];
    m.extend_from_slice(&arcount.to_be_bytes());
    m.extend_from_slice(name);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

/// An OPT record: root owner, type 41, UDP size 1232, `version`, and
/// `rdata` as its options.
fn opt(version: u8, rdata: &[u8]) -> Vec<u8> {
    let mut o = vec![0, 0, 41, 0x04, 0xd0, 0, version, 0, 0];
    o.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    o.extend_from_slice(rdata);
    o
}

fn cases() -> Vec<Case> {
    use RecordType::*;
    let www_a = || q("www.example.", A, None);
    let answer = |name, frame| Case { name, frame, expect: Expect::Answer };
    let pass = |name, frame, outcome| Case { name, frame, expect: Expect::Pass(outcome) };
    let long_label: Vec<u8> = [&[64u8][..], &[b'a'; 64], &[0]].concat();
    let long_name: Vec<u8> = [[&[63u8][..], &[b'b'; 63]].concat().repeat(4), vec![3, b'c', b'o', b'm', 0]].concat();
    vec![
        answer("IPv4, A, no EDNS", v4(www_a())),
        answer("IPv6, AAAA, no EDNS", v6(q("www.example.", AAAA, None))),
        answer("A asked over IPv6", v6(www_a())),
        answer("one VLAN tag (802.1Q)", with(v4(www_a()), |f| f.vlans = vec![TPID_8021Q])),
        answer(
            "two VLAN tags (802.1ad + 802.1Q), IPv6, EDNS",
            with(v6(q("www.example.", AAAA, EDNS)), |f| f.vlans = vec![TPID_8021AD, TPID_8021Q]),
        ),
        answer("EDNS with DO=0 gets the DO=0 entry and an OPT back", v4(q("www.example.", A, EDNS))),
        answer("EDNS with DO=1 gets the DO=1 entry, DO echoed", v4(q("www.example.", A, EDNS_DO))),
        answer("0x20 mixed case is matched and echoed", v4(q("wWw.ExAmPlE.", A, EDNS))),
        answer("CNAME chain across zones", v4(q("alias.example.", A, None))),
        answer("NXDOMAIN with SOA", v4(q("nx.example.", A, EDNS))),
        answer("NODATA with SOA", v6(q("www.example.", MX, None))),
        answer("additional section kept", v4(q("ns.example.", A, EDNS))),
        answer("answer over 512 bytes to an EDNS client with room", v4(q("big.example.", TXT, EDNS))),
        answer("CD=1 is echoed", v4(patched(www_a(), |m| m[3] |= 0x10))),
        answer("RD=0 is echoed", v6(patched(www_a(), |m| m[2] &= !0x01))),
        answer("AD=1 in the query, AD clear in the answer", v4(patched(www_a(), |m| m[3] |= 0x20))),
        answer("a secure entry, DO=1: its RRSIG, and AD", v4(q("secure.example.", A, EDNS_DO))),
        answer(
            "a secure entry, DO=1 and CD=1: AD still",
            v4(patched(q("secure.example.", A, EDNS_DO), |m| m[3] |= 0x10)),
        ),
        answer("a secure entry, DO=0: no RRSIG, no AD", v6(q("secure.example.", A, EDNS))),
        answer("a secure entry, DO=0 and AD=1: AD", v4(patched(q("secure.example.", A, None), |m| m[3] |= 0x20))),
        answer("IPv4 without UDP checksum (allowed)", with(v4(www_a()), |f| f.udp_checksum = Checksum::Zero)),
        answer(
            "client asking for less than 512 is given 512",
            v4(q("www.example.", A, Some(ClientEdns { udp_size: 100, dnssec_ok: false }))),
        ),
        pass("answer over 512 bytes without EDNS", v4(q("big.example.", TXT, None)), Outcome::TooBig),
        pass(
            "answer over 512 bytes, client EDNS size 512",
            v4(q("big.example.", TXT, Some(ClientEdns { udp_size: 512, dnssec_ok: false }))),
            Outcome::TooBig,
        ),
        pass("DO=1 query with only a DO=0 entry", v4(q("www.example.", AAAA, EDNS_DO)), Outcome::Miss),
        pass("expired entry", v4(q("old.example.", A, None)), Outcome::Expired),
        pass("no entry", v4(q("unknown.example.", A, None)), Outcome::Miss),
        pass("other class (CH)", v4(patched(www_a(), |m| *m.last_mut().unwrap() = 3)), Outcome::Miss),
        pass("destination is not a VIP", with(v4(www_a()), |f| f.dst = IpAddr::from([6, 6, 6, 7])), Outcome::NotVip),
        pass("IPv6 destination is not a VIP", with(v6(www_a()), |f| f.dst = CLIENT6.into()), Outcome::NotVip),
        pass(
            "IPv4 client outside the ACL",
            with(v4(www_a()), |f| f.src = IpAddr::from([203, 0, 113, 9])),
            Outcome::NotAllowed,
        ),
        pass(
            "IPv6 client outside the ACL",
            with(v6(www_a()), |f| f.src = "2001:db8:d::7".parse().unwrap()),
            Outcome::NotAllowed,
        ),
        pass("another UDP port (5353)", with(v4(www_a()), |f| f.dport = 5353), Outcome::NotDnsPort),
        pass("BFD (UDP 3784)", with(v4(vec![0x20, 0xc0, 3, 24]), |f| f.dport = 3784), Outcome::NotDnsPort),
        pass("TCP to port 53", with(v4(www_a()), |f| f.protocol = 6), Outcome::NotUdp),
        pass("BGP (TCP 179)", with(v4(vec![0xff; 19]), |f| (f.protocol, f.dport) = (6, 179)), Outcome::NotUdp),
        pass("ICMPv6", with(v6(vec![135, 0, 0, 0]), |f| f.protocol = 58), Outcome::NotUdp),
        pass(
            "IPv4 first fragment (MF)",
            with(v4(www_a()), |f| f.ipv4_fragment = 0x2000),
            Outcome::Ipv4OptionsOrFragment,
        ),
        pass(
            "IPv4 later fragment (offset)",
            with(v4(www_a()), |f| f.ipv4_fragment = 0x0010),
            Outcome::Ipv4OptionsOrFragment,
        ),
        pass("IPv4 options", with(v4(www_a()), |f| f.ipv4_options = vec![1, 1, 1, 0]), Outcome::Ipv4OptionsOrFragment),
        pass("IPv6 hop-by-hop header", with(v6(www_a()), |f| f.ipv6_hop_by_hop = true), Outcome::Ipv6ExtensionHeader),
        pass(
            "three VLAN tags",
            with(v4(www_a()), |f| f.vlans = vec![TPID_8021AD, TPID_8021Q, TPID_8021Q]),
            Outcome::NotIp,
        ),
        pass("wrong UDP checksum", with(v4(www_a()), |f| f.udp_checksum = Checksum::Wrong), Outcome::BadChecksum),
        pass(
            "wrong IPv4 header checksum",
            with(v4(www_a()), |f| f.ipv4_checksum = Checksum::Wrong),
            Outcome::BadChecksum,
        ),
        pass("IPv6 without UDP checksum", with(v6(www_a()), |f| f.udp_checksum = Checksum::Zero), Outcome::BadChecksum),
        pass(
            "a partial UDP checksum (a local sender's, left to offload)",
            with(v4(www_a()), |f| f.udp_checksum = Checksum::Partial),
            Outcome::PartialChecksum,
        ),
        pass(
            "a partial UDP checksum over IPv6",
            with(v6(www_a()), |f| f.udp_checksum = Checksum::Partial),
            Outcome::PartialChecksum,
        ),
        pass("QR=1 (a response)", v4(patched(www_a(), |m| m[2] |= 0x80)), Outcome::NotQuery),
        pass("OPCODE NOTIFY", v4(patched(www_a(), |m| m[2] |= 4 << 3)), Outcome::NotQuery),
        pass("TC=1 in a query", v4(patched(www_a(), |m| m[2] |= 0x02)), Outcome::NotQuery),
        pass("QDCOUNT=2", v4(patched(www_a(), |m| m[5] = 2)), Outcome::SectionCounts),
        pass("QDCOUNT=0", v4(patched(www_a(), |m| m[5] = 0)), Outcome::SectionCounts),
        pass("ANCOUNT=1 in a query", v4(patched(www_a(), |m| m[7] = 1)), Outcome::SectionCounts),
        pass("ARCOUNT=2", v4(patched(q("www.example.", A, EDNS), |m| m[11] = 2)), Outcome::SectionCounts),
        pass("compression pointer in the name", v4(raw_query(&[3, b'w', b'w', b'w', 0xc0, 12], 0)), Outcome::BadName),
        pass("label over 63 bytes", v4(raw_query(&long_label, 0)), Outcome::BadName),
        pass("name over 255 bytes", v4(raw_query(&long_name, 0)), Outcome::BadName),
        pass("a byte after the question", v4(patched(www_a(), |m| m.push(0))), Outcome::BadName),
        // Ignored by both paths (RFC 6891 6.1.2); xdp_cookies has the rest.
        answer(
            "unknown EDNS option",
            v4([raw_query(b"\x03www\x07example\x00", 1), opt(0, &[0xfd, 0xe9, 0, 0])].concat()),
        ),
        pass("EDNS version 1", v4([raw_query(b"\x03www\x07example\x00", 1), opt(1, &[])].concat()), Outcome::BadEdns),
        pass(
            "additional record that is not OPT",
            v4([raw_query(b"\x03www\x07example\x00", 1), vec![0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]].concat()),
            Outcome::BadEdns,
        ),
    ]
}

#[test]
fn every_fixture_gets_its_verdict_and_counter() {
    let (mut node, populated) = Node::populated();
    let mut failures = Vec::new();
    let mut answered = 0;
    for case in cases() {
        let frame = case.frame.build();
        let (run, outcome) = node.run_counted(&frame);
        let verdict = match case.expect {
            Expect::Pass(expected) => {
                if run.action != XDP_PASS || outcome != expected {
                    Err(format!("expected XDP_PASS as {expected:?}, got action {} as {outcome:?}", run.action))
                } else if run.frame != frame {
                    Err("a passed packet was changed".to_string())
                } else {
                    Ok(())
                }
            }
            Expect::Answer => {
                answered += 1;
                if run.action != XDP_TX || outcome != Outcome::Answered {
                    Err(format!("expected XDP_TX, got action {} as {outcome:?}", run.action))
                } else {
                    verify::answer(&frame, &run.frame, ages_since(populated))
                }
            }
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(answered >= 10, "the table must exercise answers too");
    assert!(failures.is_empty(), "{} fixture(s) failed:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn every_truncation_of_a_valid_query_passes_unchanged() {
    let (mut node, _) = Node::populated();
    let queries = [
        v4(q("www.example.", RecordType::A, None)),
        v4(q("wWw.example.", RecordType::A, EDNS_DO)),
        with(v6(q("alias.example.", RecordType::A, EDNS)), |f| f.vlans = vec![TPID_8021AD, TPID_8021Q]),
    ];
    let mut checked = 0;
    for spec in queries {
        let full = spec.build();
        assert_eq!(node.run(&full).expect("full query runs").action, XDP_TX, "the untruncated query is answered");
        // The kernel refuses to run a frame shorter than an Ethernet header
        // (EINVAL): no driver delivers one. From 14 bytes on, every cut must
        // pass, unchanged.
        for len in 0..full.len() {
            match node.run(&full[..len]) {
                Err(e) if len < 14 => assert!(e.contains("Invalid argument"), "{len} bytes: {e}"),
                Err(e) => panic!("{len} bytes of {}: {e}", full.len()),
                Ok(run) => {
                    assert_eq!(run.action, XDP_PASS, "a query cut to {len} of {} bytes was answered", full.len());
                    assert_eq!(run.frame, &full[..len], "a query cut to {len} bytes was changed");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} truncations ran");
}

#[test]
fn a_hash_collision_is_a_miss_not_a_wrong_answer() {
    let mut node = Node::new();
    // An entry stored under the key of www.example. but holding another
    // name of the same length: what a colliding name would look like.
    let www = catalog().into_iter().next().expect("catalog has entries");
    let mut entry = anycast_user::answer_entry::AnswerEntry::from_response(
        &www.response(),
        node.fast_path.hash_key(),
        anycast_user::clock::boottime_ns(),
        &Default::default(),
    )
    .expect("writer accepts www.example.");
    entry.value.name[1..4].copy_from_slice(b"xyz");
    node.fast_path.insert(&entry).expect("insert");
    let (run, outcome) = node.run_counted(&v4(q("www.example.", RecordType::A, None)).build());
    assert_eq!((run.action, outcome), (XDP_PASS, Outcome::HashCollision));
}

#[test]
fn arp_goes_up_the_stack() {
    let mut node = Node::new();
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&CLIENT_MAC);
    arp.extend_from_slice(&[0x08, 0x06]);
    arp.extend_from_slice(&[0u8; 28]);
    let (run, outcome) = node.run_counted(&arp);
    assert_eq!((run.action, outcome), (XDP_PASS, Outcome::NotIp));
}

#[test]
fn partial_checksums_are_answered_where_the_operator_says_so() {
    let (mut node, populated) = Node::populated_with(Node::with_settings(|s| s.accept_partial_checksums = true));
    for frame in [v4(q("www.example.", RecordType::A, None)), v6(q("www.example.", RecordType::AAAA, EDNS))] {
        let query = with(frame.clone(), |f| f.udp_checksum = Checksum::Partial).build();
        let (run, outcome) = node.run_counted(&query);
        assert_eq!((run.action, outcome), (XDP_TX, Outcome::Answered));
        // The answer is checked against the query with its checksum whole:
        // the rest of the bytes are the same.
        verify::answer(&frame.build(), &run.frame, ages_since(populated)).unwrap_or_else(|e| panic!("{e}"));
    }
}
