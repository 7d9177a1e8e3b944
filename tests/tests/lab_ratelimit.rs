//! Rate limiting on the wire: with 100 responses a second per /24 and slip
//! 2, a client flooding hot names (answered at XDP), then queries with a
//! client subnet option (left to the daemon), gets about its budget
//! answered and half of the rest as TC=1; flooding with a client cookie
//! alone, half of the rest as BADCOOKIE (which carries the server cookie
//! to retry with); flooding with a valid server cookie, everything
//! answered (RFC 7873: a client that proved its address is not limited).
//! A client in another /24 querying steadily meanwhile loses nothing.

use std::time::Duration;

use anycast_lab::topology::{CLIENT4, VIP4};
use anycast_tests::{
    lab::lab_with_anycastd,
    traffic::{Flood, Traffic},
};
use serde_json::Value;

const RATE: u64 = 100;
const BURST: u64 = 100;
/// The steady client, in another /24 than the flood's.
const OTHER_CLIENT: &str = "10.98.7.2";
const NAME: &str = "www.lab.";

/// What a flood should see over the limit: which reply half of the
/// queries over it get (the others get none), or that none is over.
#[derive(Clone, Copy, Debug)]
enum Over {
    Slips(&'static str),
    Exempt,
}

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

    let steady = Traffic::stream(&lab.client, VIP4, NAME, 20, 12.0, 1.0, Some(OTHER_CLIENT));
    // (what, flood, count, counters read, the reply over the limit)
    let floods = [
        ("plain, answered at XDP", Flood::Plain, 3000, Counters::Xdp, Over::Slips("truncated")),
        ("client subnet, answered by the daemon", Flood::Subnet, 1500, Counters::Daemon, Over::Slips("truncated")),
        ("client cookie, at XDP", Flood::ClientCookie, 3000, Counters::Xdp, Over::Slips("badcookie")),
        ("valid server cookie, at XDP", Flood::ServerCookie, 3000, Counters::Xdp, Over::Exempt),
    ];
    println!("limit {RATE}/s per /24, burst {BURST}, slip 2");
    let mut problems = Vec::new();
    for (what, kind, count, counters, over) in floods {
        // A quiet spell refills the bucket before each flood.
        std::thread::sleep(Duration::from_secs(2));
        let before = counters.read(&lab);
        let report = Traffic::flood(&lab.client, VIP4, NAME, count, count, CLIENT4, kind).finish();
        let (slipped, dropped) = diff(before, counters.read(&lab));
        println!("{what}: {report}; counted slipped/dropped {:?}", (slipped, dropped));
        check_flood(what, &report, over, &mut problems);
        let replied_over = match over {
            Over::Slips(reply) => report[reply].as_u64().unwrap(),
            Over::Exempt => 0,
        };
        if slipped != replied_over || dropped != report["silent"].as_u64().unwrap() {
            problems
                .push(format!("{what}: the counters ({slipped} slipped, {dropped} dropped) disagree with the client"));
        }
    }
    let steady = steady.finish();
    println!("steady client in another /24: {steady}");
    if steady["lost"] != 0 || steady["errors"] != 0 || steady["answered"] != steady["sent"] {
        problems.push(format!("the other /24 lost queries: {steady}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The flood got its budget (the burst plus the rate over the time it
/// took, give or take the timing of the first and last query), and of the
/// rest every second one the slip's reply and nothing for the others; or,
/// exempt, everything answered.
fn check_flood(what: &str, report: &Value, over: Over, problems: &mut Vec<String>) {
    let get = |key: &str| report[key].as_f64().unwrap_or_else(|| panic!("`{key}` in {report}"));
    let (sent, answered, silent) = (get("sent"), get("answered"), get("silent"));
    let Over::Slips(reply) = over else {
        if answered != sent {
            problems.push(format!("{what}: {answered} of {sent} answered, expected all"));
        }
        return;
    };
    let budget = BURST as f64 + RATE as f64 * get("seconds");
    if answered < BURST as f64 * 0.9 || answered > budget + RATE as f64 * 0.2 {
        problems.push(format!("{what}: {answered} answered, the budget was {budget:.0}"));
    }
    let over = sent - answered;
    let replied = get(reply);
    if (replied / over - 0.5).abs() > 0.02 || (silent / over - 0.5).abs() > 0.02 {
        problems.push(format!(
            "{what}: of {over} over the limit {replied} {reply} and {silent} silent, expected half each"
        ));
    }
}

/// Which path's rate-limit counters a flood moves.
#[derive(Clone, Copy, Debug)]
enum Counters {
    Xdp,
    Daemon,
}

impl Counters {
    fn read(self, lab: &anycast_lab::topology::Lab) -> (u64, u64) {
        match self {
            Counters::Xdp => xdp_counts(lab),
            Counters::Daemon => daemon_counts(lab),
        }
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
