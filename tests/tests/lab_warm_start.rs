//! The warm start, through a real router (BIRD 2) and two nodes: node 1
//! carries the VIPs and is asked a thousand names, each more than once;
//! node 2 restarts (its cache and map gone with it) and is then given the
//! catchment (node 1 drained). Cold, node 2 has to resolve nearly every
//! one of its first thousand queries; warm from node 1's `/hot`, it
//! answers nearly all of them from its cache, hot answers or XDP map.
//! The listing is checked the other ways too: `ctl dump-hot` from node 1
//! saved to a file and read back by node 2, and a source that cannot be
//! read leaving the node to announce cold, on time.

use std::{path::Path, time::Duration};

use anycast_lab::{
    anycast::{Announce, AnycastLab, METRICS_PORT, RouterDaemon},
    daemon,
    topology::VIP4,
};
use anycast_tests::{
    lab::{anycastd_binary, series, with_pass_program},
    traffic::Traffic,
};
use serde_json::Value;

/// The names the catchment asks (a wildcard of the lab's zone: every one
/// takes its own resolution, none is cached by another).
const NAMES: usize = 1000;
const ZONE: &str = "wild.example.lab.";
/// How many times node 1 is asked each, before the listing.
const ROUNDS: usize = 2;
/// Of a node's first queries after taking the catchment, the share
/// answered without a resolution: at least this warm, under this cold.
const WARM_AT_LEAST: f64 = 0.90;
const COLD_UNDER: f64 = 0.10;
const ANSWERED_HERE: [&str; 3] =
    [series::XDP_ANSWERED, "anycast_hot_answers_total", "anycast_questions_total{source=\"cache\"}"];

/// What node 2's first queries after announcing saw.
struct Joined {
    /// Answered from its cache, hot answers or map.
    answered_here: f64,
    report: Value,
}

#[test]
fn a_node_joins_the_anycast_set_warm() {
    let mut lab = with_pass_program(|pass| {
        AnycastLab::start(Announce::Bird, RouterDaemon::Bird, &anycastd_binary(), pass)
            .unwrap_or_else(|e| panic!("starting the lab: {e}"))
    });
    assert_eq!(lab.route(VIP4).unwrap(), Some(1), "node 1 carries the VIP: {}", lab.router_routes());
    let names = lab.dir.join("names.txt");
    let text: String = (0..NAMES).map(|i| format!("h{i}.{ZONE}\n")).collect();
    std::fs::write(&names, text.repeat(ROUNDS)).expect("writing the names");
    let asked = Traffic::ask_each(&lab.client, VIP4, &names);
    assert_eq!(asked["noerror"], NAMES * ROUNDS, "node 1 answers every name: {asked}");
    std::fs::write(&names, text).expect("writing the names");

    let listing = daemon::control(&lab.node(1).control_socket(), &format!("dump-hot {}", NAMES + 100))
        .unwrap_or_else(|e| panic!("ctl dump-hot on node 1: {e}"));
    let listed = listing.lines().filter(|l| l.contains(ZONE) && !l.ends_with(" 0 -")).count();
    assert_eq!(listed, NAMES, "node 1 lists every name as repeated:\n{}", head(&listing));
    let saved = lab.dir.join("hot.txt");
    std::fs::write(&saved, &listing).expect("saving the listing");

    let peer = format!("http://{}:{METRICS_PORT}/hot?n={}", lab.node(1).address4, NAMES + 100);
    let cases: [(&str, Option<&str>, bool); 3] = [
        ("cold", None, false),
        ("warm from node 1's /hot", Some(&peer), true),
        ("warm from a saved dump-hot", Some(saved.to_str().unwrap()), true),
    ];
    let mut failures = Vec::new();
    for (what, from, warm) in cases {
        let joined = join(&mut lab, from, &names);
        let (p50, p99) = (&joined.report["p50_ms"], &joined.report["p99_ms"]);
        println!(
            "{what}: {:.1}% of the first {NAMES} answered here, p50 {p50} ms, p99 {p99} ms",
            joined.answered_here * 100.0
        );
        let ok = if warm { joined.answered_here >= WARM_AT_LEAST } else { joined.answered_here < COLD_UNDER };
        if !ok || joined.report["noerror"] != NAMES {
            failures.push(format!("{what}: {:.3} answered here; {}", joined.answered_here, joined.report));
        }
    }
    unreadable_source_announces_cold_on_time(&mut lab);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Restarts node 2 (warm from `from`, if given), gives it the catchment,
/// asks it each of `names` once and gives the catchment back to node 1.
fn join(lab: &mut AnycastLab, from: Option<&str>, names: &Path) -> Joined {
    restart_node2(lab, from);
    if from.is_some() {
        let warm = |outcome: &str| lab.stat(2, &format!("anycast_warm_questions{{outcome=\"{outcome}\"}}")).unwrap();
        assert_eq!(lab.stat(2, "anycast_warm_state").unwrap(), 2, "the warm start is done once announced");
        assert!(
            warm("listed") >= NAMES as u64 && warm("failed") == 0,
            "listed {}, failed {}",
            warm("listed"),
            warm("failed")
        );
        println!("  warm start: {} resolved, log: {}", warm("resolved"), warm_line(lab));
    }
    lab.set_maintenance(1, true).unwrap();
    wait_route(lab, 2);
    let before = ANSWERED_HERE.map(|s| lab.stat(2, s).unwrap());
    let report = Traffic::ask_each(&lab.client, VIP4, names);
    let after = ANSWERED_HERE.map(|s| lab.stat(2, s).unwrap());
    let here: u64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
    lab.set_maintenance(1, false).unwrap();
    wait_route(lab, 1);
    Joined { answered_here: here as f64 / NAMES as f64, report }
}

fn restart_node2(lab: &mut AnycastLab, from: Option<&str>) {
    let stopped = lab.stop_anycastd(2, "TERM", Duration::from_secs(20));
    assert!(stopped.is_some_and(|s| s.success()), "node 2 stops: {stopped:?}");
    let extra: Vec<&str> = from.map(|f| vec!["--warm-from", f]).unwrap_or_default();
    lab.start_node_with(2, &extra).unwrap_or_else(|e| panic!("starting node 2: {e}"));
    lab.wait_announced(2).unwrap_or_else(|e| panic!("{e}; node 2's log:\n{}", log(lab)));
}

/// A peer that does not answer: node 2 waits for it no longer than the
/// fetch's share of `warm_seconds`, then announces cold.
fn unreadable_source_announces_cold_on_time(lab: &mut AnycastLab) {
    let nobody = format!("http://{}:1/hot", lab.node(1).address4);
    restart_node2(lab, Some(&nobody));
    assert_eq!(lab.stat(2, "anycast_warm_state").unwrap(), 2);
    assert_eq!(lab.stat(2, "anycast_warm_questions{outcome=\"listed\"}").unwrap(), 0);
    let log = log(lab);
    assert!(log.contains("no hot names to warm from; announcing cold"), "the cold start is logged:\n{log}");
}

fn wait_route(lab: &AnycastLab, k: usize) {
    anycast_lab::wait(&format!("the VIP routed to node {k}"), Duration::from_secs(20), || {
        lab.route(VIP4).is_ok_and(|node| node == Some(k))
    })
    .unwrap_or_else(|e| panic!("{e}: {}", lab.router_routes()));
}

fn log(lab: &AnycastLab) -> String {
    std::fs::read_to_string(lab.node(2).dir.join("anycastd.log")).unwrap_or_default()
}

fn warm_line(lab: &AnycastLab) -> String {
    log(lab).lines().rev().find(|l| l.contains("warm start done")).unwrap_or_default().to_string()
}

fn head(text: &str) -> String {
    text.lines().take(20).collect::<Vec<_>>().join("\n")
}
