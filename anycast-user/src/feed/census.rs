//! Counts the answer map's entries for the metrics, at most every
//! [`INTERVAL`], on a thread of its own at idle priority: the kernel
//! keeps no count a program other than an iterator can read, so counting
//! is a key walk, one system call per entry (65,536 with the default
//! capacity, tens of milliseconds). Walked in the metrics handler, it held
//! up the queries the daemon's worker had under way at every scrape; on a
//! blocking-pool thread, it still took the worker's core for up to 36 ms
//! at a time when they shared one. At SCHED_IDLE it runs only when no
//! worker wants the CPU.

use std::{
    sync::{Arc, atomic::Ordering::Relaxed, mpsc},
    time::Duration,
};

use tokio::sync::watch;

use super::Feed;
use crate::fastpath::AnswerMapView;

/// How often the entries are counted.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Counts the map's entries now and every [`INTERVAL`], until `shutdown`.
pub async fn run(feed: Arc<Feed>, mut shutdown: watch::Receiver<bool>) {
    let Some(view) = feed.view.clone() else { return };
    // Dropping the sender ends the thread's wait at once.
    let (stop, stopped) = mpsc::channel::<()>();
    let counter =
        std::thread::Builder::new().name("anycast-census".into()).spawn(move || count_every(&view, &feed, &stopped));
    let counter = match counter {
        Ok(counter) => counter,
        Err(e) => {
            tracing::warn!(error = %e, "no thread to count the answer map's entries");
            return;
        }
    };
    let _ = shutdown.wait_for(|stop| *stop).await;
    drop(stop);
    let _ = tokio::task::spawn_blocking(move || counter.join()).await;
}

/// The census thread: lowers itself to idle priority, then counts the
/// entries `view` shows into `feed` until `stopped` says (its sender
/// dropped).
fn count_every(view: &AnswerMapView, feed: &Feed, stopped: &mpsc::Receiver<()>) {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: a valid sched_param; pid 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "the census thread stays at normal priority");
    }
    loop {
        match view.count() {
            Ok(count) => feed.map_entries.store(count as u64, Relaxed),
            Err(e) => tracing::warn!(error = %e, "counting the answer map's entries"),
        }
        if stopped.recv_timeout(INTERVAL) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
    }
}
