//! Anycast failover through a real router (BIRD 2), each node announcing
//! through its own BIRD (`protocol direct` on lo, anycastd's include file
//! for drain and withdraw). See `anycast_tests::failover`.

use anycast_lab::anycast::{Announce, RouterDaemon};

#[test]
fn bird_announcer_fails_over_and_back() {
    anycast_tests::failover::run(Announce::Bird, RouterDaemon::Bird);
}
