//! CLOCK_BOOTTIME, the clock `bpf_ktime_get_boot_ns` reads: answer entries
//! carry their insertion and expiry times on it, and it keeps counting while
//! the machine is suspended.

/// Nanoseconds of CLOCK_BOOTTIME now.
pub fn boottime_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out pointer; CLOCK_BOOTTIME
    // exists on every kernel that has XDP.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_BOOTTIME) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
