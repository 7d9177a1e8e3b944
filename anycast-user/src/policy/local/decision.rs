//! What the local policy can say of a question, and local data in
//! zone-file form: what the lists and zones share.

use hickory_proto::{
    rr::{Name, Record},
    serialize::txt::{ParseError, Parser},
};

/// What the policy says of a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not the policy's: resolve it as usual.
    Resolve,
    /// REFUSED.
    Refuse,
    /// No response at all.
    Drop,
    /// This RRset, owned by the name asked.
    Records(Vec<Record>),
    /// This CNAME, owned by the name asked; its target is resolved.
    Alias(Record),
    /// NOERROR with no records, and the SOA for the authority section.
    NoData {
        soa: Option<Record>,
    },
    NxDomain {
        soa: Option<Record>,
    },
}

impl Decision {
    /// The decision's name in metrics.
    pub(super) fn action(&self) -> &'static str {
        match self {
            Decision::Resolve => "passthru",
            Decision::Refuse => "refuse",
            Decision::Drop => "drop",
            Decision::Records(_) => "data",
            Decision::Alias(_) => "alias",
            Decision::NoData { .. } => "nodata",
            Decision::NxDomain { .. } => "nxdomain",
        }
    }
}

/// Records in zone-file form, one or more lines; names are absolute
/// whether or not they end in a dot; `default_ttl` where none is given.
pub fn records(text: &str, default_ttl: u32) -> Result<Vec<Record>, ParseError> {
    let text = format!("$TTL {default_ttl}\n{text}\n");
    let (_, rrsets) = Parser::new(text, None, Some(Name::root())).parse()?;
    Ok(rrsets.into_values().flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>()).collect())
}
