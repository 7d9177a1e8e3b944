//! The clocks the XDP program reads too. CLOCK_BOOTTIME
//! (`bpf_ktime_get_boot_ns`): answer entries carry their insertion and
//! expiry times on it, and it keeps counting while the machine is
//! suspended. CLOCK_TAI (`bpf_ktime_get_tai_ns`): DNS cookie timestamps.

/// Nanoseconds of CLOCK_BOOTTIME now.
pub fn boottime_ns() -> u64 {
    now_ns(libc::CLOCK_BOOTTIME)
}

/// Nanoseconds of CLOCK_TAI now.
pub fn tai_ns() -> u64 {
    now_ns(libc::CLOCK_TAI)
}

/// Nanoseconds of CLOCK_REALTIME (Unix time) now.
pub fn realtime_ns() -> u64 {
    now_ns(libc::CLOCK_REALTIME)
}

/// One moment on the wall clock and on CLOCK_BOOTTIME: what dates the
/// times the XDP program stamps with the latter.
#[derive(Clone, Copy, Debug)]
pub struct Moment {
    pub wall: std::time::SystemTime,
    pub boot_ns: u64,
}

impl Moment {
    pub fn now() -> Moment {
        Moment { wall: std::time::SystemTime::now(), boot_ns: boottime_ns() }
    }

    /// The wall time of `boot_ns` (at or before this moment); None before
    /// the epoch.
    pub fn wall_time_of(&self, boot_ns: u64) -> Option<std::time::SystemTime> {
        self.wall.checked_sub(std::time::Duration::from_nanos(self.boot_ns.saturating_sub(boot_ns)))
    }
}

fn now_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out pointer; these clocks
    // exist on every kernel that has XDP.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
