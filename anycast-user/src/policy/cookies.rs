//! The DNS cookie secrets of the node (RFC 7873, RFC 9018): one copy the
//! daemon checks and makes server cookies with, the same values the fast
//! path's cookie map holds. Either the operator's secret, read from a file
//! the nodes of one anycast service share (so a client that moves between
//! nodes keeps its cookie), or a random one rotated on a schedule. The
//! secret before a rotation stays valid until the next, so the cookies
//! clients hold survive it.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    sync::RwLock,
    time::Duration,
};

use anycast_common::cookie::{self, ClientAddr, CookieSecrets};

use crate::clock;

/// Where the secrets come from (`[cookies]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// Random, replaced every so often.
    Random { rotate_every: Duration },
    /// A file of one or two lines of 32 hex digits: the current secret and
    /// the previous one; re-read as it changes.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading the cookie secret file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cookie secret file {path}, line {line}: {problem}")]
    Format { path: PathBuf, line: usize, problem: &'static str },
}

/// The secrets in use, shared by the daemon's tasks.
pub struct Cookies {
    secrets: RwLock<CookieSecrets>,
}

impl Cookies {
    pub fn new(secrets: CookieSecrets) -> Cookies {
        Cookies { secrets: RwLock::new(secrets) }
    }

    /// The secrets now (a copy: 48 bytes).
    pub fn secrets(&self) -> CookieSecrets {
        *self.secrets.read().expect("cookie secrets lock")
    }

    pub fn set(&self, secrets: CookieSecrets) {
        *self.secrets.write().expect("cookie secrets lock") = secrets;
    }

    /// The secrets, and the RFC 9018 timestamp now as the fast path
    /// computes it with them.
    pub fn now(&self) -> (CookieSecrets, u32) {
        let secrets = self.secrets();
        (secrets, cookie::timestamp(clock::tai_ns(), &secrets))
    }
}

/// Fresh random secrets with nothing before them.
pub fn random_secrets() -> CookieSecrets {
    with_secrets(rand::random(), None)
}

/// `secrets` after a rotation to a new random secret.
pub fn rotated(secrets: &CookieSecrets) -> CookieSecrets {
    with_secrets(rand::random(), Some(secrets.current))
}

fn with_secrets(current: [u8; 16], previous: Option<[u8; 16]>) -> CookieSecrets {
    CookieSecrets {
        current,
        previous: previous.unwrap_or_default(),
        tai_offset: tai_offset(),
        has_previous: previous.is_some() as u8,
        _pad: [0; 7],
    }
}

/// Reads the secrets of a secret file.
pub fn read_file(path: &Path) -> Result<CookieSecrets, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read { path: path.into(), source })?;
    let format = |line, problem| SecretError::Format { path: path.into(), line, problem };
    let mut secrets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if secrets.len() == 2 {
            return Err(format(i + 1, "more than two secrets (the current one, then the previous one)"));
        }
        secrets.push(parse_secret(line).ok_or_else(|| format(i + 1, "not a secret of 32 hex digits"))?);
    }
    match secrets[..] {
        [] => Err(format(0, "no secret")),
        [current] => Ok(with_secrets(current, None)),
        [current, previous] => Ok(with_secrets(current, Some(previous))),
        _ => unreachable!("at most two are read"),
    }
}

fn parse_secret(hex: &str) -> Option<[u8; 16]> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).ok()?.try_into().ok()
}

/// The address as the cookie hash takes it; a v4-mapped IPv6 address (a
/// dual-stack socket) is the IPv4 address the packet came from.
pub fn client_addr(ip: IpAddr) -> ClientAddr {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(a) => {
            bytes[..4].copy_from_slice(&a.octets());
            ClientAddr::new(&bytes, false)
        }
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => client_addr(IpAddr::V4(v4)),
            None => ClientAddr::new(&a.octets(), true),
        },
    }
}

/// Whole seconds CLOCK_TAI is ahead of Unix time (37 where the kernel was
/// told the leap seconds, else 0).
fn tai_offset() -> u64 {
    let (tai, real) = (clock::tai_ns(), clock::realtime_ns());
    (tai.saturating_sub(real) + 500_000_000) / 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_is_unix_time() {
        let cookies = Cookies::new(random_secrets());
        let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let (_, now) = cookies.now();
        assert!((i64::from(now) - unix as i64).abs() <= 1, "{now} against {unix}");
    }

    #[test]
    fn rotation_keeps_the_previous_secret() {
        let first = random_secrets();
        let second = rotated(&first);
        assert_eq!((second.previous, second.has_previous), (first.current, 1));
        assert_ne!(second.current, first.current);
    }

    #[test]
    fn secret_files() {
        let path = std::env::temp_dir().join(format!("anycast-cookie-secret-test-{}", std::process::id()));
        let a = "e5e973e5a6b2a43f48e7dc849e37bfcf";
        let b = "00112233445566778899aabbccddeeff";
        // (file text, Ok((first byte of the current secret, has_previous)) or
        // Err(part of the message)).
        type Expected = Result<(u8, u8), &'static str>;
        let cases: [(String, Expected); 6] = [
            (format!("{a}\n"), Ok((0xe5, 0))),
            (format!("# shared by the service\n{a}\n{b}\n"), Ok((0xe5, 1))),
            (String::new(), Err("no secret")),
            (format!("{a}\n{b}\n{a}\n"), Err("line 3: more than two")),
            ("e5e973e5\n".into(), Err("line 1: not a secret")),
            (format!("{}zz\n", &a[..30]), Err("line 1: not a secret")),
        ];
        for (text, expected) in cases {
            std::fs::write(&path, &text).unwrap();
            match (read_file(&path), expected) {
                (Ok(s), Ok((first, previous))) => {
                    assert_eq!((s.current[0], s.has_previous), (first, previous), "{text}")
                }
                (Err(e), Err(problem)) => assert!(e.to_string().contains(problem), "{text}: {e}"),
                (got, expected) => panic!("{text:?}: got {got:?}, expected {expected:?}"),
            }
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let mapped = client_addr("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped, client_addr("192.0.2.1".parse().unwrap()));
        assert!(client_addr("2001:db8::1".parse().unwrap()).ipv6);
    }
}
