//! An AF_PACKET socket with a TX ring (TPACKET_V2), qdisc bypassed: the
//! frames are copied into slots of a ring shared with the kernel, and one
//! `send` has it transmit every slot marked ready. The fallback where
//! neither live frames nor AF_XDP are allowed.

use std::{
    io,
    os::fd::{AsRawFd, OwnedFd},
    ptr::NonNull,
};

use anyhow::{Context, Result, bail};

use super::packet_socket::{bind, raw_socket, set_option};

/// Bytes of one slot: its header, then the frame.
const SLOT: usize = 2048;
/// Slots in the ring (in blocks of one page pair each).
const SLOTS: usize = 4096;
const BLOCK: usize = 2 * 4096;
/// Where a slot's frame starts: after the aligned TPACKET_V2 header (the
/// kernel's `tp_hdrlen` less the `sockaddr_ll` that only RX fills in).
const DATA_AT: usize = libc::TPACKET2_HDRLEN - std::mem::size_of::<libc::sockaddr_ll>();

pub struct PacketRing {
    fd: OwnedFd,
    ring: NonNull<u8>,
    /// The slot written next.
    next: usize,
}

impl PacketRing {
    /// Opens the socket and its ring on interface `ifindex` of the calling
    /// thread's network namespace.
    pub fn open(ifindex: u32) -> Result<PacketRing> {
        let fd = raw_socket()?;
        let version = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
        set_option(&fd, libc::PACKET_VERSION, &version).context("PACKET_VERSION TPACKET_V2")?;
        let request = libc::tpacket_req {
            tp_block_size: BLOCK as u32,
            tp_block_nr: (SLOTS * SLOT / BLOCK) as u32,
            tp_frame_size: SLOT as u32,
            tp_frame_nr: SLOTS as u32,
        };
        set_option(&fd, libc::PACKET_TX_RING, &request).context("PACKET_TX_RING")?;
        // SAFETY: a shared mapping of the ring the kernel just made.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SLOTS * SLOT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error()).context("mapping the TX ring");
        }
        let ring = NonNull::new(ring.cast()).expect("mmap returned a mapping");
        // Made before binding, so that a failed bind unmaps the ring.
        let sender = PacketRing { fd, ring, next: 0 };
        bind(&sender.fd, ifindex)?;
        Ok(sender)
    }

    /// Copies frames from `frames` (in turn, from `first` on) into the free
    /// slots, has the kernel send them, and returns how many it took.
    pub fn send(&mut self, frames: &[Vec<u8>], first: u64) -> Result<u64> {
        let mut queued = 0u64;
        while (queued as usize) < SLOTS {
            let slot = self.slot(self.next);
            // SAFETY: the slot's header, in the mapped ring; the kernel
            // hands a slot back by setting its status to AVAILABLE.
            let header = unsafe { &mut *slot.cast::<libc::tpacket2_hdr>() };
            if unsafe { std::ptr::read_volatile(&header.tp_status) } != libc::TP_STATUS_AVAILABLE {
                break;
            }
            let frame = &frames[((first + queued) % frames.len() as u64) as usize];
            if frame.len() > SLOT - DATA_AT {
                bail!("a {}-byte frame does not fit a {SLOT}-byte slot", frame.len());
            }
            // SAFETY: the frame fits the slot after its header.
            unsafe { slot.add(DATA_AT).copy_from_nonoverlapping(frame.as_ptr(), frame.len()) };
            header.tp_len = frame.len() as u32;
            // SAFETY: as above; the status goes last, as the kernel reads it.
            unsafe { std::ptr::write_volatile(&mut header.tp_status, libc::TP_STATUS_SEND_REQUEST) };
            self.next = (self.next + 1) % SLOTS;
            queued += 1;
        }
        // SAFETY: a send of nothing on our own socket: the ring's ready
        // slots go out.
        if unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) } < 0 {
            let error = io::Error::last_os_error();
            // A full link (ENOBUFS) or a ring the kernel is still sending
            // from (EAGAIN): the slots wait for the next call.
            if !matches!(error.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)) {
                return Err(error).context("sending the TX ring");
            }
        }
        Ok(queued)
    }

    fn slot(&self, index: usize) -> *mut u8 {
        // SAFETY: index < SLOTS: inside the mapping.
        unsafe { self.ring.as_ptr().add(index * SLOT) }
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unused from here on.
        unsafe { libc::munmap(self.ring.as_ptr().cast(), SLOTS * SLOT) };
    }
}
