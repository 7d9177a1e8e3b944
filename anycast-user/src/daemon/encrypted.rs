//! Encrypted DNS on the node's addresses, as `[tls]` says: the
//! certificate loaded (a node whose certificate cannot be used does not
//! start), DNS over TLS and DNS over HTTPS listening on their ports, and
//! both spawned with the one connection bound they share.

use std::{net::IpAddr, sync::Arc};

use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tokio_rustls::TlsAcceptor;

use super::{error::DaemonError, sockets};
use crate::{
    config::tls::TlsSettings,
    dnstap::Tap,
    resolver::upstream::Upstream,
    server::{
        certificate::Certificate,
        connections::Connections,
        doh::{self, DohSettings},
        dot,
        encrypted::Accepting,
        respond::Responder,
    },
};

/// The encrypted services, bound and ready to serve.
pub struct Encrypted {
    pub certificate: Arc<Certificate>,
    dot: Vec<(TcpListener, Accepting)>,
    doh: Vec<(TcpListener, Accepting)>,
    settings: TlsSettings,
}

impl Encrypted {
    /// Loads the certificate and binds each transport on every address.
    pub fn bind(settings: &TlsSettings, addresses: &[IpAddr], tap: &Tap) -> Result<Encrypted, DaemonError> {
        let certificate = Certificate::load(&settings.certificate, &settings.key)?;
        let limits = settings.limits;
        let connections = Connections::new(limits.max_connections, limits.max_connections_per_client);
        let accepting = |config| Accepting {
            tls: TlsAcceptor::from(config),
            handshake_timeout: settings.handshake_timeout,
            connections: connections.clone(),
            tap: tap.clone(),
        };
        let on = |port: Option<u16>, accepting: Accepting| -> Result<Vec<_>, DaemonError> {
            let Some(port) = port else { return Ok(Vec::new()) };
            Ok(sockets::listen_all(addresses, port)?.into_iter().map(|l| (l, accepting.clone())).collect())
        };
        Ok(Encrypted {
            dot: on(settings.dot_port, accepting(dot::tls_config(&certificate)?))?,
            doh: on(settings.doh_port, accepting(doh::tls_config(&certificate)?))?,
            certificate,
            settings: settings.clone(),
        })
    }

    /// Spawns every listener's service into `services`, until `stop`.
    pub fn spawn<U: Upstream>(
        self,
        responder: &Arc<Responder<U>>,
        services: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) {
        let limits = self.settings.limits;
        for (listener, accepting) in self.dot {
            services.spawn(dot::serve(listener, accepting, responder.clone(), limits, stop.clone()));
        }
        let doh = DohSettings { path: self.settings.doh_path, idle: limits.idle, max_pipelined: limits.max_pipelined };
        for (listener, accepting) in self.doh {
            services.spawn(doh::serve(listener, accepting, responder.clone(), doh.clone(), stop.clone()));
        }
    }
}
