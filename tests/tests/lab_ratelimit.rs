//! Rate limiting on the wire: with 100 responses a second per /24 and slip
//! 2, a client flooding hot names (answered at XDP) and then queries with
//! an EDNS cookie (left to the daemon) gets about its budget answered and
//! half of the rest as TC=1, while a client in another /24 querying
//! steadily meanwhile loses nothing.

use std::time::Duration;

use anycast_lab::topology::{CLIENT4, VIP4};
use anycast_tests::{lab::lab_with_anycastd, traffic::Traffic};
use serde_json::Value;

const RATE: u64 = 100;
const BURST: u64 = 100;
/// The steady client, in another /24 than the flood's.
const OTHER_CLIENT: &str = "10.98.7.2";
const NAME: &str = "www.lab.";

#[test]
fn a_flood_from_one_prefix_is_limited_and_another_prefix_is_served() {
    let dir = std::env::temp_dir().join(format!("anycast-rrl-{}.toml", std::process::id()));
    std::fs::write(&dir, format!("[rate_limit]\nresponses_per_second = {RATE}\nburst = {BURST}\nslip = 2\n"))
        .expect("writing the config");
    let config = dir.display().to_string();
    let lab = lab_with_anycastd(&["--config", &config, "--allow", "10.98.7.0/24"]);
    let _ = std::fs::remove_file(&dir);
    lab.client.ip(&["addr", "add", &format!("{OTHER_CLIENT}/32"), "dev", &lab.client_if]).expect("other client");
    lab.node.ip(&["route", "add", &format!("{OTHER_CLIENT}/32"), "dev", &lab.node_if]).expect("route back");

    let steady = Traffic::stream(&lab.client, VIP4, NAME, 20, 7.0, 1.0, Some(OTHER_CLIENT));
    let xdp_before = xdp_counts(&lab);
    let at_xdp = Traffic::flood(&lab.client, VIP4, NAME, 3000, 3000, CLIENT4, false).finish();
    let xdp_after = xdp_counts(&lab);
    // A quiet spell refills the bucket before the daemon's turn.
    std::thread::sleep(Duration::from_secs(2));
    let daemon_before = daemon_counts(&lab);
    let at_daemon = Traffic::flood(&lab.client, VIP4, NAME, 1500, 1500, CLIENT4, true).finish();
    let daemon_after = daemon_counts(&lab);
    let steady = steady.finish();

    println!("limit {RATE}/s per /24, burst {BURST}, slip 2");
    println!("flood answered at XDP:     {at_xdp}; XDP counted slipped/dropped {:?}", diff(xdp_before, xdp_after));
    println!(
        "flood with cookies:        {at_daemon}; daemon counted slip/drop {:?}",
        diff(daemon_before, daemon_after)
    );
    println!("steady client in another /24: {steady}");

    let mut problems = Vec::new();
    check_flood("XDP", &at_xdp, &mut problems);
    check_flood("daemon", &at_daemon, &mut problems);
    let (slipped, dropped) = diff(xdp_before, xdp_after);
    if slipped != at_xdp["truncated"].as_u64().unwrap() || dropped != at_xdp["silent"].as_u64().unwrap() {
        problems.push(format!("the XDP counters ({slipped} slipped, {dropped} dropped) disagree with the client"));
    }
    let (slips, drops) = diff(daemon_before, daemon_after);
    if slips != at_daemon["truncated"].as_u64().unwrap() || drops != at_daemon["silent"].as_u64().unwrap() {
        problems.push(format!("the daemon's counters ({slips} slips, {drops} drops) disagree with the client"));
    }
    if steady["lost"] != 0 || steady["errors"] != 0 || steady["answered"] != steady["sent"] {
        problems.push(format!("the other /24 lost queries: {steady}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The flood got its budget (the burst plus the rate over the time it
/// took, give or take the timing of the first and last query), and of the
/// rest every second one as TC=1 and nothing for the others.
fn check_flood(path: &str, report: &Value, problems: &mut Vec<String>) {
    let get = |key: &str| report[key].as_f64().unwrap_or_else(|| panic!("`{key}` in {report}"));
    let (sent, answered, truncated, silent) = (get("sent"), get("answered"), get("truncated"), get("silent"));
    let budget = BURST as f64 + RATE as f64 * get("seconds");
    if answered < BURST as f64 * 0.9 || answered > budget + RATE as f64 * 0.2 {
        problems.push(format!("{path}: {answered} answered, the budget was {budget:.0}"));
    }
    let over = sent - answered;
    if (truncated / over - 0.5).abs() > 0.02 || (silent / over - 0.5).abs() > 0.02 {
        problems
            .push(format!("{path}: of {over} over the limit {truncated} TC and {silent} silent, expected half each"));
    }
}

fn xdp_counts(lab: &anycast_lab::topology::Lab) -> (u64, u64) {
    let outcome = |o: &str| lab.stat(&format!("anycast_xdp_packets_total{{outcome=\"{o}\"}}")).expect("XDP counter");
    (outcome("slipped"), outcome("rate_limited"))
}

fn daemon_counts(lab: &anycast_lab::topology::Lab) -> (u64, u64) {
    let action = |a: &str| lab.stat(&format!("anycast_rate_limited_total{{action=\"{a}\"}}")).expect("daemon counter");
    (action("slip"), action("drop"))
}

fn diff(before: (u64, u64), after: (u64, u64)) -> (u64, u64) {
    (after.0 - before.0, after.1 - before.1)
}
