//! The `[bgp]` section: the built-in speaker's AS, identity, timers and
//! peers (used when `announce.method = "bgp"`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Deserialize;

use super::error::{ConfigError, invalid};
use crate::route::bgp::{
    bfd::Timers,
    settings::{BgpSettings, DrainMark, PeerSettings},
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgpSection {
    pub local_as: Option<u32>,
    /// The BGP identifier: unique per node (the VIPs are not).
    pub router_id: Option<Ipv4Addr>,
    /// Seconds offered in OPEN: 0 (no keepalives) or 3 and more.
    pub hold_time: Option<u16>,
    /// How drained routes are made less preferred: `prepend` or `med`.
    pub drain: Option<DrainKind>,
    /// Extra copies of our AS in a drained route's path (1..=10).
    pub drain_prepend: Option<u8>,
    /// The MED of drained routes (announced ones carry 0).
    pub drain_med: Option<u32>,
    /// BFD for the peers with `bfd = true`: the interval offered and
    /// required, in ms (10..=10000, default 300), and the multiplier
    /// (1..=255, default 3): down after multiplier x interval of silence.
    pub bfd_interval_ms: Option<u64>,
    pub bfd_multiplier: Option<u8>,
    #[serde(default)]
    pub peers: Vec<PeerSection>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrainKind {
    Prepend,
    Med,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    pub address: IpAddr,
    pub port: Option<u16>,
    pub peer_as: u32,
    pub local_address: Option<IpAddr>,
    pub next_hop4: Option<Ipv4Addr>,
    pub next_hop6: Option<Ipv6Addr>,
    /// A BFD session with this peer (RFC 5881 single hop).
    pub bfd: Option<bool>,
}

/// AS numbers a speaker may not use as its own or a peer's: 0 (RFC 7607)
/// and AS_TRANS (RFC 6793).
fn check_as(key: String, asn: u32) -> Result<u32, ConfigError> {
    match asn {
        0 | 23456 => Err(invalid(key, format!("{asn} is not a usable AS number"))),
        _ => Ok(asn),
    }
}

impl BgpSection {
    /// The speaker's settings, checked against the VIPs it will announce.
    pub fn check(&self, vips: &[IpAddr]) -> Result<BgpSettings, ConfigError> {
        let required = |key: &str| invalid(key, "required with announce.method = \"bgp\"");
        let local_as = check_as("bgp.local_as".into(), self.local_as.ok_or_else(|| required("bgp.local_as"))?)?;
        let router_id = self.router_id.ok_or_else(|| required("bgp.router_id"))?;
        if router_id.is_unspecified() || router_id.is_multicast() || router_id.is_broadcast() {
            return Err(invalid("bgp.router_id", format!("{router_id} is not a usable BGP identifier")));
        }
        let hold_time = self.hold_time.unwrap_or(90);
        if matches!(hold_time, 1 | 2) {
            return Err(invalid("bgp.hold_time", "must be 0 or at least 3 seconds (RFC 4271)"));
        }
        let drain = self.drain_mark()?;
        if self.peers.is_empty() {
            return Err(invalid("bgp.peers", "at least one peer is needed with announce.method = \"bgp\""));
        }
        let peers =
            self.peers.iter().enumerate().map(|(i, peer)| peer.check(i, local_as, vips)).collect::<Result<_, _>>()?;
        Ok(BgpSettings { local_as, router_id, hold_time, drain, bfd: self.bfd_timers()?, peers })
    }

    fn bfd_timers(&self) -> Result<Timers, ConfigError> {
        let interval = self.bfd_interval_ms.unwrap_or(300);
        if !(10..=10_000).contains(&interval) {
            return Err(invalid("bgp.bfd_interval_ms", format!("{interval} is outside 10..=10000")));
        }
        let multiplier = self.bfd_multiplier.unwrap_or(3);
        if multiplier == 0 {
            return Err(invalid("bgp.bfd_multiplier", "0 is outside 1..=255"));
        }
        Ok(Timers { interval: std::time::Duration::from_millis(interval), multiplier })
    }

    fn drain_mark(&self) -> Result<DrainMark, ConfigError> {
        Ok(match self.drain.unwrap_or(DrainKind::Prepend) {
            DrainKind::Prepend => {
                let n = self.drain_prepend.unwrap_or(3);
                if !(1..=10).contains(&n) {
                    return Err(invalid("bgp.drain_prepend", format!("{n} is outside 1..=10")));
                }
                DrainMark::Prepend(n)
            }
            DrainKind::Med => DrainMark::Med(self.drain_med.unwrap_or(1000).max(1)),
        })
    }
}

impl PeerSection {
    /// `bgp.peers[i]`, checked against the speaker's AS and the VIPs.
    fn check(&self, i: usize, local_as: u32, vips: &[IpAddr]) -> Result<PeerSettings, ConfigError> {
        let key = |field: &str| format!("bgp.peers[{i}].{field}");
        let peer_as = check_as(key("peer_as"), self.peer_as)?;
        if peer_as == local_as {
            return Err(invalid(
                key("peer_as"),
                "the speaker is eBGP only: the peer's AS must differ from bgp.local_as",
            ));
        }
        // A family's next hop defaults to the session's own address, so
        // the other family's must be given if there is a VIP of it.
        let needs4 = vips.iter().any(IpAddr::is_ipv4) && !self.address.is_ipv4() && self.next_hop4.is_none();
        if needs4 {
            return Err(invalid(key("next_hop4"), "required to announce IPv4 VIPs over an IPv6 session"));
        }
        let needs6 = vips.iter().any(IpAddr::is_ipv6) && !self.address.is_ipv6() && self.next_hop6.is_none();
        if needs6 {
            return Err(invalid(key("next_hop6"), "required to announce IPv6 VIPs over an IPv4 session"));
        }
        if self.local_address.is_some_and(|local| local.is_ipv4() != self.address.is_ipv4()) {
            return Err(invalid(key("local_address"), "not of the peer address's family"));
        }
        Ok(PeerSettings {
            address: SocketAddr::new(self.address, self.port.unwrap_or(179)),
            peer_as,
            local_address: self.local_address,
            next_hop4: self.next_hop4,
            next_hop6: self.next_hop6,
            bfd: self.bfd.unwrap_or(false),
        })
    }
}
