//! One BFD session's state machine and timers (RFC 5880 sections 6.8.1
//! to 6.8.7, asynchronous mode, no echo, no demand), without I/O: fed
//! received packets and the time, it says what to send and when.

use std::time::{Duration, Instant};

use super::{packet::Control, state::BfdState};

/// Diagnostics this side sets (RFC 5880 section 4.1).
const DIAG_TIME_EXPIRED: u8 = 1;
const DIAG_NEIGHBOR_DOWN: u8 = 3;
/// While not Up, no faster than a packet a second (section 6.8.3).
const SLOW: Duration = Duration::from_secs(1);

/// What this side asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub interval: Duration,
    pub multiplier: u8,
}

/// What the peer last said about itself.
#[derive(Clone, Copy, Debug)]
struct Remote {
    discriminator: u32,
    desired_min_tx: Duration,
    required_min_rx: Duration,
    multiplier: u8,
}

pub struct Session {
    timers: Timers,
    my_discriminator: u32,
    state: BfdState,
    diagnostic: u8,
    remote: Option<Remote>,
    last_received: Option<Instant>,
    /// A Poll Sequence under way: our packets carry P until one with F.
    polling: bool,
    /// The peer polled: the next packet carries F, and goes at once.
    owe_final: bool,
}

impl Session {
    pub fn new(my_discriminator: u32, timers: Timers) -> Session {
        Session {
            timers,
            my_discriminator,
            state: BfdState::Down,
            diagnostic: 0,
            remote: None,
            last_received: None,
            polling: false,
            owe_final: false,
        }
    }

    /// Ours, which the peer's packets carry as Your Discriminator.
    pub fn discriminator(&self) -> u32 {
        self.my_discriminator
    }

    /// The interval offered: the configured one only while Up.
    fn desired_min_tx(&self) -> Duration {
        if self.state == BfdState::Up { self.timers.interval } else { self.timers.interval.max(SLOW) }
    }

    /// How often to send (before jitter), None while the peer wants
    /// nothing (its RequiredMinRxInterval 0).
    pub fn tx_interval(&self) -> Option<Duration> {
        match self.remote {
            Some(remote) if remote.required_min_rx.is_zero() => None,
            Some(remote) => Some(self.desired_min_tx().max(remote.required_min_rx)),
            None => Some(self.desired_min_tx()),
        }
    }

    /// Whether a packet is owed now, outside the transmit timer.
    pub fn owes_final(&self) -> bool {
        self.owe_final
    }

    /// When the session goes Down unless the peer is heard (Init and Up).
    pub fn deadline(&self) -> Option<Instant> {
        if self.state == BfdState::Down {
            return None;
        }
        let remote = self.remote?;
        let detection = self.timers.interval.max(remote.desired_min_tx) * u32::from(remote.multiplier);
        Some(self.last_received? + detection)
    }

    /// The next packet to send.
    pub fn packet(&mut self) -> Control {
        let final_ = std::mem::take(&mut self.owe_final);
        Control {
            diagnostic: self.diagnostic,
            state: self.state,
            poll: self.polling && !final_,
            final_,
            detect_mult: self.timers.multiplier,
            my_discriminator: self.my_discriminator,
            your_discriminator: self.remote.map_or(0, |r| r.discriminator),
            desired_min_tx: micros(self.desired_min_tx()),
            required_min_rx: micros(self.timers.interval),
        }
    }

    /// Takes a packet from the peer (already checked by `Control::decode`
    /// and addressed to this session); the new state if it changed.
    pub fn receive(&mut self, control: &Control, now: Instant) -> Option<BfdState> {
        if control.your_discriminator != 0 && control.your_discriminator != self.my_discriminator {
            return None;
        }
        self.remote = Some(Remote {
            discriminator: control.my_discriminator,
            desired_min_tx: Duration::from_micros(u64::from(control.desired_min_tx)),
            required_min_rx: Duration::from_micros(u64::from(control.required_min_rx)),
            multiplier: control.detect_mult,
        });
        self.last_received = Some(now);
        if control.final_ {
            self.polling = false;
        }
        if control.poll {
            self.owe_final = true;
        }
        let next = match (self.state, control.state) {
            (_, BfdState::AdminDown) | (BfdState::Up, BfdState::Down) => BfdState::Down,
            (BfdState::Down, BfdState::Down) => BfdState::Init,
            (BfdState::Down, BfdState::Init) | (BfdState::Init, BfdState::Init | BfdState::Up) => BfdState::Up,
            (state, _) => state,
        };
        self.change(next, DIAG_NEIGHBOR_DOWN)
    }

    /// Goes Down if the peer was not heard in time; the new state if so.
    pub fn check(&mut self, now: Instant) -> Option<BfdState> {
        if self.deadline().is_some_and(|deadline| now >= deadline) {
            self.remote = self.remote.map(|r| Remote { discriminator: 0, ..r });
            return self.change(BfdState::Down, DIAG_TIME_EXPIRED);
        }
        None
    }

    fn change(&mut self, next: BfdState, down_diagnostic: u8) -> Option<BfdState> {
        if next == self.state {
            return None;
        }
        if next == BfdState::Down {
            self.diagnostic = down_diagnostic;
        }
        if next == BfdState::Up {
            self.diagnostic = 0;
        }
        // Up or not, the interval offered changes: tell the peer with a
        // Poll Sequence (section 6.8.3).
        self.polling = next == BfdState::Up || self.state == BfdState::Up;
        self.state = next;
        Some(next)
    }
}

fn micros(interval: Duration) -> u32 {
    u32::try_from(interval.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Timers = Timers { interval: Duration::from_millis(100), multiplier: 3 };

    fn from_peer(state: BfdState, your: u32, poll: bool, final_: bool) -> Control {
        Control {
            diagnostic: 0,
            state,
            poll,
            final_,
            detect_mult: 3,
            my_discriminator: 99,
            your_discriminator: your,
            desired_min_tx: 100_000,
            required_min_rx: 100_000,
        }
    }

    #[test]
    fn the_three_way_handshake_comes_up_slowly_then_polls_for_the_fast_rate() {
        let now = Instant::now();
        let mut session = Session::new(7, FAST);
        assert_eq!(session.tx_interval(), Some(SLOW), "a second apart until Up");
        let first = session.packet();
        assert_eq!((first.state, first.your_discriminator, first.desired_min_tx), (BfdState::Down, 0, 1_000_000));
        assert_eq!(session.receive(&from_peer(BfdState::Down, 0, false, false), now), Some(BfdState::Init));
        assert_eq!(session.packet().your_discriminator, 99, "the peer's discriminator learned");
        assert_eq!(session.receive(&from_peer(BfdState::Up, 7, false, false), now), Some(BfdState::Up));
        let up = session.packet();
        assert!(up.poll && up.desired_min_tx == 100_000, "Up: the fast rate, announced by a poll: {up:?}");
        assert_eq!(session.tx_interval(), Some(FAST.interval));
        session.receive(&from_peer(BfdState::Up, 7, false, true), now);
        assert!(!session.packet().poll, "the peer's Final ends the poll");
        session.receive(&from_peer(BfdState::Up, 7, true, false), now);
        assert!(session.owes_final());
        let reply = session.packet();
        assert!(reply.final_ && !reply.poll, "a poll answered with Final: {reply:?}");
    }

    #[test]
    fn silence_past_the_detection_time_brings_it_down() {
        let now = Instant::now();
        let mut session = Session::new(7, FAST);
        session.receive(&from_peer(BfdState::Down, 0, false, false), now);
        session.receive(&from_peer(BfdState::Up, 7, false, false), now);
        assert_eq!(session.deadline(), Some(now + Duration::from_millis(300)), "3 x max(100 ms, 100 ms)");
        assert_eq!(session.check(now + Duration::from_millis(299)), None);
        assert_eq!(session.check(now + Duration::from_millis(300)), Some(BfdState::Down));
        let down = session.packet();
        assert_eq!((down.diagnostic, down.your_discriminator), (DIAG_TIME_EXPIRED, 0), "{down:?}");
        assert_eq!(session.deadline(), None, "nothing to time while Down");
    }

    #[test]
    fn the_peer_going_down_or_admin_down_brings_it_down() {
        let cases = [(BfdState::Down, DIAG_NEIGHBOR_DOWN), (BfdState::AdminDown, DIAG_NEIGHBOR_DOWN)];
        for (peer_state, diagnostic) in cases {
            let now = Instant::now();
            let mut session = Session::new(7, FAST);
            session.receive(&from_peer(BfdState::Down, 0, false, false), now);
            session.receive(&from_peer(BfdState::Up, 7, false, false), now);
            assert_eq!(session.receive(&from_peer(peer_state, 7, false, false), now), Some(BfdState::Down));
            assert_eq!(session.packet().diagnostic, diagnostic, "{peer_state:?}");
        }
    }

    #[test]
    fn packets_for_another_session_or_a_peer_that_wants_none_are_heeded_as_the_rfc_says() {
        let now = Instant::now();
        let mut session = Session::new(7, FAST);
        assert_eq!(session.receive(&from_peer(BfdState::Down, 8, false, false), now), None);
        assert_eq!(session.packet().your_discriminator, 0, "a packet for discriminator 8 is not ours");
        let quiet = Control { required_min_rx: 0, ..from_peer(BfdState::Down, 0, false, false) };
        session.receive(&quiet, now);
        assert_eq!(session.tx_interval(), None, "RequiredMinRxInterval 0: send nothing periodically");
    }
}
