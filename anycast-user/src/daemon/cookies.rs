//! The node's DNS cookie secrets over its life: chosen at start (the
//! secret file's, a taken-over fast path's so clients keep their cookies
//! across a restart, or new random ones), written to the fast path's map,
//! and kept current: the random secret rotated on schedule, the file
//! re-read as the operator rewrites it.

use std::{sync::Arc, time::Duration};

use anycast_common::cookie::CookieSecrets;
use tokio::sync::watch;

use super::{error::DaemonError, fast_path::context};
use crate::{
    fastpath::cookie_map::CookieMap,
    policy::cookies::{self, Cookies, SecretSource},
};

/// How often the secret file is looked at.
const FILE_CHECK: Duration = Duration::from_secs(10);

/// The secrets to start with, written to `map`.
pub fn start(source: &SecretSource, map: Option<&mut CookieMap>) -> Result<Arc<Cookies>, DaemonError> {
    let pinned = match &map {
        Some(map) => map.get().map_err(context("reading the pinned cookie secrets".into()))?,
        None => None,
    };
    let secrets = match (source, pinned) {
        (SecretSource::File(path), _) => cookies::read_file(path)?,
        (SecretSource::Random { .. }, Some(pinned)) => {
            tracing::info!("the pinned cookie secrets are taken over: clients keep their server cookies");
            pinned
        }
        (SecretSource::Random { .. }, None) => cookies::random_secrets(),
    };
    if let Some(map) = map {
        map.set(&secrets).map_err(context("writing the cookie secrets".into()))?;
    }
    Ok(Arc::new(Cookies::new(secrets)))
}

/// Keeps the secrets current until `stop` turns true.
pub async fn run(
    cookies: Arc<Cookies>,
    source: SecretSource,
    mut map: Option<CookieMap>,
    mut stop: watch::Receiver<bool>,
) {
    let period = match &source {
        SecretSource::Random { rotate_every } => *rotate_every,
        SecretSource::File(_) => FILE_CHECK,
    };
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(period) => {}
        }
        let next = match &source {
            SecretSource::Random { .. } => cookies::rotated(&cookies.secrets()),
            SecretSource::File(path) => match cookies::read_file(path) {
                Ok(read) if same_secrets(&read, &cookies.secrets()) => continue,
                Ok(read) => read,
                Err(e) => {
                    tracing::error!(error = %e, "the cookie secrets stay as they were");
                    continue;
                }
            },
        };
        // The map first: a cookie the daemon makes is then one the fast
        // path already accepts.
        if let Some(map) = map.as_mut()
            && let Err(e) = map.set(&next)
        {
            tracing::error!(error = %e, "writing the new cookie secrets to the fast path; it keeps the old ones");
        }
        cookies.set(next);
        tracing::info!("cookie secret rotated; the previous one is still accepted");
    }
}

fn same_secrets(a: &CookieSecrets, b: &CookieSecrets) -> bool {
    (a.current, a.previous, a.has_previous) == (b.current, b.previous, b.has_previous)
}
