//! Whether the node should announce its VIPs: checks run every interval,
//! and the verdict changes only after `rise` passes in a row (down to up)
//! or `fall` failures in a row (up to down), so one lost probe does not
//! flap the route (BIRD holds a flapping peer off for a minute). What a
//! check looks at is the [`Probe`]'s business: the daemon's probes the
//! fast path's attachment and upstream resolution.

use std::{fmt::Display, future::Future};

/// One round of health checks.
pub trait Probe: Send + Sync {
    /// Why the node must not be announced, when it must not.
    type Failure: Display + Send;

    /// Ok while the node can serve.
    fn check(&self) -> impl Future<Output = Result<(), Self::Failure>> + Send;
}

/// Health with hysteresis. A node starts down: it announces only once it
/// has passed `rise` checks.
#[derive(Clone, Debug)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    healthy: bool,
    /// Checks in a row that disagree with the current verdict.
    streak: u32,
}

impl Hysteresis {
    pub fn new(rise: u32, fall: u32) -> Hysteresis {
        Hysteresis { rise: rise.max(1), fall: fall.max(1), healthy: false, streak: 0 }
    }

    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// Takes one check's result; returns the new verdict when it changes.
    pub fn observe(&mut self, passed: bool) -> Option<bool> {
        if passed == self.healthy {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if passed { self.rise } else { self.fall };
        if self.streak < needed {
            return None;
        }
        self.healthy = passed;
        self.streak = 0;
        Some(passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(h: &mut Hysteresis, checks: &[bool]) -> Vec<Option<bool>> {
        checks.iter().map(|&c| h.observe(c)).collect()
    }

    #[test]
    fn rises_and_falls_only_after_enough_checks_in_a_row() {
        let mut h = Hysteresis::new(2, 3);
        assert!(!h.healthy(), "a node starts down");
        assert_eq!(run(&mut h, &[true, false, true, true]), [None, None, None, Some(true)], "a failure resets rise");
        assert_eq!(run(&mut h, &[false, false, true, false, false]), [None, None, None, None, None]);
        assert_eq!(run(&mut h, &[false]), [Some(false)], "the third failure in a row");
        assert!(!h.healthy());
        assert_eq!(run(&mut h, &[true, true]), [None, Some(true)]);
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_check() {
        let mut h = Hysteresis::new(1, 1);
        assert_eq!(run(&mut h, &[true, false, true]), [Some(true), Some(false), Some(true)]);
        let mut zero = Hysteresis::new(0, 0);
        assert_eq!(zero.observe(true), Some(true), "0 counts as 1");
    }
}
