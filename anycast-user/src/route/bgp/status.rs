//! Each peer's session as the metrics see it: its state (RFC 4271 8.2.2)
//! and what was sent and received.

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU8, AtomicU64, Ordering},
};

use netgauze_bgp_pkt::BgpMessage;

use super::{bfd::BfdStatus, message};

anycast_common::named! {
    /// The session states of RFC 4271 8.2.2 this speaker goes through (it
    /// never listens, so no Active).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum SessionState {
        Idle = "idle",
        Connect = "connect",
        OpenSent = "opensent",
        OpenConfirm = "openconfirm",
        Established = "established",
    }
}

/// One peer's session as the metrics see it.
pub struct PeerStatus {
    pub address: SocketAddr,
    state: AtomicU8,
    /// Times the session reached Established.
    pub established: AtomicU64,
    pub(super) sent: [AtomicU64; message::KINDS.len()],
    pub(super) received: [AtomicU64; message::KINDS.len()],
    /// Malformed UPDATEs (and ROUTE-REFRESHes) discarded.
    pub discarded: AtomicU64,
    /// Its BFD session, if it has one.
    pub bfd: Option<std::sync::Arc<BfdStatus>>,
}

impl PeerStatus {
    pub(super) fn new(address: SocketAddr, bfd: bool) -> PeerStatus {
        PeerStatus {
            address,
            state: AtomicU8::new(SessionState::Idle as u8),
            established: AtomicU64::new(0),
            sent: Default::default(),
            received: Default::default(),
            discarded: AtomicU64::new(0),
            bfd: bfd.then(Default::default),
        }
    }

    pub fn state(&self) -> SessionState {
        SessionState::ALL[usize::from(self.state.load(Ordering::Relaxed))]
    }

    pub(super) fn set_state(&self, state: SessionState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Messages (sent, received) of each type.
    pub fn messages(&self) -> impl Iterator<Item = (&'static str, u64, u64)> + '_ {
        message::KINDS
            .iter()
            .enumerate()
            .map(|(i, kind)| (*kind, self.sent[i].load(Ordering::Relaxed), self.received[i].load(Ordering::Relaxed)))
    }

    pub(super) fn count(counters: &[AtomicU64], message: &BgpMessage) {
        counters[usize::from(message::type_code(message) - 1)].fetch_add(1, Ordering::Relaxed);
    }
}
