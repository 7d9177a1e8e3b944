//! Reload (SIGHUP, `anycastd ctl reload`): the configuration file read
//! again with the flags the daemon started with, and what it says of the
//! local policy (`[policy]`, local zones and data, blocklists) put in
//! force whole. A file or list with an error is refused and the policy in
//! force kept. Whatever the daemon's hot answers and the fast path's map
//! hold at or below a name either policy answers for is purged, so the
//! new policy is what both paths serve from the next query on; the fast
//! path answers everything else throughout.

use std::collections::HashSet;

use hickory_proto::serialize::binary::BinEncodable;

use crate::{
    config::{Config, error::ConfigError, flags::Flags},
    feed::Feed,
    policy::local::{LoadError, Local, LocalPolicy},
    server::hot::HotAnswers,
    wire,
};

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Policy(#[from] LoadError),
}

/// Reads the configuration `flags` name again and puts its local policy
/// in force; a line that says what is now in force and what was purged.
pub fn reload(flags: &Flags, local: &Local, hot: &HotAnswers, feed: Option<&Feed>) -> Result<String, ReloadError> {
    let config = Config::load(flags)?;
    let policy = LocalPolicy::load(&config.local)?;
    let old = local.policy();
    let roots: HashSet<Vec<u8>> =
        old.roots().chain(policy.roots()).filter_map(|name| name.to_lowercase().to_bytes().ok()).collect();
    let summary = summary(&policy);
    local.replace(policy);
    let doomed = |name: &[u8]| wire::suffixes(name).any(|suffix| roots.contains(suffix));
    let hot_purged = hot.purge_where(doomed);
    let fast_purged = match feed.map(|feed| feed.purge_where(doomed)) {
        None => "off".to_string(),
        Some(Ok(n)) => n.to_string(),
        Some(Err(e)) => format!("error ({e})"),
    };
    Ok(format!("reloaded: {summary}; purged hot answers {hot_purged}, fast path entries {fast_purged}"))
}

/// The zones and lists of `policy`, in a few words.
fn summary(policy: &LocalPolicy) -> String {
    let lists: Vec<String> = policy.list_sizes().map(|(name, n)| format!("{name} ({n} triggers)")).collect();
    let lists = if lists.is_empty() { "none".to_string() } else { lists.join(", ") };
    format!("{} local zones, blocklists {lists}", policy.zone_count())
}
