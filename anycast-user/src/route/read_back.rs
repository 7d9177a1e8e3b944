//! When the announcer reads back what the node's routing daemon says
//! (`RoutingDaemon::says`), to tell it again what a restart or a reload
//! of its configuration undid: at every health tick while a new run
//! settles (it may apply its boot configuration after anycastd told it,
//! as `vtysh -b` does), and every `INTERVAL` otherwise (a reload leaves
//! no other trace). Reading back costs a vtysh run, tens of
//! milliseconds of CPU, so it is not done at every tick.

use std::time::{Duration, Instant};

use super::frr::Instance;

/// How often a settled routing daemon is read back.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// How long a new run is read back at every tick.
pub const SETTLE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct ReadBack {
    seen: Option<Instance>,
    settled_at: Instant,
    next: Instant,
}

impl ReadBack {
    pub fn new(now: Instant) -> ReadBack {
        ReadBack { seen: None, settled_at: now, next: now }
    }

    /// Whether to read back now, the routing daemon's run being
    /// `instance`.
    pub fn due(&mut self, instance: Instance, now: Instant) -> bool {
        if self.seen.as_ref() != Some(&instance) {
            self.seen = Some(instance);
            self.settled_at = now + SETTLE;
        }
        let due = now < self.settled_at || now >= self.next;
        if due {
            self.next = now + INTERVAL;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seconds of `ticks` (one a second) at which `read_back` was due.
    fn due_at(read_back: &mut ReadBack, start: Instant, ticks: std::ops::Range<u32>, run: &Instance) -> Vec<u32> {
        ticks.filter(|&s| read_back.due(run.clone(), start + Duration::from_secs(1) * s)).collect()
    }

    #[test]
    fn read_back_at_every_tick_while_a_run_settles_then_now_and_then() {
        let start = Instant::now();
        let mut read_back = ReadBack::new(start);
        let first = Instance::default();
        let settling: Vec<u32> = (0..30).collect();
        assert_eq!(
            due_at(&mut read_back, start, 0..60, &first),
            [&settling[..], &[39, 49, 59]].concat(),
            "the first run"
        );
        let second = Instance(vec![("bgpd.vty".into(), 2)]);
        let settling: Vec<u32> = (60..90).collect();
        assert_eq!(due_at(&mut read_back, start, 60..110, &second), [&settling[..], &[99, 109]].concat(), "a new run");
    }
}
