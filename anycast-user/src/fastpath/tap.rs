//! The XDP program's records of its answers: the TAP ring for dnstap and
//! the CAPTURE ring for `ctl capture`, which the daemon reads, and the
//! program's counters of what it sampled, capped or could not record.

use std::{
    marker::PhantomData,
    os::fd::{AsRawFd, RawFd},
};

use anycast_common::{
    map_names,
    tap::{CaptureRecord, TAP_CAPPED, TAP_CAPTURE_LOST, TAP_RECORDED, TAP_RING_FULL, TapRecord},
};
use tokio::io::{Interest, unix::AsyncFd};

use aya::{
    Pod,
    maps::{MapData, PerCpuArray, RingBuf},
};

use super::{FastPath, FastPathError, error::map_err};

/// A ring's reading end, of records of type `T`.
pub struct Ring<T>(RingBuf<MapData>, PhantomData<T>);

pub type TapRing = Ring<TapRecord>;
pub type CaptureRing = Ring<CaptureRecord>;

/// What the program counted, summed over the CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapCounts {
    pub recorded: u64,
    pub ring_full: u64,
    pub capped: u64,
    /// Captured answers the CAPTURE ring had no room for.
    pub capture_lost: u64,
}

/// The program's tap counters.
pub struct TapCounters(PerCpuArray<MapData, u64>);

impl FastPath {
    /// Takes the TAP ring and the counters out of the program's maps
    /// (once).
    pub fn take_tap(&mut self) -> Result<(TapRing, TapCounters), FastPathError> {
        let ring = self.take_ring(map_names::TAP)?;
        let stats = self.ebpf.take_map(map_names::TAP_STATS).ok_or(FastPathError::MissingMap(map_names::TAP_STATS))?;
        let stats = PerCpuArray::try_from(stats).map_err(map_err(map_names::TAP_STATS))?;
        Ok((ring, TapCounters(stats)))
    }

    /// Takes the CAPTURE ring out of the program's maps (once).
    pub fn take_capture(&mut self) -> Result<CaptureRing, FastPathError> {
        self.take_ring(map_names::CAPTURE)
    }

    fn take_ring<T>(&mut self, name: &'static str) -> Result<Ring<T>, FastPathError> {
        let map = self.ebpf.take_map(name).ok_or(FastPathError::MissingMap(name))?;
        Ok(Ring(RingBuf::try_from(map).map_err(map_err(name))?, PhantomData))
    }

    /// Turns the capture of every answer's frames on or off.
    pub fn set_capture(&mut self, on: bool) -> Result<(), FastPathError> {
        self.config.capture = on as u8;
        self.write_config()
    }
}

impl<T: Pod> Ring<T> {
    /// The next record, if one is waiting (a malformed one is skipped).
    pub fn next_record(&mut self) -> Option<T> {
        loop {
            let item = self.0.next()?;
            if item.len() == size_of::<T>() {
                // SAFETY: as many bytes as a record, which is Pod; the
                // ring's items need not be aligned for it.
                return Some(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<T>()) });
            }
        }
    }
}

impl<T> Ring<T> {
    /// The ring, registered with the runtime to wait for records.
    pub fn watch(self) -> std::io::Result<AsyncFd<Ring<T>>> {
        // SAFETY: the ring's map file descriptor is open for as long as
        // the ring is, which the AsyncFd owns, and always the same.
        unsafe { AsyncFd::register_with_interest(self, Interest::READABLE) }.map_err(|e| e.into_parts().1)
    }
}

impl<T> AsRawFd for Ring<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl TapCounters {
    pub fn read(&self) -> Result<TapCounts, FastPathError> {
        let sum = |slot: u32| -> Result<u64, FastPathError> {
            Ok(self.0.get(&slot, 0).map_err(map_err(map_names::TAP_STATS))?.iter().sum())
        };
        Ok(TapCounts {
            recorded: sum(TAP_RECORDED)?,
            ring_full: sum(TAP_RING_FULL)?,
            capped: sum(TAP_CAPPED)?,
            capture_lost: sum(TAP_CAPTURE_LOST)?,
        })
    }
}
