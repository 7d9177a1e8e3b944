//! Why a client question could not be answered (the client gets
//! SERVFAIL), and the label each reason is counted under.

use hickory_proto::rr::Name;

/// Why a question could not be answered (the client gets SERVFAIL).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("out of budget: {0}")]
    Budget(&'static str),
    #[error("no server of {0} answered usefully")]
    NoServer(Name),
    #[error("no address for any name server of {0}")]
    NoAddress(Name),
    #[error("the deadline passed")]
    Deadline,
    #[error("too many queries to {0} under way")]
    Busy(Name),
}

/// Names of the failure reasons, in `Failure::index` order.
pub const FAILURE_NAMES: [&str; 5] = ["budget", "no_server", "no_address", "deadline", "busy"];

impl Failure {
    pub(super) fn index(&self) -> usize {
        match self {
            Failure::Budget(_) => 0,
            Failure::NoServer(_) => 1,
            Failure::NoAddress(_) => 2,
            Failure::Deadline => 3,
            Failure::Busy(_) => 4,
        }
    }
}
