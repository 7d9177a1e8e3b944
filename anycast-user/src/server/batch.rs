//! Datagrams in and out by the batch: `recvmmsg(2)` and `sendmmsg(2)`, one
//! system call for up to [`BATCH`] of them, into and out of buffers kept
//! from one call to the next. The only unsafe code of the UDP service is
//! here.

use std::{io, mem, net::SocketAddr, os::fd::RawFd, ptr};

use socket2::{SockAddr, SockAddrStorage};

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// A receive buffer: any UDP payload fits, so no query is cut short.
const SLOT_LEN: usize = 65_535;

/// Received datagrams: the payload and sender of each.
pub struct Received {
    buffers: Box<[u8]>,
    addrs: Box<[libc::sockaddr_storage; BATCH]>,
    addr_lens: [libc::socklen_t; BATCH],
    lens: [usize; BATCH],
    count: usize,
}

/// Responses waiting to be sent, each with its client.
pub struct Outgoing {
    buffers: Vec<Vec<u8>>,
    peers: Vec<Option<SockAddr>>,
    count: usize,
    /// Of those, sent already.
    sent: usize,
}

impl Received {
    pub fn new() -> Received {
        Received {
            buffers: vec![0; BATCH * SLOT_LEN].into_boxed_slice(),
            // SAFETY: all zeros is a valid sockaddr_storage.
            addrs: Box::new(unsafe { mem::zeroed() }),
            addr_lens: [0; BATCH],
            lens: [0; BATCH],
            count: 0,
        }
    }

    /// Receives what is queued on `fd` (non-blocking), up to [`BATCH`]
    /// datagrams; how many. `WouldBlock` when nothing is.
    pub fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: zeroed iovec and mmsghdr are valid; each points into
        // buffers that outlive the call.
        let mut iovs: [libc::iovec; BATCH] = unsafe { mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
        for (i, (iov, msg)) in iovs.iter_mut().zip(msgs.iter_mut()).enumerate() {
            iov.iov_base = self.buffers[i * SLOT_LEN..].as_mut_ptr().cast();
            iov.iov_len = SLOT_LEN;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
            msg.msg_hdr.msg_name = ptr::from_mut(&mut self.addrs[i]).cast();
            msg.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        }
        // SAFETY: msgs holds BATCH valid headers.
        let n = unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, libc::MSG_DONTWAIT, ptr::null_mut()) };
        if n < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        for (i, msg) in msgs[..self.count].iter().enumerate() {
            self.lens[i] = msg.msg_len as usize;
            self.addr_lens[i] = msg.msg_hdr.msg_namelen;
        }
        Ok(self.count)
    }

    /// The `i`th datagram received and its sender (None for an address
    /// family that is not IP, which a UDP socket never reports).
    pub fn get(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let mut storage = SockAddrStorage::zeroed();
        // SAFETY: sockaddr_storage is one of the platform's types, and the
        // kernel wrote `addr_lens[i]` bytes of an address into it.
        let peer = unsafe {
            *storage.view_as::<libc::sockaddr_storage>() = self.addrs[i];
            SockAddr::new(storage, self.addr_lens[i])
        };
        (&self.buffers[i * SLOT_LEN..i * SLOT_LEN + self.lens[i]], peer.as_socket())
    }
}

impl Outgoing {
    pub fn new() -> Outgoing {
        Outgoing { buffers: vec![Vec::new(); BATCH], peers: vec![None; BATCH], count: 0, sent: 0 }
    }

    /// The buffer of the next response, cleared.
    pub fn next_buffer(&mut self) -> &mut Vec<u8> {
        let buffer = &mut self.buffers[self.count];
        buffer.clear();
        buffer
    }

    /// Queues the response just written into [`Outgoing::next_buffer`]
    /// for `peer`.
    pub fn push(&mut self, peer: SocketAddr) {
        self.peers[self.count] = Some(SockAddr::from(peer));
        self.count += 1;
    }

    /// Sends what is queued on `fd`; how many responses could not be sent
    /// (each is given up: a client retries a lost response).
    /// `WouldBlock` when the socket's buffer is full: call again, once it
    /// is writable, for the rest.
    pub fn send(&mut self, fd: RawFd) -> io::Result<usize> {
        let mut failed = 0;
        while self.sent < self.count {
            match self.send_from(fd, self.sent) {
                Ok(sent) => self.sent += sent,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(e),
                Err(_) => {
                    failed += 1;
                    self.sent += 1;
                }
            }
        }
        (self.count, self.sent) = (0, 0);
        Ok(failed)
    }

    fn send_from(&mut self, fd: RawFd, from: usize) -> io::Result<usize> {
        let pending = self.count - from;
        // SAFETY: zeroed iovec and mmsghdr are valid; each points into
        // buffers and addresses that outlive the call.
        let mut iovs: [libc::iovec; BATCH] = unsafe { mem::zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { mem::zeroed() };
        for (i, (iov, msg)) in iovs.iter_mut().zip(msgs.iter_mut()).take(pending).enumerate() {
            let buffer = &mut self.buffers[from + i];
            iov.iov_base = buffer.as_mut_ptr().cast();
            iov.iov_len = buffer.len();
            let peer = self.peers[from + i].as_ref().expect("a queued response has a peer");
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
            msg.msg_hdr.msg_name = peer.as_ptr().cast_mut().cast();
            msg.msg_hdr.msg_namelen = peer.len();
        }
        // SAFETY: msgs holds `pending` valid headers.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), pending as u32, libc::MSG_DONTWAIT) };
        if n <= 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}
