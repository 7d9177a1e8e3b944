//! A raw AF_PACKET socket that sends whole Ethernet frames out of one
//! interface, a burst per system call (sendmmsg), bypassing the qdisc. It
//! is bound with protocol 0, so it receives nothing.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use anyhow::{Context, Result, bail};

pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens the socket on interface `ifindex` of the calling thread's
    /// network namespace.
    pub fn open(ifindex: u32) -> Result<PacketSocket> {
        let fd = raw_socket()?;
        bind(&fd, ifindex)?;
        Ok(PacketSocket { fd })
    }

    /// Sends every frame, as few calls as the kernel allows. A frame the
    /// link drops (its peer's ring full: ENOBUFS) counts as sent: it was
    /// offered, and the answers counted show it lost.
    pub fn send_all(&self, frames: &[&[u8]]) -> Result<()> {
        let mut iovecs: Vec<libc::iovec> =
            frames.iter().map(|f| libc::iovec { iov_base: f.as_ptr() as *mut _, iov_len: f.len() }).collect();
        let mut messages: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .map(|iov| {
                // SAFETY: an all-zero msghdr is a valid empty one.
                let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
                header.msg_iov = iov;
                header.msg_iovlen = 1;
                libc::mmsghdr { msg_hdr: header, msg_len: 0 }
            })
            .collect();
        let mut done = 0;
        while done < messages.len() {
            let rest = &mut messages[done..];
            // SAFETY: `rest` points at initialised headers whose buffers
            // (the frames) outlive the call.
            let n = unsafe { libc::sendmmsg(self.fd.as_raw_fd(), rest.as_mut_ptr(), rest.len() as u32, 0) };
            if n < 0 {
                let error = io::Error::last_os_error();
                match error.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        done += 1;
                        continue;
                    }
                    _ => {}
                }
                return Err(error).context("sendmmsg");
            }
            if n == 0 {
                bail!("sendmmsg sent nothing");
            }
            done += n as usize;
        }
        Ok(())
    }
}

/// An AF_PACKET socket that sends whole frames, bypassing the qdisc (the
/// packet ring's too); not yet bound.
pub fn raw_socket() -> Result<OwnedFd> {
    // SAFETY: a plain system call; the descriptor is owned from here on.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error()).context("opening an AF_PACKET socket");
    }
    // SAFETY: a descriptor just made, owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_option(&fd, libc::PACKET_QDISC_BYPASS, &(1 as libc::c_int)).context("PACKET_QDISC_BYPASS")?;
    Ok(fd)
}

/// Binds `fd` to interface `ifindex` with protocol 0: it receives nothing.
pub fn bind(fd: &OwnedFd, ifindex: u32) -> Result<()> {
    // SAFETY: an all-zero sockaddr_ll is a valid one to fill in.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_ifindex = i32::try_from(ifindex).context("interface index")?;
    let length = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: a fully initialised address of `length` bytes.
    if unsafe { libc::bind(fd.as_raw_fd(), (&raw const address).cast(), length) } != 0 {
        return Err(io::Error::last_os_error()).with_context(|| format!("binding to interface {ifindex}"));
    }
    Ok(())
}

/// Sets a SOL_PACKET option of type `T`.
pub fn set_option<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    let size = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live `T` of `size` bytes.
    match unsafe { libc::setsockopt(fd.as_raw_fd(), libc::SOL_PACKET, name, (value as *const T).cast(), size) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}
