//! Serving stale (RFC 8767): when the servers fail a client question, or
//! do not answer within `stale_after`, an answer the cache holds past its
//! expiry (up to `stale_max`) is served with TTL 30, marked stale (EDE 3
//! to the client, never written to the fast path). The question is then
//! answered stale at once, without asking, for 30 s (the RFC's failure
//! recheck timer), so an outage does not cost every client the wait.

use std::{cell::Cell, time::Instant};

use hickory_proto::op::Query;

use super::{
    Answer, Resolver,
    cache::Trust,
    chain::{Chain, Next},
    iterate::step_from,
    question_key,
    telemetry::Source,
    upstream::Upstream,
};

impl<U: Upstream> Resolver<U> {
    /// A stale answer at once, if `question` was answered stale within
    /// the recheck time and the cache still has one.
    pub(super) fn stale_while_failing(&self, question: &Query) -> Option<Answer> {
        let pending = self.rechecks.lock().expect("rechecks lock").pending(&question_key(question), Instant::now());
        if !pending {
            return None;
        }
        let answer = self.stale_answer(question)?;
        self.stats.question(Source::Stale);
        Some(answer)
    }

    /// A stale answer for a question the servers failed or were too slow
    /// for, if the cache has one; the recheck timer starts.
    pub(super) fn stale_after_failure(&self, question: &Query) -> Option<Answer> {
        let answer = self.stale_answer(question)?;
        self.rechecks.lock().expect("rechecks lock").start(question_key(question), Instant::now());
        self.stats.question(Source::Stale);
        tracing::debug!(%question, "answered stale");
        Some(answer)
    }

    /// What the cache answers for `question`, expired data included, if
    /// any of it is expired (all fresh, the cache would have answered).
    /// Never for a name the local policy covers: a reload may have just put
    /// it under the policy, whose answer is the one to give.
    fn stale_answer(&self, question: &Query) -> Option<Answer> {
        if self.stale_max.is_zero() || self.local.covers(question.name(), question.query_type()) {
            return None;
        }
        let (rtype, class) = (question.query_type(), question.query_class());
        let cache = self.cache.lock().expect("cache lock");
        let now = Instant::now();
        let any_stale = Cell::new(false);
        let lookup = |name: &_, rtype| {
            let (found, stale) = cache.lookup_stale(name, rtype, class, Trust::Answer, now)?;
            any_stale.set(any_stale.get() || stale);
            Some(found)
        };
        let mut parts = Vec::new();
        let mut name = question.name().clone();
        for _ in 0..=self.limits.max_cname {
            match step_from(lookup, &name, rtype)?.next(&name, rtype) {
                Next::End(rcode, end) => {
                    parts.push(end);
                    let chain = Chain { rcode, parts, dropped: false };
                    return any_stale.get().then(|| Answer::from_chain(chain, true));
                }
                Next::Follow(link) => {
                    let (cname, target) = *link;
                    name = target;
                    parts.push(cname);
                }
            }
        }
        None
    }
}
