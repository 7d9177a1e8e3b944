//! The configuration file as written: every section and key optional,
//! unknown keys refused.

use std::path::Path;

use serde::Deserialize;

use super::{
    acl::AclSection,
    announce::{AnnounceSection, HealthSection},
    bgp::BgpSection,
    cookies::CookiesSection,
    dnssec::DnssecSection,
    dnstap::DnstapSection,
    error::ConfigError,
    fastpath::FastPathSection,
    local::{BlocklistSection, LocalDataSection, LocalZoneSection, PolicySection},
    rate_limit::RateLimitSection,
    resolver::{CacheSection, ResolverSection},
    routes::{ForwardZoneSection, StubZoneSection},
    service::ServiceSection,
    tls::TlsSection,
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub service: ServiceSection,
    #[serde(default)]
    pub acl: AclSection,
    #[serde(default)]
    pub resolver: ResolverSection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub dnssec: DnssecSection,
    #[serde(default)]
    pub cookies: CookiesSection,
    #[serde(default)]
    pub dnstap: DnstapSection,
    #[serde(default)]
    pub fastpath: FastPathSection,
    #[serde(default)]
    pub announce: AnnounceSection,
    #[serde(default)]
    pub health: HealthSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    pub bgp: Option<BgpSection>,
    #[serde(default)]
    pub policy: PolicySection,
    #[serde(default)]
    pub local_zone: Vec<LocalZoneSection>,
    #[serde(default)]
    pub local_data: Vec<LocalDataSection>,
    #[serde(default)]
    pub blocklist: Vec<BlocklistSection>,
    #[serde(default)]
    pub forward_zone: Vec<ForwardZoneSection>,
    #[serde(default)]
    pub stub_zone: Vec<StubZoneSection>,
    #[serde(default)]
    pub tls: TlsSection,
}

impl File {
    pub fn read(path: &Path) -> Result<File, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })
    }
}
