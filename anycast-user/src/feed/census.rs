//! Counts the answer map's entries for the metrics, on a blocking thread
//! and at most every [`INTERVAL`]: the kernel keeps no count a program
//! other than an iterator can read, so counting is a key walk, one system
//! call per entry (65,536 with the default capacity). Walked in the
//! metrics handler, it held up the queries the daemon's worker had under
//! way at every scrape.

use std::{
    sync::{Arc, atomic::Ordering::Relaxed},
    time::Duration,
};

use tokio::sync::watch;

use super::Feed;

/// How often the entries are counted.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Counts the map's entries now and every [`INTERVAL`], until `shutdown`.
pub async fn run(feed: Arc<Feed>, mut shutdown: watch::Receiver<bool>) {
    let Some(view) = feed.view.clone() else { return };
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        let view = view.clone();
        match tokio::task::spawn_blocking(move || view.count()).await {
            Ok(Ok(count)) => feed.map_entries.store(count as u64, Relaxed),
            Ok(Err(e)) => tracing::warn!(error = %e, "counting the answer map's entries"),
            Err(e) => tracing::warn!(error = %e, "the count of the answer map's entries"),
        }
    }
}
