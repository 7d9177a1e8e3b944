//! The dnstap side of the service: CLIENT_QUERY and CLIENT_RESPONSE for
//! what the daemon answers, over UDP, TCP, TLS and HTTPS.

use std::{net::SocketAddr, time::SystemTime};

use crate::dnstap::{Event, Kind, Protocol, Tap};

/// Logs one client's messages on one socket.
#[derive(Clone)]
pub struct ClientTap {
    tap: Tap,
    protocol: Protocol,
    client: SocketAddr,
    /// The address the client asked (the VIP and port).
    server: SocketAddr,
}

impl ClientTap {
    /// None when the tap logs neither client kind: then nothing is made,
    /// not even a timestamp.
    pub fn new(tap: &Tap, protocol: Protocol, client: SocketAddr, server: SocketAddr) -> Option<ClientTap> {
        ClientTap::wanted(tap).then(|| ClientTap { tap: tap.clone(), protocol, client, server })
    }

    /// Whether the tap logs either client kind.
    pub fn wanted(tap: &Tap) -> bool {
        tap.wants(Kind::ClientQuery) || tap.wants(Kind::ClientResponse)
    }

    pub fn query(&self, message: &[u8], at: SystemTime) {
        self.log(Kind::ClientQuery, message, at, None);
    }

    /// The response to a query received at `query_time`, sent now.
    pub fn response(&self, message: &[u8], query_time: SystemTime) {
        self.log(Kind::ClientResponse, message, query_time, Some(SystemTime::now()));
    }

    fn log(&self, kind: Kind, message: &[u8], query_time: SystemTime, response_time: Option<SystemTime>) {
        if !self.tap.wants(kind) {
            return;
        }
        self.tap.log(Event::new(kind, self.protocol, self.client, self.server, query_time, response_time, message));
    }
}
