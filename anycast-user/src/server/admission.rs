//! What a reload may change of how the server admits and answers its
//! clients: the ACL, the OPT record it makes (the NSID), and the rate
//! limits. The responder holds it behind one swap, so a reload replaces
//! it whole between two queries and a query sees one or the other.

use std::sync::Arc;

use super::edns::EdnsPolicy;
use crate::{
    policy::{
        acl::Acl,
        ratelimit::{Limiter, RateLimitSettings},
    },
    wire::Nsid,
};

pub struct Admission {
    pub acl: Acl,
    /// How the OPT record of a response is made: UDP size, NSID, cookies.
    pub edns: EdnsPolicy,
    /// Response rate limiting of what reaches the daemon over UDP; clients
    /// with a valid server cookie are let through.
    pub limiter: Option<Arc<Limiter>>,
    /// The same limit over TCP, with buckets of its own.
    pub tcp_limiter: Option<Arc<Limiter>>,
    /// What the limiters were made with.
    pub rate_limit: RateLimitSettings,
}

impl Admission {
    pub fn new(acl: Acl, edns: EdnsPolicy, rate_limit: RateLimitSettings) -> Admission {
        let limiter = || Limiter::new(&rate_limit).map(Arc::new);
        Admission { acl, edns, limiter: limiter(), tcp_limiter: limiter(), rate_limit }
    }

    /// The admission a reload makes: this one with another ACL, NSID and
    /// rate limit. The cookie secrets stay; so do the limiters' buckets
    /// when the rate limit is the same.
    pub fn reloaded(&self, acl: Acl, nsid: Nsid, rate_limit: RateLimitSettings) -> Admission {
        let edns = EdnsPolicy { nsid, ..self.edns.clone() };
        if rate_limit == self.rate_limit {
            let (limiter, tcp_limiter) = (self.limiter.clone(), self.tcp_limiter.clone());
            return Admission { acl, edns, limiter, tcp_limiter, rate_limit };
        }
        Admission::new(acl, edns, rate_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edns() -> EdnsPolicy {
        EdnsPolicy { udp_size: 1232, nsid: Nsid::new(b"a").unwrap(), cookies: None }
    }

    #[test]
    fn a_reload_keeps_the_buckets_unless_the_limit_changes() {
        let limit = RateLimitSettings { responses_per_second: 10, burst: 10, ..RateLimitSettings::OFF };
        let before = Admission::new(Acl::new(Vec::new()), edns(), limit);
        let same = before.reloaded(Acl::new(vec!["10.0.0.0/8".parse().unwrap()]), Nsid::new(b"b").unwrap(), limit);
        assert!(Arc::ptr_eq(same.limiter.as_ref().unwrap(), before.limiter.as_ref().unwrap()), "the same buckets");
        assert!(same.acl.allows("10.1.2.3".parse().unwrap()) && same.edns.nsid == Nsid::new(b"b").unwrap());
        let faster = RateLimitSettings { responses_per_second: 20, ..limit };
        let changed = before.reloaded(Acl::new(Vec::new()), Nsid::new(b"a").unwrap(), faster);
        assert!(!Arc::ptr_eq(changed.limiter.as_ref().unwrap(), before.limiter.as_ref().unwrap()), "new buckets");
        let off = before.reloaded(Acl::new(Vec::new()), Nsid::new(b"a").unwrap(), RateLimitSettings::OFF);
        assert!(off.limiter.is_none() && off.tcp_limiter.is_none(), "the limit turned off");
    }
}
