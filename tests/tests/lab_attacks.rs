//! The attack lab: one node under what a public edge gets, one attack after
//! another, while a steady client in another prefix asks hot and uncached
//! names over UDP and TCP and must lose nothing:
//!
//! | phase | attack | what must hold |
//! | --- | --- | --- |
//! | forgers | on the upstream path, racing a 250 ms server with forged answers: right port and ID in the wrong case, right port and ID with the case guessed, and blind guesses | zero forged records answered or cached |
//! | NXNS | a referral to 100 name servers that do not exist | upstream queries for the client query within the NS lookup cap |
//! | TCP hoarders | 1000 connections from one client that send and never read | at most the per-client limit kept; the steady client served over TCP |
//! | random subdomains | two minutes of never-repeating names under a wildcard with TTL 86400 | RSS flat within 5% after a minute's warm-up, the cache within its bounds; other zones answered |
//! | outage | the upstream link cut for two minutes, hot names of TTL 5 s | zero SERVFAIL or loss for the cached name; stale answers marked (TTL 30, EDE 3); fresh again after the link heals |
//!
//! Each phase prints its figure. The node runs as an edge node would:
//! response rate limiting on (1000 a second per /24: the floods come from
//! one), and health that rides out the two-minute outage rather than
//! withdrawing at once (a long `health.fall`), so that what it serves stale
//! can be seen.

use std::time::{Duration, Instant};

use anycast_lab::topology::{CLIENT4, Lab, VIP4};
use anycast_tests::{
    lab::{lab_with_anycastd, try_dig},
    traffic::Traffic,
};
use rand::Rng;
use serde_json::Value;

/// The steady client, in another /24 than the attackers'.
const STEADY_CLIENT: &str = "10.98.7.2";
/// The address forged answers point to.
const POISON: &str = "6.6.6.66";
/// The slow zone's server (answers 250 ms late: the forgers' window).
const SLOW_SERVER: &str = "10.99.4.2";
const CACHE_CAPACITY: u64 = 20_000;
const CACHE_BYTES: u64 = 16 << 20;
/// The answer map, and so the refresher's table, which the flood fills too.
const MAP_CAPACITY: u64 = 8192;
/// The daemon's hot answers, which the flood fills too.
const HOT_BYTES: u64 = 4 << 20;
/// NS names one question may look up (the default).
const MAX_NS_LOOKUPS: u64 = 8;
/// How long the attack phases before the outage take, for the steady client.
const ATTACK_SECONDS: f64 = 170.0;
const FLOOD_SECONDS: u64 = 120;
/// What the flood needs to fill the cache and the refresher's table.
const WARM_UP_SECONDS: u64 = 60;
const OUTAGE: Duration = Duration::from_secs(120);

#[test]
fn an_edge_node_survives_forgers_floods_hoarders_and_an_outage() {
    let config = std::env::temp_dir().join(format!("anycast-attacks-{}.toml", std::process::id()));
    let text = format!(
        "[service]\nhot_answers_max_bytes = {HOT_BYTES}\n\
         [cache]\ncapacity = {CACHE_CAPACITY}\nmax_bytes = {CACHE_BYTES}\n\
         [fastpath]\ncapacity = {MAP_CAPACITY}\n[rate_limit]\nresponses_per_second = 1000\n[health]\nfall = 1000\n"
    );
    std::fs::write(&config, text).expect("writing the config");
    let lab = lab_with_anycastd(&["--config", &config.display().to_string(), "--allow", "10.98.7.0/24"]);
    let _ = std::fs::remove_file(&config);
    lab.client.ip(&["addr", "add", &format!("{STEADY_CLIENT}/32"), "dev", &lab.client_if]).expect("steady client");
    lab.node.ip(&["route", "add", &format!("{STEADY_CLIENT}/32"), "dev", &lab.node_if]).expect("route back");

    let steady = Traffic::steady(&lab.client, VIP4, "www.lab.", "slow.lab.", 2.0, ATTACK_SECONDS, STEADY_CLIENT);
    let started = Instant::now();
    let mut problems = Vec::new();
    forgers(&lab, &mut problems);
    nxns(&lab, &mut problems);
    hoarders(&lab, &mut problems);
    random_subdomains(&lab, &mut problems);
    println!("attack phases took {:.0} s; daemon errors: {}", started.elapsed().as_secs_f64(), errors(&lab));
    let steady = steady.finish();
    println!("steady client (hot and new names, UDP and TCP) during the attacks: {steady}");
    for (kind, counts) in steady.as_object().expect("the steady client's report") {
        if counts["answered"] != counts["sent"] {
            problems.push(format!("the steady client's {kind} queries were not all answered: {counts}"));
        }
    }
    outage(&lab, &mut problems);
    assert!(problems.is_empty(), "{}\nanycastd's log is in {}", problems.join("\n"), lab.dir.display());
}

/// Names a forger cannot guess the case of: 16 random letters.
fn unguessable(zone: &str) -> String {
    let mut rng = rand::rng();
    let label: String = (0..16).map(|_| rng.random_range(b'a'..=b'z') as char).collect();
    format!("{label}.{zone}")
}

fn forgers(lab: &Lab, problems: &mut Vec<String>) {
    let (auth, far_end) = lab.upstream_far_end();
    let node = lab.node_uplink_address();
    let spoofer = Traffic::spoofer(auth, far_end, SLOW_SERVER, &node, 20.0, POISON);
    // The forger needs a moment to listen.
    std::thread::sleep(Duration::from_millis(500));
    let mut asked = 0;
    let mut wrong = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && asked < 40 {
        let name = unguessable("slow.lab.");
        asked += 1;
        match try_dig(lab, VIP4, &name, "A", &[]) {
            Ok(answer) if answer.answers.iter().all(|r| r.data == "10.99.5.51") && !answer.answers.is_empty() => {}
            other => wrong.push(format!("{name}: {other:?}")),
        }
    }
    let report = spoofer.finish();
    let dump = lab.control("dump").expect("the cache dump");
    let cached_forgeries = dump.lines().filter(|l| l.contains(POISON)).count();
    let forged: u64 = report["forged"].as_object().map_or(0, |f| f.values().filter_map(Value::as_u64).sum());
    println!(
        "forgers: {asked} names asked, {} queries seen upstream, forgeries sent {} ({forged} in all); \
         {} answers wrong, {cached_forgeries} forged records cached",
        report["queries_seen"],
        report["forged"],
        wrong.len()
    );
    if report["queries_seen"].as_u64().unwrap_or(0) < asked {
        problems.push(format!("the forger saw fewer queries than were asked: {report}"));
    }
    if !wrong.is_empty() || cached_forgeries > 0 {
        problems.push(format!("forgeries got through: {wrong:?}, {cached_forgeries} cached"));
    }
}

/// The daemon's error counters that are not zero.
fn errors(lab: &Lab) -> String {
    let text = lab.control("stats").expect("the metrics");
    let nonzero: Vec<&str> =
        text.lines().filter(|l| l.starts_with("anycast_errors_total{") && !l.ends_with(" 0")).collect();
    if nonzero.is_empty() { "none".into() } else { nonzero.join(", ") }
}

fn upstream_queries(lab: &Lab) -> u64 {
    let text = lab.control("stats").expect("the metrics");
    text.lines()
        .filter(|l| l.starts_with("anycast_upstream_queries_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn nxns(lab: &Lab, problems: &mut Vec<String>) {
    let before = upstream_queries(lab);
    let answer = try_dig(lab, VIP4, "www.nxns.lab.", "A", &["+time=10"]);
    let spent = upstream_queries(lab) - before;
    let status = answer.as_ref().map_or("no answer", |a| a.status.as_str());
    println!("NXNS: a referral to 100 non-existent name servers cost {spent} upstream queries ({status})");
    // The referral, then at most the cap's NS names (A and AAAA each).
    let bound = 2 + 2 * MAX_NS_LOOKUPS;
    if spent > bound || status != "SERVFAIL" {
        problems.push(format!("NXNS: {spent} upstream queries (at most {bound}), {status}"));
    }
}

fn hoarders(lab: &Lab, problems: &mut Vec<String>) {
    let report = Traffic::tcp_hoard(&lab.client, VIP4, 1000, 5.0, CLIENT4).finish();
    let limited = lab.stat("anycast_errors_total{kind=\"tcp_client_limit\"}").expect("the TCP counter");
    println!("TCP hoarders: {report}; {limited} connections closed at accept for the per-client limit");
    if report["kept"].as_u64().unwrap_or(u64::MAX) > 16 {
        problems.push(format!("one client kept more TCP connections than its limit: {report}"));
    }
}

fn random_subdomains(lab: &Lab, problems: &mut Vec<String>) {
    let flood = Traffic::random_flood(&lab.client, VIP4, "flood.example.lab.", 4000, FLOOD_SECONDS as f64, CLIENT4);
    let mut samples = Vec::new();
    for _ in 0..FLOOD_SECONDS / 5 {
        std::thread::sleep(Duration::from_secs(5));
        let rss = lab.stat("anycast_resident_bytes").expect("RSS");
        let cache = lab.stat("anycast_cache_bytes").expect("cache bytes");
        let entries = lab.stat("anycast_cache_entries").expect("cache entries");
        samples.push((rss, cache, entries));
    }
    let report = flood.finish();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let rss: Vec<String> = samples.iter().map(|(rss, _, _)| format!("{:.1}", mib(*rss))).collect();
    println!("random subdomains: {report}; RSS every 5 s (MiB): {}", rss.join(" "));
    // By then the cache is full and sweeps itself, the hot answers drop
    // their older half, and the refresher's table is as large as the
    // answer map.
    let settled: Vec<u64> = samples.iter().skip((WARM_UP_SECONDS / 5) as usize).map(|(rss, _, _)| *rss).collect();
    let (low, high) = (*settled.iter().min().unwrap(), *settled.iter().max().unwrap());
    if (high - low) as f64 > 0.05 * low as f64 {
        problems.push(format!("RSS grew under the flood: {:.1} to {:.1} MiB", mib(low), mib(high)));
    }
    if samples.iter().any(|(_, cache, entries)| *cache > CACHE_BYTES || *entries > CACHE_CAPACITY) {
        problems.push(format!("the cache went past its bounds: {samples:?}"));
    }
    if report["answered"].as_u64().unwrap_or(0) < report["sent"].as_u64().unwrap_or(0) / 2 {
        problems.push(format!("the flood itself was mostly not answered: {report}"));
    }
}

fn outage(lab: &Lab, problems: &mut Vec<String>) {
    const HOT: &str = "short.example.lab.";
    let fresh = try_dig(lab, VIP4, HOT, "A", &[]).expect("the hot name");
    let stream = Traffic::stream(&lab.client, VIP4, HOT, 10, OUTAGE.as_secs_f64() + 40.0, 3.0, Some(STEADY_CLIENT));
    std::thread::sleep(Duration::from_secs(10));
    lab.set_upstream_link(false).expect("cutting the upstream link");
    std::thread::sleep(OUTAGE / 2);
    let stale = try_dig(lab, VIP4, HOT, "A", &["+comments"]);
    let stale_text = lab.dig(&["+nocookie", "+tries=1", "+time=5", &format!("@{VIP4}"), HOT, "A"]).unwrap_or_default();
    std::thread::sleep(OUTAGE / 2);
    lab.set_upstream_link(true).expect("restoring the upstream link");
    let healed = Instant::now();
    let report = stream.finish();
    let mut fresh_again = None;
    while healed.elapsed() < Duration::from_secs(45) && fresh_again.is_none() {
        let out = lab.dig(&["+nocookie", "+tries=1", "+time=5", &format!("@{VIP4}"), HOT, "A"]).unwrap_or_default();
        if !out.contains("Stale Answer") && out.contains("status: NOERROR") {
            fresh_again = Some(healed.elapsed());
        } else {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    let stale_ttl = stale.as_ref().ok().and_then(|a| a.answers.first()).map(|r| r.ttl);
    println!(
        "outage: {HOT} (TTL {}) asked 10/s through {} s without the upstream: {report}; \
         in the middle TTL {stale_ttl:?}, EDE stale: {}; fresh again {:?} after the link healed",
        fresh.answers.first().map_or(0, |r| r.ttl),
        OUTAGE.as_secs(),
        stale_text.contains("EDE: 3 (Stale Answer)"),
        fresh_again
    );
    if report["lost"] != 0 || report["errors"] != 0 {
        problems.push(format!("the cached name was lost or failed during the outage: {report}"));
    }
    if stale_ttl != Some(30) || !stale_text.contains("EDE: 3 (Stale Answer)") {
        problems.push(format!("the stale answer is not marked: TTL {stale_ttl:?}\n{stale_text}"));
    }
    if fresh_again.is_none() {
        problems.push("the name was not answered fresh within 45 s of the link healing".into());
    }
}
