//! What the resolver knows of each server it asks (its infrastructure
//! cache, in Unbound's words):
//!
//! - a smoothed round-trip time, as BIND and Unbound keep, for which to
//!   ask first: answers pull the estimate toward the measured time,
//!   timeouts push it up, so a dead server sinks to the end of the list
//!   without ever being banned (it may come back). Unknown servers start
//!   with a small random estimate, so that each is tried early and ties
//!   break at random;
//! - whether it echoes the question's case (0x20): one that did not is
//!   asked without it for a while, then tried again.
//!
//! It holds at most `capacity` servers; when full, the eighth asked least
//! recently is forgotten (a name-server flood must not grow it forever).

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use rand::Rng;

/// What a server that has not been asked yet is assumed to take, at most.
const UNKNOWN: Duration = Duration::from_millis(50);
/// Estimates never grow past this.
const WORST: Duration = Duration::from_secs(10);
/// Servers remembered at most, by default.
pub const CAPACITY: usize = 10_000;
/// How long a server that did not echo the case is asked without 0x20.
const CASE_BLIND_FOR: Duration = Duration::from_secs(900);

struct Server {
    srtt: Option<Duration>,
    case_blind_until: Option<Instant>,
    last_used: Instant,
}

pub struct ServerStats {
    servers: HashMap<IpAddr, Server>,
    capacity: usize,
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats::with_capacity(CAPACITY)
    }
}

impl ServerStats {
    pub fn with_capacity(capacity: usize) -> ServerStats {
        ServerStats { servers: HashMap::new(), capacity: capacity.max(1) }
    }

    /// Servers remembered now.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.servers.len()
    }

    /// The smoothed RTT of `server`, if it has been asked.
    pub fn srtt(&self, server: IpAddr) -> Option<Duration> {
        self.servers.get(&server).and_then(|s| s.srtt)
    }

    /// `servers` ordered best first.
    pub fn order(&self, servers: &mut [SocketAddr]) {
        let mut rng = rand::rng();
        let mut keyed: Vec<(Duration, SocketAddr)> = servers
            .iter()
            .map(|&s| (self.srtt(s.ip()).unwrap_or_else(|| UNKNOWN.mul_f64(rng.random_range(0.1..1.0))), s))
            .collect();
        keyed.sort_by_key(|(rtt, _)| *rtt);
        for (slot, (_, server)) in servers.iter_mut().zip(keyed) {
            *slot = server;
        }
    }

    /// An answer came back after `rtt`.
    pub fn answered(&mut self, server: IpAddr, rtt: Duration) {
        let entry = self.entry(server);
        let srtt = match entry.srtt {
            Some(old) => old.mul_f64(0.7) + rtt.mul_f64(0.3),
            None => rtt,
        };
        entry.srtt = Some(srtt.min(WORST));
    }

    /// No usable answer came back within `timeout` (or the server refused).
    pub fn failed(&mut self, server: IpAddr, timeout: Duration) {
        let entry = self.entry(server);
        let old = entry.srtt.unwrap_or(UNKNOWN);
        entry.srtt = Some((old * 2 + timeout).min(WORST));
    }

    /// Whether to ask `server` with 0x20 at `now`.
    pub fn echoes_case(&self, server: IpAddr, now: Instant) -> bool {
        self.servers.get(&server).and_then(|s| s.case_blind_until).is_none_or(|until| until <= now)
    }

    /// `server` answered in another case than it was asked in.
    pub fn case_blind(&mut self, server: IpAddr, now: Instant) {
        self.entry(server).case_blind_until = Some(now + CASE_BLIND_FOR);
    }

    fn entry(&mut self, server: IpAddr) -> &mut Server {
        if self.servers.len() >= self.capacity && !self.servers.contains_key(&server) {
            self.forget_least_recent();
        }
        let entry = self.servers.entry(server).or_insert(Server {
            srtt: None,
            case_blind_until: None,
            last_used: Instant::now(),
        });
        entry.last_used = Instant::now();
        entry
    }

    /// Forgets the eighth of the servers asked least recently.
    fn forget_least_recent(&mut self) {
        let mut used: Vec<Instant> = self.servers.values().map(|s| s.last_used).collect();
        used.sort();
        let cut = used[(self.servers.len() / 8).min(used.len() - 1)];
        self.servers.retain(|_, s| s.last_used > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_servers_go_first_and_failing_ones_sink() {
        let (fast, slow, dead, new): (IpAddr, IpAddr, IpAddr, IpAddr) = (
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
            "192.0.2.4".parse().unwrap(),
        );
        let mut stats = ServerStats::default();
        stats.answered(fast, Duration::from_millis(2));
        stats.answered(slow, Duration::from_millis(300));
        stats.failed(dead, Duration::from_millis(800));
        let mut servers = [dead, slow, new, fast].map(|ip| SocketAddr::new(ip, 53));
        stats.order(&mut servers);
        assert_eq!(servers.map(|s| s.ip()), [fast, new, slow, dead]);
        for _ in 0..10 {
            stats.answered(slow, Duration::from_millis(1));
        }
        assert!(stats.srtt(slow).unwrap() < Duration::from_millis(50), "answers pull the estimate down");
    }

    #[test]
    fn a_case_blind_server_is_asked_without_0x20_for_a_while() {
        let server: IpAddr = "192.0.2.9".parse().unwrap();
        let mut stats = ServerStats::default();
        let now = Instant::now();
        assert!(stats.echoes_case(server, now), "unknown servers get 0x20");
        stats.case_blind(server, now);
        assert!(!stats.echoes_case(server, now + Duration::from_secs(60)));
        assert!(stats.echoes_case(server, now + CASE_BLIND_FOR), "then tried again");
    }

    #[test]
    fn the_table_stays_within_its_capacity() {
        let mut stats = ServerStats::with_capacity(64);
        for i in 0..1000u32 {
            stats.failed(IpAddr::from(i.to_be_bytes()), Duration::from_millis(800));
            assert!(stats.count() <= 64, "{} servers after {i}", stats.count());
        }
        let last: IpAddr = IpAddr::from(999u32.to_be_bytes());
        assert!(stats.srtt(last).is_some(), "the most recent is kept");
    }
}
