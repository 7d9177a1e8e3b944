//! Response rate limiting in the XDP program, through BPF_PROG_TEST_RUN: a
//! flood from one client prefix gets its burst answered, then every second
//! query over the limit as a TC=1 slip and the others dropped, misses
//! included; a client in another prefix is answered throughout.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Instant,
};

use anycast_common::Outcome;
use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT6, Node, VIP4, VIP6, XDP_DROP, XDP_TX, ages_since},
    verify,
    zone::{self, EDNS, EDNS_DO, query, wire},
};
use anycast_user::policy::ratelimit::RateLimitSettings;
use hickory_proto::rr::RecordType;

/// One response a second per /25 (IPv4) or /56 (IPv6), a burst of 4, every
/// second one over the limit slips. At one a second, no token comes back
/// while the flood runs unless it takes over a second.
const LIMIT: RateLimitSettings =
    RateLimitSettings { responses_per_second: 1, burst: 4, slip: 2, ipv4_prefix: 25, ipv6_prefix: 56, table_size: 64 };

fn v4_client(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, host))
}

#[test]
fn a_flooding_prefix_gets_its_burst_then_slips_and_drops_and_others_are_answered() {
    let (mut node, populated) = Node::populated_with(Node::with_rate_limit(LIMIT));
    let hit = wire(&query(0x5151, "www.example.", RecordType::A, None));
    let hit_do = wire(&query(0x5152, "www.example.", RecordType::A, EDNS_DO));
    let miss = wire(&query(0x5153, "not-cached.example.", RecordType::A, None));
    // The other prefixes: 198.51.100.128/25 and 2001:db8:c:100::/56.
    let other4 = FrameSpec::dns(v4_client(200), VIP4.into(), hit.clone()).build();
    let other6 =
        FrameSpec::dns(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0x100, 0, 0, 0, 7)), VIP6.into(), hit_do.clone())
            .build();

    let started = Instant::now();
    let mut tally = std::collections::HashMap::<Outcome, u32>::new();
    let mut problems = Vec::new();
    for i in 0..60u8 {
        // Hosts 1..=60 of 198.51.100.0/25: one prefix. Every third query
        // is a miss and every fifth has EDNS with DO.
        let payload = match i % 5 {
            0 => hit_do.clone(),
            _ if i % 3 == 0 => miss.clone(),
            _ => hit.clone(),
        };
        let frame = FrameSpec::dns(v4_client(i + 1), VIP4.into(), payload.clone()).build();
        let (run, outcome) = node.run_counted(&frame);
        *tally.entry(outcome).or_default() += 1;
        let checked = match outcome {
            Outcome::Answered => verify::answer(&frame, &run.frame, ages_since(populated)),
            Outcome::Slipped if run.action == XDP_TX => verify::truncated(&frame, &run.frame),
            Outcome::RateLimited if run.action == XDP_DROP => Ok(()),
            Outcome::Miss if payload == miss => Ok(()),
            other => Err(format!("outcome {other:?} with action {}", run.action)),
        };
        if let Err(e) = checked {
            problems.push(format!("query {i}: {e}"));
        }
        // The other prefixes are answered whatever this one does (three
        // queries each: within their own burst).
        if i % 20 == 19 {
            for (name, frame) in [("IPv4 /25 next door", &other4), ("IPv6 other /56", &other6)] {
                let (run, outcome) = node.run_counted(frame);
                if outcome != Outcome::Answered {
                    problems.push(format!("{name}: {outcome:?} during the flood"));
                } else if let Err(e) = verify::answer(frame, &run.frame, ages_since(populated)) {
                    problems.push(format!("{name}: {e}"));
                }
            }
        }
    }
    let took = started.elapsed();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let count = |o| tally.get(&o).copied().unwrap_or(0);
    let within = count(Outcome::Answered) + count(Outcome::Miss);
    println!(
        "60 queries from one /25 in {took:?}: {within} within the limit ({} answered, {} passed as misses), {} slipped, {} dropped",
        count(Outcome::Answered),
        count(Outcome::Miss),
        count(Outcome::Slipped),
        count(Outcome::RateLimited)
    );
    // The burst, plus one per whole second the flood took.
    let expected_within = 4 + took.as_secs() as u32;
    assert_eq!(within, expected_within, "queries within the limit: {tally:?}");
    let over = 60 - within;
    assert_eq!(count(Outcome::Slipped), over / 2, "slip 2: every second query over the limit is TC=1");
    assert_eq!(count(Outcome::RateLimited), over - over / 2, "and the others are dropped");
}

#[test]
fn without_a_limit_nothing_is_limited() {
    let (mut node, _) = Node::populated();
    let frame =
        FrameSpec::dns(CLIENT6.into(), VIP6.into(), wire(&query(1, "www.example.", RecordType::AAAA, None))).build();
    for i in 0..200 {
        let (_, outcome) = node.run_counted(&frame);
        assert_eq!(outcome, Outcome::Answered, "query {i}");
    }
}

/// A query for www.example. A with EDNS and a COOKIE option of `cookie`.
fn with_cookie(id: u16, cookie: &[u8]) -> Vec<u8> {
    let q = wire(&query(id, "www.example.", RecordType::A, EDNS));
    zone::with_options(q, &[(anycast_common::cookie::OPTION_COOKIE, cookie.to_vec())])
}

#[test]
fn a_valid_server_cookie_is_never_limited_and_a_client_cookie_slips_as_badcookie() {
    use anycast_common::cookie::{self, ServerCookie};
    use anycast_user::{policy::cookies::client_addr, wire::ResponseEdns};
    use hickory_proto::op::Message;

    let slip_all = RateLimitSettings { slip: 1, ..LIMIT };
    let (mut node, populated) = Node::populated_with(Node::with_rate_limit(slip_all));
    let client = v4_client(9);
    let client_cookie = [7u8; 8];
    let (secrets, now) = node.edns.cookies.as_ref().unwrap().now();
    let made = cookie::make(&secrets, u64::from_le_bytes(client_cookie), &client_addr(client), now);
    let valid = with_cookie(0x0101, &[client_cookie.as_slice(), &made.to_bytes()].concat());
    let client_only = with_cookie(0x0102, &client_cookie);
    let (mut problems, mut straddled) = (Vec::new(), 0);
    for i in 0..20 {
        let frame = FrameSpec::dns(client, VIP4.into(), valid.clone()).build();
        let (run, outcome) = node.run_counted(&frame);
        if outcome != Outcome::Answered || !run.frame.ends_with(&made.to_bytes()) {
            problems.push(format!("valid cookie, query {i}: {outcome:?}"));
        }
        // From the fifth on, over the limit: every one slips (slip 1), as
        // BADCOOKIE with the daemon's OPT (a new cookie, so made in the
        // same second: a query that straddles one is not compared).
        let frame = FrameSpec::dns(client, VIP4.into(), client_only.clone()).build();
        let second = node.edns.cookies.as_ref().unwrap().now().1;
        let (run, outcome) = node.run_counted(&frame);
        let m = Message::from_vec(&client_only).unwrap();
        let edns = node.edns.answer_parsed(m.edns.as_ref().unwrap(), client).unwrap();
        if node.edns.cookies.as_ref().unwrap().now().1 != second {
            straddled += 1;
            continue;
        }
        let checked = match outcome {
            Outcome::Answered if i < 4 => {
                verify::answer_with_opt(&frame, &run.frame, ages_since(populated), Some(&edns.response.record()))
            }
            Outcome::Slipped if i >= 4 => {
                let opt = ResponseEdns { extended_rcode: 1, ..edns.response }.record();
                verify::badcookie(&frame, &run.frame, &opt)
            }
            other => Err(format!("{other:?}")),
        };
        if let Err(e) = checked {
            problems.push(format!("client cookie only, query {i}: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(straddled <= 1, "{straddled} queries straddled a second");
    let server = ServerCookie::from_bytes(&made.to_bytes());
    assert!(cookie::check(&secrets, &server, u64::from_le_bytes(client_cookie), &client_addr(client), now).is_valid());
}
