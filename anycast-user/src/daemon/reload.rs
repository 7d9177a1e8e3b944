//! Reload (SIGHUP, `anycastd ctl reload`): the configuration file read
//! again with the flags the daemon started with, and what it says of the
//! local policy (`[policy]`, local zones and data, blocklists), the
//! forward and stub zones, the ACL, the rate limits and the NSID put in
//! force, on both paths, and encrypted DNS's certificate and key read
//! again from their files (new handshakes present them; open connections
//! keep theirs). A file or list with an error is refused and
//! everything in force kept. Other settings (addresses, modes, sizes,
//! caches, announcement) are read at start only: the line a reload logs
//! says so. Whatever the daemon's
//! hot answers and the fast path's map hold at or below a name either
//! policy answers for, or a zone whose route changed, is purged (and the
//! cache under those zones), so the new configuration is what both paths
//! serve from the next query on; the fast path answers everything else
//! throughout.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use hickory_proto::serialize::binary::BinEncodable;

use super::node::Node;
use crate::{
    config::{Config, error::ConfigError},
    fastpath::FastPathError,
    policy::{
        acl::Acl,
        local::{LoadError, LocalPolicy},
    },
    resolver::{routes::Routes, upstream::Upstream},
    server::certificate::TlsError,
    wire::{self, Nsid},
};

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Policy(#[from] LoadError),
    #[error("encrypted DNS: {0}")]
    Certificate(#[from] TlsError),
    #[error("writing the fast path's new settings: {0}")]
    FastPath(#[source] Box<FastPathError>),
}

/// Reloads run one at a time (SIGHUP and `ctl reload` may cross).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Reads the configuration the node's flags name again and puts what a
/// reload changes in force; a line that says what is now in force and
/// what was purged.
pub fn reload<U: Upstream>(node: &Node<U>) -> Result<String, ReloadError> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = Config::load(&node.flags)?;
    let policy = LocalPolicy::load(&config.local)?;
    let old = node.local.policy();
    let mut roots: HashSet<Vec<u8>> =
        old.roots().chain(policy.roots()).filter_map(|name| name.to_lowercase().to_bytes().ok()).collect();
    let summary = summary(&policy, &config.routes);
    if let Some(certificate) = &node.certificate {
        certificate.reload()?;
    }
    admit(node, &config)?;
    node.local.replace(policy);
    let rerouted = node.resolver.replace_routes(config.routes);
    roots.extend(rerouted.iter().filter_map(|zone| zone.to_bytes().ok()));
    let doomed = |name: &[u8]| wire::suffixes(name).any(|suffix| roots.contains(suffix));
    let hot_purged = node.responder.hot.purge_where(doomed);
    let fast_purged = match node.feed.as_ref().map(|feed| feed.purge_where(doomed)) {
        None => "off".to_string(),
        Some(Ok(n)) => n.to_string(),
        Some(Err(e)) => format!("error ({e})"),
    };
    let certificate = if node.certificate.is_some() { "; TLS certificate read again" } else { "" };
    Ok(format!(
        "reloaded: {summary}{certificate}; purged hot answers {hot_purged}, fast path entries {fast_purged}; \
         other settings take effect at restart"
    ))
}

/// Puts the new ACL, rate limit and NSID in force: the fast path's
/// first (a failure there leaves both paths as they were), then the
/// server's.
fn admit<U: Upstream>(node: &Node<U>, config: &Config) -> Result<(), ReloadError> {
    let (acl, rate_limit, nsid) = (Acl::new(config.allow.clone()), config.rate_limit, &config.service.nsid);
    let checked = Nsid::new(nsid).expect("the config checked its length");
    if let Some(feed) = &node.feed {
        feed.reconfigure(&acl, &rate_limit, nsid).map_err(|e| ReloadError::FastPath(Box::new(e)))?;
    }
    let admission = node.responder.admission.load().reloaded(acl, checked, rate_limit);
    node.responder.admission.store(Arc::new(admission));
    Ok(())
}

/// The zones, lists and routes in force, in a few words.
fn summary(policy: &LocalPolicy, routes: &Routes) -> String {
    let lists: Vec<String> = policy.list_sizes().map(|(name, n)| format!("{name} ({n} triggers)")).collect();
    let lists = if lists.is_empty() { "none".to_string() } else { lists.join(", ") };
    format!("{} local zones, blocklists {lists}, {} forward and stub zones", policy.zone_count(), routes.len())
}
