//! `[tls]`: encrypted DNS on the same addresses as port 53, DNS over TLS
//! (RFC 7858) and DNS over HTTPS (RFC 8484), with one certificate and key
//! (PEM). On when a certificate is given; either transport is turned off
//! with its port set to 0.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

use super::error::{ConfigError, count, invalid, seconds};
use crate::server::tcp::TcpLimits;

/// The ports RFC 7858 and RFC 8484 name.
const DOT_PORT: u16 = 853;
const DOH_PORT: u16 = 443;
const DOH_PATH: &str = "/dns-query";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate chain, leaf first (PEM).
    pub certificate: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// DNS over TLS's port; 0 turns it off.
    pub dot_port: Option<u16>,
    /// DNS over HTTPS's port; 0 turns it off.
    pub doh_port: Option<u16>,
    /// The path DNS over HTTPS answers on.
    pub doh_path: Option<String>,
    /// Seconds a client has to finish its TLS handshake.
    pub handshake_timeout: Option<u64>,
    /// Seconds a connection may stay without a query.
    pub idle_timeout: Option<u64>,
    /// Encrypted connections open at once, in all and per client (both
    /// transports together).
    pub max_connections: Option<u64>,
    pub max_connections_per_client: Option<u64>,
    /// Queries (HTTP/2 streams) of one connection answered at once.
    pub max_pipelined: Option<u64>,
}

/// `[tls]`, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub dot_port: Option<u16>,
    pub doh_port: Option<u16>,
    pub doh_path: String,
    /// How long a client has to finish its TLS handshake.
    pub handshake_timeout: Duration,
    /// The bounds of a connection once encrypted, as over TCP (the write
    /// timeout is TCP's default).
    pub limits: TcpLimits,
}

/// Unless configured: TCP's idle timeout is for clients that send a
/// query and go; encrypted clients keep their connection for the next.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_CONNECTIONS: usize = 1024;
const MAX_PIPELINED: usize = 100;

impl TlsSection {
    /// None when no certificate is given (and nothing else is).
    pub fn check(self) -> Result<Option<TlsSettings>, ConfigError> {
        let (certificate, key) = match (self.certificate.clone(), self.key.clone()) {
            (Some(certificate), Some(key)) => (certificate, key),
            (Some(_), None) => return Err(invalid("tls.key", "required with tls.certificate")),
            (None, Some(_)) => return Err(invalid("tls.certificate", "required with tls.key")),
            (None, None) if self.is_empty() => return Ok(None),
            (None, None) => return Err(invalid("tls.certificate", "required for encrypted DNS")),
        };
        let port = |value: Option<u16>, default: u16| match value.unwrap_or(default) {
            0 => None,
            port => Some(port),
        };
        let (dot_port, doh_port) = (port(self.dot_port, DOT_PORT), port(self.doh_port, DOH_PORT));
        if dot_port.is_none() && doh_port.is_none() {
            return Err(invalid("tls.dot_port", "both transports are off (dot_port and doh_port are 0)"));
        }
        if dot_port.is_some() && dot_port == doh_port {
            return Err(invalid("tls.doh_port", format!("{} is tls.dot_port too", doh_port.unwrap_or_default())));
        }
        let doh_path = self.doh_path.clone().unwrap_or_else(|| DOH_PATH.to_string());
        if !doh_path.starts_with('/') || doh_path.contains(['?', '#', ' ']) {
            return Err(invalid("tls.doh_path", format!("`{doh_path}` is not an absolute path without a query")));
        }
        let handshake_timeout = seconds("tls.handshake_timeout", self.handshake_timeout, HANDSHAKE_TIMEOUT, 60)?;
        Ok(Some(TlsSettings {
            certificate,
            key,
            dot_port,
            doh_port,
            doh_path,
            handshake_timeout,
            limits: self.limits()?,
        }))
    }

    fn is_empty(&self) -> bool {
        self.dot_port.is_none()
            && self.doh_port.is_none()
            && self.doh_path.is_none()
            && self.handshake_timeout.is_none()
            && self.idle_timeout.is_none()
            && self.max_connections.is_none()
            && self.max_connections_per_client.is_none()
            && self.max_pipelined.is_none()
    }

    fn limits(&self) -> Result<TcpLimits, ConfigError> {
        Ok(TcpLimits {
            idle: seconds("tls.idle_timeout", self.idle_timeout, IDLE_TIMEOUT, 3600)?,
            write: TcpLimits::default().write,
            max_connections: count("tls.max_connections", self.max_connections, MAX_CONNECTIONS)?,
            max_connections_per_client: count(
                "tls.max_connections_per_client",
                self.max_connections_per_client,
                TcpLimits::default().max_connections_per_client,
            )?,
            max_pipelined: count("tls.max_pipelined", self.max_pipelined, MAX_PIPELINED)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Option<TlsSettings>, String> {
        toml::from_str::<TlsSection>(text).map_err(|e| e.to_string())?.check().map_err(|e| e.to_string())
    }

    #[test]
    fn on_with_a_certificate_and_both_transports_on_their_ports() {
        assert_eq!(check(""), Ok(None));
        let settings = check("certificate = \"/c.pem\"\nkey = \"/k.pem\"\n").unwrap().unwrap();
        assert_eq!((settings.dot_port, settings.doh_port), (Some(853), Some(443)));
        assert_eq!(settings.doh_path, "/dns-query");
        assert_eq!((settings.handshake_timeout, settings.limits.idle), (HANDSHAKE_TIMEOUT, IDLE_TIMEOUT));
        assert_eq!((settings.limits.max_connections, settings.limits.max_pipelined), (1024, 100));
        let dot_only = check("certificate = \"/c\"\nkey = \"/k\"\ndoh_port = 0\n").unwrap().unwrap();
        assert_eq!((dot_only.dot_port, dot_only.doh_port), (Some(853), None));
    }

    #[test]
    fn problems_name_their_key() {
        let cases = [
            ("certificate = \"/c\"\n", "tls.key: required"),
            ("key = \"/k\"\n", "tls.certificate: required"),
            ("dot_port = 8853\n", "tls.certificate: required"),
            ("certificate = \"/c\"\nkey = \"/k\"\ndot_port = 0\ndoh_port = 0\n", "tls.dot_port: both"),
            ("certificate = \"/c\"\nkey = \"/k\"\ndot_port = 853\ndoh_port = 853\n", "tls.doh_port: 853"),
            ("certificate = \"/c\"\nkey = \"/k\"\ndoh_path = \"dns\"\n", "tls.doh_path:"),
            ("certificate = \"/c\"\nkey = \"/k\"\ndoh_path = \"/q?x=1\"\n", "tls.doh_path:"),
            ("certificate = \"/c\"\nkey = \"/k\"\nhandshake_timeout = 0\n", "tls.handshake_timeout: 0 is outside"),
            ("certificate = \"/c\"\nkey = \"/k\"\nmax_connections = 0\n", "tls.max_connections: 0 is outside"),
        ];
        for (text, expected) in cases {
            let error = check(text).unwrap_err();
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
        assert!(check("cert = \"/c\"\n").unwrap_err().contains("unknown field"));
    }
}
