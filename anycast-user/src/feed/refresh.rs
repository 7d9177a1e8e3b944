//! Keeps hot names in the fast path: shortly before an answer the feed
//! wrote expires, if the XDP program has answered from it since it was
//! written, the question is resolved again from the servers and the fresh
//! answer replaces it, so a name in use is answered at XDP across its TTL
//! boundaries. Entries nobody asks for just expire.

use std::{sync::Arc, sync::atomic::Ordering::Relaxed, time::Duration};

use futures::StreamExt;
use tokio::sync::watch;

use super::Feed;
use crate::{
    clock,
    resolver::{Resolver, upstream::Upstream},
};

/// How often the entries are looked over.
pub const INTERVAL: Duration = Duration::from_millis(250);
/// Refreshes under way at once: thousands of hot names expire together
/// after a start, and one after another they would not all make it.
const CONCURRENT: usize = 64;

/// Refreshes due entries that are in use, until `shutdown` turns true.
pub async fn run<U: Upstream>(feed: Arc<Feed>, resolver: Arc<Resolver<U>>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        let due = feed.tracking.due(clock::boottime_ns());
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENT, |(key, written)| {
                let (feed, resolver) = (&feed, &resolver);
                async move {
                    match feed.last_hit(&key) {
                        Ok(Some(hit)) if hit >= written.written_ns => {
                            let answer = resolver.refresh(&written.question).await;
                            if feed.offer(&written.query(), &answer) {
                                feed.stats.refreshed.fetch_add(1, Relaxed);
                            } else {
                                // The servers failed (the entry serves on
                                // until it expires, then the daemon answers,
                                // stale if it must) or the answer may not go
                                // to the map: not asked again every round.
                                feed.tracking.forget(&key);
                            }
                        }
                        // Not asked for since it was written, or gone: let it go.
                        _ => feed.tracking.forget(&key),
                    }
                }
            })
            .await;
    }
}
