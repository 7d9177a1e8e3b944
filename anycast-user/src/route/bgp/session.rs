//! One peer's session (RFC 4271 section 8, the parts an announce-only
//! speaker that never listens needs): connect, OPEN, KEEPALIVE, then
//! Established until something ends it; reconnect with backoff. Errors
//! in what the peer sends get the NOTIFICATION the RFC calls for before
//! the connection is closed.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use bytes::BytesMut;
use futures::StreamExt;
use netgauze_bgp_pkt::{
    BgpMessage,
    notification::{BgpNotificationMessage, FiniteStateMachineError},
};
use tokio::{
    io::AsyncWriteExt,
    net::{
        TcpSocket, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    time::{Instant, sleep, sleep_until, timeout},
};
use tokio_util::codec::FramedRead;

use super::{
    message::{self, Framer, Incoming, Negotiated, ReadError},
    routes::Routes,
    settings::PeerSettings,
    status::{PeerStatus, SessionState},
};
use crate::route::state::State;

/// Reconnect backoff: doubles from MIN to MAX, reset by a session that
/// got established.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the peer's OPEN and KEEPALIVE (RFC 4271 suggests
/// a large hold time before the session's own is known).
const OPEN_WAIT: Duration = Duration::from_secs(60);

pub(super) struct Session {
    pub peer: PeerSettings,
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    pub routes: Arc<Routes>,
    pub status: Arc<PeerStatus>,
}

/// How a connection ended.
enum End {
    /// We were told to stop (and sent a Cease).
    Stopped,
    /// Anything else; reconnect.
    Closed { established: bool, why: String },
}

impl Session {
    /// Connects, runs the session, and reconnects until `stop`.
    pub async fn run(self, mut want: watch::Receiver<Option<State>>, mut stop: watch::Receiver<bool>) {
        let peer = self.peer.address;
        let mut backoff = RETRY_MIN;
        loop {
            self.status.set_state(SessionState::Connect);
            let attempt = tokio::select! {
                _ = stopped(&mut stop) => break,
                attempt = timeout(CONNECT_TIMEOUT, self.connect()) => attempt,
            };
            match attempt {
                Ok(Ok(stream)) => match self.connection(stream, &mut want, &mut stop).await {
                    End::Stopped => break,
                    End::Closed { established, why } => {
                        tracing::warn!(%peer, why, "BGP session closed");
                        if established {
                            backoff = RETRY_MIN;
                        }
                    }
                },
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "BGP connect failed"),
                Err(_) => tracing::info!(%peer, "BGP connect timed out"),
            }
            self.status.set_state(SessionState::Idle);
            // Jitter keeps several nodes from reconnecting in step.
            let wait = backoff.mul_f64(rand::random_range(0.75..=1.0));
            tokio::select! {
                _ = stopped(&mut stop) => break,
                _ = sleep(wait) => {}
            }
            backoff = (backoff * 2).min(RETRY_MAX);
        }
        self.status.set_state(SessionState::Idle);
    }

    async fn connect(&self) -> std::io::Result<TcpStream> {
        let peer = self.peer.address;
        let socket = if peer.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(local) = self.peer.local_address {
            socket.bind(SocketAddr::new(local, 0))?;
        }
        let stream = socket.connect(peer).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connection(
        &self,
        stream: TcpStream,
        want: &mut watch::Receiver<Option<State>>,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let local = match stream.local_addr() {
            Ok(local) => local.ip(),
            Err(e) => return End::Closed { established: false, why: e.to_string() },
        };
        let (reader, writer) = stream.into_split();
        let mut link = Link { reader: FramedRead::new(reader, Framer::default()), writer, status: &self.status };
        let session = match self.open(&mut link).await {
            Ok(session) => session,
            Err(why) => return End::Closed { established: false, why },
        };
        self.status.set_state(SessionState::Established);
        self.status.established.fetch_add(1, Ordering::Relaxed);
        tracing::info!(peer = %self.peer.address, hold_time = session.hold_time, ipv4 = session.ipv4, ipv6 = session.ipv6, "BGP session established");
        let end = self.established(&mut link, &session, local, want, stop).await;
        let _ = link.writer.shutdown().await;
        end
    }

    /// OpenSent and OpenConfirm: our OPEN out, the peer's checked, the
    /// KEEPALIVEs exchanged. The reason on failure.
    async fn open(&self, link: &mut Link<'_>) -> Result<Negotiated, String> {
        link.send(message::open(self.local_as, self.hold_time, self.router_id)).await?;
        self.status.set_state(SessionState::OpenSent);
        let open = match link.next(OPEN_WAIT).await? {
            BgpMessage::Open(open) => open,
            other => return Err(link.unexpected(other, SessionState::OpenSent).await),
        };
        let session = match message::check_open(&open, self.peer.peer_as, self.local_as, self.hold_time) {
            Ok(session) => session,
            Err(notification) => {
                let why = format!("unacceptable OPEN from AS {} ({notification:?})", open.my_asn4());
                link.notify(notification).await;
                return Err(why);
            }
        };
        link.send(BgpMessage::KeepAlive).await?;
        self.status.set_state(SessionState::OpenConfirm);
        let wait = if session.hold_time == 0 { OPEN_WAIT } else { Duration::from_secs(session.hold_time.into()) };
        match link.next(wait).await? {
            BgpMessage::KeepAlive => Ok(session),
            other => Err(link.unexpected(other, SessionState::OpenConfirm).await),
        }
    }

    async fn established(
        &self,
        link: &mut Link<'_>,
        session: &Negotiated,
        local: IpAddr,
        want: &mut watch::Receiver<Option<State>>,
        stop: &mut watch::Receiver<bool>,
    ) -> End {
        let closed = |why: String| End::Closed { established: true, why };
        let hops = self.next_hops(local);
        let hold = Duration::from_secs(session.hold_time.into());
        // Hold time 0: no keepalives, no hold timer (the far future).
        let never = Duration::from_secs(1 << 30);
        let (keepalive, silence) = if hold.is_zero() { (never, never) } else { (hold / 3, hold) };
        let mut hold_deadline = Instant::now() + silence;
        let mut keepalives = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
        let mut announced = None;
        want.mark_changed();
        loop {
            tokio::select! {
                _ = stopped(stop) => {
                    link.notify(message::cease()).await;
                    tracing::info!(peer = %self.peer.address, "BGP session ended (Cease)");
                    return End::Stopped;
                }
                changed = want.changed() => {
                    if changed.is_err() {
                        return End::Stopped;
                    }
                    let Some(target) = *want.borrow_and_update() else { continue };
                    if announced == Some(target) {
                        continue;
                    }
                    for update in self.routes.updates(announced, target, session, hops) {
                        if let Err(why) = link.send(update).await {
                            return closed(why);
                        }
                    }
                    announced = Some(target);
                }
                _ = keepalives.tick() => {
                    if let Err(why) = link.send(BgpMessage::KeepAlive).await {
                        return closed(why);
                    }
                }
                _ = sleep_until(hold_deadline) => {
                    link.notify(message::hold_timer_expired()).await;
                    return closed(format!("hold timer expired ({hold:?} without a message)"));
                }
                incoming = link.reader.next() => {
                    hold_deadline = Instant::now() + silence;
                    match link.take(incoming).await {
                        Err(why) => return closed(why),
                        Ok(None | Some(BgpMessage::KeepAlive | BgpMessage::Update(_))) => {}
                        Ok(Some(BgpMessage::RouteRefresh(_))) => {
                            // Send our routes again.
                            announced = None;
                            want.mark_changed();
                        }
                        Ok(Some(other)) => return closed(link.unexpected(other, SessionState::Established).await),
                    }
                }
            }
        }
    }

    /// Next hops per family: configured, else the session's own address.
    fn next_hops(&self, local: IpAddr) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
        let (own4, own6) = match local {
            IpAddr::V4(v4) => (Some(v4), None),
            IpAddr::V6(v6) => (None, Some(v6)),
        };
        (self.peer.next_hop4.or(own4), self.peer.next_hop6.or(own6))
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The connection's two halves and the counters.
struct Link<'a> {
    reader: FramedRead<OwnedReadHalf, Framer>,
    writer: OwnedWriteHalf,
    status: &'a PeerStatus,
}

impl Link<'_> {
    async fn send(&mut self, message: BgpMessage) -> Result<(), String> {
        let mut out = BytesMut::new();
        let kind = message::kind(&message);
        PeerStatus::count(&self.status.sent, &message);
        message::encode(message, &mut out).map_err(|e| format!("encoding {kind}: {e}"))?;
        self.writer.write_all(&out).await.map_err(|e| format!("sending {kind}: {e}"))
    }

    /// Sends a NOTIFICATION (the connection is closed after it).
    async fn notify(&mut self, notification: BgpNotificationMessage) {
        tracing::warn!(?notification, "sending BGP NOTIFICATION");
        let _ = self.send(BgpMessage::Notification(notification)).await;
    }

    /// The next message within `limit`; the reason the session ends if
    /// none comes.
    async fn next(&mut self, limit: Duration) -> Result<BgpMessage, String> {
        loop {
            let Ok(incoming) = timeout(limit, self.reader.next()).await else {
                self.notify(message::hold_timer_expired()).await;
                return Err(format!("nothing from the peer within {limit:?}"));
            };
            if let Some(message) = self.take(incoming).await? {
                return Ok(message);
            }
        }
    }

    /// What the reader yielded: a message (counted), None for a discarded
    /// one (counted and logged), or the reason the session ends (after
    /// the NOTIFICATION a read error calls for).
    async fn take(&mut self, incoming: Option<Result<Incoming, ReadError>>) -> Result<Option<BgpMessage>, String> {
        match incoming {
            None => Err("the peer closed the connection".into()),
            Some(Ok(Incoming::Message(message))) => {
                PeerStatus::count(&self.status.received, &message);
                Ok(Some(message))
            }
            Some(Ok(Incoming::Discarded { kind, detail })) => {
                self.status.discarded.fetch_add(1, Ordering::Relaxed);
                let peer = self.status.address;
                tracing::warn!(%peer, kind, detail, "malformed message from the BGP peer discarded");
                Ok(None)
            }
            Some(Err(error)) => {
                if let Some(notification) = error.notification() {
                    self.notify(notification).await;
                }
                Err(error.to_string())
            }
        }
    }

    /// A NOTIFICATION from the peer ends the session; any other message
    /// the state does not expect is an FSM error (RFC 4271 6.6).
    async fn unexpected(&mut self, message: BgpMessage, state: SessionState) -> String {
        if let BgpMessage::Notification(notification) = message {
            return format!("the peer sent a NOTIFICATION: {notification:?}");
        }
        let value = Box::new([]);
        let error = match state {
            SessionState::OpenSent => FiniteStateMachineError::ReceiveUnexpectedMessageInOpenSentState { value },
            SessionState::OpenConfirm => FiniteStateMachineError::ReceiveUnexpectedMessageInOpenConfirmState { value },
            _ => FiniteStateMachineError::ReceiveUnexpectedMessageInEstablishedState { value },
        };
        self.notify(BgpNotificationMessage::FiniteStateMachineError(error)).await;
        format!("unexpected {} in {}", message::kind(&message), state.name())
    }
}
