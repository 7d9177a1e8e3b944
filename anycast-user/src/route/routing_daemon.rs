//! Telling the node's own routing daemon the state in interface mode, so
//! that drain and a graceful stop's withdraw need not touch the VIPs:
//! BIRD through an include file (`bird`), FRR through a route-map
//! (`frr`).

use super::{bird::BirdControl, control::RoutingDaemonError, frr::FrrControl, frr::Instance, state::State};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingDaemon {
    Bird(BirdControl),
    Frr(FrrControl),
}

impl RoutingDaemon {
    pub async fn tell(&self, state: State) -> Result<(), RoutingDaemonError> {
        match self {
            RoutingDaemon::Bird(bird) => bird.tell(state).await,
            RoutingDaemon::Frr(frr) => frr.tell(state).await,
        }
    }

    /// Whether the routing daemon's running configuration says `state`.
    /// BIRD's always does: it reads anycastd's include file whenever it
    /// starts or is reconfigured.
    pub async fn says(&self, state: State) -> Result<bool, RoutingDaemonError> {
        match self {
            RoutingDaemon::Bird(_) => Ok(true),
            RoutingDaemon::Frr(frr) => frr.says(state).await,
        }
    }

    /// The run now under way: BIRD has one, as above.
    pub fn instance(&self) -> Instance {
        match self {
            RoutingDaemon::Bird(_) => Instance::default(),
            RoutingDaemon::Frr(frr) => frr.instance(),
        }
    }
}
