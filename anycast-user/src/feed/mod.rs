//! Feeding the fast path: the answers the daemon gives are offered to the
//! XDP program's map (the map writer decides which may go there), each
//! one written is tracked, and those the XDP program answers from are
//! refreshed before they expire ([`refresh`]). A fast path taken over from
//! a previous daemon has its live entries adopted for refreshing.
//!
//! The server offers answers through its own small trait; the daemon
//! connects the two.

pub mod census;
pub mod refresh;
mod tracking;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering::Relaxed},
};

use anycast_common::{AnswerKey, Outcome};
use hickory_proto::op::Message;

use crate::{
    answer_entry::{AnswerEntry, WritePolicy},
    clock,
    fastpath::{AnswerMapView, FastPath, FastPathError, LiveEntry},
    policy::{acl::Acl, ratelimit::RateLimitSettings},
    resolver::Answer,
};
use tracking::{Tracking, Written};

/// [`Feed::map_entries`] before the first count.
const NOT_COUNTED: u64 = u64::MAX;

/// What the feed counts.
#[derive(Default)]
pub struct FeedStats {
    /// Answers written into the map.
    pub written: AtomicU64,
    /// Of those, answers renewed before they expired (see [`refresh`]).
    pub refreshed: AtomicU64,
    /// Answers the map did not take.
    pub write_errors: AtomicU64,
}

/// The fast path's map, fed with what the daemon answers.
pub struct Feed {
    fast_path: Mutex<FastPath>,
    /// For counting the map's entries (metrics) without the lock.
    view: Option<Arc<AnswerMapView>>,
    /// The entries [`census`] counted last ([`NOT_COUNTED`] before).
    map_entries: AtomicU64,
    policy: WritePolicy,
    tracking: Tracking,
    pub stats: FeedStats,
}

impl Feed {
    /// Feeds `fast_path` under `policy`; the live entries of a taken-over
    /// one are adopted for refreshing.
    pub fn new(mut fast_path: FastPath, policy: WritePolicy) -> Feed {
        let tracking = Tracking::new(fast_path.capacity() as usize);
        if fast_path.taken_over() {
            match tracking.adopt(&mut fast_path, clock::boottime_ns()) {
                Ok(n) => tracing::info!(entries = n, "the pinned answers are refreshed from here on"),
                Err(e) => tracing::warn!(error = %e, "reading the pinned answers; they expire unrefreshed"),
            }
        }
        let view = fast_path
            .answer_map_view()
            .inspect_err(|e| tracing::warn!(error = %e, "a view of the answer map"))
            .ok()
            .map(Arc::new);
        Feed {
            fast_path: Mutex::new(fast_path),
            view,
            map_entries: AtomicU64::new(NOT_COUNTED),
            policy,
            tracking,
            stats: FeedStats::default(),
        }
    }

    /// Writes the answer to `query` into the map, if it may go there, and
    /// tracks it for refreshing; true if written. Stale answers never go:
    /// the map serves only fresh data, and an entry that expires during an
    /// outage is answered by the daemon, stale, from then on.
    pub fn offer(&self, query: &Message, answer: &Answer) -> bool {
        match AnswerEntry::for_answer(query, answer, &self.hash_key(), clock::boottime_ns(), &self.policy) {
            Ok(entry) => self.offer_entry(&entry),
            Err(refusal) => {
                tracing::trace!(question = %query.queries[0], %refusal, "stays out of the fast path");
                false
            }
        }
    }

    /// Writes `entry`, made with [`Feed::hash_key`], into the map and
    /// tracks it for refreshing; true if written.
    pub fn offer_entry(&self, entry: &AnswerEntry) -> bool {
        let Some(written) = Written::of(entry) else { return false };
        if let Err(e) = self.fast_path.lock().expect("fast path lock").insert(entry) {
            self.stats.write_errors.fetch_add(1, Relaxed);
            tracing::debug!(question = %written.question, error = %e, "not written to the fast path");
            return false;
        }
        self.stats.written.fetch_add(1, Relaxed);
        self.tracking.track(entry.key, written);
        true
    }

    /// The key of the map's name hash, which entries offered whole must
    /// be made with.
    pub fn hash_key(&self) -> [u64; 2] {
        *self.fast_path.lock().expect("fast path lock").hash_key()
    }

    /// When the XDP program last answered from the entry for `key`.
    fn last_hit(&self, key: &AnswerKey) -> Result<Option<u64>, FastPathError> {
        self.fast_path.lock().expect("fast path lock").last_hit(key)
    }

    /// Removes every entry whose name (lower-cased wire form) is `doomed`;
    /// returns how many there were.
    pub fn purge_where(&self, doomed: impl Fn(&[u8]) -> bool) -> Result<usize, FastPathError> {
        self.fast_path.lock().expect("fast path lock").purge_where(doomed)
    }

    /// The map's entries alive at `now`, read through the view (not under
    /// the lock the answer path writes under) where there is one.
    pub fn live_entries(&self, now: u64) -> Result<Vec<LiveEntry>, FastPathError> {
        match &self.view {
            Some(view) => view.live_entries(now),
            None => self.fast_path.lock().expect("fast path lock").live_entries(now),
        }
    }

    /// Answers tracked for refreshing.
    pub fn tracked(&self) -> usize {
        self.tracking.len()
    }

    /// Entries in the map, live or expired, as last counted (at most
    /// [`census::INTERVAL`] ago), if they were.
    pub fn map_entries(&self) -> Option<usize> {
        let count = self.map_entries.load(Relaxed);
        (count != NOT_COUNTED).then_some(count as usize)
    }

    /// The XDP program's outcome counters, summed over the CPUs.
    pub fn counters(&self) -> Result<Vec<(Outcome, u64)>, FastPathError> {
        self.fast_path.lock().expect("fast path lock").counters()
    }

    /// XDP_TX frames the driver could not send (see `fastpath::delivery`).
    pub fn tx_errors(&self) -> Result<u64, FastPathError> {
        self.fast_path.lock().expect("fast path lock").tx_errors()
    }

    /// Turns the fast path to pass everything, or back.
    pub fn set_pass_only(&self, on: bool) -> Result<(), FastPathError> {
        self.fast_path.lock().expect("fast path lock").set_pass_only(on)
    }

    /// Puts a reloaded ACL, rate limit and NSID into the fast path.
    pub fn reconfigure(&self, acl: &Acl, rate_limit: &RateLimitSettings, nsid: &[u8]) -> Result<(), FastPathError> {
        self.fast_path.lock().expect("fast path lock").reconfigure(acl, rate_limit, nsid)
    }

    /// Turns the capture of the fast path's answers on or off.
    pub fn set_capture(&self, on: bool) -> Result<(), FastPathError> {
        self.fast_path.lock().expect("fast path lock").set_capture(on)
    }

    /// Whether the fast path passes everything.
    pub fn pass_only(&self) -> bool {
        self.fast_path.lock().expect("fast path lock").pass_only()
    }

    /// Unpins the fast path, for a stop that takes it with it: the program
    /// is detached when the feed is dropped.
    pub fn unpin(&self) -> Result<(), FastPathError> {
        self.fast_path.lock().expect("fast path lock").unpin()
    }
}
