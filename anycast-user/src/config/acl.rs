//! `[acl]`: the networks allowed to query, beside loopback.

use serde::Deserialize;

use super::error::{ConfigError, invalid};
use crate::policy::acl::Network;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSection {
    /// Networks allowed to query, beside loopback.
    pub allow: Option<Vec<String>>,
}

impl AclSection {
    pub fn check(self) -> Result<Vec<Network>, ConfigError> {
        self.allow
            .unwrap_or_default()
            .iter()
            .map(|n| n.parse::<Network>().map_err(|e| invalid("acl.allow", e.to_string())))
            .collect()
    }
}
