//! Anycast failover through a real router (BIRD 2), each node announcing
//! with anycastd's built-in BGP speaker. See `anycast_tests::failover`.

use anycast_lab::anycast::{Announce, RouterDaemon};

#[test]
fn bgp_announcer_fails_over_and_back() {
    anycast_tests::failover::run(Announce::Bgp, RouterDaemon::Bird);
}
