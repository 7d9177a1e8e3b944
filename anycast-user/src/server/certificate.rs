//! The node's TLS certificate and key, read from PEM files, shared by DNS
//! over TLS and DNS over HTTPS, and replaceable while serving: a reload
//! reads the files again and the next handshake uses what they hold;
//! connections already open keep theirs. Files that cannot be used are
//! refused with the reason, and what is in force stays.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use arc_swap::ArcSwap;
use rustls::{
    ServerConfig,
    crypto::aws_lc_rs as provider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache},
    sign::CertifiedKey,
};

/// TLS sessions remembered for resumption by ID (TLS 1.2); TLS 1.3
/// clients resume from tickets, which take no memory here.
const SESSIONS: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading the certificate {path}: {source}")]
    Certificate { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("{path}: no certificate in it")]
    NoCertificate { path: PathBuf },
    #[error("reading the private key {path}: {source}")]
    Key { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("the private key {path}: {source}")]
    UnusableKey { path: PathBuf, source: rustls::Error },
    #[error("the key {key} does not belong to the certificate {certificate}: {source}")]
    Mismatch { certificate: PathBuf, key: PathBuf, source: rustls::Error },
    #[error("the TLS configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// The certificate in force, and the files it was read from.
#[derive(Debug)]
pub struct Certificate {
    current: ArcSwap<CertifiedKey>,
    certificate: PathBuf,
    key: PathBuf,
}

impl Certificate {
    pub fn load(certificate: &Path, key: &Path) -> Result<Arc<Certificate>, TlsError> {
        let current = ArcSwap::from(read(certificate, key)?);
        Ok(Arc::new(Certificate { current, certificate: certificate.to_path_buf(), key: key.to_path_buf() }))
    }

    /// Reads the files again; on an error, the certificate in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.current.store(read(&self.certificate, &self.key)?);
        Ok(())
    }

    /// A server configuration that presents this certificate (as it is at
    /// each handshake) and offers `alpn`, in order of preference.
    pub fn server_config(self: &Arc<Self>, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.session_storage = ServerSessionMemoryCache::new(SESSIONS);
        config.ticketer = provider::Ticketer::new().map_err(TlsError::Config)?;
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The chain in `certificate` (leaf first) with the key in `key`,
/// checked to belong together.
fn read(certificate: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|source| TlsError::Certificate { path: certificate.to_path_buf(), source })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: certificate.to_path_buf() });
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key { path: key.to_path_buf(), source })?;
    let signing = provider::sign::any_supported_type(&der)
        .map_err(|source| TlsError::UnusableKey { path: key.to_path_buf(), source })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|source| TlsError::Mismatch {
        certificate: certificate.to_path_buf(),
        key: key.to_path_buf(),
        source,
    })?;
    Ok(Arc::new(certified))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `name` and its key, as PEM files in
    /// a fresh directory.
    fn pair(dir: &Path, stem: &str, name: &str) -> (PathBuf, PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let (certificate, key) = (dir.join(format!("{stem}.crt")), dir.join(format!("{stem}.key")));
        std::fs::write(&certificate, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        (certificate, key)
    }

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("anycast-cert-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_that_cannot_be_used_are_refused_with_the_reason() {
        let dir = scratch("refused");
        let (certificate, key) = pair(&dir, "a", "dns.lab");
        let (_, other_key) = pair(&dir, "b", "other.lab");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not PEM at all\n").unwrap();
        let missing = dir.join("missing.pem");
        let cases: [(&Path, &Path, &str); 4] = [
            (&missing, &key, "reading the certificate"),
            (&empty, &key, "no certificate in it"),
            (&certificate, &empty, "reading the private key"),
            (&certificate, &other_key, "does not belong to the certificate"),
        ];
        for (c, k, expected) in cases {
            let error = Certificate::load(c, k).unwrap_err().to_string();
            assert!(error.contains(expected), "{} with {}: {error}", c.display(), k.display());
        }
        Certificate::load(&certificate, &key).expect("a matching pair loads");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reload_puts_new_files_in_force_and_keeps_the_old_on_an_error() {
        let dir = scratch("reload");
        let (certificate, key) = pair(&dir, "a", "dns.lab");
        let loaded = Certificate::load(&certificate, &key).unwrap();
        let first = loaded.current.load_full().cert[0].clone();
        std::fs::write(&key, "broken\n").unwrap();
        assert!(loaded.reload().is_err(), "a broken key is refused");
        assert_eq!(loaded.current.load().cert[0], first, "the old certificate stays");
        let (new_certificate, new_key) = pair(&dir, "b", "dns.lab");
        std::fs::rename(new_certificate, &certificate).unwrap();
        std::fs::rename(new_key, &key).unwrap();
        loaded.reload().unwrap();
        assert_ne!(loaded.current.load().cert[0], first, "the new one is in force");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
