//! `[dnstap]`: which messages are logged in dnstap, and where to.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::{ConfigError, invalid, within};
use crate::dnstap::{DnstapSettings, Kind, Origin, Output};

/// Events waiting for the writer, unless set: a second of a busy node's
/// daemon traffic, a few MiB.
const DEFAULT_QUEUE: usize = 65_536;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnstapSection {
    /// A collector's Unix socket (fstrm_capture, `dnstap -u`).
    pub socket: Option<PathBuf>,
    /// Or a Frame Streams file.
    pub file: Option<PathBuf>,
    /// `identity` of every message: the NSID if absent (else the host
    /// name); "" for none.
    pub identity: Option<String>,
    /// `version` of every message: "anycastd <version>" if absent; "" for
    /// none.
    pub version: Option<String>,
    /// The message types, as Unbound's `dnstap-log-*-messages`.
    pub client_query: Option<bool>,
    pub client_response: Option<bool>,
    pub resolver_query: Option<bool>,
    pub resolver_response: Option<bool>,
    pub forwarder_query: Option<bool>,
    pub forwarder_response: Option<bool>,
    /// Events waiting for the writer, at most; more are dropped (counted).
    pub queue: Option<usize>,
    /// Every n-th answer of the XDP program is logged (1: all, 0: none).
    pub xdp_sample: Option<u32>,
    /// XDP answers logged a second, at most.
    pub xdp_max_per_second: Option<u32>,
}

/// XDP answers logged a second unless set: enough to see a busy node's
/// traffic, little enough for the daemon to write without falling behind.
const DEFAULT_XDP_PER_SECOND: u32 = 10_000;

impl DnstapSection {
    /// Whether no key but the output's is set.
    fn is_empty(&self) -> bool {
        let flags = [
            self.client_query,
            self.client_response,
            self.resolver_query,
            self.resolver_response,
            self.forwarder_query,
            self.forwarder_response,
        ];
        flags.iter().all(Option::is_none)
            && self.identity.is_none()
            && self.version.is_none()
            && self.queue.is_none()
            && self.xdp_sample.is_none()
            && self.xdp_max_per_second.is_none()
    }

    /// None without an output (dnstap off). `nsid` is the service's.
    pub fn check(self, nsid: &[u8]) -> Result<Option<DnstapSettings>, ConfigError> {
        let empty = self.is_empty();
        let output = match (self.socket, self.file) {
            (None, None) if empty => return Ok(None),
            (None, None) => return Err(invalid("dnstap", "set socket or file, where the messages go")),
            (Some(_), Some(_)) => return Err(invalid("dnstap.file", "one output: socket or file")),
            (Some(socket), None) => Output::Socket(socket),
            (None, Some(file)) => Output::File(file),
        };
        let kinds: Vec<Kind> = [
            (self.client_query, true, Kind::ClientQuery),
            (self.client_response, true, Kind::ClientResponse),
            (self.resolver_query, false, Kind::ResolverQuery),
            (self.resolver_response, false, Kind::ResolverResponse),
            (self.forwarder_query, false, Kind::ForwarderQuery),
            (self.forwarder_response, false, Kind::ForwarderResponse),
        ]
        .into_iter()
        .filter_map(|(set, default, kind)| set.unwrap_or(default).then_some(kind))
        .collect();
        if kinds.is_empty() {
            return Err(invalid("dnstap", "every message type is off"));
        }
        let identity = match self.identity {
            Some(identity) => identity.into_bytes(),
            None if !nsid.is_empty() => nsid.to_vec(),
            None => host_name(),
        };
        let version = self.version.unwrap_or_else(|| format!("anycastd {}", env!("CARGO_PKG_VERSION")));
        let origin = Origin { identity: non_empty(identity), version: non_empty(version.into_bytes()) };
        let queue = within("dnstap.queue", self.queue.unwrap_or(DEFAULT_QUEUE), 1..=16_777_216)?;
        let xdp_per_second = self.xdp_max_per_second.unwrap_or(DEFAULT_XDP_PER_SECOND);
        let xdp_per_second = within("dnstap.xdp_max_per_second", xdp_per_second, 1..=1_000_000)?;
        // The XDP records are client messages: none when neither is logged.
        let client_side = kinds.contains(&Kind::ClientQuery) || kinds.contains(&Kind::ClientResponse);
        let xdp_every = if client_side { self.xdp_sample.unwrap_or(1) } else { 0 };
        Ok(Some(DnstapSettings { output, origin, kinds, queue, xdp_every, xdp_per_second }))
    }
}

fn non_empty(bytes: Vec<u8>) -> Option<Vec<u8>> {
    (!bytes.is_empty()).then_some(bytes)
}

/// The host's name, or nothing if it has none.
fn host_name() -> Vec<u8> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Vec::new();
    }
    buf.iter().take_while(|b| **b != 0).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, nsid: &[u8]) -> Result<Option<DnstapSettings>, String> {
        toml::from_str::<DnstapSection>(text).unwrap().check(nsid).map_err(|e| e.to_string())
    }

    #[test]
    fn sections_and_what_they_mean() {
        assert_eq!(check("", b"").unwrap(), None, "no output: off");
        let on = check(r#"socket = "/run/tap.sock""#, b"node-1").unwrap().unwrap();
        assert_eq!(on.output, Output::Socket("/run/tap.sock".into()));
        assert_eq!(on.kinds, [Kind::ClientQuery, Kind::ClientResponse], "the client's side by default");
        assert_eq!(on.origin.identity.as_deref(), Some(&b"node-1"[..]), "the NSID by default");
        assert!(on.origin.version.unwrap().starts_with(b"anycastd "));
        let upstream = r#"file = "/var/log/tap.fstrm"
            identity = ""
            version = "x"
            client_query = false
            resolver_query = true
            forwarder_response = true"#;
        let upstream = check(upstream, b"node-1").unwrap().unwrap();
        assert_eq!(upstream.kinds, [Kind::ClientResponse, Kind::ResolverQuery, Kind::ForwarderResponse]);
        assert_eq!((upstream.origin.identity, upstream.origin.version), (None, Some(b"x".to_vec())));
        assert_eq!((on.xdp_every, on.xdp_per_second), (1, 10_000), "every XDP answer, up to 10k/s");
        let resolver_only = r#"socket = "/a"
            client_query = false
            client_response = false
            resolver_query = true
            xdp_sample = 5"#;
        assert_eq!(check(resolver_only, b"").unwrap().unwrap().xdp_every, 0, "no client side: no XDP records");
        let sampled = check("socket = \"/a\"\nxdp_sample = 100\nxdp_max_per_second = 50", b"").unwrap().unwrap();
        assert_eq!((sampled.xdp_every, sampled.xdp_per_second), (100, 50));
    }

    #[test]
    fn bad_sections_name_their_key() {
        let cases = [
            (
                r#"socket = "/a"
                file = "/b""#,
                "dnstap.file: one output",
            ),
            ("client_query = true", "dnstap: set socket or file"),
            ("xdp_sample = 10", "dnstap: set socket or file"),
            (
                r#"socket = "/a"
                client_query = false
                client_response = false"#,
                "dnstap: every message type is off",
            ),
            (
                r#"socket = "/a"
                queue = 0"#,
                "dnstap.queue: 0 is outside",
            ),
        ];
        for (text, expected) in cases {
            let error = check(text, b"").unwrap_err();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
    }
}
