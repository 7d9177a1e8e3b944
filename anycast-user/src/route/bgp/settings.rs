//! What the speaker is configured with: its AS and identity, timers, how
//! it drains, and its peers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpSettings {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    /// Seconds offered in OPEN (0, or 3 and more); keepalives every third.
    pub hold_time: u16,
    pub drain: DrainMark,
    /// BFD's interval and multiplier, for the peers that use it.
    pub bfd: super::bfd::Timers,
    pub peers: Vec<PeerSettings>,
}

/// How drained routes are made less preferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainMark {
    /// Our AS this many more times in the path.
    Prepend(u8),
    /// This MED (announced routes carry MED 0).
    Med(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSettings {
    pub address: SocketAddr,
    pub peer_as: u32,
    /// The address to connect from, if not the kernel's choice.
    pub local_address: Option<IpAddr>,
    /// Next hops of our routes; by default the session's local address
    /// for its own family (the other family's must be configured).
    pub next_hop4: Option<Ipv4Addr>,
    pub next_hop6: Option<Ipv6Addr>,
    /// Whether a BFD session runs with this peer.
    pub bfd: bool,
}
