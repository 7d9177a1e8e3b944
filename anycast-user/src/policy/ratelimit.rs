//! Response rate limiting per client prefix: the settings both paths share,
//! and the daemon's own limiter for the UDP queries that reach it (what the
//! XDP program could not parse, and its misses).
//!
//! The two paths keep separate buckets with the same limit, so a client
//! whose queries go to both can get up to twice the rate; keeping the
//! daemon's buckets in the XDP map would cost two syscalls a query.

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use anycast_common::ratelimit::{RateBucket, RateKey, RateLimit, Verdict, admit};

use super::acl::prefix_mask;

/// The operator's rate limit (`[rate_limit]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Responses a second each client prefix gets; 0 is no limit.
    pub responses_per_second: u32,
    /// Responses a prefix may get at once after being quiet.
    pub burst: u32,
    /// Every `slip`-th response over the limit is an empty TC=1 response,
    /// the others are dropped; 0 drops them all.
    pub slip: u32,
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
    /// Prefixes tracked at once, on each path.
    pub table_size: u32,
}

impl RateLimitSettings {
    pub const OFF: RateLimitSettings = RateLimitSettings {
        responses_per_second: 0,
        burst: 1,
        slip: 2,
        ipv4_prefix: 24,
        ipv6_prefix: 56,
        table_size: 65_536,
    };

    /// The limit in the form both paths compute with.
    pub fn limit(&self) -> RateLimit {
        if self.responses_per_second == 0 {
            return RateLimit::OFF;
        }
        let interval_ns = (1_000_000_000 / u64::from(self.responses_per_second)).max(1);
        RateLimit {
            interval_ns,
            window_ns: interval_ns * u64::from(self.burst.max(1)),
            slip: self.slip,
            mask_v4: prefix_mask::<4>(self.ipv4_prefix),
            mask_v6: prefix_mask::<16>(self.ipv6_prefix),
            _pad: [0; 8],
        }
    }
}

/// The daemon's buckets.
pub struct Limiter {
    limit: RateLimit,
    capacity: usize,
    buckets: Mutex<HashMap<RateKey, RateBucket>>,
}

impl Limiter {
    /// None when the settings limit nothing.
    pub fn new(settings: &RateLimitSettings) -> Option<Limiter> {
        let limit = settings.limit();
        limit.is_on().then(|| Limiter {
            limit,
            capacity: settings.table_size.max(1) as usize,
            // Twice the table: a full table churns, and a hash table more
            // than half full grows to twice its size then (see the feed's
            // tracking); better now than minutes into a flood.
            buckets: Mutex::new(HashMap::with_capacity(2 * settings.table_size.max(1) as usize)),
        })
    }

    /// Charges one response to `client` at `now_ns` (CLOCK_BOOTTIME).
    pub fn admit(&self, client: IpAddr, now_ns: u64) -> Verdict {
        let (addr, ipv6) = match client.to_canonical() {
            IpAddr::V4(v4) => {
                let mut addr = [0u8; 16];
                addr[..4].copy_from_slice(&v4.octets());
                (addr, false)
            }
            IpAddr::V6(v6) => (v6.octets(), true),
        };
        let key = self.limit.key(&addr, ipv6);
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= self.capacity && !buckets.contains_key(&key) {
            // A bucket whose TAT has passed is full: dropping it loses
            // nothing. Under a flood from more prefixes than that, any
            // one goes (the XDP map evicts the least recently used).
            buckets.retain(|_, bucket| bucket.tat_ns > now_ns);
            if buckets.len() >= self.capacity
                && let Some(victim) = buckets.keys().next().copied()
            {
                buckets.remove(&victim);
            }
        }
        admit(buckets.entry(key).or_default(), now_ns, &self.limit)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn settings() -> RateLimitSettings {
        RateLimitSettings { responses_per_second: 100, burst: 5, slip: 2, table_size: 4, ..RateLimitSettings::OFF }
    }

    #[test]
    fn masks_and_interval_follow_the_settings() {
        let limit = settings().limit();
        assert_eq!((limit.interval_ns, limit.window_ns, limit.slip), (10 * MS, 50 * MS, 2));
        assert_eq!(limit.mask_v4, [255, 255, 255, 0]);
        assert_eq!(limit.mask_v6[..8], [255, 255, 255, 255, 255, 255, 255, 0]);
        assert_eq!(prefix_mask::<4>(0), [0; 4]);
        assert_eq!(prefix_mask::<4>(32), [255; 4]);
        assert_eq!(prefix_mask::<16>(128), [255; 16]);
        assert_eq!(prefix_mask::<4>(20), [255, 255, 240, 0]);
        assert!(!RateLimitSettings::OFF.limit().is_on());
        assert!(Limiter::new(&RateLimitSettings::OFF).is_none());
    }

    #[test]
    fn one_prefix_is_limited_and_another_is_not() {
        let limiter = Limiter::new(&settings()).unwrap();
        let now = 1_000 * MS;
        let flood: Vec<Verdict> = (0..20).map(|i| limiter.admit(IpAddr::from([10, 0, 0, i]), now)).collect();
        assert_eq!(flood.iter().filter(|v| **v == Verdict::Answer).count(), 5, "the burst, shared by the /24");
        assert_eq!(flood.iter().filter(|v| **v == Verdict::Slip).count(), 7, "every second one over it");
        assert_eq!(limiter.admit(IpAddr::from([10, 0, 1, 1]), now), Verdict::Answer, "another /24");
        let mapped = IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0005]);
        assert_ne!(limiter.admit(mapped, now), Verdict::Answer, "an IPv4-mapped address is its IPv4 prefix");
    }

    #[test]
    fn the_table_stays_within_its_size() {
        let limiter = Limiter::new(&settings()).unwrap();
        for i in 0..100u8 {
            assert_eq!(limiter.admit(IpAddr::from([10, 0, i, 1]), 1_000 * MS), Verdict::Answer);
            assert!(limiter.tracked() <= 4);
        }
    }
}
