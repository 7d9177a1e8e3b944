//! `[rate_limit]`: response rate limiting per client prefix, on both
//! paths (off unless `responses_per_second` is set).

use serde::Deserialize;

use super::error::{ConfigError, invalid, within};
use crate::policy::ratelimit::RateLimitSettings;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    pub responses_per_second: Option<u32>,
    /// Responses at once after a quiet spell; `responses_per_second` if absent.
    pub burst: Option<u32>,
    /// Every `slip`-th response over the limit is TC=1, the others are
    /// dropped; 0 drops all, 1 truncates all. 2 if absent.
    pub slip: Option<u32>,
    pub ipv4_prefix: Option<u8>,
    pub ipv6_prefix: Option<u8>,
    /// Prefixes tracked at once.
    pub table_size: Option<u32>,
}

impl RateLimitSection {
    pub fn check(self) -> Result<RateLimitSettings, ConfigError> {
        let off = RateLimitSettings::OFF;
        let Some(rate) = self.responses_per_second else {
            let stray = [
                ("burst", self.burst.is_some()),
                ("slip", self.slip.is_some()),
                ("ipv4_prefix", self.ipv4_prefix.is_some()),
                ("ipv6_prefix", self.ipv6_prefix.is_some()),
                ("table_size", self.table_size.is_some()),
            ];
            return match stray.iter().find(|(_, set)| *set) {
                Some((key, _)) => {
                    Err(invalid(format!("rate_limit.{key}"), "set without rate_limit.responses_per_second"))
                }
                None => Ok(off),
            };
        };
        let prefix =
            |key: &str, value: Option<u8>, default: u8, max: u8| within(key, value.unwrap_or(default), 1..=max);
        Ok(RateLimitSettings {
            responses_per_second: within("rate_limit.responses_per_second", rate, 1..=1_000_000)?,
            burst: within("rate_limit.burst", self.burst.unwrap_or(rate), 1..=1_000_000)?,
            slip: within("rate_limit.slip", self.slip.unwrap_or(off.slip), 0..=10)?,
            ipv4_prefix: prefix("rate_limit.ipv4_prefix", self.ipv4_prefix, off.ipv4_prefix, 32)?,
            ipv6_prefix: prefix("rate_limit.ipv6_prefix", self.ipv6_prefix, off.ipv6_prefix, 128)?,
            table_size: within("rate_limit.table_size", self.table_size.unwrap_or(off.table_size), 1..=16_777_216)?,
        })
    }
}
