//! The dnstap side of upstream exchanges: RESOLVER_QUERY and
//! RESOLVER_RESPONSE when iterating, FORWARDER_QUERY and
//! FORWARDER_RESPONSE when forwarding (as Unbound logs them).

use std::{net::SocketAddr, time::SystemTime};

use crate::dnstap::{Event, Kind, Protocol, Tap};

#[derive(Clone, Default)]
pub struct UpstreamTap {
    tap: Tap,
    query: Option<Kind>,
    response: Option<Kind>,
}

impl UpstreamTap {
    /// The kinds of `tap` for an iterating resolver, or a forwarding one.
    pub fn new(tap: &Tap, forwarding: bool) -> UpstreamTap {
        let (query, response) = match forwarding {
            false => (Kind::ResolverQuery, Kind::ResolverResponse),
            true => (Kind::ForwarderQuery, Kind::ForwarderResponse),
        };
        UpstreamTap {
            tap: tap.clone(),
            query: tap.wants(query).then_some(query),
            response: tap.wants(response).then_some(response),
        }
    }

    /// Logs a query sent now from `local` to `server`; the time, if the
    /// responses are logged (they carry it).
    pub fn query(
        &self,
        protocol: Protocol,
        local: SocketAddr,
        server: SocketAddr,
        message: &[u8],
    ) -> Option<SystemTime> {
        if self.query.is_none() && self.response.is_none() {
            return None;
        }
        let now = SystemTime::now();
        if let Some(kind) = self.query {
            self.tap.log(Event::new(kind, protocol, local, server, now, None, message));
        }
        Some(now)
    }

    /// Logs the response to a query sent at `sent` (see [`Self::query`]).
    pub fn response(
        &self,
        protocol: Protocol,
        local: SocketAddr,
        server: SocketAddr,
        message: &[u8],
        sent: Option<SystemTime>,
    ) {
        if let (Some(kind), Some(sent)) = (self.response, sent) {
            let event = Event::new(kind, protocol, local, server, sent, Some(SystemTime::now()), message);
            self.tap.log(event);
        }
    }
}
