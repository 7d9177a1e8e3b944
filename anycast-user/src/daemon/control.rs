//! The control socket: a Unix socket (reachable from any network
//! namespace) taking one command per connection, answered in text.
//!
//! - `stats`: every metric, as `/metrics` serves them (Prometheus text);
//! - `dump`: every live RRset in the cache, one record per line;
//! - `purge NAME`: forgets NAME in the cache and in the fast path's map;
//! - `dump-hot [N]`: the N (1000) hot names, for a peer's warm start (see
//!   [`crate::warm::list`]);
//! - `top`: the names and clients of the sampled XDP answers since the
//!   last `top` (see [`super::top`]);
//! - `reload`: reads the configuration again (see [`super::reload`]);
//! - `capture [count N] [seconds S] [client PREFIX] [name NAME]`: the
//!   fast path's answers, as a pcap stream (see [`super::capture`]).

use std::{path::Path, sync::Arc, time::Duration};

use hickory_proto::{rr::Name, serialize::binary::BinEncodable};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::watch,
    time::timeout,
};

use super::{
    capture::Request,
    metrics::{self, HOT_NAMES, MAX_HOT_NAMES, hot_count},
    node::Node,
    reload,
};
use crate::{resolver::upstream::Upstream, server::listener::serve_each};

/// Serves the control socket at `path` until `shutdown` turns true. A
/// stale socket file from an earlier run is replaced.
pub async fn serve<U: Upstream>(
    path: &Path,
    node: Arc<Node<U>>,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    serve_each(&listener, shutdown, "control session", |stream| {
        let node = node.clone();
        async move { session(stream, node).await }
    })
    .await;
    let _ = std::fs::remove_file(path);
    Ok(())
}

async fn session<U: Upstream>(stream: UnixStream, node: Arc<Node<U>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, 1024));
    if timeout(Duration::from_secs(5), reader.read_line(&mut line)).await.is_err() {
        return Ok(());
    }
    let mut words = line.split_whitespace();
    match words.next() {
        Some("capture") => capture(words, &node, &mut write).await?,
        Some("dump-hot") => write.write_all(dump_hot(words, node).await.as_bytes()).await?,
        _ => write.write_all(command(line.trim(), &node).as_bytes()).await?,
    }
    write.shutdown().await
}

/// `dump-hot [N]`: the listing, read off the workers.
async fn dump_hot<'a, U: Upstream>(mut words: impl Iterator<Item = &'a str>, node: Arc<Node<U>>) -> String {
    let n = match (words.next().map(hot_count), words.next()) {
        (None, None) => HOT_NAMES,
        (Some(Some(n)), None) => n,
        _ => return format!("error: `dump-hot [N]`, N from 1 to {MAX_HOT_NAMES}\n"),
    };
    tokio::task::spawn_blocking(move || node.hot_names(n))
        .await
        .unwrap_or_else(|e| format!("error: listing the hot names: {e}\n"))
}

/// `capture ...`: the pcap stream, or an error line.
async fn capture<'a, U>(
    words: impl Iterator<Item = &'a str>,
    node: &Node<U>,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> std::io::Result<()> {
    let (Some(capture), Some(feed)) = (&node.capture, &node.feed) else {
        return out.write_all(b"error: the fast path is off: it answers nothing to capture\n").await;
    };
    match Request::parse(words) {
        Ok(request) => capture.run(feed, &request, out).await,
        Err(e) => out.write_all(format!("error: {e}\n").as_bytes()).await,
    }
}

/// The text answer to one command.
pub fn command<U: Upstream>(line: &str, node: &Node<U>) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("stats"), None, _) => metrics::render(node),
        (Some("top"), None, _) => node.top.take(),
        (Some("dump"), None, _) => node.resolver.dump().iter().flatten().map(|record| format!("{record}\n")).collect(),
        (Some("purge"), Some(name), None) => match Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) {
            Ok(name) => {
                let cached = node.resolver.purge(&name);
                let wire = name.to_lowercase().to_bytes().unwrap_or_default();
                let hot = node.responder.hot.purge_where(|n| n == wire);
                let fast = match &node.feed {
                    Some(feed) => match feed.purge_where(|n| n == wire) {
                        Ok(n) => n.to_string(),
                        Err(e) => format!("error ({e})"),
                    },
                    None => "off".to_string(),
                };
                format!("purged {name}: cache {cached}, hot answers {hot}, fast path entries {fast}\n")
            }
            Err(e) => format!("error: `{name}` is not a domain name: {e}\n"),
        },
        (Some("reload"), None, _) => match reload::reload(node) {
            Ok(done) => {
                tracing::info!("{done} (ctl reload)");
                format!("{done}\n")
            }
            Err(e) => {
                tracing::error!(error = %e, "reload refused; the configuration in force is kept");
                format!("error: reload refused, the configuration in force is kept: {e}\n")
            }
        },
        _ => "error: commands are `stats`, `dump`, `dump-hot [N]`, `purge NAME`, `top`, `reload` and `capture ...`\n"
            .to_string(),
    }
}

/// Sends `command` to the daemon's control socket and returns its answer
/// (the `anycastd ctl` client).
pub async fn request(path: &Path, command: &str) -> std::io::Result<String> {
    let mut stream = UnixStream::connect(path).await?;
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    let mut reply = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut reply).await?;
    Ok(reply)
}

/// Sends `command` and copies the daemon's answer to `out` as it comes
/// (the pcap stream of `capture`); the answer instead if it is an error
/// line.
pub async fn request_stream(
    path: &Path,
    command: &str,
    out: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> std::io::Result<Option<String>> {
    use tokio::io::AsyncReadExt;
    let mut stream = UnixStream::connect(path).await?;
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    let mut first = vec![0u8; 4096];
    let len = stream.read(&mut first).await?;
    first.truncate(len);
    if first.starts_with(b"error") {
        stream.read_to_end(&mut first).await?;
        return Ok(Some(String::from_utf8_lossy(&first).into_owned()));
    }
    out.write_all(&first).await?;
    tokio::io::copy(&mut stream, out).await?;
    out.flush().await?;
    Ok(None)
}
