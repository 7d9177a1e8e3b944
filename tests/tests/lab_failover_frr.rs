//! Anycast failover through FRR's bgpd as the router: each node announces
//! with anycastd's built-in speaker (two sessions, over IPv4 and over
//! IPv6, drained by MED), or through its own FRR (bgpd exporting what
//! anycastd puts on lo, anycastd's route-map for drain and withdraw; its
//! FRR also killed and restarted). One lab at a time. See
//! `anycast_tests::failover`.

use std::sync::Mutex;

use anycast_lab::anycast::{Announce, RouterDaemon};

static ONE_LAB: Mutex<()> = Mutex::new(());

#[test]
fn bgp_speaker_fails_over_through_frr_with_two_sessions_and_med() {
    let _lab = ONE_LAB.lock().unwrap_or_else(|e| e.into_inner());
    anycast_tests::failover::run(Announce::Bgp, RouterDaemon::Frr);
}

#[test]
fn frr_nodes_fail_over_through_frr_and_back() {
    let _lab = ONE_LAB.lock().unwrap_or_else(|e| e.into_inner());
    anycast_tests::failover::run(Announce::FrrBgp, RouterDaemon::Frr);
}
