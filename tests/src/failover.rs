//! The anycast failover scenario, run once per announcer: with a steady
//! query stream from the client, node 1 is drained for maintenance, loses
//! its upstream, is stopped gracefully, and is killed (in interface mode,
//! then withdrawn by `anycastd withdraw`, as the systemd unit does); with
//! OSPF its link is also cut and its routing daemon killed. Each time the
//! router must move the VIPs to node 2 (the next nearest) in time and
//! back when node 1 heals. Prints a table of what each event cost.

use std::time::{Duration, Instant};

use anycast_lab::{
    anycast::{Announce, AnycastLab, FALL, HEALTH_INTERVAL, RISE, RouterDaemon},
    frr::{BFD_DETECTION, DEAD_INTERVAL, EXTERNAL_ROUTE_DELAY},
    topology::{VIP4, VIP6},
};
use anycast_user::route::read_back;
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
/// anycastd's count of the times it told its routing daemon the state
/// again.
const TOLD_AGAIN: &str = "anycast_routing_daemon_told_again_total";

/// Waits up to `limit` for the router to send both VIPs to node `k`:
/// when each (v4, v6) first went there.
fn wait_carrier(lab: &AnycastLab, k: usize, limit: Duration) -> [Option<Duration>; 2] {
    let start = Instant::now();
    let mut moved = [None, None];
    while start.elapsed() < limit && moved.contains(&None) {
        for (family, vip) in [VIP4, VIP6].into_iter().enumerate() {
            let route = lab.route(vip).unwrap_or_else(|e| panic!("the router's route for {vip}: {e}"));
            if moved[family].is_none() && route == Some(k) {
                moved[family] = Some(start.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    moved
}

/// One event's figures.
struct Row {
    event: String,
    /// When the IPv4 and the IPv6 route moved.
    moved: [Option<Duration>; 2],
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
        if moved.contains(&None) {
            self.failures.push(format!("{event}: the VIPs did not move to node {to} within {limit:?}: {moved:?}"));
        }
        if stream["answered"] == 0 {
            self.failures.push(format!("{event}: nothing answered the stream: {stream}"));
        }
        if lossless && (stream["lost"] != 0 || stream["errors"] != 0) {
            self.failures.push(format!("{event}: queries lost or failed, target none: {stream}"));
        }
        self.rows.push(Row { event: event.to_string(), moved, limit, stream });
    }

    fn print(&self) {
        let (announce, router) = (self.lab.announce, self.lab.router_daemon);
        println!(
            "\nfailover with the {announce:?} announcer, a {router:?} router ({RATE} queries/s for {NAME} from the client):"
        );
        println!(
            "{:<44} {:>10} {:>10} {:>7} {:>6} {:>6} {:>6} {:>9}",
            "event", "v4 moved", "v6 moved", "limit", "sent", "lost", "errors", "outage"
        );
        for row in &self.rows {
            let moved =
                |family: usize| row.moved[family].map_or("never".to_string(), |d| format!("{} ms", d.as_millis()));
            println!(
                "{:<44} {:>10} {:>10} {:>5} s {:>6} {:>6} {:>6} {:>6} ms",
                row.event,
                moved(0),
                moved(1),
                row.limit.as_secs_f64(),
                row.figure("sent"),
                row.figure("lost"),
                row.figure("errors"),
                row.figure("longest_outage_ms")
            );
        }
    }
}

/// The whole scenario for one announcer and router; panics with every
/// failure.
pub fn run(announce: Announce, router: RouterDaemon) {
    let lab = with_pass_program(|pass| {
        AnycastLab::start(announce, router, &anycastd_binary(), pass)
            .unwrap_or_else(|e| panic!("starting the lab: {e}"))
    });
    let mut s = Scenario { lab, rows: Vec::new(), failures: Vec::new() };
    let lab = &s.lab;
    for k in 1..=2 {
        assert_eq!(lab.learned_from(k).unwrap(), (true, true), "the router learned both VIPs from node {k}");
    }
    if router == RouterDaemon::Frr && announce != Announce::Ospf {
        // Each node has a session over IPv4 and one over IPv6.
        // (The routes may have come over the first of them.)
        for k in 1..=announce.nodes() {
            for address in [&lab.node(k).address4, &lab.node(k).address6] {
                let up = || lab.bgp_established(address).unwrap_or_else(|e| panic!("the session with {address}: {e}"));
                anycast_lab::wait(
                    &format!("the router's session with node {k} at {address}"),
                    Duration::from_secs(15),
                    up,
                )
                .unwrap_or_else(|e| panic!("{e}: {}", lab.router_routes()));
            }
        }
    }
    let routes = [VIP4, VIP6].map(|vip| lab.route(vip).unwrap_or_else(|e| panic!("the route for {vip}: {e}")));
    assert_eq!(
        routes,
        [Some(1), Some(1)],
        "node 1 (the lower address with BGP, the nearest with OSPF) carries the VIPs: {}",
        lab.router_routes()
    );
    for vip in [VIP4, VIP6] {
        let out = lab.client.exec("dig", &["+short", "+time=2", &format!("@{vip}"), NAME, "A"]).unwrap();
        assert_eq!(out.trim(), "10.99.5.10", "the client is answered on {vip}");
    }

    // Convergence at the router is ~10-50 ms once BIRD or FRR hears of a
    // change; ospf6d waits out its delay for a route-map change.
    let quick = Duration::from_secs(1);
    let told = announce.route_map_delay();
    // The upstream goes or comes back anywhere in a health tick, and a
    // failing check waits out its query's timeout.
    let withdraw_limit = HEALTH_INTERVAL * (FALL + 1) + quick;
    let announce_limit = HEALTH_INTERVAL * (RISE + 1) + quick + told;
    let set_maintenance = |on| move |lab: &mut AnycastLab| lab.set_maintenance(1, on).unwrap();
    let drain_limit = HEALTH_INTERVAL + quick + told;
    let drain_seconds = 3.0 + told.as_secs_f64();
    s.event("maintenance drain of node 1", drain_seconds, set_maintenance(true), 2, drain_limit, true);
    s.event("maintenance over", drain_seconds, set_maintenance(false), 1, drain_limit, true);
    let set_upstream = |up| move |lab: &mut AnycastLab| lab.set_upstream(1, up).unwrap();
    s.event("node 1's upstream cut (unhealthy)", 5.0, set_upstream(false), 2, withdraw_limit, false);
    s.event("node 1's upstream back (healthy)", 5.0 + told.as_secs_f64(), set_upstream(true), 1, announce_limit, false);
    // Timed from the signal; the stream runs past the end of the drain
    // time, when the VIPs go.
    let stop = |lab: &mut AnycastLab| lab.signal_anycastd(1, "TERM");
    let stop_seconds = 3.0 + announce.drain_time().as_secs_f64();
    s.event("graceful stop of node 1 (SIGTERM)", stop_seconds, stop, 2, quick + told, true);
    let status = s.lab.wait_anycastd(1, Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "node 1's anycastd exits 0 on SIGTERM, got {status:?}");
    let restart = |lab: &mut AnycastLab| lab.start_node(1).unwrap();
    // A new session waits for BIRD's connect delay; a BIRD node's own
    // session never dropped.
    let restart_limit = Duration::from_secs(10) + told;
    let restart_seconds = 2.0 + restart_limit.as_secs_f64();
    s.event("node 1 started again", restart_seconds, restart, 1, restart_limit, false);
    if announce == Announce::Bgp {
        // The kernel closes the dead speaker's session: the router
        // withdraws at once (with BIRD exporting lo instead, the VIPs
        // would stay announced: see the README).
        let kill = |lab: &mut AnycastLab| {
            lab.stop_anycastd(1, "KILL", Duration::from_secs(5)).expect("node 1's anycastd killed");
        };
        s.event("node 1's anycastd killed (SIGKILL)", 3.0, kill, 2, quick, false);
    } else {
        // In interface mode a dead daemon leaves its VIPs and the routing
        // daemon's state as they were: what withdraws is the unit's
        // ExecStopPost= (`anycastd withdraw`), run here as systemd would
        // once the process is gone.
        let kill_and_withdraw = |lab: &mut AnycastLab| {
            lab.stop_anycastd(1, "KILL", Duration::from_secs(5)).expect("node 1's anycastd killed");
            lab.withdraw(1).unwrap_or_else(|e| panic!("anycastd withdraw: {e}"));
        };
        s.event("node 1 killed (SIGKILL), then withdraw", 3.0, kill_and_withdraw, 2, quick, false);
    }
    s.event("node 1 started again after the kill", restart_seconds, restart, 1, restart_limit, false);
    if matches!(announce, Announce::Ospf | Announce::FrrBgp) {
        frr_events(&mut s, quick, restart_limit);
    } else if router == RouterDaemon::Frr {
        // anycastd's own BFD sessions prove it alive: frozen, it stops
        // sending and the router ends its sessions (XDP still answers).
        let freeze = |frozen| move |lab: &mut AnycastLab| lab.signal_anycastd(1, if frozen { "STOP" } else { "CONT" });
        frozen_and_thawed(&mut s, "anycastd", freeze, quick, restart_limit);
    }
    s.print();
    let failures = s.failures.join("\n");
    assert!(failures.is_empty(), "failover with the {announce:?} announcer and a {router:?} router:\n{failures}");
}

/// What a node running FRR can suffer: its FRR dead (with OSPF, while
/// the link stays up: the router must notice by the dead interval; a
/// dead bgpd's sessions close) and restarted, to be told the state
/// again. With OSPF, its link cut too (the router's end loses carrier);
/// with BGP, its FRR frozen, sessions open and silent, which BFD ends.
/// A topology change moves OSPF's external routes a second later.
fn frr_events(s: &mut Scenario, quick: Duration, restart_limit: Duration) {
    let restart_seconds = 2.0 + restart_limit.as_secs_f64();
    let ospf = s.lab.announce == Announce::Ospf;
    if ospf {
        let set_uplink = |up| move |lab: &mut AnycastLab| lab.set_uplink(1, up).unwrap();
        s.event("node 1's link cut", 4.0, set_uplink(false), 2, EXTERNAL_ROUTE_DELAY + quick, false);
        s.event("node 1's link back", restart_seconds, set_uplink(true), 1, restart_limit, false);
    } else {
        let freeze = |frozen| move |lab: &mut AnycastLab| lab.freeze_node_frr(1, frozen);
        frozen_and_thawed(s, "FRR", freeze, quick, restart_limit);
    }
    // A reload puts back the file's route-map, which says withdrawn;
    // anycastd reads it back within its interval and tells it again (at
    // once while a new run of FRR settles: then the router may never
    // see the withdraw). What must hold: it was told again, and node 1
    // carries the VIPs.
    let told = s.lab.announce.route_map_delay();
    let reload = |lab: &mut AnycastLab| {
        let told_again = |lab: &AnycastLab| lab.stat(1, TOLD_AGAIN).unwrap_or_else(|e| panic!("{TOLD_AGAIN}: {e}"));
        let before = told_again(lab);
        lab.reload_node_frr(1).unwrap_or_else(|e| panic!("reloading FRR: {e}"));
        let limit = read_back::INTERVAL + quick;
        anycast_lab::wait("anycastd telling the reloaded FRR again", limit, || told_again(lab) > before)
            .unwrap_or_else(|e| panic!("{e}: {TOLD_AGAIN} stayed {before}"));
    };
    let reload_limit = read_back::INTERVAL + quick + told;
    let reload_seconds = 2.0 + reload_limit.as_secs_f64();
    s.event("node 1's FRR reloaded (file: withdrawn)", reload_seconds, reload, 1, quick + told, false);
    let kill_frr = |lab: &mut AnycastLab| lab.kill_node_frr(1);
    let dead_limit = if ospf { DEAD_INTERVAL + EXTERNAL_ROUTE_DELAY + quick } else { quick };
    s.event("node 1's FRR killed (SIGKILL)", 7.0, kill_frr, 2, dead_limit, false);
    let restart_frr = |lab: &mut AnycastLab| lab.start_node_frr(1).unwrap();
    s.event("node 1's FRR started again", restart_seconds, restart_frr, 1, restart_limit, false);
}

/// Node 1's `what` frozen (SIGSTOP: silent, its sessions open), which BFD
/// must notice, then thawed: the router reset the sessions, and they come
/// back.
fn frozen_and_thawed<A: FnOnce(&mut AnycastLab)>(
    s: &mut Scenario,
    what: &str,
    freeze: impl Fn(bool) -> A,
    quick: Duration,
    restart_limit: Duration,
) {
    let restart_seconds = 2.0 + restart_limit.as_secs_f64();
    s.event(&format!("node 1's {what} frozen (SIGSTOP; BFD)"), 3.0, freeze(true), 2, BFD_DETECTION + quick, false);
    s.event(&format!("node 1's {what} thawed (SIGCONT)"), restart_seconds, freeze(false), 1, restart_limit, false);
}
