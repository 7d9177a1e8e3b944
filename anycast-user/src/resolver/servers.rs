//! Which server to ask first: a smoothed round-trip time per address, as
//! BIND and Unbound keep. Answers pull the estimate toward the measured
//! time; timeouts push it up, so a dead server sinks to the end of the
//! list without ever being banned (it may come back). Unknown servers
//! start with a small random estimate, so that each is tried early and
//! ties break at random.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use rand::Rng;

/// What a server that has not been asked yet is assumed to take, at most.
const UNKNOWN: Duration = Duration::from_millis(50);
/// Estimates never grow past this.
const WORST: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct ServerStats {
    srtt: HashMap<IpAddr, Duration>,
}

impl ServerStats {
    /// The smoothed RTT of `server`, if it has been asked.
    pub fn srtt(&self, server: IpAddr) -> Option<Duration> {
        self.srtt.get(&server).copied()
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
        let srtt = match self.srtt.get(&server) {
            Some(old) => old.mul_f64(0.7) + rtt.mul_f64(0.3),
            None => rtt,
        };
        self.srtt.insert(server, srtt.min(WORST));
    }

    /// No usable answer came back within `timeout` (or the server refused).
    pub fn failed(&mut self, server: IpAddr, timeout: Duration) {
        let old = self.srtt.get(&server).copied().unwrap_or(UNKNOWN);
        self.srtt.insert(server, (old * 2 + timeout).min(WORST));
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
}
