//! What the resolver counts: where client questions were answered from,
//! why some failed, and how upstream servers answered (with a latency
//! histogram). Lock-free counters; the metrics endpoint reads them.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

use super::{
    failure::{FAILURE_NAMES, Failure},
    upstream::UpstreamError,
};
use crate::dnssec::{Bogus, Security};

anycast_common::named! {
    /// Where a client question's answer came from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Source {
        /// The cache alone: no query went out.
        Cache = "cache",
        /// Queries to other servers were needed.
        Network = "network",
        /// Another client's resolution of the same question, under way.
        Shared = "shared",
        /// Expired data, the servers failing or too slow (RFC 8767).
        Stale = "stale",
    }
}

anycast_common::named! {
    /// How one exchange with an upstream server ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Exchange {
        /// A usable reply (answer, referral, negative).
        Answered = "answered",
        /// A reply the resolver could not use (error RCODE, out of bailiwick...).
        Lame = "lame",
        Timeout = "timeout",
        /// A socket error (unreachable, refused connection...).
        Network = "network",
        /// A response that does not parse, or a query that could not be sent.
        Malformed = "malformed",
        /// Replies that did not echo the question's case (0x20), none that did.
        CaseMismatch = "case_mismatch",
    }
}

impl Exchange {
    pub fn of_error(error: &UpstreamError) -> Exchange {
        match error {
            UpstreamError::Timeout(_) => Exchange::Timeout,
            UpstreamError::Io(_) => Exchange::Network,
            UpstreamError::Encode(_) | UpstreamError::Malformed(_) => Exchange::Malformed,
            UpstreamError::CaseMismatch(_) => Exchange::CaseMismatch,
        }
    }
}

/// Upper bounds of the upstream latency buckets, in seconds: from a
/// server on the same link to one behind a slow path.
pub const LATENCY_BOUNDS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A latency histogram with fixed buckets (the last counts what is above
/// every bound).
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        let bucket = LATENCY_BOUNDS.iter().position(|&bound| seconds <= bound).unwrap_or(LATENCY_BOUNDS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(value.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
    }

    /// Cumulative counts per bound (the last is +Inf, the total count) and
    /// the sum in seconds, as Prometheus wants them.
    pub fn cumulative(&self) -> (Vec<u64>, f64) {
        let mut total = 0;
        let counts = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Relaxed);
                total
            })
            .collect();
        (counts, self.sum_ns.load(Relaxed) as f64 / 1e9)
    }
}

#[derive(Default)]
pub struct ResolverStats {
    questions: [AtomicU64; Source::ALL.len()],
    failures: [AtomicU64; FAILURE_NAMES.len()],
    exchanges: [AtomicU64; Exchange::ALL.len()],
    /// Validation verdicts on parts of answers: secure, insecure, bogus.
    verdicts: [AtomicU64; 3],
    bogus: [AtomicU64; Bogus::ALL.len()],
    /// Signature verifications (crypto operations) in all.
    verifications: AtomicU64,
    /// Minimised questions asked on walks down (QNAME minimisation).
    minimised: AtomicU64,
    /// Round-trip times of the exchanges that got a reply.
    pub latency: Histogram,
}

/// The verdict labels, in the order of `ResolverStats::verdicts`.
pub const VERDICT_NAMES: [&str; 3] = ["secure", "insecure", "bogus"];

impl ResolverStats {
    pub fn question(&self, source: Source) {
        self.questions[source as usize].fetch_add(1, Relaxed);
    }

    pub fn minimised(&self) {
        self.minimised.fetch_add(1, Relaxed);
    }

    /// Minimised questions asked so far.
    pub fn minimised_queries(&self) -> u64 {
        self.minimised.load(Relaxed)
    }

    pub fn failure(&self, failure: &Failure) {
        self.failures[failure.index()].fetch_add(1, Relaxed);
    }

    pub fn exchange(&self, outcome: Exchange, rtt: Duration) {
        self.exchanges[outcome as usize].fetch_add(1, Relaxed);
        if matches!(outcome, Exchange::Answered | Exchange::Lame) {
            self.latency.observe(rtt);
        }
    }

    /// Counts a validation verdict (an unchecked part is not counted).
    pub fn verdict(&self, security: Security) {
        let slot = match security {
            Security::Unchecked => return,
            Security::Secure => 0,
            Security::Insecure => 1,
            Security::Bogus(why) => {
                let at = Bogus::ALL.iter().position(|b| *b == why).expect("every reason is in ALL");
                self.bogus[at].fetch_add(1, Relaxed);
                2
            }
        };
        self.verdicts[slot].fetch_add(1, Relaxed);
    }

    pub fn verified(&self, count: u32) {
        self.verifications.fetch_add(count.into(), Relaxed);
    }

    pub fn verdicts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        VERDICT_NAMES.into_iter().zip(&self.verdicts).map(|(name, n)| (name, n.load(Relaxed)))
    }

    pub fn bogus(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Bogus::ALL.into_iter().zip(&self.bogus).map(|(why, n)| (why.name(), n.load(Relaxed)))
    }

    pub fn verifications(&self) -> u64 {
        self.verifications.load(Relaxed)
    }

    pub fn questions(&self) -> impl Iterator<Item = (Source, u64)> + '_ {
        Source::ALL.into_iter().map(|s| (s, self.questions[s as usize].load(Relaxed)))
    }

    pub fn failures(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        FAILURE_NAMES.into_iter().zip(&self.failures).map(|(name, n)| (name, n.load(Relaxed)))
    }

    pub fn exchanges(&self) -> impl Iterator<Item = (Exchange, u64)> + '_ {
        Exchange::ALL.into_iter().map(|e| (e, self.exchanges[e as usize].load(Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(9));
        let (counts, sum) = h.cumulative();
        assert_eq!(counts.len(), LATENCY_BOUNDS.len() + 1);
        assert_eq!(counts[0], 1, "0.5 ms is within the 0.5 ms bucket");
        assert_eq!(counts[3], 2, "3 ms is within 5 ms");
        assert_eq!(counts[LATENCY_BOUNDS.len() - 1], 2, "9 s is above every bound");
        assert_eq!(*counts.last().unwrap(), 3);
        assert!((sum - 9.0035).abs() < 1e-9, "{sum}");
    }
}
