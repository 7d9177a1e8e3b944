//! A configuration problem, named by its key, and the checks that
//! several sections share.

use std::{ops::RangeInclusive, path::PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), problem: problem.into() }
}

/// An absolute domain name, whether or not it ends in a dot.
pub fn domain_name(key: &str, text: &str) -> Result<hickory_proto::rr::Name, ConfigError> {
    let mut name = hickory_proto::rr::Name::from_ascii(text)
        .map_err(|e| invalid(key, format!("`{text}` is not a domain name: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

/// `value` if above 0, `default` if absent.
pub fn positive(key: &str, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match value {
        Some(0) => Err(invalid(key, "must be above 0")),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

/// `value` if inside `range`.
pub fn within<T>(key: &str, value: T, range: RangeInclusive<T>) -> Result<T, ConfigError>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(key, format!("{value} is outside {}..={}", range.start(), range.end())))
    }
}

/// A count of `value` (`default` if absent) within 1..=65,536: connections,
/// queries at once.
pub fn count(key: &str, value: Option<u64>, default: usize) -> Result<usize, ConfigError> {
    within(key, value.unwrap_or(default as u64), 1..=65_536).map(|n| n as usize)
}

/// Seconds of `value` (`default` if absent) within 1..=`max`.
pub fn seconds(
    key: &str,
    value: Option<u64>,
    default: std::time::Duration,
    max: u64,
) -> Result<std::time::Duration, ConfigError> {
    within(key, value.unwrap_or(default.as_secs()), 1..=max).map(std::time::Duration::from_secs)
}
