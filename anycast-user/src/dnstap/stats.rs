//! What the tap counts, for the metrics.

use std::sync::atomic::{AtomicBool, AtomicU64};

#[derive(Debug, Default)]
pub struct TapStats {
    /// Messages written to the output.
    pub written: AtomicU64,
    /// Messages lost: the queue was full, or the output was away.
    pub dropped: AtomicU64,
    /// Whether the output is open.
    pub connected: AtomicBool,
}
