//! The DNS sockets on every VIP and listen address, bound before the fast
//! path is loaded: a fast path taken over from a previous daemon passes
//! its misses up at once, and the kernel queues them for these sockets
//! rather than refusing them.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

use super::error::DaemonError;

/// The sockets of one address: UDP, one per worker thread (SO_REUSEPORT:
/// the kernel spreads the clients over them, and each worker receives
/// and sends on its own), and TCP.
pub struct Bound {
    pub udp: Vec<UdpSocket>,
    pub tcp: TcpListener,
}

/// UDP (`udp_sockets` of them) and TCP on each of `addresses`, port `port`.
pub fn bind_all(addresses: &[IpAddr], port: u16, udp_sockets: usize) -> Result<Vec<Bound>, DaemonError> {
    addresses
        .iter()
        .map(|ip| {
            let addr = SocketAddr::new(*ip, port);
            let error = |what: &'static str| move |source| DaemonError::Socket { what, addr, source };
            let udp = (0..udp_sockets.max(1))
                .map(|_| {
                    let socket = bind(addr, Type::DGRAM).map_err(error("binding UDP"))?;
                    UdpSocket::from_std(socket.into()).map_err(error("serving UDP"))
                })
                .collect::<Result<_, _>>()?;
            Ok(Bound { udp, tcp: listen(addr)? })
        })
        .collect()
}

/// A TCP listener on each of `addresses`, port `port` (DNS over TLS and
/// HTTPS).
pub fn listen_all(addresses: &[IpAddr], port: u16) -> Result<Vec<TcpListener>, DaemonError> {
    addresses.iter().map(|ip| listen(SocketAddr::new(*ip, port))).collect()
}

fn listen(addr: SocketAddr) -> Result<TcpListener, DaemonError> {
    let error = |what: &'static str| move |source| DaemonError::Socket { what, addr, source };
    let tcp = bind(addr, Type::STREAM).map_err(error("binding TCP"))?;
    tcp.listen(1024).map_err(error("listening on"))?;
    TcpListener::from_std(tcp.into()).map_err(error("serving TCP"))
}

/// A socket bound to `addr` even before the address is on an interface
/// (IP_FREEBIND): the VIP may come and go with health.
fn bind(addr: SocketAddr, kind: Type) -> std::io::Result<Socket> {
    let protocol = if kind == Type::STREAM { Protocol::TCP } else { Protocol::UDP };
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_freebind_v6(true)?;
    } else {
        socket.set_freebind_v4(true)?;
    }
    socket.set_reuse_address(true)?;
    if kind == Type::DGRAM {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}
