//! anycastd in the namespace lab, resolving from the lab's root (knotd) and
//! answering a client with dig: every kind of delegation and answer the
//! hierarchy holds, the repeat of each answered by the XDP program, TTLs
//! counting down.

use std::time::Duration;

use anycast_lab::{
    daemon::metric,
    topology::{VIP4, VIP6},
};
use anycast_tests::lab::{DigAnswer, admit_to_map, dig, lab_with_anycastd, series};

/// Where anycastd serves its metrics, in the node's namespace.
const METRICS: &str = "127.0.0.1:9153";

fn without_ttls(answer: &DigAnswer) -> DigAnswer {
    let mut answer = answer.clone();
    for record in answer.answers.iter_mut().chain(answer.authority.iter_mut()) {
        record.ttl = 0;
    }
    answer
}

struct Case {
    what: &'static str,
    name: &'static str,
    rtype: &'static str,
    status: &'static str,
    /// Data of the last answer record (or the authority's type).
    expect: &'static str,
    /// Whether the repeat can come from XDP (not for answers over UDP size).
    from_xdp: bool,
}

const CASES: &[Case] = &[
    Case {
        what: "delegation with glue",
        name: "www.example.lab.",
        rtype: "A",
        status: "NOERROR",
        expect: "10.99.5.10",
        from_xdp: true,
    },
    Case {
        what: "NS without glue, out of bailiwick",
        name: "host.noglue.lab.",
        rtype: "A",
        status: "NOERROR",
        expect: "10.99.5.20",
        from_xdp: true,
    },
    Case {
        what: "CNAME chain across zones",
        name: "chain.example.lab.",
        rtype: "A",
        status: "NOERROR",
        expect: "10.99.5.40",
        from_xdp: true,
    },
    Case { what: "NXDOMAIN", name: "nope.example.lab.", rtype: "A", status: "NXDOMAIN", expect: "SOA", from_xdp: true },
    Case { what: "NODATA", name: "www.example.lab.", rtype: "MX", status: "NOERROR", expect: "SOA", from_xdp: true },
    Case {
        what: "a lame delegation (one server never answers)",
        name: "host.lame.lab.",
        rtype: "A",
        status: "NOERROR",
        expect: "10.99.5.30",
        from_xdp: true,
    },
    Case {
        what: "a slow server (250 ms)",
        name: "host.slow.lab.",
        rtype: "A",
        status: "NOERROR",
        expect: "10.99.5.50",
        from_xdp: true,
    },
    Case {
        what: "AAAA",
        name: "www.example.lab.",
        rtype: "AAAA",
        status: "NOERROR",
        expect: "fd99:5::10",
        from_xdp: true,
    },
    Case {
        what: "an answer only TCP carries",
        name: "big.example.lab.",
        rtype: "TXT",
        status: "NOERROR",
        expect: "TXT",
        from_xdp: false,
    },
];

fn last(answer: &DigAnswer) -> String {
    match answer.answers.last() {
        Some(r) if r.rtype == "TXT" => "TXT".to_string(),
        Some(r) => r.data.clone(),
        None => answer.authority.last().map(|r| r.rtype.clone()).unwrap_or_default(),
    }
}

fn ttl(answer: &DigAnswer) -> u32 {
    answer.answers.iter().chain(&answer.authority).map(|r| r.ttl).min().unwrap_or(0)
}

#[test]
fn resolves_the_hierarchy_and_answers_repeats_from_xdp() {
    let lab = lab_with_anycastd(&["--metrics", METRICS]);
    let mut failures = Vec::new();
    let mut first_ttls = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        // Alternate the VIP's families.
        let vip = if i % 2 == 0 { VIP4 } else { VIP6 };
        let first = dig(&lab, vip, case.name, case.rtype, &[]);
        if first.status != case.status || last(&first) != case.expect {
            failures.push(format!("{}: {} {} gave {first:?}", case.what, case.name, case.rtype));
            continue;
        }
        let admitted = admit_to_map(&lab, vip, case.name, case.rtype, &[]);
        let (hits, queries) = (lab.stat(series::XDP_ANSWERED).unwrap(), lab.stat(series::DAEMON_UDP).unwrap());
        let again = dig(&lab, vip, case.name, case.rtype, &[]);
        let (hits_after, queries_after) =
            (lab.stat(series::XDP_ANSWERED).unwrap(), lab.stat(series::DAEMON_UDP).unwrap());
        // The repeat (from XDP, or from the cache) is the same response but
        // for the TTLs: same flags, same records in the same order.
        if without_ttls(&again) != without_ttls(&first) || without_ttls(&admitted) != without_ttls(&first) {
            failures
                .push(format!("{}: the repeats gave {admitted:?} (hot) and {again:?}, the first {first:?}", case.what));
        }
        if case.from_xdp && (hits_after != hits + 1 || queries_after != queries) {
            failures.push(format!(
                "{}: the repeat was not answered at XDP (hits {hits} -> {hits_after}, daemon UDP queries {queries} -> {queries_after})",
                case.what
            ));
        }
        first_ttls.push((case, vip, ttl(&first)));
    }
    // Every answer XDP started it finished: frames short of tailroom (a
    // veth's) are grown at the head instead.
    let tx_failed = lab.stat(series::XDP_TX_FAILED).unwrap();
    if tx_failed != 0 {
        failures.push(format!("{tx_failed} answers failed to be written at XDP"));
    }
    // Two seconds later every TTL has counted down, from XDP or the cache.
    std::thread::sleep(Duration::from_millis(2100));
    for (case, vip, before) in first_ttls {
        let later = ttl(&dig(&lab, vip, case.name, case.rtype, &[]));
        if later + 2 > before {
            failures.push(format!("{}: TTL {before} then {later} two seconds later", case.what));
        }
    }
    // The same counters, scraped over HTTP as Prometheus would.
    let url = format!("http://{METRICS}/metrics");
    match lab.node.exec("curl", &["-sf", "--max-time", "5", &url]) {
        Ok(text) => {
            let answered = metric(&text, series::XDP_ANSWERED);
            let from_xdp = CASES.iter().filter(|c| c.from_xdp).count() as u64;
            if answered.is_none_or(|n| n < from_xdp) {
                failures.push(format!("/metrics says {answered:?} answered at XDP, expected >= {from_xdp}"));
            }
            if metric(&text, "anycast_upstream_latency_seconds_count").is_none_or(|n| n < 1) {
                failures.push("/metrics has no upstream latency samples".to_string());
            }
        }
        Err(e) => failures.push(format!("scraping {url}: {e}")),
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n  {}\nanycastd's counters:\n{}",
        failures.len(),
        failures.join("\n  "),
        lab.control("stats")
            .unwrap_or_else(|e| e.to_string())
            .lines()
            .filter(|l| !l.ends_with(" 0"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
