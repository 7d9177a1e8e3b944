//! The anycast failover scenario, run once per announcer: with a steady
//! query stream from the client, node 1 is drained for maintenance, loses
//! its upstream, is stopped gracefully, and is killed (with BIRD, then
//! withdrawn by `anycastd withdraw`, as the systemd unit does); each time
//! the router must move the VIPs to node 2 in time and back when node 1
//! heals. Prints a table of what each event cost.

use std::time::{Duration, Instant};

use anycast_lab::{
    anycast::{Announce, AnycastLab, FALL, HEALTH_INTERVAL, RISE},
    topology::{VIP4, VIP6},
};
use serde_json::Value;

use crate::{
    lab::{anycastd_binary, with_pass_program},
    traffic::Traffic,
};

/// Queries a second in the stream, and how long one may take.
const RATE: u32 = 200;
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);
/// The name the stream asks: hot, answered at XDP once resolved.
const NAME: &str = "www.example.lab.";

/// Where the router sends both VIPs: node 1, node 2, or neither/split.
fn carrier(lab: &AnycastLab) -> Option<usize> {
    let v4 = lab.route(VIP4).expect("the router's IPv4 route");
    let v6 = lab.route(VIP6).expect("the router's IPv6 route");
    (1..=2).find(|&k| v4.as_deref() == Some(&lab.node(k).address4) && v6.as_deref() == Some(&lab.node(k).address6))
}

/// Waits up to `limit` for the router to send both VIPs to node `k`.
fn wait_carrier(lab: &AnycastLab, k: usize, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if carrier(lab) == Some(k) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// One event's figures.
struct Row {
    event: String,
    moved: Option<Duration>,
    limit: Duration,
    stream: Value,
}

impl Row {
    fn figure(&self, key: &str) -> u64 {
        self.stream[key].as_u64().unwrap_or_else(|| panic!("`{key}` in the stream's report {}", self.stream))
    }
}

struct Scenario {
    lab: AnycastLab,
    rows: Vec<Row>,
    failures: Vec<String>,
}

impl Scenario {
    /// Runs `act` one second into a query stream of `seconds`, then waits
    /// up to `limit` for the VIPs to move to node `to`; records the time
    /// that took and what the stream saw. With `lossless`, any query lost
    /// or failed is a failure.
    fn event(
        &mut self,
        event: &str,
        seconds: f64,
        act: impl FnOnce(&mut AnycastLab),
        to: usize,
        limit: Duration,
        lossless: bool,
    ) {
        let stream = Traffic::stream(&self.lab.client, VIP4, NAME, RATE, seconds, QUERY_TIMEOUT.as_secs_f64(), None);
        std::thread::sleep(Duration::from_secs(1));
        act(&mut self.lab);
        let moved = wait_carrier(&self.lab, to, limit);
        let stream = stream.finish();
        if moved.is_none() {
            self.failures.push(format!("{event}: the VIPs did not move to node {to} within {limit:?}"));
        }
        if stream["answered"] == 0 {
            self.failures.push(format!("{event}: nothing answered the stream: {stream}"));
        }
        if lossless && (stream["lost"] != 0 || stream["errors"] != 0) {
            self.failures.push(format!("{event}: queries lost or failed, target none: {stream}"));
        }
        self.rows.push(Row { event: event.to_string(), moved, limit, stream });
    }

    fn print(&self, announce: Announce) {
        println!("\nfailover with the {announce:?} announcer ({RATE} queries/s for {NAME} from the client):");
        println!(
            "{:<44} {:>12} {:>9} {:>6} {:>6} {:>6} {:>11}",
            "event", "route moved", "limit", "sent", "lost", "errors", "outage"
        );
        for row in &self.rows {
            let moved = row.moved.map_or("never".to_string(), |d| format!("{} ms", d.as_millis()));
            println!(
                "{:<44} {:>12} {:>7} s {:>6} {:>6} {:>6} {:>8} ms",
                row.event,
                moved,
                row.limit.as_secs_f64(),
                row.figure("sent"),
                row.figure("lost"),
                row.figure("errors"),
                row.figure("longest_outage_ms")
            );
        }
    }
}

/// The whole scenario for one announcer; panics with every failure.
pub fn run(announce: Announce) {
    let lab = with_pass_program(|pass| {
        AnycastLab::start(announce, &anycastd_binary(), pass).unwrap_or_else(|e| panic!("starting the lab: {e}"))
    });
    let mut s = Scenario { lab, rows: Vec::new(), failures: Vec::new() };
    let lab = &s.lab;
    for k in 1..=2 {
        assert_eq!(lab.learned_from(k).unwrap(), (true, true), "the router learned both VIPs from node {k}");
    }
    assert_eq!(carrier(lab), Some(1), "node 1 (the lower address) carries the VIPs: {}", lab.router_routes());
    for vip in [VIP4, VIP6] {
        let out = lab.client.exec("dig", &["+short", "+time=2", &format!("@{vip}"), NAME, "A"]).unwrap();
        assert_eq!(out.trim(), "10.99.5.10", "the client is answered on {vip}");
    }

    // Convergence at the router is ~10-50 ms once BIRD hears of a change.
    let quick = Duration::from_secs(1);
    let withdraw_limit = HEALTH_INTERVAL * FALL + Duration::from_secs(1);
    let announce_limit = HEALTH_INTERVAL * RISE + Duration::from_secs(1);
    let set_maintenance = |on| move |lab: &mut AnycastLab| lab.set_maintenance(1, on).unwrap();
    s.event("maintenance drain of node 1", 3.0, set_maintenance(true), 2, HEALTH_INTERVAL + quick, true);
    s.event("maintenance over", 3.0, set_maintenance(false), 1, HEALTH_INTERVAL + quick, true);
    let set_upstream = |up| move |lab: &mut AnycastLab| lab.set_upstream(1, up).unwrap();
    s.event("node 1's upstream cut (unhealthy)", 5.0, set_upstream(false), 2, withdraw_limit, false);
    s.event("node 1's upstream back (healthy)", 5.0, set_upstream(true), 1, announce_limit, false);
    let stop = |lab: &mut AnycastLab| {
        let status = lab.stop_anycastd(1, "TERM", Duration::from_secs(10));
        assert!(status.is_some_and(|s| s.success()), "node 1's anycastd exits 0 on SIGTERM, got {status:?}");
    };
    s.event("graceful stop of node 1 (SIGTERM)", 4.0, stop, 2, quick, true);
    let restart = |lab: &mut AnycastLab| lab.start_node(1).unwrap();
    // A new session waits for BIRD's connect delay; a BIRD node's own
    // session never dropped.
    s.event("node 1 started again", 12.0, restart, 1, Duration::from_secs(10), false);
    if announce == Announce::Bgp {
        // The kernel closes the dead speaker's session: the router
        // withdraws at once (with BIRD exporting lo instead, the VIPs
        // would stay announced: see the README).
        let kill = |lab: &mut AnycastLab| {
            lab.stop_anycastd(1, "KILL", Duration::from_secs(5)).expect("node 1's anycastd killed");
        };
        s.event("node 1's anycastd killed (SIGKILL)", 3.0, kill, 2, quick, false);
    } else {
        // In interface mode a dead daemon leaves its VIPs and BIRD's
        // include as they were: what withdraws is the unit's
        // ExecStopPost= (`anycastd withdraw`), run here as systemd would
        // once the process is gone.
        let kill_and_withdraw = |lab: &mut AnycastLab| {
            lab.stop_anycastd(1, "KILL", Duration::from_secs(5)).expect("node 1's anycastd killed");
            lab.withdraw(1).unwrap_or_else(|e| panic!("anycastd withdraw: {e}"));
        };
        s.event("node 1 killed (SIGKILL), then withdraw", 3.0, kill_and_withdraw, 2, quick, false);
    }
    let restart = |lab: &mut AnycastLab| lab.start_node(1).unwrap();
    s.event("node 1 started again after the kill", 12.0, restart, 1, Duration::from_secs(10), false);
    s.print(announce);
    assert!(s.failures.is_empty(), "failover with the {announce:?} announcer:\n{}", s.failures.join("\n"));
}
