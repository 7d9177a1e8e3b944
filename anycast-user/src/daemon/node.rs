//! Every component of a running node, each built once by
//! [`super::start`] and handed what it needs; the metrics and the control
//! socket read them here.

use std::sync::Arc;

use super::{capture::Capture, sockets::UdpDrops, top::Top};
use crate::{
    answer_entry::AnswerEntry,
    clock,
    config::flags::Flags,
    dnstap::Tap,
    fastpath::tap::TapCounters,
    feed::Feed,
    policy::local::Local,
    resolver::Resolver,
    route::announce::Announcer,
    server::{
        certificate::Certificate,
        respond::{AnswerSink, Responder},
    },
    warm::{WarmStats, list},
};

pub struct Node<U> {
    pub resolver: Arc<Resolver<U>>,
    pub responder: Arc<Responder<U>>,
    /// None with the fast path off.
    pub feed: Option<Arc<Feed>>,
    pub announcer: Arc<Announcer>,
    /// Where the server and the resolver log in dnstap (off unless set).
    pub tap: Tap,
    /// The XDP program's dnstap counters, when it records its answers.
    pub xdp_tap: Option<TapCounters>,
    /// `ctl capture`'s ring, with a fast path.
    pub capture: Option<Capture>,
    /// `ctl top`'s names and clients of the sampled XDP answers.
    pub top: Arc<Top>,
    /// The local zones and blocklists the resolver answers from.
    pub local: Arc<Local>,
    /// Encrypted DNS's certificate, read again on reload; None when off.
    pub certificate: Option<Arc<Certificate>>,
    /// The flags the daemon started with, to read the configuration again
    /// with on reload.
    pub flags: Flags,
    /// The warm start's progress.
    pub warm: WarmStats,
    /// What the kernel dropped on the UDP sockets.
    pub udp_drops: UdpDrops,
}

impl<U> Node<U> {
    /// The listing of the `n` hot names (see [`crate::warm::list`]), or an
    /// error line. It reads the whole map: call it off the workers.
    pub fn hot_names(&self, n: usize) -> String {
        match list::hottest(self.feed.as_deref(), &self.responder.hot, n, clock::boottime_ns()) {
            Ok((names, total)) => list::render(&names, total),
            Err(e) => format!("error: reading the fast path's map: {e}\n"),
        }
    }
}

/// The server offers its answers to the feed.
impl AnswerSink for Feed {
    fn offer(&self, entry: &AnswerEntry) {
        Feed::offer_entry(self, entry);
    }
}
