//! Announcing the VIPs. The VIPs are on their interface while announced
//! or drained (drained: routers are told to prefer other nodes without
//! losing this one) and off it while withdrawn. Routers hear of it in one
//! of two ways:
//!
//! - `interface`: the node's own routing daemon exports what is on the
//!   VIP interface (BIRD `protocol direct`, FRR `redistribute connected`).
//!   Told the state as well (`routing_daemon`: BIRD or FRR), it drains,
//!   and a graceful stop withdraws while the VIPs stay and queries in
//!   flight are still answered. Without it, drain is a withdraw.
//! - `bgp`: the built-in speaker (`bgp`) tells its peers itself.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use hickory_proto::rr::{Name, RecordType};
use tokio::sync::{Mutex, watch};

use super::{
    bgp::{Speaker, settings::BgpSettings, status::PeerStatus},
    control::RoutingDaemonError,
    health::{Hysteresis, Probe},
    read_back::ReadBack,
    routing_daemon::RoutingDaemon,
    state::State,
    vips::VipHome,
};
use crate::netlink::NetlinkError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnounceSettings {
    /// Where the VIPs go (a dummy interface, made if missing; else lo).
    pub vip_interface: String,
    /// How routers hear of the state.
    pub routers: Routers,
    /// What an unhealthy node does: withdraw (default) or drain.
    pub unhealthy: Unhealthy,
    /// How long a graceful stop keeps answering after withdrawing.
    pub drain_time: Duration,
    /// While this file exists the node is drained on purpose.
    pub maintenance_file: Option<PathBuf>,
    pub health: HealthSettings,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routers {
    /// The node's routing daemon exports the VIP interface, and is told
    /// the state if anycastd knows how.
    Interface { daemon: Option<RoutingDaemon> },
    /// The built-in speaker.
    Bgp(BgpSettings),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unhealthy {
    Withdraw,
    Drain,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSettings {
    pub interval: Duration,
    pub rise: u32,
    pub fall: u32,
    /// The question whose resolution from the servers proves upstreams work.
    pub probe: (Name, RecordType),
}

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    #[error(transparent)]
    Vips(#[from] NetlinkError),
    #[error(transparent)]
    RoutingDaemon(#[from] RoutingDaemonError),
}

pub struct Announcer {
    settings: AnnounceSettings,
    vips: VipHome,
    speaker: Option<Speaker>,
    /// Held while a change is applied, so changes do not interleave.
    applying: Mutex<()>,
    /// Read by metrics without waiting for a change under way.
    status: std::sync::Mutex<Status>,
    /// When the routing daemon is next read back.
    read_back: std::sync::Mutex<ReadBack>,
}

/// The health verdict, and the state last applied (None before the first).
#[derive(Clone, Copy, Debug, Default)]
pub struct Status {
    pub healthy: bool,
    pub state: Option<State>,
    /// Times the routing daemon, read back, no longer said the state
    /// (restarted or reloaded) and was told it again.
    pub told_again: u64,
}

impl Announcer {
    pub async fn new(settings: AnnounceSettings, vips: Vec<IpAddr>) -> Result<Announcer, AnnounceError> {
        let speaker = match &settings.routers {
            Routers::Bgp(bgp) => Some(Speaker::start(bgp, &vips)),
            Routers::Interface { .. } => None,
        };
        let home = VipHome::open(&settings.vip_interface, vips).await?;
        tracing::info!(interface = home.interface, "the VIPs go on this interface while announced");
        Ok(Announcer::with(settings, home, speaker))
    }

    /// Withdraws what a daemon that died without stopping left announced
    /// (`anycastd withdraw`, e.g. systemd's `ExecStopPost=`): the routing
    /// daemon told the VIPs are withdrawn, then the VIPs taken
    /// off their interface. A dead speaker's BGP sessions closed with its
    /// sockets, so the routers have withdrawn those already. The number of
    /// VIPs taken off.
    pub async fn withdraw_after_crash(settings: AnnounceSettings, vips: Vec<IpAddr>) -> Result<usize, AnnounceError> {
        let home = VipHome::open(&settings.vip_interface, vips).await?;
        let announcer = Announcer::with(settings, home, None);
        announcer.tell_routers(State::Withdrawn).await?;
        Ok(announcer.vips.remove().await?)
    }

    fn with(settings: AnnounceSettings, vips: VipHome, speaker: Option<Speaker>) -> Announcer {
        let (applying, status) = Default::default();
        let read_back = std::sync::Mutex::new(ReadBack::new(std::time::Instant::now()));
        Announcer { settings, vips, speaker, applying, status, read_back }
    }

    /// The built-in speaker's sessions (none in interface mode).
    pub fn bgp_peers(&self) -> &[Arc<PeerStatus>] {
        self.speaker.as_ref().map_or(&[], Speaker::peers)
    }

    /// Whether routers can be told without touching the VIPs, so drain
    /// and a graceful stop's withdraw leave them in place.
    fn routers_listen(&self) -> bool {
        !matches!(self.settings.routers, Routers::Interface { daemon: None })
    }

    pub fn status(&self) -> Status {
        *self.status.lock().expect("status lock")
    }

    fn set_status(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.status.lock().expect("status lock"));
    }

    /// Makes the routers' view `want`. Also puts back VIPs removed behind
    /// the daemon's back while they should be there.
    pub async fn apply(&self, want: State) -> Result<(), AnnounceError> {
        let _turn = self.applying.lock().await;
        // Without a routing daemon to tell, the only lever is the VIPs.
        let want = if !self.routers_listen() && want == State::Drained { State::Withdrawn } else { want };
        let current = self.status().state;
        let changed = current != Some(want);
        if changed {
            tracing::info!(from = current.map(State::name), to = want.name(), "announcement");
        } else if self.routing_daemon_forgot(want).await {
            tracing::warn!(
                state = want.name(),
                "the routing daemon no longer says the state (restarted or reloaded); telling it again"
            );
            self.set_status(|status| status.told_again += 1);
            self.tell_routers(want).await?;
        }
        match want {
            State::Announced | State::Drained => {
                let added = self.vips.add().await?;
                if !changed && !added.is_empty() {
                    tracing::warn!(?added, "VIPs were removed behind anycastd's back; restored");
                }
                if changed {
                    self.tell_routers(want).await?;
                }
            }
            State::Withdrawn => {
                if changed {
                    self.tell_routers(want).await?;
                }
                self.vips.remove().await?;
            }
        }
        self.set_status(|status| status.state = Some(want));
        Ok(())
    }

    /// The first half of a graceful stop: through the routing daemon or
    /// BGP, withdraw
    /// while the VIPs stay and the node keeps answering for `drain_time`.
    /// (Otherwise taking the VIPs off is the only way to withdraw, and
    /// replies cannot be sent from an address the host no longer has: the
    /// caller finishes the queries under way first, then calls
    /// `stop_now`.)
    pub async fn withdraw_for_stop(&self) -> Result<(), AnnounceError> {
        if self.routers_listen() {
            self.tell_routers(State::Withdrawn).await?;
            tracing::info!(drain = ?self.settings.drain_time, "withdrawn; still answering while routers converge");
            tokio::time::sleep(self.settings.drain_time).await;
        }
        Ok(())
    }

    /// Ends the BGP sessions (Cease) and takes the VIPs off, at once
    /// (SIGINT, or the end of a graceful stop).
    pub async fn stop_now(&self) -> Result<(), AnnounceError> {
        let _turn = self.applying.lock().await;
        if let Some(speaker) = &self.speaker {
            speaker.stop().await;
        }
        let removed = self.vips.remove().await?;
        self.set_status(|status| status.state = Some(State::Withdrawn));
        tracing::info!(removed, "VIPs removed");
        Ok(())
    }

    async fn tell_routers(&self, state: State) -> Result<(), AnnounceError> {
        if let Some(speaker) = &self.speaker {
            speaker.advertise(state);
            return Ok(());
        }
        let Routers::Interface { daemon: Some(daemon) } = &self.settings.routers else { return Ok(()) };
        Ok(daemon.tell(state).await?)
    }

    /// Whether the routing daemon, read back when due (`read_back`), no
    /// longer says `want`. A failed read is logged and taken as no: the
    /// VIPs are still checked, and the read is tried again.
    async fn routing_daemon_forgot(&self, want: State) -> bool {
        let Routers::Interface { daemon: Some(daemon) } = &self.settings.routers else { return false };
        let due = self.read_back.lock().expect("read-back lock").due(daemon.instance(), std::time::Instant::now());
        if !due {
            return false;
        }
        match daemon.says(want).await {
            Ok(says) => !says,
            Err(e) => {
                tracing::warn!(error = %e, "reading back the routing daemon's state");
                false
            }
        }
    }

    fn maintenance(&self) -> bool {
        self.settings.maintenance_file.as_deref().is_some_and(Path::exists)
    }
}

/// Runs `probe` every interval and applies what it decides, until
/// `shutdown` turns true (the caller then stops the announcement).
pub async fn run(announcer: Arc<Announcer>, probe: impl Probe, mut shutdown: watch::Receiver<bool>) {
    let settings = &announcer.settings;
    let mut health = Hysteresis::new(settings.health.rise, settings.health.fall);
    let mut ticks = tokio::time::interval(settings.health.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = ticks.tick() => {}
        }
        let verdict = probe.check().await;
        if let Some(healthy) = health.observe(verdict.is_ok()) {
            match &verdict {
                Ok(()) => tracing::info!("healthy"),
                Err(why) => tracing::warn!(why = %why, "unhealthy"),
            }
            announcer.set_status(|status| status.healthy = healthy);
        } else if let Err(why) = &verdict {
            tracing::debug!(why = %why, "a health check failed");
        }
        let want = match (announcer.maintenance(), health.healthy(), settings.unhealthy) {
            (true, _, _) => State::Drained,
            (false, true, _) => State::Announced,
            (false, false, Unhealthy::Drain) => State::Drained,
            (false, false, Unhealthy::Withdraw) => State::Withdrawn,
        };
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = announcer.apply(want).await {
            tracing::error!(error = %e, want = want.name(), "announcement");
        }
    }
}
