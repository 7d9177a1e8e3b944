//! The lab's own certificate authority and the node's certificate, made
//! with the openssl command (P-256 keys, valid a week): the node presents
//! the certificate for DNS over TLS and HTTPS, and clients verify it
//! against the CA, by the name [`NODE_NAME`] or the VIPs' addresses.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use crate::{LabError, run, topology};

/// The name the node's certificate is for.
pub const NODE_NAME: &str = "dns.anycast.lab";
const P256: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/// Where the lab's TLS files are.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    dir: PathBuf,
    /// The CA's certificate, what clients trust.
    pub ca: PathBuf,
    /// The node's certificate and key.
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// The files in `dir`, made there (a CA, and a certificate it signed)
    /// unless they are.
    pub fn in_dir(dir: &Path) -> Result<TlsFiles, LabError> {
        let path = |name: &str| dir.join(name);
        let files = TlsFiles {
            dir: dir.to_path_buf(),
            ca: path("ca.pem"),
            certificate: path("node.pem"),
            key: path("node.key"),
        };
        if files.certificate.exists() {
            return Ok(files);
        }
        std::fs::create_dir_all(dir).map_err(|source| io(format!("creating {}", dir.display()), source))?;
        run(openssl(&["req", "-x509", "-days", "7", "-subj", "/CN=anycast lab CA"])
            .args(P256)
            .arg("-keyout")
            .arg(files.ca_key())
            .arg("-out")
            .arg(&files.ca))?;
        files.issue()?;
        Ok(files)
    }

    /// Replaces the node's key and certificate with new ones from the
    /// same CA, for [`NODE_NAME`] and both VIPs.
    pub fn issue(&self) -> Result<(), LabError> {
        let (request, extensions) = (self.dir.join("node.csr"), self.dir.join("node.ext"));
        let text = format!(
            "subjectAltName = DNS:{NODE_NAME}, IP:{}, IP:{}\nbasicConstraints = CA:FALSE\n\
             keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
            topology::VIP4,
            topology::VIP6,
        );
        std::fs::write(&extensions, text).map_err(|source| io(format!("writing {}", extensions.display()), source))?;
        run(openssl(&["req", "-subj", &format!("/CN={NODE_NAME}")])
            .args(P256)
            .arg("-keyout")
            .arg(&self.key)
            .arg("-out")
            .arg(&request))?;
        run(openssl(&["x509", "-req", "-days", "7", "-CAcreateserial"])
            .arg("-in")
            .arg(&request)
            .arg("-CA")
            .arg(&self.ca)
            .arg("-CAkey")
            .arg(self.ca_key())
            .arg("-extfile")
            .arg(&extensions)
            .arg("-out")
            .arg(&self.certificate))?;
        Ok(())
    }

    fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
}

fn openssl(args: &[&str]) -> Command {
    let mut command = Command::new("openssl");
    command.args(args);
    command
}

fn io(what: String, source: std::io::Error) -> LabError {
    LabError::Io { what, source }
}
