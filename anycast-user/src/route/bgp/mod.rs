//! The built-in announce-only eBGP speaker: one session per configured
//! peer, each announcing the VIPs as host routes (IPv4 in UPDATE's NLRI,
//! IPv6 in MP_REACH_NLRI) in the state the announcer asks for: announced,
//! drained (a longer AS path or a higher MED, so routers prefer other
//! nodes while this one stays usable) or withdrawn. Routes from the peers
//! are not taken. On stop every session ends with a Cease. Peers with
//! `bfd` also get a BFD session (`bfd`).

pub mod bfd;
pub mod message;
mod routes;
mod session;
pub mod settings;
pub mod status;

use std::{net::IpAddr, sync::Arc, time::Duration};

use tokio::{sync::watch, task::JoinSet};

use super::state::State;
use routes::Routes;
use settings::BgpSettings;
use status::PeerStatus;

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
        let mut bfd_peers = Vec::new();
        for peer in &settings.peers {
            let status = Arc::new(PeerStatus::new(peer.address, peer.bfd));
            if let Some(bfd) = &status.bfd {
                let address = peer.address.ip();
                bfd_peers.push(bfd::BfdPeer { address, local_address: peer.local_address, status: bfd.clone() });
            }
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
        if !bfd_peers.is_empty() {
            let (timers, stop) = (settings.bfd, stop.subscribe());
            sessions.spawn(async move {
                if let Err(e) = bfd::run(bfd_peers, timers, stop).await {
                    tracing::error!(error = %e, "BFD cannot run: routers fall back on the BGP hold time");
                }
            });
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
