//! The resolution steps behind [`Resolver::resolve`]: the CNAME loop over
//! the cache, the walk down the tree (or the question to a forwarder), and
//! the reading of each reply under the bailiwick rules.

use std::{
    collections::VecDeque,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    time::Instant,
};

use hickory_proto::{
    op::{Message, ResponseCode},
    rr::{DNSClass, Name, RData, Record, RecordType},
};

use super::{
    Budget, DNS_PORT, Mode, Resolver,
    cache::{Found, Lookup, Trust},
    case,
    chain::{Ask, Chain, Next, Step},
    failure::Failure,
    local::LocalStep,
    minimise, outgoing_query,
    routes::Route,
    telemetry::Exchange,
    upstream::{Upstream, UpstreamError},
};
use crate::dnssec;

/// How a reply from a server of `zone` reads.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// The RRset asked for (with its RRSIGs); `cacheable` holds the
    /// in-bailiwick part of the answer section's CNAME chain from the name
    /// asked, and the RRset at its end: nothing else an answer section
    /// carries is believed. `proof` is the authority section's NSEC or
    /// NSEC3 records, for the RRsets expanded from a wildcard.
    Answer {
        records: Vec<Record>,
        cacheable: Vec<Vec<Record>>,
        proof: Vec<Record>,
    },
    Cname {
        cname: Vec<Record>,
        cacheable: Vec<Vec<Record>>,
        proof: Vec<Record>,
    },
    /// The SOA, its RRSIGs and the denial records (empty without a SOA).
    NxDomain(Vec<Record>),
    NoData(Vec<Record>),
    /// Go ask the servers of `zone`; `ds` is the DS RRset the parent
    /// gave with the referral, if it has one.
    Referral {
        zone: Name,
        ns: Vec<Record>,
        glue: Vec<Vec<Record>>,
        ds: Vec<Record>,
    },
    /// Nothing usable: try another server.
    Lame(&'static str),
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

impl<U: Upstream> Resolver<U> {
    /// Follows (name, type) through CNAMEs until an answer or a negative.
    /// For a client's question the local policy has the first word on
    /// every link (see `local`).
    pub(super) fn resolve_name<'a>(
        &'a self,
        name: Name,
        rtype: RecordType,
        class: DNSClass,
        budget: &'a mut Budget,
        depth: u32,
        ask: Ask,
    ) -> Boxed<'a, Chain> {
        Box::pin(async move {
            let mut parts = Vec::new();
            let mut current = name;
            for link in 0..=self.limits.max_cname {
                let local = match ask {
                    Ask::Client { .. } => self.local_step(&current, rtype, link == 0),
                    Ask::Internal => LocalStep::Resolve,
                };
                let step = match local {
                    LocalStep::Step(step) => step,
                    LocalStep::Stop { dropped } => {
                        return Ok(Chain { rcode: ResponseCode::Refused, parts: Vec::new(), dropped });
                    }
                    LocalStep::Resolve => {
                        let afresh = matches!(ask, Ask::Client { afresh: true }) && link == 0;
                        let cached = if afresh { None } else { self.cached_step(&current, rtype, class) };
                        match cached {
                            Some(step) => step,
                            None => self.step(&current, rtype, class, budget, depth).await?,
                        }
                    }
                };
                match step.next(&current, rtype) {
                    Next::End(rcode, end) => {
                        parts.push(end);
                        return Ok(Chain { rcode, parts, dropped: false });
                    }
                    Next::Follow(link) => {
                        let (cname, target) = *link;
                        current = target;
                        parts.push(cname);
                    }
                }
            }
            Err(Failure::Budget("CNAME links"))
        })
    }

    fn cached_step(&self, name: &Name, rtype: RecordType, class: DNSClass) -> Option<Step> {
        let cache = self.cache.lock().expect("cache lock");
        let now = Instant::now();
        // Only data an answer gave answers a client (RFC 2181 5.4.1).
        step_from(|name, rtype| cache.lookup(name, rtype, class, Trust::Answer, now), name, rtype)
    }

    /// One step for (name, type): ask the forwarders, or walk down from the
    /// closest known zone cut, as the route of the zone the answer is in
    /// says (the resolver's mode where none does). A DS RRset is the
    /// parent's (RFC 4035 3.1.4.1): asked of the zone above the name.
    async fn step(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        budget: &mut Budget,
        depth: u32,
    ) -> Result<Step, Failure> {
        let above = match rtype {
            RecordType::DS if !name.is_root() => name.base_name(),
            _ => name.clone(),
        };
        let routes = self.routes();
        let question = (name, rtype, class);
        match (routes.route(&above), &self.mode) {
            (Some((_, Route::Forward(servers))), _) | (None, Mode::Forward(servers)) => {
                self.forward(servers.clone(), question, budget).await
            }
            (Some((zone, Route::Stub(servers))), _) => {
                let stub = Some((zone.clone(), servers.clone()));
                self.walk_down(&above, stub, question, budget, depth).await
            }
            (None, Mode::Recursive(_)) => self.walk_down(&above, None, question, budget, depth).await,
        }
    }

    /// Asks `servers` (resolvers) the question, with RD set.
    async fn forward(
        &self,
        servers: Vec<SocketAddr>,
        (name, rtype, class): (&Name, RecordType, DNSClass),
        budget: &mut Budget,
    ) -> Result<Step, Failure> {
        let reply = self.ask(&Name::root(), servers, name, rtype, class, true, budget).await?;
        self.take(reply, name, rtype, class, &Name::root()).ok_or_else(|| Failure::NoServer(Name::root()))
    }

    /// Walks down from the closest zone cut above `above` that the cache
    /// knows, or from a stub zone's servers when no cut below the stub
    /// zone is known, following referrals; on the way, each zone's servers
    /// are asked about the next label only (see `minimise`).
    async fn walk_down(
        &self,
        above: &Name,
        stub: Option<(Name, Vec<SocketAddr>)>,
        (name, rtype, class): (&Name, RecordType, DNSClass),
        budget: &mut Budget,
        depth: u32,
    ) -> Result<Step, Failure> {
        let (mut zone, mut ns_names, mut fixed) = self.start_at(above, class, stub.as_ref());
        // Not for the addresses of name servers (nested lookups): their
        // names say little of what a client asked, and under an NXNS
        // referral to names that do not exist, relaxed minimisation would
        // double what each costs (the probe, then the whole name).
        let mode = if depth == 0 { self.minimisation } else { minimise::Minimisation::Off };
        let mut walk = minimise::Walk::new(mode);
        for _ in 0..self.limits.max_referrals + minimise::MAX_MINIMISE_COUNT {
            let servers = match fixed.take() {
                Some(servers) => Ok(servers),
                None => self.addresses_of(&zone, &ns_names, class, budget, depth).await,
            };
            let servers = match servers {
                Ok(servers) => servers,
                // The cut's servers cannot be reached from the cache
                // (addresses expired, or an NS RRset from an answer,
                // which carries no glue): start from the cut above,
                // whose referral brings the glue; the hints (or the stub
                // zone's servers) above all.
                Err(Failure::NoAddress(_)) if !ns_names.is_empty() => {
                    (zone, ns_names, fixed) = match zone.is_root() {
                        true => (Name::root(), Vec::new(), None),
                        false => self.start_at(&zone.base_name(), class, stub.as_ref()),
                    };
                    continue;
                }
                Err(failure) => return Err(failure),
            };
            let reply = match walk.next(&zone, above) {
                None => self.ask(&zone, servers, name, rtype, class, false, budget).await?,
                Some(probe) => {
                    match self.probe(&zone, servers.clone(), &probe, class, budget, &mut walk).await? {
                        Some(referral) => referral,
                        None => {
                            // Deeper, or the whole name, of the same servers.
                            fixed = Some(servers);
                            continue;
                        }
                    }
                }
            };
            match reply {
                Reply::Referral { zone: child, ns, glue, ds } => {
                    ns_names = self.follow(ns, glue, ds);
                    zone = child;
                }
                reply => return self.take(reply, name, rtype, class, &zone).ok_or(Failure::NoServer(zone)),
            }
        }
        Err(Failure::Budget("referrals"))
    }

    /// Asks `servers` of `zone` the minimised question `probe` (type A),
    /// unless the cache shows the name exists (an answer or NODATA for
    /// it, from a walk or a client before), and caches the NODATA that
    /// shows it: what the reply means for `walk` (see [`minimised_reply`]).
    /// A server authoritative for a zone and for zones below it answers
    /// the probe for a child's apex from the child (NODATA) and never
    /// refers, so no cut is learned to start the next walk below; without
    /// the cached NODATA, every name in the child would cost two queries.
    async fn probe(
        &self,
        zone: &Name,
        servers: Vec<SocketAddr>,
        probe: &Name,
        class: DNSClass,
        budget: &mut Budget,
        walk: &mut minimise::Walk,
    ) -> Result<Option<Reply>, Failure> {
        let known = {
            let cache = self.cache.lock().expect("cache lock");
            cache.lookup(probe, RecordType::A, class, Trust::Answer, Instant::now())
        };
        if matches!(known, Some(Lookup::Records(_) | Lookup::NoData(_))) {
            walk.exists();
            return Ok(None);
        }
        self.stats.minimised();
        let reply = match self.ask(zone, servers, probe, RecordType::A, class, false, budget).await {
            Ok(Reply::NoData(authority)) => {
                self.take(Reply::NoData(authority.clone()), probe, RecordType::A, class, zone);
                Ok(Reply::NoData(authority))
            }
            other => other,
        };
        minimised_reply(reply, walk)
    }

    /// Caches a referral's NS RRset, glue and DS; the NS names.
    fn follow(&self, ns: Vec<Record>, glue: Vec<Vec<Record>>, ds: Vec<Record>) -> Vec<Name> {
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("cache lock");
        let ns_names = ns.iter().filter_map(ns_target).collect();
        cache.insert_rrset(ns, Trust::Referral, now);
        for rrset in glue {
            cache.insert_rrset(rrset, Trust::Glue, now);
        }
        // The parent is authoritative for the DS: it saves the validator a
        // query per zone cut.
        cache.insert_rrset(ds, Trust::Answer, now);
        ns_names
    }

    /// Where a walk for a name at or below `above` starts: the closest
    /// known cut, unless a stub zone covers the name and no cut strictly
    /// below it is known (a cut learned elsewhere must not bypass the
    /// stub's servers); then the stub zone, with its servers.
    fn start_at(
        &self,
        above: &Name,
        class: DNSClass,
        stub: Option<&(Name, Vec<SocketAddr>)>,
    ) -> (Name, Vec<Name>, Option<Vec<SocketAddr>>) {
        let (zone, ns_names) = self.closest_cut(above, class);
        match stub {
            Some((apex, servers)) if !(apex.zone_of(&zone) && zone != *apex) => {
                (apex.clone(), Vec::new(), Some(servers.clone()))
            }
            _ => (zone, ns_names, None),
        }
    }

    /// Caches what a final reply says and turns it into a step, its TTLs
    /// under the policy as if it had come from the cache.
    fn take(&self, reply: Reply, name: &Name, rtype: RecordType, class: DNSClass, zone: &Name) -> Option<Step> {
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("cache lock");
        let mut positive = |records: Vec<Record>, cacheable: Vec<Vec<Record>>, proof: Vec<Record>| {
            for rrset in cacheable {
                let proof = if expanded(&rrset) { proof.clone() } else { Vec::new() };
                cache.insert_proven(rrset, proof, Trust::Answer, now);
            }
            let proof = if expanded(&records) { self.ttl.apply(proof) } else { Vec::new() };
            Found::unchecked(self.ttl.apply(records), proof)
        };
        match reply {
            Reply::Answer { records, cacheable, proof } => Some(Step::Records(positive(records, cacheable, proof))),
            Reply::Cname { cname, cacheable, proof } => Some(Step::Cname(positive(cname, cacheable, proof))),
            Reply::NxDomain(authority) => {
                let authority = self.ttl.negative_authority(authority);
                cache.insert_negative(name, None, class, authority.clone(), now);
                Some(Step::NxDomain(Found::unchecked(Vec::new(), authority)))
            }
            Reply::NoData(authority) => {
                let authority = self.ttl.negative_authority(authority);
                cache.insert_negative(name, Some(rtype), class, authority.clone(), now);
                Some(Step::NoData(Found::unchecked(Vec::new(), authority)))
            }
            Reply::Referral { .. } | Reply::Lame(_) => {
                tracing::debug!(%zone, %name, "no usable answer");
                None
            }
        }
    }

    /// The deepest zone above `name` whose NS RRset is cached, else the root
    /// from the hints.
    fn closest_cut(&self, name: &Name, class: DNSClass) -> (Name, Vec<Name>) {
        let cache = self.cache.lock().expect("cache lock");
        let now = Instant::now();
        let mut zone = name.clone();
        loop {
            if let Some(Lookup::Records(ns)) = cache.lookup(&zone, RecordType::NS, class, Trust::Referral, now) {
                return (zone, ns.records.iter().filter_map(ns_target).collect());
            }
            if zone.is_root() {
                return (Name::root(), Vec::new());
            }
            zone = zone.base_name();
        }
    }

    /// Addresses of the servers of `zone`: from the hints for the root,
    /// from the cache for others, looking up NS names that have none.
    async fn addresses_of(
        &self,
        zone: &Name,
        ns_names: &[Name],
        class: DNSClass,
        budget: &mut Budget,
        depth: u32,
    ) -> Result<Vec<SocketAddr>, Failure> {
        if ns_names.is_empty() {
            let Mode::Recursive(hints) = &self.mode else { return Err(Failure::NoAddress(zone.clone())) };
            return Ok(hints
                .servers
                .iter()
                .flat_map(|s| &s.addresses)
                .map(|ip| SocketAddr::new(*ip, DNS_PORT))
                .collect());
        }
        let known = self.cached_addresses(ns_names, class);
        if !known.is_empty() {
            return Ok(known);
        }
        if depth >= self.limits.max_ns_depth {
            return Err(Failure::Budget("nested NS lookups"));
        }
        // Look up NS names one at a time until one has an address. Names
        // inside the zone itself are not: finding them needs the zone's
        // servers, whose addresses are what is missing (the parent's glue
        // gives them; see `step`).
        for ns in ns_names.iter().filter(|ns| !zone.zone_of(ns)) {
            budget.spend_ns_lookup()?;
            for rtype in [RecordType::A, RecordType::AAAA] {
                let found = self.resolve_name(ns.clone(), rtype, class, budget, depth + 1, Ask::Internal).await;
                if let Err(Failure::Budget(what)) = found {
                    return Err(Failure::Budget(what));
                }
            }
            let known = self.cached_addresses(std::slice::from_ref(ns), class);
            if !known.is_empty() {
                return Ok(known);
            }
        }
        Err(Failure::NoAddress(zone.clone()))
    }

    fn cached_addresses(&self, ns_names: &[Name], class: DNSClass) -> Vec<SocketAddr> {
        let cache = self.cache.lock().expect("cache lock");
        let now = Instant::now();
        let mut addresses = Vec::new();
        for ns in ns_names {
            for rtype in [RecordType::A, RecordType::AAAA] {
                if let Some(Lookup::Records(found)) = cache.lookup(ns, rtype, class, Trust::Glue, now) {
                    addresses.extend(found.records.iter().filter_map(|r| match &r.data {
                        RData::A(a) => Some(SocketAddr::new(IpAddr::V4(a.0), DNS_PORT)),
                        RData::AAAA(aaaa) => Some(SocketAddr::new(IpAddr::V6(aaaa.0), DNS_PORT)),
                        _ => None,
                    }));
                }
            }
        }
        addresses
    }

    /// Asks the servers of `zone` in order of smoothed RTT until one gives a
    /// usable reply. Each is asked with 0x20 unless it is known not to echo
    /// the case; one that turns out not to is asked again without.
    #[allow(clippy::too_many_arguments)]
    async fn ask(
        &self,
        zone: &Name,
        mut servers: Vec<SocketAddr>,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        recursion_desired: bool,
        budget: &mut Budget,
    ) -> Result<Reply, Failure> {
        servers.sort();
        servers.dedup();
        let _zone_slot = self.outstanding.zone(zone).ok_or_else(|| Failure::Busy(zone.clone()))?;
        self.servers.lock().expect("stats lock").order(&mut servers);
        let request = outgoing_query(name, rtype, class, recursion_desired, self.validation.is_some());
        let mut attempts: VecDeque<(SocketAddr, bool)> =
            servers.into_iter().map(|s| (s, self.randomise_case)).collect();
        let mut busy = false;
        while let Some((server, randomise)) = attempts.pop_front() {
            let Some(_server_slot) = self.outstanding.server(server.ip()) else {
                tracing::debug!(%server, %zone, "too many queries to the server under way");
                busy = true;
                continue;
            };
            budget.spend_query()?;
            let randomise =
                randomise && self.servers.lock().expect("stats lock").echoes_case(server.ip(), Instant::now());
            let mut request = request.clone();
            if randomise {
                request.queries[0].set_name(case::randomise(name));
            }
            let sent = tokio::time::Instant::now();
            let outcome = self.upstream.exchange(server, request).await;
            let rtt = sent.elapsed();
            let reply = match outcome {
                Ok(mut response) => {
                    case::restore(&mut response, name);
                    classify(&response, zone, name, rtype, class)
                }
                Err(e) => {
                    tracing::debug!(%server, %zone, error = %e, "no answer");
                    self.stats.exchange(Exchange::of_error(&e), rtt);
                    let mut servers = self.servers.lock().expect("stats lock");
                    servers.failed(server.ip(), rtt);
                    if matches!(e, UpstreamError::CaseMismatch(_)) {
                        servers.case_blind(server.ip(), Instant::now());
                        attempts.push_front((server, false));
                    }
                    continue;
                }
            };
            if let Reply::Lame(why) = reply {
                tracing::debug!(%server, %zone, why, "lame");
                self.stats.exchange(Exchange::Lame, rtt);
                self.servers.lock().expect("stats lock").failed(server.ip(), rtt);
                continue;
            }
            self.stats.exchange(Exchange::Answered, rtt);
            self.servers.lock().expect("stats lock").answered(server.ip(), rtt);
            return Ok(reply);
        }
        Err(if busy { Failure::Busy(zone.clone()) } else { Failure::NoServer(zone.clone()) })
    }
}

/// The step the cache gives for (name, type) through `lookup`: the RRset,
/// a negative, or a CNAME at the name, which answers for every other type.
pub(super) fn step_from(
    lookup: impl Fn(&Name, RecordType) -> Option<Lookup>,
    name: &Name,
    rtype: RecordType,
) -> Option<Step> {
    let found = lookup(name, rtype);
    if let Some(Lookup::Records(records)) = found {
        return Some(Step::Records(records));
    }
    if let Some(Lookup::NxDomain(negative)) = found {
        return Some(Step::NxDomain(negative));
    }
    if rtype != RecordType::CNAME
        && let Some(Lookup::Records(cname)) = lookup(name, RecordType::CNAME)
    {
        return Some(Step::Cname(cname));
    }
    match found {
        Some(Lookup::NoData(negative)) => Some(Step::NoData(negative)),
        _ => None,
    }
}

/// Reads a server of `zone`'s reply to (name, type, class).
fn classify(response: &Message, zone: &Name, name: &Name, rtype: RecordType, class: DNSClass) -> Reply {
    let rcode = response.metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Reply::Lame("error RCODE");
    }
    let in_zone = |r: &&Record| zone.zone_of(&r.name) && r.dns_class == class;
    let answers: Vec<&Record> = chain(response.answers.iter().filter(in_zone).collect(), name, rtype);
    let cacheable = rrsets(answers.iter().copied());
    // The RRset, then its RRSIGs, as the cache holds it.
    let exact = |t: RecordType| {
        let mut found: Vec<Record> =
            answers.iter().filter(|r| r.name == *name && belongs(r, t)).map(|r| (*r).clone()).collect();
        found.sort_by_key(|r| r.record_type() == RecordType::RRSIG && t != RecordType::RRSIG);
        found
    };
    let proof = || denial_records(response, zone, class);
    let records = exact(rtype);
    if records.iter().any(|r| r.record_type() == rtype) {
        return Reply::Answer { records, cacheable, proof: proof() };
    }
    let cname = exact(RecordType::CNAME);
    if cname.iter().any(|r| r.record_type() == RecordType::CNAME) {
        return Reply::Cname { cname, cacheable, proof: proof() };
    }
    let soa = response
        .authorities
        .iter()
        .filter(in_zone)
        .find(|r| r.record_type() == RecordType::SOA && r.name.zone_of(name))
        .cloned();
    let negative = |soa: Option<Record>| match soa {
        Some(soa) => {
            let signatures = response.authorities.iter().filter(in_zone).filter(|r| {
                dnssec::rrsig(r).is_some_and(|sig| sig.input().type_covered == RecordType::SOA && r.name == soa.name)
            });
            let mut authority = vec![soa.clone()];
            authority.extend(signatures.cloned());
            authority.extend(proof());
            authority
        }
        None => Vec::new(),
    };
    if rcode == ResponseCode::NXDomain {
        return Reply::NxDomain(negative(soa));
    }
    // A referral: NS records for a zone strictly below the one asked and
    // containing the name.
    let ns: Vec<Record> = response
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS && r.dns_class == class)
        .filter(|r| zone.zone_of(&r.name) && r.name.num_labels() > zone.num_labels() && r.name.zone_of(name))
        .cloned()
        .collect();
    if let Some(child) = ns.first().map(|r| r.name.clone())
        && !response.metadata.authoritative
    {
        return referral(response, child, ns, in_zone);
    }
    if soa.is_some() || response.metadata.authoritative {
        return Reply::NoData(negative(soa));
    }
    Reply::Lame("neither answer, referral nor SOA")
}

/// What the reply to a minimised question means for the walk: a
/// referral to follow (Some), or the same servers asked again (None),
/// deeper when the name exists (an answer or NODATA: no cut there) or
/// the whole name when minimising does not work here: a CNAME, or in
/// relaxed mode an NXDOMAIN or no usable reply. In strict mode an
/// NXDOMAIN is the answer for every name below (RFC 8020) and a failure
/// fails.
fn minimised_reply(reply: Result<Reply, Failure>, walk: &mut minimise::Walk) -> Result<Option<Reply>, Failure> {
    match reply {
        Ok(referral @ Reply::Referral { .. }) => return Ok(Some(referral)),
        Ok(nxdomain @ Reply::NxDomain(_)) if walk.strict() => return Ok(Some(nxdomain)),
        Ok(Reply::Answer { .. } | Reply::NoData(_)) => walk.exists(),
        Err(failure @ (Failure::NoServer(_) | Failure::Busy(_))) if walk.strict() => return Err(failure),
        Ok(_) | Err(Failure::NoServer(_)) => walk.give_up(),
        Err(failure) => return Err(failure),
    }
    Ok(None)
}

/// A referral to `child` with its `ns` RRset: glue only for those NS
/// names and from within the zone asked, and the DS RRset (with its
/// RRSIGs) if the parent has one.
fn referral(response: &Message, child: Name, ns: Vec<Record>, in_zone: impl Fn(&&Record) -> bool) -> Reply {
    let ns: Vec<Record> = ns.into_iter().filter(|r| r.name == child).collect();
    let targets: Vec<Name> = ns.iter().filter_map(ns_target).collect();
    let glue = rrsets(
        response
            .additionals
            .iter()
            .filter(&in_zone)
            .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA) && targets.contains(&r.name)),
    );
    let ds = response
        .authorities
        .iter()
        .filter(&in_zone)
        .filter(|r| r.name == child && dnssec::covered_type(r) == RecordType::DS);
    let ds = rrsets(ds).into_iter().next().unwrap_or_default();
    Reply::Referral { zone: child, ns, glue, ds }
}

/// The authority section's NSEC and NSEC3 records from within `zone`, and
/// the RRSIGs over them.
fn denial_records(response: &Message, zone: &Name, class: DNSClass) -> Vec<Record> {
    response
        .authorities
        .iter()
        .filter(|r| zone.zone_of(&r.name) && r.dns_class == class)
        .filter(|r| matches!(dnssec::covered_type(r), RecordType::NSEC | RecordType::NSEC3))
        .cloned()
        .collect()
}

/// Whether `record` is part of the `rtype` RRset of its owner: a record
/// of the type, or an RRSIG that covers it.
fn belongs(record: &Record, rtype: RecordType) -> bool {
    match rtype {
        RecordType::RRSIG => record.record_type() == RecordType::RRSIG,
        _ => dnssec::covered_type(record) == rtype,
    }
}

/// Whether the RRset `records` (with its RRSIGs) was expanded from a
/// wildcard: its signature has fewer labels than its owner.
pub(super) fn expanded(records: &[Record]) -> bool {
    records.iter().any(|r| dnssec::rrsig(r).is_some_and(|sig| sig.input().num_labels < r.name.num_labels()))
}

/// The records of `answers` on the CNAME chain from `name`: the links,
/// then the RRset of `rtype` at its end, each with its RRSIGs. Anything
/// else in an answer section (an unrelated RRset a server stuffed in) is
/// dropped.
fn chain<'a>(answers: Vec<&'a Record>, name: &Name, rtype: RecordType) -> Vec<&'a Record> {
    let mut kept = Vec::new();
    let mut owner = name.clone();
    // Each link is used once, so a loop in the section ends.
    for _ in 0..answers.len() {
        let at_owner = |t: RecordType| -> Vec<&'a Record> {
            answers.iter().copied().filter(|r| r.name == owner && belongs(r, t)).collect()
        };
        let found = at_owner(rtype);
        if found.iter().any(|r| r.record_type() == rtype) || rtype == RecordType::CNAME {
            kept.extend(found);
            break;
        }
        let links = at_owner(RecordType::CNAME);
        let Some(target) = links.iter().find_map(|r| match &r.data {
            RData::CNAME(target) => Some(target.0.clone()),
            _ => None,
        }) else {
            break;
        };
        kept.extend(links);
        owner = target;
    }
    kept
}

/// Groups records into RRsets by (owner, type, class), an RRSIG with the
/// RRset it covers, keeping order but for the RRSIGs, which go last.
pub(super) fn rrsets<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for record in records {
        let rtype = dnssec::covered_type(record);
        match sets.iter_mut().find(|set| {
            set[0].name == record.name && dnssec::covered_type(&set[0]) == rtype && set[0].dns_class == record.dns_class
        }) {
            Some(set) => set.push(record.clone()),
            None => sets.push(vec![record.clone()]),
        }
    }
    for set in &mut sets {
        set.sort_by_key(|r| r.record_type() == RecordType::RRSIG);
    }
    // Signatures alone are no RRset.
    sets.retain(|set| set[0].record_type() != RecordType::RRSIG);
    sets
}

fn ns_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::NS(ns) => Some(ns.0.clone()),
        _ => None,
    }
}
