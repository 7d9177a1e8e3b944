//! `[fastpath]`: the answer map, what goes into it, and where it is
//! pinned.

use std::path::PathBuf;

use anycast_common::{CLASSIC_UDP_LEN, MAX_RESPONSE_LEN};
use serde::Deserialize;

use super::error::{ConfigError, invalid, positive};
use crate::answer_entry::WritePolicy;

/// Where the fast path is pinned unless configured.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/anycast";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastPathSection {
    /// Entries of the answer map.
    pub capacity: Option<u32>,
    pub edns_udp_size: Option<u16>,
    /// Answers with a shorter TTL stay out of the fast path.
    pub min_ttl: Option<u32>,
    /// Pin the program's link and maps under bpffs, so that the fast path
    /// keeps answering while the daemon is down and the next one takes it
    /// over (true if absent).
    pub pin: Option<bool>,
    /// Where (bpffs; mounted if it is not).
    pub pin_dir: Option<PathBuf>,
    /// What the fast path does with a query whose UDP checksum is partial
    /// (clients on the same host, behind a veth, that leave it to
    /// offload): "pass" it to the daemon (the default) or "answer" it.
    pub partial_checksums: Option<PartialChecksums>,
}

/// `fastpath.partial_checksums`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartialChecksums {
    #[default]
    Pass,
    Answer,
}

/// `[fastpath]`, checked.
#[derive(Clone, Debug)]
pub struct FastPathSettings {
    pub capacity: u32,
    /// The EDNS UDP size the node advertises, on both paths.
    pub edns_udp_size: u16,
    pub write_policy: WritePolicy,
    /// Where the fast path is pinned (None: not pinned).
    pub pin_dir: Option<PathBuf>,
    pub partial_checksums: PartialChecksums,
}

impl FastPathSection {
    /// Checked, with TTLs capped at the cache's `max_ttl`.
    pub fn check(self, max_ttl: u32) -> Result<FastPathSettings, ConfigError> {
        let edns_udp_size = self.edns_udp_size.unwrap_or(MAX_RESPONSE_LEN as u16);
        if !(CLASSIC_UDP_LEN..=MAX_RESPONSE_LEN as u16).contains(&edns_udp_size) {
            return Err(invalid("fastpath.edns_udp_size", format!("{edns_udp_size} is outside 512..=1232")));
        }
        let pin_dir = match (self.pin.unwrap_or(true), self.pin_dir) {
            (false, Some(_)) => return Err(invalid("fastpath.pin_dir", "set, but fastpath.pin is false")),
            (false, None) => None,
            (true, dir) => Some(dir.unwrap_or_else(|| PathBuf::from(DEFAULT_PIN_DIR))),
        };
        Ok(FastPathSettings {
            capacity: positive("fastpath.capacity", self.capacity.map(u64::from), 65_536)? as u32,
            edns_udp_size,
            partial_checksums: self.partial_checksums.unwrap_or_default(),
            write_policy: WritePolicy { min_ttl: self.min_ttl.unwrap_or(WritePolicy::default().min_ttl), max_ttl },
            pin_dir,
        })
    }
}
