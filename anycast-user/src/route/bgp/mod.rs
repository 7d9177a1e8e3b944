//! The built-in announce-only eBGP speaker: one session per configured
//! peer, each announcing the VIPs as host routes (IPv4 in UPDATE's NLRI,
//! IPv6 in MP_REACH_NLRI) in the state the announcer asks for: announced,
//! drained (a longer AS path or a higher MED, so routers prefer other
//! nodes while this one stays usable) or withdrawn. Routes from the peers
//! are not taken. On stop every session ends with a Cease.

pub mod message;
mod session;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use netgauze_bgp_pkt::BgpMessage;
use tokio::{sync::watch, task::JoinSet};

use super::announce::State;
use message::{Attributes, Negotiated};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpSettings {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    /// Seconds offered in OPEN (0, or 3 and more); keepalives every third.
    pub hold_time: u16,
    pub drain: DrainMark,
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
}

/// The session states of RFC 4271 8.2.2 this speaker goes through (it
/// never listens, so no Active).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SessionState {
    Idle,
    Connect,
    OpenSent,
    OpenConfirm,
    Established,
}

impl SessionState {
    pub const ALL: [SessionState; 5] = [
        SessionState::Idle,
        SessionState::Connect,
        SessionState::OpenSent,
        SessionState::OpenConfirm,
        SessionState::Established,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Connect => "connect",
            SessionState::OpenSent => "opensent",
            SessionState::OpenConfirm => "openconfirm",
            SessionState::Established => "established",
        }
    }
}

/// One peer's session as the metrics see it.
pub struct PeerStatus {
    pub address: SocketAddr,
    state: AtomicU8,
    /// Times the session reached Established.
    pub established: AtomicU64,
    sent: [AtomicU64; message::KINDS.len()],
    received: [AtomicU64; message::KINDS.len()],
    /// Malformed UPDATEs (and ROUTE-REFRESHes) discarded.
    pub discarded: AtomicU64,
}

impl PeerStatus {
    fn new(address: SocketAddr) -> PeerStatus {
        PeerStatus {
            address,
            state: AtomicU8::new(SessionState::Idle as u8),
            established: AtomicU64::new(0),
            sent: Default::default(),
            received: Default::default(),
            discarded: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> SessionState {
        SessionState::ALL[usize::from(self.state.load(Ordering::Relaxed))]
    }

    fn set_state(&self, state: SessionState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Messages (sent, received) of each type.
    pub fn messages(&self) -> impl Iterator<Item = (&'static str, u64, u64)> + '_ {
        message::KINDS
            .iter()
            .enumerate()
            .map(|(i, kind)| (*kind, self.sent[i].load(Ordering::Relaxed), self.received[i].load(Ordering::Relaxed)))
    }

    fn count(counters: &[AtomicU64], message: &BgpMessage) {
        counters[usize::from(message::type_code(message) - 1)].fetch_add(1, Ordering::Relaxed);
    }
}

/// What every session announces: the VIPs, our AS, how to drain.
struct Routes {
    local_as: u32,
    drain: DrainMark,
    v4: Vec<Ipv4Addr>,
    v6: Vec<Ipv6Addr>,
}

impl Routes {
    /// The UPDATEs that take a session from announcing `from` to `to`
    /// (None: nothing announced yet).
    fn updates(
        &self,
        from: Option<State>,
        to: State,
        session: &Negotiated,
        hops: (Option<Ipv4Addr>, Option<Ipv6Addr>),
    ) -> Vec<BgpMessage> {
        let (v4, v6) = (session.ipv4 && !self.v4.is_empty(), session.ipv6 && !self.v6.is_empty());
        let mut updates = Vec::new();
        if to == State::Withdrawn {
            if from.is_some_and(|from| from != State::Withdrawn) {
                if v4 {
                    updates.push(message::withdraw_v4(&self.v4));
                }
                if v6 {
                    updates.push(message::withdraw_v6(&self.v6));
                }
            }
            return updates;
        }
        let (path_length, med) = match (to, self.drain) {
            (State::Drained, DrainMark::Prepend(n)) => (1 + n, None),
            (State::Drained, DrainMark::Med(med)) => (1, Some(med)),
            (_, DrainMark::Med(_)) => (1, Some(0)),
            (_, DrainMark::Prepend(_)) => (1, None),
        };
        let attributes = Attributes { local_as: self.local_as, path_length, med };
        if let (true, Some(hop)) = (v4, hops.0) {
            updates.push(message::announce_v4(&self.v4, hop, &attributes, session.asn4));
        }
        if let (true, Some(hop)) = (v6, hops.1) {
            updates.push(message::announce_v6(&self.v6, hop, &attributes, session.asn4));
        }
        updates
    }
}

/// The running sessions.
pub struct Speaker {
    want: watch::Sender<Option<State>>,
    stop: watch::Sender<bool>,
    peers: Vec<Arc<PeerStatus>>,
    sessions: tokio::sync::Mutex<JoinSet<()>>,
}

/// How long a stop waits for the Ceases to go out.
const STOP_WAIT: Duration = Duration::from_secs(2);

impl Speaker {
    /// Starts a session to every peer; nothing is announced until
    /// `advertise`.
    pub fn start(settings: &BgpSettings, vips: &[IpAddr]) -> Speaker {
        let routes = Arc::new(Routes {
            local_as: settings.local_as,
            drain: settings.drain,
            v4: vips.iter().filter_map(|ip| if let IpAddr::V4(v4) = ip { Some(*v4) } else { None }).collect(),
            v6: vips.iter().filter_map(|ip| if let IpAddr::V6(v6) = ip { Some(*v6) } else { None }).collect(),
        });
        let (want, _) = watch::channel(None);
        let (stop, _) = watch::channel(false);
        let mut sessions = JoinSet::new();
        let mut peers = Vec::new();
        for peer in &settings.peers {
            let status = Arc::new(PeerStatus::new(peer.address));
            let session = session::Session {
                peer: peer.clone(),
                local_as: settings.local_as,
                router_id: settings.router_id,
                hold_time: settings.hold_time,
                routes: routes.clone(),
                status: status.clone(),
            };
            sessions.spawn(session.run(want.subscribe(), stop.subscribe()));
            peers.push(status);
        }
        Speaker { want, stop, peers, sessions: tokio::sync::Mutex::new(sessions) }
    }

    /// Makes every session announce `state` (now if established, else as
    /// soon as it is).
    pub fn advertise(&self, state: State) {
        self.want.send_replace(Some(state));
    }

    /// Ends every session with a Cease and waits (briefly) for them.
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let mut sessions = self.sessions.lock().await;
        if tokio::time::timeout(STOP_WAIT, async { while sessions.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!("BGP sessions still open after {STOP_WAIT:?}; closing them");
            sessions.abort_all();
        }
    }

    pub fn peers(&self) -> &[Arc<PeerStatus>] {
        &self.peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(drain: DrainMark) -> Routes {
        Routes { local_as: 65001, drain, v4: vec![Ipv4Addr::new(6, 6, 6, 6)], v6: vec!["2001:db8::6".parse().unwrap()] }
    }

    const BOTH: Negotiated = Negotiated { hold_time: 9, asn4: true, ipv4: true, ipv6: true };
    const HOPS: (Option<Ipv4Addr>, Option<Ipv6Addr>) =
        (Some(Ipv4Addr::new(10, 0, 0, 2)), Some(Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, 0, 2)));

    fn path_lengths(updates: &[BgpMessage]) -> Vec<(usize, Option<u32>)> {
        use netgauze_bgp_pkt::path_attribute::{AsPath, PathAttributeValue};
        updates
            .iter()
            .map(|m| {
                let BgpMessage::Update(u) = m else { panic!("an UPDATE") };
                let values: Vec<_> = u.path_attributes().iter().map(|a| a.value().clone()).collect();
                let length = values.iter().find_map(|v| match v {
                    PathAttributeValue::AsPath(AsPath::As4PathSegments(s)) => Some(s[0].as_numbers().len()),
                    _ => None,
                });
                let med = values.iter().find_map(|v| match v {
                    PathAttributeValue::MultiExitDiscriminator(m) => Some(m.metric()),
                    _ => None,
                });
                (length.unwrap_or(0), med)
            })
            .collect()
    }

    #[test]
    fn each_state_is_announced_in_both_families() {
        let prepend = routes(DrainMark::Prepend(3));
        assert_eq!(path_lengths(&prepend.updates(None, State::Announced, &BOTH, HOPS)), [(1, None), (1, None)]);
        assert_eq!(path_lengths(&prepend.updates(None, State::Drained, &BOTH, HOPS)), [(4, None), (4, None)]);
        let med = routes(DrainMark::Med(1000));
        assert_eq!(path_lengths(&med.updates(None, State::Announced, &BOTH, HOPS)), [(1, Some(0)), (1, Some(0))]);
        assert_eq!(path_lengths(&med.updates(None, State::Drained, &BOTH, HOPS)), [(1, Some(1000)), (1, Some(1000))]);
    }

    #[test]
    fn withdraws_only_what_was_announced_and_only_negotiated_families() {
        let r = routes(DrainMark::Prepend(3));
        assert!(r.updates(None, State::Withdrawn, &BOTH, HOPS).is_empty(), "nothing announced yet");
        assert_eq!(r.updates(Some(State::Announced), State::Withdrawn, &BOTH, HOPS).len(), 2);
        let v4_only = Negotiated { ipv6: false, ..BOTH };
        assert_eq!(r.updates(None, State::Announced, &v4_only, HOPS).len(), 1);
        assert_eq!(r.updates(Some(State::Drained), State::Withdrawn, &v4_only, HOPS).len(), 1);
    }
}
