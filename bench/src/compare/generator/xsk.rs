//! An AF_XDP socket that transmits the prebuilt frames out of one queue of
//! an interface. The frames are written into its UMEM once; sending only
//! queues their descriptors, and the kernel takes as many per wakeup as
//! its TX budget allows. On a veth this is copy mode (`xsk_generic_xmit`
//! copies each frame into an skb and hands it to the driver), which still
//! saves the packet socket's per-frame system call work.

use std::{num::NonZeroU32, ptr::NonNull};

use anyhow::{Result, anyhow, bail};
use xdpilone::{BufIdx, DeviceQueue, IfInfo, RingTx, Socket, SocketConfig, Umem, UmemConfig, xdp::XdpDesc};

/// UMEM chunk per frame (aligned mode wants a power of two).
const CHUNK: u32 = 2048;
/// Descriptors in the TX and completion rings.
const RING: u32 = 4096;
/// `SOL_XDP` option `XDP_MAX_TX_SKB_BUDGET` (Linux 6.17): frames copy mode
/// sends per wakeup, 32 unless raised.
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;
const TX_BUDGET: libc::c_int = 512;

pub struct XskSender {
    // Declared before the UMEM and its area, so dropped first: the rings
    // belong to the socket the UMEM was registered on.
    tx: RingTx,
    device: DeviceQueue,
    descriptors: Vec<XdpDesc>,
    next: usize,
    /// Frames per wakeup the kernel was told it may send.
    pub budget: u32,
    _umem: Umem,
    _area: Area,
}

impl XskSender {
    /// Binds to queue 0 of `ifindex` in copy mode, TX only, with `frames`
    /// written into the UMEM.
    pub fn open(ifindex: u32, frames: &[Vec<u8>]) -> Result<XskSender> {
        let area = Area::new(frames.len() * CHUNK as usize)?;
        let config = UmemConfig { fill_size: 64, complete_size: RING, frame_size: CHUNK, headroom: 0, flags: 0 };
        // SAFETY: the area is page-aligned, owned by the sender and
        // unmapped only after the UMEM is dropped.
        let umem = unsafe { Umem::new(config, area.slice()) }.map_err(|e| anyhow!("registering a UMEM: {e}"))?;
        let mut descriptors = Vec::with_capacity(frames.len());
        for (i, frame) in frames.iter().enumerate() {
            let chunk = umem.frame(BufIdx(i as u32)).ok_or_else(|| anyhow!("frame {i} outside the UMEM"))?;
            if frame.len() > CHUNK as usize {
                bail!("a {}-byte frame does not fit a {CHUNK}-byte chunk", frame.len());
            }
            // SAFETY: the chunk lies in the area, which nothing else
            // touches before the socket is bound.
            unsafe { chunk.addr.cast::<u8>().as_ptr().copy_from_nonoverlapping(frame.as_ptr(), frame.len()) };
            descriptors.push(XdpDesc { addr: chunk.offset, len: frame.len() as u32, options: 0 });
        }
        let mut info = IfInfo::invalid();
        info.from_ifindex(ifindex).map_err(|e| anyhow!("interface {ifindex}: {e}"))?;
        info.set_queue(0);
        let socket = Socket::with_shared(&info, &umem).map_err(|e| anyhow!("an AF_XDP socket: {e}"))?;
        let device = umem.fq_cq(&socket).map_err(|e| anyhow!("the fill and completion rings: {e}"))?;
        let rings = SocketConfig {
            rx_size: None,
            tx_size: NonZeroU32::new(RING),
            bind_flags: SocketConfig::XDP_BIND_COPY | SocketConfig::XDP_BIND_NEED_WAKEUP,
        };
        let user = umem.rx_tx(&socket, &rings).map_err(|e| anyhow!("the TX ring: {e}"))?;
        let tx = user.map_tx().map_err(|e| anyhow!("mapping the TX ring: {e}"))?;
        let budget = raise_budget(tx.as_raw_fd());
        umem.bind(&user).map_err(|e| anyhow!("binding to queue 0 of interface {ifindex} in copy mode: {e}"))?;
        Ok(XskSender { tx, device, descriptors, next: 0, budget, _umem: umem, _area: area })
    }

    /// Queues the next frames as the rings have room, wakes the kernel to
    /// send them and reaps what it sent: the frames sent since the last
    /// call.
    pub fn pump(&mut self) -> u64 {
        let mut completions = self.device.complete(RING);
        let mut done = 0u64;
        while completions.read().is_some() {
            done += 1;
        }
        completions.release();
        let (start, count) = (self.next, self.descriptors.len());
        let queued = {
            let mut writer = self.tx.transmit(RING);
            let room = writer.capacity() as usize;
            let queued = writer.insert((0..room).map(|k| self.descriptors[(start + k) % count]));
            writer.commit();
            queued
        };
        self.next = (start + queued as usize) % count;
        if self.tx.needs_wakeup() {
            self.tx.wake();
        }
        done
    }
}

/// Lets copy mode send more than 32 frames a wakeup where the kernel
/// knows the option: the budget in force.
fn raise_budget(fd: libc::c_int) -> u32 {
    let (budget, size) = (TX_BUDGET, std::mem::size_of::<libc::c_int>() as libc::socklen_t);
    // SAFETY: an int option on a descriptor the TX ring owns.
    let set = unsafe { libc::setsockopt(fd, libc::SOL_XDP, XDP_MAX_TX_SKB_BUDGET, (&raw const budget).cast(), size) };
    if set == 0 { TX_BUDGET as u32 } else { 32 }
}

/// Anonymous page-aligned memory for the UMEM.
struct Area {
    base: NonNull<u8>,
    len: usize,
}

impl Area {
    fn new(len: usize) -> Result<Area> {
        // SAFETY: a fresh private anonymous mapping.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            bail!("mapping {len} bytes for a UMEM: {}", std::io::Error::last_os_error());
        }
        Ok(Area { base: NonNull::new(base.cast()).expect("mmap returned a mapping"), len })
    }

    fn slice(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.base, self.len)
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unused from here on.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
