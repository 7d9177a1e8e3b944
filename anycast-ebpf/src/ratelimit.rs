//! The rate limiter's side in the fast path: charges a query to its
//! client prefix's bucket (see `anycast_common::ratelimit`).

use anycast_common::ratelimit::{RateBucket, RateLimit, Verdict, admit};

use crate::{maps::RATE_BUCKETS, net::Datagram};

#[inline(always)]
pub fn check(limit: &RateLimit, dgram: &Datagram, now: u64) -> Verdict {
    if !limit.is_on() {
        return Verdict::Answer;
    }
    let key = limit.key(&dgram.src, dgram.ipv6);
    match RATE_BUCKETS.get_ptr_mut(key) {
        // SAFETY: a live map value; a concurrent update on another CPU can
        // only be lost (see RATE_BUCKETS), not torn into a wrong type.
        Some(bucket) => admit(unsafe { &mut *bucket }, now, limit),
        None => {
            let mut bucket = RateBucket::default();
            let verdict = admit(&mut bucket, now, limit);
            // A full map evicts its least recently used prefix; an insert
            // that fails anyway leaves this prefix unlimited for now.
            let _ = RATE_BUCKETS.insert(key, bucket, 0);
            verdict
        }
    }
}
