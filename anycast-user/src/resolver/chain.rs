//! What a resolution found, before it becomes an [`super::Answer`]: the
//! CNAME links and the end, each part with its verdict.

use hickory_proto::{
    op::ResponseCode,
    rr::{Name, RecordType},
};

use super::cache::{Found, Kind};

/// One part of a resolution: an RRset (a CNAME link, or the end) or a
/// negative end, as found, with the question it answers.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: Name,
    /// The RRset's type, or the type a negative answer denies.
    pub rtype: RecordType,
    pub kind: Kind,
    pub found: Found,
}

/// What a resolution found: the CNAME links, then the end.
#[derive(Clone, Debug)]
pub struct Chain {
    pub rcode: ResponseCode,
    pub parts: Vec<Part>,
}
