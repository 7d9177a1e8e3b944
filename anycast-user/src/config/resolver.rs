//! `[resolver]`: recursive or forwarding, and the work one client
//! question may cause; `[cache]`: the cache's size and TTL caps.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use serde::Deserialize;

use super::error::{ConfigError, invalid, positive, within};
use crate::resolver::{Limits, Mode, cache::CacheLimits, minimise::Minimisation, ttl::TtlPolicy};

/// The resolution mode as `resolver.mode` and `--mode` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
    /// Iterate from the root hints.
    Recursive,
    /// Ask the configured forwarders.
    Forward,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolverSection {
    pub mode: Option<ModeName>,
    /// Root hints file (named.root format); IANA's roots if absent.
    pub root_hints: Option<PathBuf>,
    /// Upstream resolvers for forward mode, `ADDRESS` or `ADDRESS:PORT`.
    pub forwarders: Option<Vec<String>>,
    /// Milliseconds to wait for one upstream answer.
    pub query_timeout_ms: Option<u64>,
    pub max_queries: Option<u32>,
    pub max_referrals: Option<u32>,
    pub max_cname: Option<u32>,
    /// NS names whose addresses one question may look up.
    pub max_ns_lookups: Option<u32>,
    /// Questions under way to one zone, and queries to one server, at once.
    pub max_outstanding_per_zone: Option<u32>,
    pub max_outstanding_per_server: Option<u32>,
    /// Seconds for a whole client question.
    pub deadline: Option<u64>,
    /// Ask upstream servers with the name's case randomised (0x20; true if
    /// absent). A server that does not echo it is asked without, alone.
    pub randomise_case: Option<bool>,
    /// Milliseconds a client waits for the servers before a stale answer
    /// is given, if the cache has one (1800 if absent).
    pub stale_after_ms: Option<u64>,
    /// QNAME minimisation (RFC 9156): "relaxed" (if absent), "strict" or
    /// "off".
    pub qname_minimisation: Option<Minimisation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    pub capacity: Option<usize>,
    pub max_ttl: Option<u64>,
    pub max_negative_ttl: Option<u64>,
    /// Seconds past its expiry an entry may be served stale when the
    /// servers fail (RFC 8767); 0 turns serving stale off.
    pub stale_max: Option<u64>,
    /// Bytes the cache's entries may hold (an estimate of their memory).
    pub max_bytes: Option<u64>,
}

/// `[resolver]`, checked.
#[derive(Clone, Debug)]
pub struct ResolverSettings {
    /// The mode, with the root hints file it names (None: IANA's).
    pub mode: Mode<Option<PathBuf>>,
    pub query_timeout: Duration,
    pub limits: Limits,
    pub randomise_case: bool,
    pub minimisation: Minimisation,
}

impl ResolverSection {
    pub fn check(self) -> Result<ResolverSettings, ConfigError> {
        let forwarders = self.forwarders.unwrap_or_default();
        let mode = match self.mode.unwrap_or(ModeName::Recursive) {
            ModeName::Recursive if !forwarders.is_empty() => {
                return Err(invalid("resolver.forwarders", "given in recursive mode; set resolver.mode = \"forward\""));
            }
            ModeName::Recursive => Mode::Recursive(self.root_hints),
            ModeName::Forward if forwarders.is_empty() => {
                return Err(invalid("resolver.forwarders", "forward mode needs at least one forwarder"));
            }
            ModeName::Forward => Mode::Forward(
                forwarders
                    .iter()
                    .map(|f| {
                        parse_forwarder(f).ok_or_else(|| {
                            invalid("resolver.forwarders", format!("`{f}` is not ADDRESS or ADDRESS:PORT"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        let defaults = Limits::default();
        let limit = |key: &str, value: Option<u32>, default: u32| {
            positive(key, value.map(u64::from), u64::from(default)).map(|v| v as u32)
        };
        let limits = Limits {
            max_queries: limit("resolver.max_queries", self.max_queries, defaults.max_queries)?,
            max_referrals: limit("resolver.max_referrals", self.max_referrals, defaults.max_referrals)?,
            max_cname: limit("resolver.max_cname", self.max_cname, defaults.max_cname)?,
            max_ns_depth: defaults.max_ns_depth,
            max_ns_lookups: limit("resolver.max_ns_lookups", self.max_ns_lookups, defaults.max_ns_lookups)?,
            max_outstanding_per_zone: limit(
                "resolver.max_outstanding_per_zone",
                self.max_outstanding_per_zone,
                defaults.max_outstanding_per_zone as u32,
            )? as usize,
            max_outstanding_per_server: limit(
                "resolver.max_outstanding_per_server",
                self.max_outstanding_per_server,
                defaults.max_outstanding_per_server as u32,
            )? as usize,
            deadline: Duration::from_secs(positive("resolver.deadline", self.deadline, defaults.deadline.as_secs())?),
            stale_after: Duration::from_millis(within(
                "resolver.stale_after_ms",
                self.stale_after_ms.unwrap_or(defaults.stale_after.as_millis() as u64),
                1..=60_000,
            )?),
        };
        let query_timeout = Duration::from_millis(positive("resolver.query_timeout_ms", self.query_timeout_ms, 800)?);
        Ok(ResolverSettings {
            mode,
            query_timeout,
            limits,
            randomise_case: self.randomise_case.unwrap_or(true),
            minimisation: self.qname_minimisation.unwrap_or_default(),
        })
    }
}

impl CacheSection {
    pub fn check(self) -> Result<CacheLimits, ConfigError> {
        let defaults = CacheLimits::default();
        // Seconds, below the top bit (RFC 2181 8).
        let seconds = |key: &str, value: Option<u64>, default: u32| {
            within(key, positive(key, value, default.into())?, 1..=(i32::MAX as u64)).map(|s| s as u32)
        };
        Ok(CacheLimits {
            capacity: positive("cache.capacity", self.capacity.map(|c| c as u64), defaults.capacity as u64)? as usize,
            ttl: TtlPolicy {
                max_ttl: seconds("cache.max_ttl", self.max_ttl, defaults.ttl.max_ttl)?,
                max_negative_ttl: seconds(
                    "cache.max_negative_ttl",
                    self.max_negative_ttl,
                    defaults.ttl.max_negative_ttl,
                )?,
            },
            stale_max: Duration::from_secs(within(
                "cache.stale_max",
                self.stale_max.unwrap_or(defaults.stale_max.as_secs()),
                0..=7 * 86_400,
            )?),
            max_bytes: within(
                "cache.max_bytes",
                self.max_bytes.unwrap_or(defaults.max_bytes as u64),
                1 << 20..=1 << 40,
            )? as usize,
        })
    }
}

pub(super) fn parse_forwarder(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
}
