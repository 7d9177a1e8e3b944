//! What the local policy can say of a question, and local data in
//! zone-file form: what the lists and zones share.

use std::collections::HashMap;

use hickory_proto::{
    rr::{Name, Record, RecordType},
    serialize::txt::{ParseError, Parser},
};

/// Local data at one name: its RRsets by type.
pub type RRsets = HashMap<RecordType, Vec<Record>>;

/// What local data at a name answers for `rtype`: the RRset of that type,
/// else the name's CNAME, with the type found; each record owned by
/// `name`, the name asked (a wildcard's or a redirect's data answers for
/// names of its own).
pub(super) fn data_answer(rrsets: &RRsets, name: &Name, rtype: RecordType) -> Option<(RecordType, Vec<Record>)> {
    let (found, records) = rrsets.get_key_value(&rtype).or_else(|| rrsets.get_key_value(&RecordType::CNAME))?;
    let owned = records
        .iter()
        .cloned()
        .map(|mut r| {
            r.name = name.clone();
            r
        })
        .collect();
    Some((*found, owned))
}

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
