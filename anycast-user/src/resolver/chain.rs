//! What a resolution found, before it becomes an [`super::Answer`]: the
//! CNAME links and the end, each part with its verdict; each step that
//! finds one; and who the resolution is for.

use hickory_proto::{
    op::ResponseCode,
    rr::{Name, RData, RecordType},
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
    /// The local policy says the question gets no response at all.
    pub dropped: bool,
}

/// Where a step leaves the CNAME chain.
pub(super) enum Next {
    /// The chain ends with this RCODE and part.
    End(ResponseCode, Part),
    /// A CNAME link, and its target to follow.
    Follow(Box<(Part, Name)>),
}

/// What one step found for the name being resolved.
pub(super) enum Step {
    Records(Found),
    /// The CNAME RRset (one record, then its RRSIGs).
    Cname(Found),
    NoData(Found),
    NxDomain(Found),
}

impl Step {
    /// Where the step for (name, type) leaves the chain.
    pub(super) fn next(self, name: &Name, rtype: RecordType) -> Next {
        let part = |rtype, kind, found| Part { name: name.clone(), rtype, kind, found };
        match self {
            Step::Cname(found) => {
                let target = found.records.iter().find_map(|r| match &r.data {
                    RData::CNAME(target) => Some(target.0.clone()),
                    _ => None,
                });
                let target = target.expect("a CNAME step holds a CNAME");
                Next::Follow(Box::new((part(RecordType::CNAME, Kind::Records, found), target)))
            }
            Step::Records(found) => Next::End(ResponseCode::NoError, part(rtype, Kind::Records, found)),
            Step::NoData(found) => Next::End(ResponseCode::NoError, part(rtype, Kind::NoData, found)),
            Step::NxDomain(found) => Next::End(ResponseCode::NXDomain, part(rtype, Kind::NxDomain, found)),
        }
    }
}

/// Who a resolution is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ask {
    /// A client's question: the local policy applies; `afresh`, the first
    /// step is asked of the servers whatever the cache holds.
    Client { afresh: bool },
    /// The resolver's own lookups (NS addresses, DS, DNSKEY): the servers'
    /// data, which the policy must not stand in for.
    Internal,
}
