//! What can go wrong loading, attaching and using the fast path.

use std::path::PathBuf;

use anycast_common::{CLASSIC_UDP_LEN, MAX_RESPONSE_LEN, MAX_VIPS, dns::MAX_NSID_LEN};
use aya::{
    maps::MapError,
    programs::{ProgramError, links::LinkError},
};

#[derive(Debug, thiserror::Error)]
pub enum FastPathError {
    #[error("loading the XDP object into the kernel: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("the object has no program `{0}`")]
    MissingProgram(&'static str),
    #[error("the object has no map `{0}`")]
    MissingMap(&'static str),
    #[error("map `{name}`: {source}")]
    Map { name: &'static str, source: MapError },
    #[error("map `{name}`: duplicating its descriptor: {source}")]
    Duplicate { name: &'static str, source: std::io::Error },
    #[error("XDP program: {0}")]
    Program(#[from] ProgramError),
    #[error("EDNS UDP size {0} is outside {CLASSIC_UDP_LEN}..={MAX_RESPONSE_LEN}")]
    EdnsUdpSize(u16),
    #[error("the DNS port must not be 0")]
    ZeroPort,
    #[error("the answer map must hold at least one entry")]
    ZeroCapacity,
    #[error("an entry for another name has the same hash; the fast path keeps it and leaves this one to the daemon")]
    HashCollision,
    #[error("{count} {family} VIPs; the fast path answers for at most {MAX_VIPS} of each family")]
    TooManyVips { family: &'static str, count: usize },
    #[error("no VIP to answer for")]
    NoVips,
    #[error("an NSID of {0} bytes; the fast path gives at most {MAX_NSID_LEN}")]
    NsidTooLong(usize),
    #[error("{what} {}{}", path.display(), source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Pin { path: PathBuf, what: &'static str, source: Option<std::io::Error> },
    #[error("the kernel's BTF: {0}")]
    Btf(#[from] super::btf::BtfError),
    #[error("the pinned XDP link {path}: {source}")]
    Link { path: PathBuf, source: LinkError },
}

/// The error for map `name` failing with `source`.
pub fn map_err(name: &'static str) -> impl Fn(MapError) -> FastPathError {
    move |source| FastPathError::Map { name, source }
}
