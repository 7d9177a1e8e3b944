//! The control socket: a Unix socket (reachable from any network
//! namespace) taking one command per connection, answered in text.
//!
//! - `stats`: every metric, as `/metrics` serves them (Prometheus text);
//! - `dump`: every live RRset in the cache, one record per line;
//! - `purge NAME`: forgets NAME in the cache and in the fast path's map.

use std::{path::Path, sync::Arc, time::Duration};

use hickory_proto::{rr::Name, serialize::binary::BinEncodable};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::watch,
    time::timeout,
};

use super::{metrics, node::Node};
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
        async move { session(stream, &node).await }
    })
    .await;
    let _ = std::fs::remove_file(path);
    Ok(())
}

async fn session<U: Upstream>(stream: UnixStream, node: &Node<U>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, 1024));
    if timeout(Duration::from_secs(5), reader.read_line(&mut line)).await.is_err() {
        return Ok(());
    }
    let reply = command(line.trim(), node);
    write.write_all(reply.as_bytes()).await?;
    write.shutdown().await
}

/// The text answer to one command.
pub fn command<U: Upstream>(line: &str, node: &Node<U>) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("stats"), None, _) => metrics::render(node),
        (Some("dump"), None, _) => node.resolver.dump().iter().flatten().map(|record| format!("{record}\n")).collect(),
        (Some("purge"), Some(name), None) => match Name::from_ascii(format!("{}.", name.trim_end_matches('.'))) {
            Ok(name) => {
                let cached = node.resolver.purge(&name);
                let wire = name.to_lowercase().to_bytes().unwrap_or_default();
                let hot = node.responder.hot.purge(&wire);
                let fast = match &node.feed {
                    Some(feed) => match feed.purge(&wire) {
                        Ok(n) => n.to_string(),
                        Err(e) => format!("error ({e})"),
                    },
                    None => "off".to_string(),
                };
                format!("purged {name}: cache {cached}, hot answers {hot}, fast path entries {fast}\n")
            }
            Err(e) => format!("error: `{name}` is not a domain name: {e}\n"),
        },
        _ => "error: commands are `stats`, `dump` and `purge NAME`\n".to_string(),
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
