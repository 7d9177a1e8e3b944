//! The DNS sockets on every VIP and listen address, bound before the fast
//! path is loaded: a fast path taken over from a previous daemon passes
//! its misses up at once, and the kernel queues them for these sockets
//! rather than refusing them.
//!
//! Each UDP socket gets the receive buffer configured (past the kernel's
//! net.core.rmem_max when the daemon has CAP_NET_ADMIN), and what the
//! kernel drops when one is full is counted for the metrics: those are
//! queries lost before the daemon saw them.

use std::{
    io,
    net::{IpAddr, SocketAddr},
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
};

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

/// UDP (`udp_sockets` of them, each with a receive buffer of
/// `receive_buffer` bytes) and TCP on each of `addresses`, port `port`;
/// and the watch on the UDP sockets' drops.
pub fn bind_all(
    addresses: &[IpAddr],
    port: u16,
    udp_sockets: usize,
    receive_buffer: usize,
) -> Result<(Vec<Bound>, UdpDrops), DaemonError> {
    let mut granted = usize::MAX;
    let mut watched = Vec::new();
    let bound = addresses
        .iter()
        .map(|ip| {
            let addr = SocketAddr::new(*ip, port);
            let error = |what: &'static str| move |source| DaemonError::Socket { what, addr, source };
            let udp = (0..udp_sockets.max(1))
                .map(|_| {
                    let socket = bind(addr, Type::DGRAM).map_err(error("binding UDP"))?;
                    granted = granted.min(set_receive_buffer(&socket, receive_buffer).map_err(error("sizing UDP"))?);
                    watched.push(socket.as_fd().try_clone_to_owned().map_err(error("watching UDP"))?);
                    UdpSocket::from_std(socket.into()).map_err(error("serving UDP"))
                })
                .collect::<Result<_, _>>()?;
            Ok(Bound { udp, tcp: listen(addr)? })
        })
        .collect::<Result<_, DaemonError>>()?;
    if granted < receive_buffer {
        tracing::warn!(
            asked = receive_buffer,
            granted,
            "the UDP receive buffers are smaller than service.udp_receive_buffer: raise net.core.rmem_max, or give \
             anycastd CAP_NET_ADMIN; bursts beyond them are dropped (anycast_udp_receive_drops_total)"
        );
    }
    Ok((bound, UdpDrops(watched)))
}

/// Sets `socket`'s receive buffer to `bytes`: past net.core.rmem_max if
/// the daemon may (SO_RCVBUFFORCE needs CAP_NET_ADMIN), else as far as it
/// allows. Returns the bytes granted.
fn set_receive_buffer(socket: &Socket, bytes: usize) -> io::Result<usize> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the option's value is a c_int, passed with its size.
    let forced = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } == 0;
    if !forced {
        socket.set_recv_buffer_size(bytes)?;
    }
    // The kernel doubles what it is given, for its own bookkeeping, and
    // reports the doubled size.
    Ok(socket.recv_buffer_size()? / 2)
}

/// The datagrams the kernel dropped on the UDP sockets (their receive
/// buffers full), read through duplicates of their descriptors.
pub struct UdpDrops(Vec<OwnedFd>);

/// SO_MEMINFO's fields (linux/sock_diag.h), and which one counts drops.
const SK_MEMINFO_VARS: usize = 9;
const SK_MEMINFO_DROPS: usize = 8;

impl UdpDrops {
    /// Drops on all the sockets since they were bound.
    pub fn total(&self) -> u64 {
        self.0.iter().filter_map(|fd| drops(fd.as_raw_fd()).ok()).sum()
    }
}

fn drops(fd: RawFd) -> io::Result<u64> {
    let mut meminfo = [0u32; SK_MEMINFO_VARS];
    let mut len = std::mem::size_of_val(&meminfo) as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `meminfo`.
    let status =
        unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_MEMINFO, meminfo.as_mut_ptr().cast(), &mut len) };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(meminfo[SK_MEMINFO_DROPS]))
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
