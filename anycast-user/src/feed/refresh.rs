//! Keeps hot names in the fast path: shortly before an answer the feed
//! wrote expires, if the XDP program has answered from it since it was
//! written, the question is resolved again from the servers and the fresh
//! answer replaces it, so a name in use is answered at XDP across its TTL
//! boundaries. Entries nobody asks for just expire.

use std::{sync::Arc, sync::atomic::Ordering::Relaxed, time::Duration};

use tokio::sync::watch;

use super::Feed;
use crate::{
    clock,
    resolver::{Resolver, upstream::Upstream},
};

/// How often the entries are looked over.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// Refreshes due entries that are in use, until `shutdown` turns true.
pub async fn run<U: Upstream>(feed: Arc<Feed>, resolver: Arc<Resolver<U>>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tick.tick() => {}
        }
        for (key, written) in feed.tracking.due(clock::boottime_ns()) {
            match feed.last_hit(&key) {
                Ok(Some(hit)) if hit >= written.written_ns => {
                    let question = &written.query.queries[0];
                    let answer = resolver.refresh(question).await;
                    if feed.offer(&written.query, &answer) {
                        feed.stats.refreshed.fetch_add(1, Relaxed);
                    }
                }
                // Not asked for since it was written, or gone: let it go.
                _ => feed.tracking.forget(&key),
            }
        }
    }
}
