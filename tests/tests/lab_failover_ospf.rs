//! Anycast failover inside one network: FRR on a router and on three
//! nodes, OSPFv2 and OSPFv3 (hello 1 s, dead 3 s), each node exporting
//! the VIPs anycastd puts on lo (`redistribute connected`, anycastd's
//! route-map for drain and withdraw); the link to node k costs 10k, so
//! node 1 is nearest and node 2 next. See `anycast_tests::failover`.

use anycast_lab::anycast::{Announce, RouterDaemon};

#[test]
fn ospf_nodes_fail_over_to_the_next_nearest_and_back() {
    anycast_tests::failover::run(Announce::Ospf, RouterDaemon::Frr);
}
