//! `[announce]`: how routers hear of the VIPs and what an unhealthy node
//! does; `[health]`: the checks that decide it.

use std::{net::IpAddr, path::PathBuf, str::FromStr, time::Duration};

use hickory_proto::rr::{Name, RecordType};
use serde::Deserialize;

use super::{
    bgp::BgpSection,
    error::{ConfigError, invalid, positive, seconds, within},
};
use crate::route::{
    announce::{AnnounceSettings, HealthSettings, Routers, Unhealthy},
    bird::BirdControl,
    frr::FrrControl,
    routing_daemon::RoutingDaemon,
};
use crate::warm::{WarmSettings, WarmSource};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceSection {
    /// How routers hear of the VIPs: `interface` (the node's routing
    /// daemon exports the VIP interface) or `bgp` (the built-in speaker).
    pub method: Option<AnnounceMethod>,
    /// The interface the VIPs are put on while announced (a dummy one,
    /// made if missing; `lo` where there is no dummy driver).
    pub vip_interface: Option<String>,
    /// BIRD include file anycastd rewrites with `define ANYCAST_STATE`.
    pub bird_include: Option<PathBuf>,
    /// birdc's control socket.
    pub birdc_socket: Option<PathBuf>,
    /// The FRR route-map anycastd rewrites through vtysh (see
    /// `routing_daemon`).
    pub frr_route_map: Option<String>,
    /// Its set lines while drained (default `set metric 1000`).
    pub frr_drain: Option<Vec<String>>,
    /// vtysh's `--vty_socket`, if not the default.
    pub vtysh_socket: Option<PathBuf>,
    /// `withdraw` or `drain` when the health checks fail.
    pub on_unhealthy: Option<Unhealthy>,
    /// Seconds a graceful stop keeps answering after withdrawing.
    pub drain_time: Option<u64>,
    /// While this file exists the node is drained.
    pub maintenance_file: Option<PathBuf>,
    /// Hot names to resolve before the first announcement: a file (a
    /// peer's `anycastd ctl dump-hot` saved) or a peer's
    /// `http://ADDRESS:PORT/hot`.
    pub warm_from: Option<String>,
    /// Questions of it resolved at most (default 1000).
    pub warm_names: Option<u64>,
    /// Questions a second at most (default 500).
    pub warm_rate: Option<u64>,
    /// Seconds the warm start may hold the first announcement (default 30).
    pub warm_seconds: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnounceMethod {
    Interface,
    Bgp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    pub interval_ms: Option<u64>,
    /// Checks passed in a row before announcing.
    pub rise: Option<u32>,
    /// Checks failed in a row before withdrawing.
    pub fall: Option<u32>,
    /// The probe question, resolved from the servers at every check.
    pub probe_name: Option<String>,
    pub probe_type: Option<String>,
}

impl AnnounceSection {
    /// The warm start, if `warm_from` is set.
    pub fn warm(&self) -> Result<Option<WarmSettings>, ConfigError> {
        let Some(from) = &self.warm_from else {
            for (key, set) in [
                ("warm_names", self.warm_names.is_some()),
                ("warm_rate", self.warm_rate.is_some()),
                ("warm_seconds", self.warm_seconds.is_some()),
            ] {
                if set {
                    return Err(invalid(format!("announce.{key}"), "set without announce.warm_from"));
                }
            }
            return Ok(None);
        };
        let source = if from.starts_with('/') {
            WarmSource::File(PathBuf::from(from))
        } else {
            let uri: http::Uri =
                from.parse().map_err(|e| invalid("announce.warm_from", format!("`{from}` is not a URL: {e}")))?;
            if uri.scheme_str() != Some("http") || uri.host().is_none() {
                return Err(invalid("announce.warm_from", format!("`{from}` is neither an absolute path nor http://")));
            }
            WarmSource::Http(uri)
        };
        let names = within("announce.warm_names", self.warm_names.unwrap_or(1000), 1..=1_000_000)?;
        let rate = within("announce.warm_rate", self.warm_rate.unwrap_or(500), 1..=100_000)?;
        let within = seconds("announce.warm_seconds", self.warm_seconds, Duration::from_secs(30), 3600)?;
        Ok(Some(WarmSettings { source, names: names as usize, rate: rate as u32, within }))
    }

    /// Checked with `[health]` and `[bgp]`, for announcing `vips`.
    pub fn check(
        self,
        health: HealthSection,
        bgp: Option<&BgpSection>,
        vips: &[IpAddr],
    ) -> Result<AnnounceSettings, ConfigError> {
        let vip_interface = self.vip_interface.clone().unwrap_or_else(|| "anycast0".to_string());
        if vip_interface.is_empty() || vip_interface.len() > 15 || vip_interface.contains(['/', ' ']) {
            return Err(invalid("announce.vip_interface", format!("`{vip_interface}` is not an interface name")));
        }
        let health = health.check()?;
        Ok(AnnounceSettings {
            vip_interface,
            routers: self.routers(bgp, vips)?,
            unhealthy: self.on_unhealthy.unwrap_or(Unhealthy::Withdraw),
            drain_time: Duration::from_secs(self.drain_time.unwrap_or(5)),
            maintenance_file: self.maintenance_file,
            health,
        })
    }

    fn routers(&self, bgp: Option<&BgpSection>, vips: &[IpAddr]) -> Result<Routers, ConfigError> {
        let daemon = self.routing_daemon()?;
        match (self.method.unwrap_or(AnnounceMethod::Interface), bgp) {
            (AnnounceMethod::Interface, Some(_)) => Err(invalid("bgp", "set, but announce.method is not \"bgp\"")),
            (AnnounceMethod::Interface, None) => Ok(Routers::Interface { daemon }),
            (AnnounceMethod::Bgp, _) if daemon.is_some() => {
                let key = if self.bird_include.is_some() { "announce.bird_include" } else { "announce.frr_route_map" };
                Err(invalid(key, "is for announce.method = \"interface\", not \"bgp\""))
            }
            (AnnounceMethod::Bgp, section) => Ok(Routers::Bgp(section.unwrap_or(&Default::default()).check(vips)?)),
        }
    }

    /// The node's routing daemon anycastd tells the state, if any.
    fn routing_daemon(&self) -> Result<Option<RoutingDaemon>, ConfigError> {
        if self.birdc_socket.is_some() && self.bird_include.is_none() {
            return Err(invalid("announce.birdc_socket", "set without announce.bird_include"));
        }
        if self.frr_route_map.is_none() {
            for (key, set) in [("frr_drain", self.frr_drain.is_some()), ("vtysh_socket", self.vtysh_socket.is_some())] {
                if set {
                    return Err(invalid(format!("announce.{key}"), "set without announce.frr_route_map"));
                }
            }
        }
        match (&self.bird_include, &self.frr_route_map) {
            (Some(_), Some(_)) => Err(invalid("announce.frr_route_map", "set with announce.bird_include: choose one")),
            (Some(include), None) => Ok(Some(RoutingDaemon::Bird(BirdControl {
                include: include.clone(),
                socket: self.birdc_socket.clone().unwrap_or_else(|| PathBuf::from("/run/bird/bird.ctl")),
            }))),
            (None, Some(route_map)) => Ok(Some(RoutingDaemon::Frr(self.frr(route_map)?))),
            (None, None) => Ok(None),
        }
    }

    fn frr(&self, route_map: &str) -> Result<FrrControl, ConfigError> {
        if route_map.is_empty() || !route_map.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(invalid("announce.frr_route_map", format!("`{route_map}` is not a route-map name")));
        }
        let drain = self.frr_drain.clone().unwrap_or_else(|| vec!["set metric 1000".to_string()]);
        if let Some(line) = drain.iter().find(|l| !l.starts_with("set ") || l.contains(['\n', '\r'])) {
            return Err(invalid("announce.frr_drain", format!("`{line}` is not one route-map `set` line")));
        }
        Ok(FrrControl { route_map: route_map.to_string(), drain, vty_socket: self.vtysh_socket.clone() })
    }
}

impl HealthSection {
    pub fn check(self) -> Result<HealthSettings, ConfigError> {
        let interval_ms = self.interval_ms.unwrap_or(1000);
        if !(100..=60_000).contains(&interval_ms) {
            return Err(invalid("health.interval_ms", format!("{interval_ms} is outside 100..=60000")));
        }
        let probe_name = self.probe_name.as_deref().unwrap_or(".");
        let probe_name =
            Name::from_ascii(probe_name).map_err(|e| invalid("health.probe_name", format!("`{probe_name}`: {e}")))?;
        let probe_type = self.probe_type.as_deref().unwrap_or("NS");
        let probe_type = RecordType::from_str(&probe_type.to_ascii_uppercase())
            .map_err(|_| invalid("health.probe_type", format!("`{probe_type}` is not a record type")))?;
        Ok(HealthSettings {
            interval: Duration::from_millis(interval_ms),
            rise: positive("health.rise", self.rise.map(u64::from), 2)? as u32,
            fall: positive("health.fall", self.fall.map(u64::from), 2)? as u32,
            probe: (probe_name, probe_type),
        })
    }
}
