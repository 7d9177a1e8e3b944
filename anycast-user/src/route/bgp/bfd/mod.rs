//! BFD for the speaker's sessions (RFC 5880 asynchronous mode over
//! single-hop UDP, RFC 5881): a session with each peer that has `bfd`
//! on, so the router can end its BGP session within the detection time
//! (e.g. 3 x 100 ms) of this node going silent: a hung daemon, a dead
//! host, a link that fails without losing carrier. Its packets come from
//! the daemon's own runtime, so the liveness they prove is anycastd's.
//! The router acts on it; anycastd only reports its sessions' state
//! (its BGP sessions end by their hold time or the router's reset).
//!
//! One task runs every session: one socket per peer sends (TTL 255, a
//! source port from 49152-65535), one per family receives on port 3784
//! and drops anything that did not arrive with TTL 255, so from a
//! neighbour (GTSM, as RFC 5881 requires; checked on each datagram, since
//! Linux applies IP_MINTTL to TCP only).

mod packet;
mod session;
mod state;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::{AsRawFd, RawFd},
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::Rng;
use tokio::{io::Interest, net::UdpSocket, sync::watch, time::Instant};

use packet::Control;
use session::Session;
pub use session::Timers;
pub use state::BfdState;

/// The destination port of single-hop BFD control packets.
const PORT: u16 = 3784;
/// Packets from a neighbour arrive with the TTL they were sent with.
const NEIGHBOUR_TTL: u32 = 255;

/// One peer's BFD session as the metrics see it.
pub struct BfdStatus {
    state: AtomicU8,
    /// Times the session went down after being up.
    pub failures: AtomicU64,
}

impl Default for BfdStatus {
    fn default() -> BfdStatus {
        BfdStatus { state: AtomicU8::new(BfdState::Down as u8), failures: AtomicU64::new(0) }
    }
}

impl BfdStatus {
    pub fn state(&self) -> BfdState {
        BfdState::ALL[usize::from(self.state.load(Ordering::Relaxed))]
    }
}

/// A peer to keep a session with.
pub struct BfdPeer {
    pub address: IpAddr,
    pub local_address: Option<IpAddr>,
    pub status: Arc<BfdStatus>,
}

#[derive(Debug, thiserror::Error)]
pub enum BfdError {
    #[error("BFD socket {address}: {source}")]
    Socket { address: SocketAddr, source: std::io::Error },
}

struct Running {
    address: IpAddr,
    socket: UdpSocket,
    session: Session,
    next_send: Instant,
    status: Arc<BfdStatus>,
}

/// Runs every peer's session until `stop` turns true, then tells each
/// peer it is administratively down (so its end is not a failure).
pub async fn run(peers: Vec<BfdPeer>, timers: Timers, mut stop: watch::Receiver<bool>) -> Result<(), BfdError> {
    let v4 = listener(&peers, true).await?;
    let v6 = listener(&peers, false).await?;
    let mut running = Vec::new();
    for peer in peers {
        let discriminator = rand::rng().random_range(1..=u32::MAX);
        let socket = sender(peer.address, peer.local_address).await?;
        let session = Session::new(discriminator, timers);
        running.push(Running {
            address: peer.address,
            socket,
            session,
            next_send: Instant::now(),
            status: peer.status,
        });
    }
    let (mut buffer4, mut buffer6) = ([0u8; 512], [0u8; 512]);
    loop {
        let wake = tick(&mut running).await;
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            received = receive(v4.as_ref(), &mut buffer4) => deliver(&mut running, received, &buffer4),
            received = receive(v6.as_ref(), &mut buffer6) => deliver(&mut running, received, &buffer6),
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    for peer in &mut running {
        let mut goodbye = peer.session.packet();
        goodbye.state = BfdState::AdminDown;
        goodbye.diagnostic = 7;
        let _ = peer.socket.send(&goodbye.encode()).await;
    }
    Ok(())
}

/// Expires what went silent and sends what is due; when to look again.
async fn tick(running: &mut [Running]) -> Instant {
    let now = Instant::now();
    let mut wake = now + Duration::from_secs(1);
    for peer in running.iter_mut() {
        if let Some(state) = peer.session.check(now.into_std()) {
            record(peer, state);
        }
        if peer.session.owes_final() || now >= peer.next_send {
            if let Err(e) = peer.socket.send(&peer.session.packet().encode()).await {
                tracing::debug!(peer = %peer.address, error = %e, "BFD send");
            }
            peer.next_send = now + peer.session.tx_interval().map_or(Duration::from_secs(1), jitter);
        }
        wake = wake.min(peer.next_send);
        if let Some(deadline) = peer.session.deadline() {
            wake = wake.min(Instant::from_std(deadline));
        }
    }
    wake
}

/// Hands a received packet to the session it is for: by its Your
/// Discriminator, or (while that is 0) by where it came from.
fn deliver(running: &mut [Running], received: std::io::Result<Datagram>, buffer: &[u8]) {
    let Ok(Datagram { length, from, ttl }) = received else { return };
    if ttl != Some(NEIGHBOUR_TTL as libc::c_int) {
        tracing::debug!(%from, ?ttl, "BFD packet discarded: not from a neighbour (TTL below 255)");
        return;
    }
    let control = match Control::decode(&buffer[..length]) {
        Ok(control) => control,
        Err(e) => {
            tracing::debug!(%from, error = %e, "BFD packet discarded");
            return;
        }
    };
    let peer = running.iter_mut().find(|peer| {
        peer.address == from.ip()
            && (control.your_discriminator == 0 || control.your_discriminator == peer.session.discriminator())
    });
    if let Some(peer) = peer
        && let Some(state) = peer.session.receive(&control, std::time::Instant::now())
    {
        record(peer, state);
    }
}

fn record(peer: &Running, state: BfdState) {
    let was = peer.status.state();
    peer.status.state.store(state as u8, Ordering::Relaxed);
    if was == BfdState::Up && state != BfdState::Up {
        peer.status.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(peer = %peer.address, ?state, "BFD session down");
    } else if state == BfdState::Up {
        tracing::info!(peer = %peer.address, "BFD session up");
    }
}

/// 75 to 100 % of the interval, so sessions do not send in lockstep
/// (RFC 5880 section 6.8.7).
fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(0.75..=1.0))
}

/// A datagram received, with the TTL (hop limit) it arrived with.
struct Datagram {
    length: usize,
    from: SocketAddr,
    ttl: Option<libc::c_int>,
}

async fn receive(socket: Option<&UdpSocket>, buffer: &mut [u8]) -> std::io::Result<Datagram> {
    match socket {
        Some(socket) => socket.async_io(Interest::READABLE, || receive_with_ttl(socket.as_raw_fd(), buffer)).await,
        None => std::future::pending().await,
    }
}

/// recvmsg(2) with the IP_TTL or IPV6_HOPLIMIT control message the
/// listener asked for.
fn receive_with_ttl(fd: RawFd, buffer: &mut [u8]) -> std::io::Result<Datagram> {
    let mut control = [0u64; 8];
    let mut ttl = None;
    // SAFETY: recvmsg writes at most the lengths given into the buffers
    // given (the address into the storage try_init provides); the
    // control messages are walked with the kernel's own macros.
    let (length, from) = unsafe {
        socket2::SockAddr::try_init(|storage, address_length| {
            let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
            let mut message: libc::msghdr = std::mem::zeroed();
            message.msg_name = storage.cast();
            message.msg_namelen = *address_length;
            message.msg_iov = &mut iov;
            message.msg_iovlen = 1;
            message.msg_control = control.as_mut_ptr().cast();
            message.msg_controllen = std::mem::size_of_val(&control);
            let received = libc::recvmsg(fd, &mut message, 0);
            if received < 0 {
                return Err(std::io::Error::last_os_error());
            }
            *address_length = message.msg_namelen;
            let mut header = libc::CMSG_FIRSTHDR(&message);
            while !header.is_null() {
                let kind = ((*header).cmsg_level, (*header).cmsg_type);
                if kind == (libc::IPPROTO_IP, libc::IP_TTL) || kind == (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) {
                    ttl = Some(std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::c_int>()));
                }
                header = libc::CMSG_NXTHDR(&message, header);
            }
            Ok(received as usize)
        })?
    };
    let from = from.as_socket().ok_or_else(|| std::io::Error::other("a datagram from no IP address"))?;
    Ok(Datagram { length, from, ttl })
}

/// The family's receiving socket on port 3784, if a peer is of it.
async fn listener(peers: &[BfdPeer], v4: bool) -> Result<Option<UdpSocket>, BfdError> {
    if !peers.iter().any(|peer| peer.address.is_ipv4() == v4) {
        return Ok(None);
    }
    let any = if v4 { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let address = SocketAddr::new(any, PORT);
    let error = |source| BfdError::Socket { address, source };
    let socket =
        socket2::Socket::new(socket2::Domain::for_address(address), socket2::Type::DGRAM, None).map_err(error)?;
    if !v4 {
        socket.set_only_v6(true).map_err(error)?;
    }
    receive_ttl(&socket, v4).map_err(error)?;
    socket.set_nonblocking(true).map_err(error)?;
    socket.bind(&address.into()).map_err(error)?;
    UdpSocket::from_std(socket.into()).map(Some).map_err(error)
}

/// A socket that sends to `peer`'s port 3784 with TTL 255, from a source
/// port in 49152-65535 (RFC 5881 section 4).
async fn sender(peer: IpAddr, local: Option<IpAddr>) -> Result<UdpSocket, BfdError> {
    let destination = SocketAddr::new(peer, PORT);
    let error = |source| BfdError::Socket { address: destination, source };
    let local =
        local.unwrap_or(if peer.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() });
    let mut last = None;
    for _ in 0..16 {
        let port = rand::rng().random_range(49152..=65535);
        match bind_sender(SocketAddr::new(local, port), peer.is_ipv4()) {
            Ok(socket) => {
                let socket = UdpSocket::from_std(socket.into()).map_err(error)?;
                socket.connect(destination).await.map_err(error)?;
                return Ok(socket);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(error(last.expect("at least one try")))
}

fn bind_sender(source: SocketAddr, v4: bool) -> std::io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(source), socket2::Type::DGRAM, None)?;
    if v4 {
        socket.set_ttl_v4(NEIGHBOUR_TTL)?
    } else {
        socket.set_unicast_hops_v6(NEIGHBOUR_TTL)?
    }
    socket.set_nonblocking(true)?;
    socket.bind(&source.into())?;
    Ok(socket)
}

/// Asks for each datagram's TTL (IP_RECVTTL, IPV6_RECVHOPLIMIT).
fn receive_ttl(socket: &socket2::Socket, v4: bool) -> std::io::Result<()> {
    let (level, option) =
        if v4 { (libc::IPPROTO_IP, libc::IP_RECVTTL) } else { (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT) };
    let value: libc::c_int = 1;
    // SAFETY: a valid socket and an int option of the size given.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The listener's socket options on a loopback port: each datagram
    /// comes with the TTL it arrived with, for IPv4 and IPv6.
    #[tokio::test]
    async fn datagrams_arrive_with_their_ttl() {
        for (v4, any, loopback) in [
            (true, IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V4(Ipv4Addr::LOCALHOST)),
            (false, IpAddr::V6(Ipv6Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ] {
            let domain = socket2::Domain::for_address(SocketAddr::new(any, 0));
            let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, None).unwrap();
            receive_ttl(&socket, v4).unwrap();
            socket.set_nonblocking(true).unwrap();
            socket.bind(&SocketAddr::new(loopback, 0).into()).unwrap();
            let listener = UdpSocket::from_std(socket.into()).unwrap();
            let to = listener.local_addr().unwrap();
            for ttl in [64, NEIGHBOUR_TTL] {
                let sender = bind_sender(SocketAddr::new(loopback, 0), v4).unwrap();
                if v4 {
                    sender.set_ttl_v4(ttl).unwrap()
                } else {
                    sender.set_unicast_hops_v6(ttl).unwrap()
                }
                sender.send_to(b"bfd", &to.into()).unwrap();
                let mut buffer = [0u8; 16];
                let got = receive(Some(&listener), &mut buffer).await.unwrap();
                assert_eq!((got.length, got.ttl), (3, Some(ttl as libc::c_int)), "sent with TTL {ttl} (v4: {v4})");
                assert_eq!(got.from.ip(), loopback);
            }
        }
    }
}
