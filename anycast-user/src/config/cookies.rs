//! `[cookies]`: DNS cookies (RFC 7873, RFC 9018) on both paths, and where
//! their secret comes from.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

use super::error::{ConfigError, invalid, within};
use crate::policy::cookies::SecretSource;

/// A day: RFC 7873 7.1 asks for secrets changed "periodically".
const DEFAULT_ROTATION_SECS: u64 = 86_400;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookiesSection {
    /// Answer COOKIE options with server cookies (true if absent).
    pub enabled: Option<bool>,
    /// The secret shared by the nodes of the service: a line of 32 hex
    /// digits, optionally a second line with the previous one; re-read
    /// when it changes. Without it, a random secret per daemon.
    pub secret_file: Option<PathBuf>,
    /// Seconds between rotations of the random secret.
    pub rotate_every: Option<u64>,
}

impl CookiesSection {
    /// None when cookies are off.
    pub fn check(self) -> Result<Option<SecretSource>, ConfigError> {
        if !self.enabled.unwrap_or(true) {
            return Ok(None);
        }
        if self.secret_file.is_some() && self.rotate_every.is_some() {
            return Err(invalid("cookies.rotate_every", "the secret file's secret is rotated by writing the file"));
        }
        let rotate_every =
            within("cookies.rotate_every", self.rotate_every.unwrap_or(DEFAULT_ROTATION_SECS), 2..=31_536_000)?;
        Ok(Some(match self.secret_file {
            Some(path) => SecretSource::File(path),
            None => SecretSource::Random { rotate_every: Duration::from_secs(rotate_every) },
        }))
    }
}
