//! The XDP program's records for dnstap, through BPF_PROG_TEST_RUN: with
//! every answer sampled, each answer, slip and drop leaves one record in
//! the TAP ring with the client's and the VIP's address and port and the
//! DNS message exactly as the frame left (the query, for a drop); a
//! sampling rate keeps one in N; the cap stops recording, not answering;
//! with the tap off, nothing is recorded.

use std::net::IpAddr;

use anycast_common::{
    Outcome,
    tap::{TAP_ANSWERED, TAP_DROPPED, TAP_SLIPPED, TapRecord},
};
use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT4, CLIENT6, Node, VIP4, VIP6},
    zone::{EDNS, query, wire},
};
use anycast_user::{
    fastpath::{tap::TapCounts, tap_sampling::TapSampling},
    policy::ratelimit::RateLimitSettings,
};
use hickory_proto::rr::RecordType;

/// The source port of the test frames.
const CLIENT_PORT: u16 = 40_000;

/// Keeps the test on one CPU: the sampling and the cap count per CPU.
fn on_one_cpu() {
    // SAFETY: a zeroed set with one CPU, for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set), 0, "pinning to CPU 0");
    }
}

/// Ethernet, IP and UDP header lengths of a test frame.
fn dns_offset(ipv6: bool) -> usize {
    14 + if ipv6 { 40 } else { 20 } + 8
}

fn node(tap: TapSampling, rate_limit: RateLimitSettings) -> Node {
    Node::populated_with(Node::with_settings(|s| {
        s.tap = tap;
        s.rate_limit = rate_limit;
    }))
    .0
}

fn octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = [0; 16];
            out[..4].copy_from_slice(&v4.octets());
            out
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// What is wrong with `record` for a query from `client` that left as
/// `frame` (the query itself if dropped) with `verdict`.
fn check(record: &TapRecord, client: IpAddr, vip: IpAddr, frame: &[u8], verdict: u8) -> Result<(), String> {
    let message = &frame[dns_offset(client.is_ipv6())..];
    let got = (record.verdict, record.ipv6 == 1, record.client, record.server, record.server_port);
    let expected = (verdict, client.is_ipv6(), octets(client), octets(vip), 53);
    if got != expected {
        return Err(format!("(verdict, ipv6, client, server, port) {got:?}, expected {expected:?}"));
    }
    if record.client_port != CLIENT_PORT {
        return Err(format!("client port {}", record.client_port));
    }
    if &record.message[..record.message_len as usize] != message {
        return Err(format!("message {:02x?}\n  sent {message:02x?}", &record.message[..record.message_len as usize]));
    }
    Ok(())
}

#[test]
fn answers_slips_and_drops_are_recorded_as_they_left() {
    on_one_cpu();
    let limit = RateLimitSettings {
        responses_per_second: 1,
        burst: 1,
        slip: 2,
        ipv4_prefix: 24,
        ipv6_prefix: 56,
        table_size: 64,
    };
    let mut node = node(TapSampling { every: 1, per_second: 1_000_000 }, limit);
    let (mut ring, counters) = node.fast_path.take_tap().expect("the tap's maps");
    let v4 =
        FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(0x7a01, "www.example.", RecordType::A, None))).build();
    let v6 = FrameSpec::dns(CLIENT6.into(), VIP6.into(), wire(&query(0x7a02, "www.example.", RecordType::AAAA, EDNS)))
        .build();
    // One a second with a burst of one: the first answered, then every
    // second slipped and the others dropped.
    let cases = [
        ("IPv4 answered", &v4, CLIENT4.into(), VIP4.into(), Outcome::Answered, TAP_ANSWERED),
        ("IPv6 answered", &v6, CLIENT6.into(), VIP6.into(), Outcome::Answered, TAP_ANSWERED),
        ("IPv4 over the limit", &v4, CLIENT4.into(), VIP4.into(), Outcome::RateLimited, TAP_DROPPED),
        ("IPv4 over the limit, slipped", &v4, CLIENT4.into(), VIP4.into(), Outcome::Slipped, TAP_SLIPPED),
    ];
    let mut failures = Vec::new();
    for (name, frame, client, vip, outcome, verdict) in cases {
        let (run, got) = node.run_counted(frame);
        if got != outcome {
            failures.push(format!("{name}: outcome {got:?}, expected {outcome:?}"));
            continue;
        }
        let left = if verdict == TAP_DROPPED { frame.to_vec() } else { run.frame };
        match ring.next_record() {
            Some(record) => {
                if let Err(e) = check(&record, client, vip, &left, verdict) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            None => failures.push(format!("{name}: no record")),
        }
    }
    assert!(ring.next_record().is_none(), "one record per packet");
    assert!(failures.is_empty(), "{} failed:\n  {}", failures.len(), failures.join("\n  "));
    assert_eq!(counters.read().unwrap(), TapCounts { recorded: 4, ring_full: 0, capped: 0, capture_lost: 0 });
}

#[test]
fn sampling_keeps_one_in_n_the_cap_stops_recording_and_off_records_nothing() {
    let v4 =
        FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(0x7a03, "www.example.", RecordType::A, None))).build();
    let cases = [
        (
            "every 4th",
            TapSampling { every: 4, per_second: 1_000_000 },
            TapCounts { recorded: 5, ring_full: 0, capped: 0, capture_lost: 0 },
        ),
        // The cap is shared out over the CPUs, rounded up: one each.
        (
            "capped at 1 a second",
            TapSampling { every: 1, per_second: 1 },
            TapCounts { recorded: 1, ring_full: 0, capped: 19, capture_lost: 0 },
        ),
        ("off", TapSampling { every: 0, per_second: 1 }, TapCounts::default()),
    ];
    on_one_cpu();
    for (name, sampling, expected) in cases {
        let mut node = node(sampling, RateLimitSettings::OFF);
        let (mut ring, counters) = node.fast_path.take_tap().expect("the tap's maps");
        for _ in 0..20 {
            let (_, outcome) = node.run_counted(&v4);
            assert_eq!(outcome, Outcome::Answered, "{name}: the answers do not depend on the tap");
        }
        let mut records = 0;
        while ring.next_record().is_some() {
            records += 1;
        }
        assert_eq!((counters.read().unwrap(), records), (expected, expected.recorded), "{name}");
    }
}
