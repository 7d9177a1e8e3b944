//! The XDP program's answer records for dnstap: the TAP ring the daemon
//! reads, and the program's counters of what it sampled, capped or could
//! not record.

use std::os::fd::{AsRawFd, RawFd};

use anycast_common::{
    map_names,
    tap::{TAP_CAPPED, TAP_RECORDED, TAP_RING_FULL, TapRecord},
};
use aya::maps::{MapData, PerCpuArray, RingBuf};

use super::{FastPath, FastPathError, error::map_err};

/// The ring's reading end.
pub struct TapRing(RingBuf<MapData>);

/// What the program counted, summed over the CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TapCounts {
    pub recorded: u64,
    pub ring_full: u64,
    pub capped: u64,
}

/// The program's tap counters.
pub struct TapCounters(PerCpuArray<MapData, u64>);

impl FastPath {
    /// Takes the ring and the counters out of the program's maps (once).
    pub fn take_tap(&mut self) -> Result<(TapRing, TapCounters), FastPathError> {
        let take = |fast_path: &mut FastPath, name: &'static str| {
            fast_path.ebpf.take_map(name).ok_or(FastPathError::MissingMap(name))
        };
        let ring = RingBuf::try_from(take(self, map_names::TAP)?).map_err(map_err(map_names::TAP))?;
        let stats = PerCpuArray::try_from(take(self, map_names::TAP_STATS)?).map_err(map_err(map_names::TAP_STATS))?;
        Ok((TapRing(ring), TapCounters(stats)))
    }
}

impl TapRing {
    /// The next record, if one is waiting (a malformed one is skipped).
    pub fn next_record(&mut self) -> Option<TapRecord> {
        loop {
            let item = self.0.next()?;
            if item.len() == size_of::<TapRecord>() {
                // SAFETY: as many bytes as a record, which is Pod; the
                // ring's items need not be aligned for it.
                return Some(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<TapRecord>()) });
            }
        }
    }
}

impl AsRawFd for TapRing {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl TapCounters {
    pub fn read(&self) -> Result<TapCounts, FastPathError> {
        let sum = |slot: u32| -> Result<u64, FastPathError> {
            Ok(self.0.get(&slot, 0).map_err(map_err(map_names::TAP_STATS))?.iter().sum())
        };
        Ok(TapCounts { recorded: sum(TAP_RECORDED)?, ring_full: sum(TAP_RING_FULL)?, capped: sum(TAP_CAPPED)? })
    }
}
