//! The resolver: iterative from the root hints (RFC 1034 5.3.3) or
//! forwarding to upstream resolvers, over one cache.
//!
//! Iteration starts at the closest zone cut the cache knows (else at the
//! root hints), asks that zone's servers in order of smoothed RTT, and
//! follows referrals down. What a server says is believed only inside its
//! bailiwick: a referral must be to a child of the zone asked that contains
//! the name, and glue, answers and SOAs outside the zone are dropped. NS
//! names without glue are resolved on the side. CNAME chains are followed
//! across zones. Every client question has a budget (outgoing queries,
//! referrals per step, CNAME links, nested NS lookups, a deadline), and
//! running out of it is SERVFAIL.
//!
//! With validation on, every query upstream has DO set and every answer
//! to a client is validated (`validate`) before it leaves: the cache holds
//! RRSIGs and denial records with their RRsets and each entry's verdict.

pub mod cache;
mod case;
mod chain;
pub mod failure;
pub mod hints;
mod iterate;
mod local;
pub mod minimise;
mod outstanding;
mod rechecks;
pub mod routes;
pub mod servers;
mod stale;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testnet;
#[cfg(test)]
mod tests;
pub mod ttl;
pub mod upstream;
pub mod upstream_tap;
mod validate;
mod zones;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use hickory_proto::{
    op::{Edns, Message, MessageType, OpCode, Query, ResponseCode},
    rr::{DNSClass, Name, Record, RecordType},
};
use tokio::sync::OnceCell;

use self::{
    cache::{Cache, CacheLimits},
    chain::{Ask, Chain},
    failure::Failure,
    hints::RootHints,
    minimise::Minimisation,
    routes::Routes,
    servers::ServerStats,
    telemetry::{ResolverStats, Source},
    ttl::TtlPolicy,
    upstream::Upstream,
    zones::Zones,
};
use crate::{
    dnssec::{
        self, Security,
        anchors::Anchors,
        verify::{Memo, Work, WorkLimits},
    },
    policy::local::Local,
};

/// Verified signatures remembered (each its key, data and signature: a few
/// hundred bytes).
const MEMO_CAPACITY: usize = 16_384;

/// Where answers come from. `H` is how the root servers are known: loaded
/// hints (what the resolver runs with), or, in the configuration, the
/// hints file to load (None: IANA's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode<H = RootHints> {
    /// Iterate from these root servers.
    Recursive(H),
    /// Ask these resolvers (with RD set), best first by smoothed RTT.
    Forward(Vec<SocketAddr>),
}

impl<H> Mode<H> {
    /// The same mode with its root hints turned into `G` by `load`.
    pub fn load_hints<G, E>(self, load: impl FnOnce(H) -> Result<G, E>) -> Result<Mode<G>, E> {
        Ok(match self {
            Mode::Recursive(hints) => Mode::Recursive(load(hints)?),
            Mode::Forward(forwarders) => Mode::Forward(forwarders),
        })
    }
}

/// The work one client question may cause.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Queries sent to other servers, NS address lookups included.
    pub max_queries: u32,
    /// Referrals followed in one walk down the tree.
    pub max_referrals: u32,
    /// CNAME links followed.
    pub max_cname: u32,
    /// Nested lookups of NS addresses.
    pub max_ns_depth: u32,
    /// NS names whose addresses are looked up, in all (NXNS: a referral to
    /// a hundred names without glue must not cost a hundred lookups).
    pub max_ns_lookups: u32,
    /// Questions under way to one zone's servers, and queries to one
    /// server, at once.
    pub max_outstanding_per_zone: usize,
    pub max_outstanding_per_server: usize,
    /// Time for the whole question.
    pub deadline: Duration,
    /// How long a client waits for the servers before a stale answer is
    /// given, if the cache has one (RFC 8767's client response timer).
    pub stale_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_queries: 64,
            max_referrals: 16,
            max_cname: 12,
            max_ns_depth: 4,
            max_ns_lookups: 8,
            max_outstanding_per_zone: 1024,
            max_outstanding_per_server: 1024,
            deadline: Duration::from_secs(6),
            stale_after: Duration::from_millis(1800),
        }
    }
}

/// The resolver's answer to a client question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub rcode: ResponseCode,
    /// The CNAME chain, then the answer RRset, each RRset followed by its
    /// RRSIGs.
    pub answers: Vec<Record>,
    /// The SOA of a negative answer, and the DNSSEC records that prove a
    /// negative answer or a wildcard expansion.
    pub authorities: Vec<Record>,
    /// Served from expired data (RFC 8767): TTLs of 30 s, EDE 3 to the
    /// client, never written to the fast path.
    pub stale: bool,
    /// What validation says of the whole answer.
    pub security: Security,
    /// The local policy says: no response at all (a `deny` zone, an RPZ
    /// drop). The RCODE is REFUSED, for whoever does not look.
    pub dropped: bool,
}

impl Answer {
    fn servfail() -> Answer {
        Answer {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authorities: Vec::new(),
            stale: false,
            security: Security::Unchecked,
            dropped: false,
        }
    }

    /// The answer a chain of parts makes, its verdict theirs together.
    fn from_chain(chain: Chain, stale: bool) -> Answer {
        let mut answers = Vec::new();
        let mut authorities: Vec<Record> = Vec::new();
        let mut security = Security::Secure;
        for part in chain.parts {
            security = security.and(part.found.security);
            answers.extend(part.found.records);
            for record in part.found.authority {
                // Links expanded from one wildcard share its proof.
                if !authorities.contains(&record) {
                    authorities.push(record);
                }
            }
        }
        Answer { rcode: chain.rcode, answers, authorities, stale, security, dropped: chain.dropped }
    }

    /// The answer and authority sections for a client: a client without
    /// DO gets no RRSIG, NSEC or NSEC3 records but those of the type it
    /// asked for (RFC 4035 3.2.1).
    pub fn sections(&self, dnssec_ok: bool, qtype: RecordType) -> (Vec<Record>, Vec<Record>) {
        let keep = |r: &&Record| dnssec_ok || !dnssec::is_dnssec_record(r);
        let answers = self.answers.iter().filter(|r| keep(r) || r.record_type() == qtype).cloned().collect();
        (answers, self.authorities.iter().filter(keep).cloned().collect())
    }
}

/// Validation's settings.
#[derive(Clone, Debug)]
pub struct Validation {
    pub anchors: Anchors,
    pub work: WorkLimits,
}

/// Counts what one client question has used.
struct Budget {
    queries_left: u32,
    ns_lookups_left: u32,
    /// Crypto left for validating its answer.
    work: Work,
}

impl Budget {
    fn spend_query(&mut self) -> Result<(), Failure> {
        self.queries_left = self.queries_left.checked_sub(1).ok_or(Failure::Budget("outgoing queries"))?;
        Ok(())
    }

    fn spend_ns_lookup(&mut self) -> Result<(), Failure> {
        self.ns_lookups_left = self.ns_lookups_left.checked_sub(1).ok_or(Failure::Budget("NS lookups"))?;
        Ok(())
    }
}

type QuestionKey = (Name, RecordType, DNSClass);

/// The port authoritative servers are asked on.
const DNS_PORT: u16 = 53;

pub struct Resolver<U> {
    upstream: U,
    mode: Mode,
    limits: Limits,
    cache: Mutex<Cache>,
    /// The cache's TTL policy, for answers that come fresh from a server.
    ttl: TtlPolicy,
    /// Whether upstream queries carry 0x20 (see `case`).
    randomise_case: bool,
    /// QNAME minimisation on the walk down (see `minimise`).
    minimisation: Minimisation,
    /// How long past expiry the cache serves stale (see `stale`).
    stale_max: Duration,
    servers: Mutex<ServerStats>,
    outstanding: outstanding::Outstanding,
    /// Questions being resolved: later askers wait for the first.
    inflight: Mutex<HashMap<QuestionKey, Arc<OnceCell<Answer>>>>,
    /// Questions answered stale lately, and until when they are answered
    /// stale without asking (see `stale`).
    rechecks: Mutex<rechecks::Rechecks<QuestionKey>>,
    /// Validation, when on; the zones whose keys it has checked, and the
    /// signatures it has verified.
    validation: Option<Validation>,
    zones: Mutex<Zones>,
    memo: Memo,
    /// The local zones and blocklists, asked before anything else.
    local: Arc<Local>,
    /// Forward and stub zones, swapped whole on reload.
    routes: RwLock<Arc<Routes>>,
    pub stats: ResolverStats,
}

impl<U: Upstream> Resolver<U> {
    pub fn new(upstream: U, mode: Mode, limits: Limits, cache: CacheLimits) -> Resolver<U> {
        Resolver {
            upstream,
            mode,
            limits,
            ttl: cache.ttl,
            randomise_case: true,
            minimisation: Minimisation::default(),
            stale_max: cache.stale_max,
            cache: Mutex::new(Cache::new(cache)),
            servers: Mutex::new(ServerStats::default()),
            outstanding: outstanding::Outstanding::new(
                limits.max_outstanding_per_zone,
                limits.max_outstanding_per_server,
            ),
            inflight: Mutex::new(HashMap::new()),
            rechecks: Mutex::new(rechecks::Rechecks::default()),
            validation: None,
            zones: Mutex::new(Zones::default()),
            memo: Memo::new(MEMO_CAPACITY),
            local: Arc::default(),
            routes: RwLock::default(),
            stats: ResolverStats::default(),
        }
    }

    /// The resolver sending the zones `routes` names their own way (none
    /// by default).
    pub fn with_routes(self, routes: Routes) -> Resolver<U> {
        *self.routes.write().expect("routes lock") = Arc::new(routes);
        self
    }

    /// The forward and stub zones in force.
    pub fn routes(&self) -> Arc<Routes> {
        self.routes.read().expect("routes lock").clone()
    }

    /// Puts `routes` in force and forgets what the cache holds at or below
    /// each zone whose route changed; the zones that changed.
    pub fn replace_routes(&self, routes: Routes) -> Vec<Name> {
        let mut current = self.routes.write().expect("routes lock");
        let changed: Vec<Name> = current.changed(&routes).cloned().collect();
        *current = Arc::new(routes);
        drop(current);
        let mut cache = self.cache.lock().expect("cache lock");
        cache.purge_where(|name| changed.iter().any(|zone| zone.zone_of(name)));
        changed
    }

    /// The resolver answering from `local` what the policy answers (none
    /// by default).
    pub fn with_local_policy(mut self, local: Arc<Local>) -> Resolver<U> {
        self.local = local;
        self
    }

    /// The resolver validating with `validation` (off when None, the
    /// default).
    pub fn with_validation(mut self, validation: Option<Validation>) -> Resolver<U> {
        self.validation = validation;
        self
    }

    /// The resolver minimising QNAMEs as `mode` says (relaxed by default).
    pub fn with_qname_minimisation(mut self, mode: Minimisation) -> Resolver<U> {
        self.minimisation = mode;
        self
    }

    /// The resolver asking with 0x20 (the default) or without.
    pub fn with_case_randomisation(mut self, on: bool) -> Resolver<U> {
        self.randomise_case = on;
        self
    }

    /// Answers a client's `question`, from the cache or by asking.
    /// Concurrent askers of the same question share one resolution. When
    /// the servers fail, or do not answer within `stale_after`, what the
    /// cache holds past its expiry is served instead (RFC 8767).
    pub async fn resolve(&self, question: &Query) -> Answer {
        if let Some(stale) = self.stale_while_failing(question) {
            return stale;
        }
        let mut work = std::pin::pin!(self.resolve_shared(question, false));
        let (answer, source) = match tokio::time::timeout(self.limits.stale_after, &mut work).await {
            Ok(done) => done,
            Err(_) => match self.stale_after_failure(question) {
                Some(stale) => return stale,
                None => work.await,
            },
        };
        if answer.rcode == ResponseCode::ServFail
            && let Some(stale) = self.stale_after_failure(question)
        {
            return stale;
        }
        self.stats.question(source);
        answer
    }

    async fn resolve_shared(&self, question: &Query, afresh: bool) -> (Answer, Source) {
        let key = question_key(question);
        let cell = self.inflight.lock().expect("inflight lock").entry(key.clone()).or_default().clone();
        let mut source = Source::Shared;
        let resolution = cell
            .get_or_init(|| async {
                let (resolution, own) = self.resolve_uncoalesced(question, afresh).await;
                source = own;
                resolution
            })
            .await
            .clone();
        let mut inflight = self.inflight.lock().expect("inflight lock");
        if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&key);
        }
        (resolution, source)
    }

    async fn resolve_uncoalesced(&self, question: &Query, afresh: bool) -> (Answer, Source) {
        let work = Work::new(self.validation.as_ref().map_or(WorkLimits::default(), |v| v.work));
        let mut budget =
            Budget { queries_left: self.limits.max_queries, ns_lookups_left: self.limits.max_ns_lookups, work };
        let (name, rtype, class) = (question.name().clone(), question.query_type(), question.query_class());
        let work = async {
            let chain = self.resolve_name(name, rtype, class, &mut budget, 0, Ask::Client { afresh }).await?;
            self.validate(chain, class, &mut budget).await
        };
        let outcome = tokio::time::timeout(self.limits.deadline, work).await.unwrap_or(Err(Failure::Deadline));
        let source = if budget.queries_left == self.limits.max_queries { Source::Cache } else { Source::Network };
        let resolution = outcome.unwrap_or_else(|failure| {
            tracing::debug!(%failure, question = %question, "SERVFAIL");
            self.stats.failure(&failure);
            Answer::servfail()
        });
        (resolution, source)
    }

    /// Answers `question` from the servers rather than the cache (whose
    /// copy is about to expire): for refreshing what the fast path serves.
    /// The cached copy stays until a new answer replaces it, so a failure
    /// here takes nothing from the clients.
    pub async fn refresh(&self, question: &Query) -> Answer {
        self.resolve_shared(question, true).await.0
    }

    /// The network it asks, for tests that cut or slow it.
    #[cfg(test)]
    pub fn upstream_for_tests(&self) -> &U {
        &self.upstream
    }

    /// What the cache knows now about (name, type, class).
    #[cfg(test)]
    pub fn cached(&self, name: &Name, rtype: RecordType, class: DNSClass) -> Option<cache::Lookup> {
        self.cache.lock().expect("cache lock").lookup(name, rtype, class, cache::Trust::Glue, std::time::Instant::now())
    }

    /// Forgets `name` in the cache; true if anything was cached.
    pub fn purge(&self, name: &Name) -> bool {
        let name = name.to_lowercase();
        self.cache.lock().expect("cache lock").purge_where(|n| *n == name) > 0
    }

    /// Entries in the cache.
    pub fn cache_len(&self) -> usize {
        self.cache.lock().expect("cache lock").len()
    }

    /// Bytes the cache's entries hold, roughly.
    pub fn cache_bytes(&self) -> usize {
        self.cache.lock().expect("cache lock").bytes()
    }

    /// Every live RRset in the cache, TTLs aged.
    pub fn dump(&self) -> Vec<Vec<Record>> {
        self.cache.lock().expect("cache lock").rrsets(std::time::Instant::now()).collect()
    }
}

fn question_key(question: &Query) -> QuestionKey {
    (question.name().to_lowercase(), question.query_type(), question.query_class())
}

/// A query as the resolver sends it: EDNS with a 1232-byte buffer, RD set
/// only when forwarding, DO when validating.
fn outgoing_query(
    name: &Name,
    rtype: RecordType,
    class: DNSClass,
    recursion_desired: bool,
    dnssec_ok: bool,
) -> Message {
    let mut query = Query::query(name.clone(), rtype);
    query.set_query_class(class);
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = recursion_desired;
    message.queries.push(query);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.flags_mut().dnssec_ok = dnssec_ok;
    message.edns = Some(edns);
    message
}
