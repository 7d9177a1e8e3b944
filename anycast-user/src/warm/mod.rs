//! The warm start: before a node first announces its VIPs, it resolves
//! the names a peer is asked most ([`list`], read from a file or the
//! peer's `/hot`, see [`fetch`]), so that it joins the anycast set with
//! its cache, hot answers and fast path already holding them, instead of
//! answering the first minutes of its catchment cold.
//!
//! Bounded: at most `names` questions, `rate` a second with a few dozen in
//! flight, and `within` in all (the announcement waits no longer); a
//! source that cannot be read leaves the node to announce cold, logged.

pub mod fetch;
pub mod list;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use crate::{resolver::upstream::Upstream, server::respond::Responder};
pub use fetch::WarmSource;

/// Questions resolved at once.
const IN_FLIGHT: usize = 32;
/// Bytes a listing line takes at most, about (a 255-byte name and the rest).
const LINE_BYTES: usize = 300;
/// How long reading the source may take, of the whole time.
const FETCH_SHARE: u32 = 4;

/// `[announce]`'s warm start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmSettings {
    pub source: WarmSource,
    /// Questions read and resolved at most.
    pub names: usize,
    /// Questions sent a second at most.
    pub rate: u32,
    /// How long the warm start may hold the first announcement.
    pub within: Duration,
}

/// Where the warm start is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WarmState {
    /// No warm start configured.
    Off = 0,
    Warming = 1,
    Done = 2,
}

/// The warm start's progress, for the metrics.
pub struct WarmStats {
    state: AtomicU8,
    /// Questions the source listed (up to `names`).
    pub listed: AtomicU64,
    pub resolved: AtomicU64,
    /// Answered SERVFAIL, bogus or not at all.
    pub failed: AtomicU64,
    /// How long it took, when done.
    pub took_ms: AtomicU64,
}

impl WarmStats {
    pub fn new(configured: bool) -> WarmStats {
        let state = if configured { WarmState::Warming } else { WarmState::Off };
        WarmStats {
            state: AtomicU8::new(state as u8),
            listed: AtomicU64::new(0),
            resolved: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            took_ms: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> WarmState {
        match self.state.load(Relaxed) {
            0 => WarmState::Off,
            1 => WarmState::Warming,
            _ => WarmState::Done,
        }
    }
}

/// Warms `responder` as `settings` say, counting in `stats`; returns when
/// done, or when `within` is up.
pub async fn run<U: Upstream>(settings: &WarmSettings, responder: &Arc<Responder<U>>, stats: &WarmStats) {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + settings.within;
    let limit = settings.names.saturating_mul(LINE_BYTES) + 4096;
    match settings.source.fetch(limit, settings.within / FETCH_SHARE).await {
        Ok(text) => {
            let parsed = list::parse(&text, settings.names);
            if let Some((line, why)) = &parsed.first_bad {
                tracing::warn!(source = %settings.source, bad = parsed.bad, line, why, "lines of the hot names skipped");
            }
            stats.listed.store(parsed.names.len() as u64, Relaxed);
            let resolving = resolve_all(parsed.names, settings.rate, responder, stats);
            if tokio::time::timeout_at(deadline, resolving).await.is_err() {
                tracing::warn!(within = ?settings.within, "the warm start ran out of time; announcing as it is");
            }
        }
        Err(e) => tracing::warn!(error = %e, "no hot names to warm from; announcing cold"),
    }
    let took = started.elapsed();
    stats.took_ms.store(took.as_millis() as u64, Relaxed);
    stats.state.store(WarmState::Done as u8, Relaxed);
    tracing::info!(
        source = %settings.source,
        listed = stats.listed.load(Relaxed),
        resolved = stats.resolved.load(Relaxed),
        failed = stats.failed.load(Relaxed),
        ?took,
        "warm start done"
    );
}

/// Resolves each of `names` in turn, `rate` a second and at most
/// [`IN_FLIGHT`] at once.
async fn resolve_all<U: Upstream>(
    names: Vec<list::HotName>,
    rate: u32,
    responder: &Arc<Responder<U>>,
    stats: &WarmStats,
) {
    let mut pace = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    let count = |done: Option<Result<bool, tokio::task::JoinError>>| {
        let counter = if matches!(done, Some(Ok(true))) { &stats.resolved } else { &stats.failed };
        counter.fetch_add(1, Relaxed);
    };
    for name in names {
        pace.tick().await;
        while in_flight.len() >= IN_FLIGHT {
            count(in_flight.join_next().await);
        }
        let responder = responder.clone();
        in_flight.spawn(async move { responder.warm(&name.query()).await });
    }
    while let Some(done) = in_flight.join_next().await {
        count(Some(done));
    }
}
