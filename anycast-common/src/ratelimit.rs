//! Response rate limiting per client prefix, the same arithmetic on both
//! paths: the XDP program keeps its buckets in an LRU map, the daemon in a
//! table of its own, and both decide with [`admit`].
//!
//! A bucket is GCRA's theoretical arrival time (TAT): one response moves it
//! `interval_ns` into the future, time moves it back, and a response that
//! would put it more than `window_ns` ahead of now is over the limit. That
//! is a token bucket of `window_ns / interval_ns` tokens refilled one per
//! `interval_ns`, in one word, and a zeroed bucket is a full one.

/// The limit, as userspace writes it into [`crate::FastPathConfig`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Nanoseconds one response costs (1e9 / responses per second); 0 turns
    /// rate limiting off.
    pub interval_ns: u64,
    /// How far the TAT may run ahead of now: burst × `interval_ns`.
    pub window_ns: u64,
    /// Every `slip`-th response over the limit is sent as an empty TC=1
    /// response (the client retries over TCP, which cannot be spoofed); the
    /// others are dropped. 0 drops them all, 1 truncates them all.
    pub slip: u32,
    /// Network masks of the client prefix a bucket is kept for.
    pub mask_v4: [u8; 4],
    pub mask_v6: [u8; 16],
    pub _pad: [u8; 8],
}
const _: () = assert!(core::mem::size_of::<RateLimit>() == 48);

impl RateLimit {
    /// No limit.
    pub const OFF: RateLimit =
        RateLimit { interval_ns: 0, window_ns: 0, slip: 0, mask_v4: [0; 4], mask_v6: [0; 16], _pad: [0; 8] };

    pub const fn is_on(&self) -> bool {
        self.interval_ns != 0
    }

    /// The bucket key of a client: its address masked to the prefix.
    /// `addr` holds an IPv4 address in its first four bytes.
    #[inline(always)]
    pub fn key(&self, addr: &[u8; 16], ipv6: bool) -> RateKey {
        let mut prefix = [0u8; 16];
        if ipv6 {
            for i in 0..16 {
                prefix[i] = addr[i] & self.mask_v6[i];
            }
        } else {
            for i in 0..4 {
                prefix[i] = addr[i] & self.mask_v4[i];
            }
        }
        RateKey { prefix, family: if ipv6 { 6 } else { 4 }, _pad: [0; 3] }
    }
}

/// The rate limiter's key: a client prefix.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateKey {
    /// The masked address; IPv4 in the first four bytes.
    pub prefix: [u8; 16],
    /// 4 or 6.
    pub family: u8,
    pub _pad: [u8; 3],
}
const _: () = assert!(core::mem::size_of::<RateKey>() == 20);

/// One prefix's bucket.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBucket {
    /// Theoretical arrival time, CLOCK_BOOTTIME ns.
    pub tat_ns: u64,
    /// Responses over the limit so far, for choosing which ones slip.
    pub over: u32,
    pub _pad: u32,
}
const _: () = assert!(core::mem::size_of::<RateBucket>() == 16);

/// What to do with one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: answer.
    Answer,
    /// Over it: send an empty TC=1 response.
    Slip,
    /// Over it: send nothing.
    Drop,
}

/// Charges one response at `now` to `bucket`.
#[inline(always)]
pub fn admit(bucket: &mut RateBucket, now: u64, limit: &RateLimit) -> Verdict {
    let tat = if bucket.tat_ns > now { bucket.tat_ns } else { now };
    let next = tat + limit.interval_ns;
    if next - now <= limit.window_ns {
        bucket.tat_ns = next;
        return Verdict::Answer;
    }
    bucket.over = bucket.over.wrapping_add(1);
    if limit.slip != 0 && bucket.over.is_multiple_of(limit.slip) { Verdict::Slip } else { Verdict::Drop }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// 100 responses a second, a burst of 5, every 2nd over the limit slips.
    fn limit() -> RateLimit {
        RateLimit { interval_ns: 10 * MS, window_ns: 50 * MS, slip: 2, ..RateLimit::OFF }
    }

    #[test]
    fn a_burst_then_the_rate_then_slip_and_drop_alternate() {
        let (limit, mut bucket) = (limit(), RateBucket::default());
        let now = 1_000 * MS;
        let verdicts: [Verdict; 9] = core::array::from_fn(|_| admit(&mut bucket, now, &limit));
        use Verdict::*;
        assert_eq!(verdicts, [Answer, Answer, Answer, Answer, Answer, Drop, Slip, Drop, Slip]);
        // One interval later, one more token; not two.
        assert_eq!(admit(&mut bucket, now + 10 * MS, &limit), Answer);
        assert_eq!(admit(&mut bucket, now + 10 * MS, &limit), Drop);
        // A quiet second refills the whole burst, no more.
        let later = now + 1_000 * MS;
        let answered = (0..10).filter(|_| admit(&mut bucket, later, &limit) == Answer).count();
        assert_eq!(answered, 5);
    }

    #[test]
    fn a_steady_client_at_the_rate_is_always_answered() {
        let (limit, mut bucket) = (limit(), RateBucket::default());
        for i in 0..1_000 {
            assert_eq!(admit(&mut bucket, 5_000 * MS + i * 10 * MS, &limit), Verdict::Answer, "response {i}");
        }
    }

    #[test]
    fn slip_zero_drops_all_and_one_truncates_all() {
        for (slip, expected) in [(0, Verdict::Drop), (1, Verdict::Slip)] {
            let limit = RateLimit { slip, ..limit() };
            let mut bucket = RateBucket::default();
            for _ in 0..5 {
                admit(&mut bucket, MS, &limit);
            }
            assert!((0..10).all(|_| admit(&mut bucket, MS, &limit) == expected), "slip {slip}");
        }
    }

    #[test]
    fn keys_are_the_masked_prefix_of_each_family() {
        let limit = RateLimit {
            mask_v4: [255, 255, 255, 0],
            mask_v6: [255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..limit()
        };
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[10, 1, 2, 3]);
        let mut b = a;
        b[3] = 200;
        assert_eq!(limit.key(&a, false), limit.key(&b, false), "same /24");
        b[2] = 9;
        assert_ne!(limit.key(&a, false), limit.key(&b, false), "another /24");
        let v6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8];
        let key = limit.key(&v6, true);
        assert_eq!((key.family, key.prefix[6], key.prefix[7], key.prefix[15]), (6, 0, 0, 0));
        assert_ne!(limit.key(&v6, true), limit.key(&v6, false), "families never share a bucket");
    }
}
