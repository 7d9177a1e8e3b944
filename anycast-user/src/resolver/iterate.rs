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
    Answer, Budget, DNS_PORT, Mode, Resolver,
    cache::{Lookup, Trust},
    case,
    failure::Failure,
    outgoing_query,
    telemetry::Exchange,
    upstream::{Upstream, UpstreamError},
};

/// Where a step leaves the CNAME chain.
pub(super) enum Next {
    /// The chain ends: RCODE, answers, authorities.
    End(ResponseCode, Vec<Record>, Vec<Record>),
    /// A CNAME link, and its target to follow.
    Follow(Box<(Record, Name)>),
}

/// What one step found for the name being resolved.
pub(super) enum Step {
    Records(Vec<Record>),
    Cname(Record),
    NoData(Option<Record>),
    NxDomain(Option<Record>),
}

impl Step {
    /// Where the step leaves the chain.
    pub(super) fn next(self) -> Next {
        match self {
            Step::Cname(cname) => {
                let RData::CNAME(target) = &cname.data else { unreachable!("a CNAME step holds a CNAME") };
                let target = target.0.clone();
                Next::Follow(Box::new((cname, target)))
            }
            Step::Records(records) => Next::End(ResponseCode::NoError, records, Vec::new()),
            Step::NoData(soa) => Next::End(ResponseCode::NoError, Vec::new(), soa.into_iter().collect()),
            Step::NxDomain(soa) => Next::End(ResponseCode::NXDomain, Vec::new(), soa.into_iter().collect()),
        }
    }
}

/// How a reply from a server of `zone` reads.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// The RRset asked for; `cacheable` holds the in-bailiwick part of the
    /// answer section's CNAME chain from the name asked, and the RRset at
    /// its end: nothing else an answer section carries is believed.
    Answer {
        records: Vec<Record>,
        cacheable: Vec<Vec<Record>>,
    },
    Cname {
        cname: Record,
        cacheable: Vec<Vec<Record>>,
    },
    NxDomain(Option<Record>),
    NoData(Option<Record>),
    /// Go ask the servers of `zone`.
    Referral {
        zone: Name,
        ns: Vec<Record>,
        glue: Vec<Vec<Record>>,
    },
    /// Nothing usable: try another server.
    Lame(&'static str),
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'a>>;

impl<U: Upstream> Resolver<U> {
    /// Follows (name, type) through CNAMEs until an answer or a negative;
    /// `afresh`, the first step is asked of the servers whatever the cache
    /// holds.
    pub(super) fn resolve_name<'a>(
        &'a self,
        name: Name,
        rtype: RecordType,
        class: DNSClass,
        budget: &'a mut Budget,
        depth: u32,
        afresh: bool,
    ) -> Boxed<'a, Answer> {
        Box::pin(async move {
            let mut chain: Vec<Record> = Vec::new();
            let mut current = name;
            for link in 0..=self.limits.max_cname {
                let cached = if afresh && link == 0 { None } else { self.cached_step(&current, rtype, class) };
                let step = match cached {
                    Some(step) => step,
                    None => self.step(&current, rtype, class, budget, depth).await?,
                };
                let (rcode, answers, authorities) = match step.next() {
                    Next::End(rcode, answers, authorities) => (rcode, answers, authorities),
                    Next::Follow(link) => {
                        let (cname, target) = *link;
                        current = target;
                        chain.push(cname);
                        continue;
                    }
                };
                chain.extend(answers);
                return Ok(Answer { rcode, answers: chain, authorities, stale: false });
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
    /// closest known zone cut.
    async fn step(
        &self,
        name: &Name,
        rtype: RecordType,
        class: DNSClass,
        budget: &mut Budget,
        depth: u32,
    ) -> Result<Step, Failure> {
        match &self.mode {
            Mode::Forward(forwarders) => {
                let servers: Vec<SocketAddr> = forwarders.clone();
                let reply = self.ask(&Name::root(), servers, name, rtype, class, true, budget).await?;
                self.take(reply, name, rtype, class, &Name::root()).ok_or_else(|| Failure::NoServer(Name::root()))
            }
            Mode::Recursive(_) => {
                let (mut zone, mut ns_names) = self.closest_cut(name, class);
                for _ in 0..self.limits.max_referrals {
                    let servers = match self.addresses_of(&zone, &ns_names, class, budget, depth).await {
                        Ok(servers) => servers,
                        // The cut's servers cannot be reached from the cache
                        // (addresses expired, or an NS RRset from an answer,
                        // which carries no glue): start from the cut above,
                        // whose referral brings the glue; the hints above all.
                        Err(Failure::NoAddress(_)) if !ns_names.is_empty() => {
                            (zone, ns_names) = match zone.is_root() {
                                true => (Name::root(), Vec::new()),
                                false => self.closest_cut(&zone.base_name(), class),
                            };
                            continue;
                        }
                        Err(failure) => return Err(failure),
                    };
                    match self.ask(&zone, servers, name, rtype, class, false, budget).await? {
                        Reply::Referral { zone: child, ns, glue } => {
                            let now = Instant::now();
                            let mut cache = self.cache.lock().expect("cache lock");
                            ns_names = ns.iter().filter_map(ns_target).collect();
                            cache.insert_rrset(ns, Trust::Referral, now);
                            for rrset in glue {
                                cache.insert_rrset(rrset, Trust::Glue, now);
                            }
                            zone = child;
                        }
                        reply => return self.take(reply, name, rtype, class, &zone).ok_or(Failure::NoServer(zone)),
                    }
                }
                Err(Failure::Budget("referrals"))
            }
        }
    }

    /// Caches what a final reply says and turns it into a step, its TTLs
    /// under the policy as if it had come from the cache.
    fn take(&self, reply: Reply, name: &Name, rtype: RecordType, class: DNSClass, zone: &Name) -> Option<Step> {
        let now = Instant::now();
        let mut cache = self.cache.lock().expect("cache lock");
        match reply {
            Reply::Answer { records, cacheable } => {
                for rrset in cacheable {
                    cache.insert_rrset(rrset, Trust::Answer, now);
                }
                Some(Step::Records(self.ttl.apply(records)))
            }
            Reply::Cname { cname, cacheable } => {
                for rrset in cacheable {
                    cache.insert_rrset(rrset, Trust::Answer, now);
                }
                self.ttl.apply(vec![cname]).pop().map(Step::Cname)
            }
            Reply::NxDomain(soa) => {
                let soa = soa.map(|soa| self.ttl.negative(soa));
                if let Some(soa) = &soa {
                    cache.insert_negative(name, None, class, soa.clone(), now);
                }
                Some(Step::NxDomain(soa))
            }
            Reply::NoData(soa) => {
                let soa = soa.map(|soa| self.ttl.negative(soa));
                if let Some(soa) = &soa {
                    cache.insert_negative(name, Some(rtype), class, soa.clone(), now);
                }
                Some(Step::NoData(soa))
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
                return (zone, ns.iter().filter_map(ns_target).collect());
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
                let found = self.resolve_name(ns.clone(), rtype, class, budget, depth + 1, false).await;
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
                if let Some(Lookup::Records(records)) = cache.lookup(ns, rtype, class, Trust::Glue, now) {
                    addresses.extend(records.iter().filter_map(|r| match &r.data {
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
        let request = outgoing_query(name, rtype, class, recursion_desired);
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
    if let Some(Lookup::NxDomain(soa)) = found {
        return Some(Step::NxDomain(Some(soa)));
    }
    if rtype != RecordType::CNAME
        && let Some(Lookup::Records(cname)) = lookup(name, RecordType::CNAME)
    {
        return cname.into_iter().next().map(Step::Cname);
    }
    match found {
        Some(Lookup::NoData(soa)) => Some(Step::NoData(Some(soa))),
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
    let exact = |t: RecordType| {
        answers.iter().filter(|r| r.name == *name && r.record_type() == t).map(|r| (*r).clone()).collect::<Vec<_>>()
    };
    let records = exact(rtype);
    if !records.is_empty() {
        return Reply::Answer { records, cacheable };
    }
    if let Some(cname) = exact(RecordType::CNAME).into_iter().next() {
        return Reply::Cname { cname, cacheable };
    }
    let soa = response
        .authorities
        .iter()
        .filter(in_zone)
        .find(|r| r.record_type() == RecordType::SOA && r.name.zone_of(name))
        .cloned();
    if rcode == ResponseCode::NXDomain {
        return Reply::NxDomain(soa);
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
        let ns: Vec<Record> = ns.into_iter().filter(|r| r.name == child).collect();
        let targets: Vec<Name> = ns.iter().filter_map(ns_target).collect();
        // Glue only for the referral's own NS names, and only where the
        // server asked is authoritative.
        let glue =
            rrsets(
                response.additionals.iter().filter(in_zone).filter(|r| {
                    matches!(r.record_type(), RecordType::A | RecordType::AAAA) && targets.contains(&r.name)
                }),
            );
        return Reply::Referral { zone: child, ns, glue };
    }
    if soa.is_some() || response.metadata.authoritative {
        return Reply::NoData(soa);
    }
    Reply::Lame("neither answer, referral nor SOA")
}

/// The records of `answers` on the CNAME chain from `name`: the links,
/// then the RRset of `rtype` at its end. Anything else in an answer
/// section (an unrelated RRset a server stuffed in) is dropped.
fn chain<'a>(answers: Vec<&'a Record>, name: &Name, rtype: RecordType) -> Vec<&'a Record> {
    let mut kept = Vec::new();
    let mut owner = name.clone();
    // Each link is used once, so a loop in the section ends.
    for _ in 0..answers.len() {
        let at_owner = |t: RecordType| -> Vec<&'a Record> {
            answers.iter().copied().filter(|r| r.name == owner && r.record_type() == t).collect()
        };
        let found = at_owner(rtype);
        if !found.is_empty() || rtype == RecordType::CNAME {
            kept.extend(found);
            break;
        }
        let Some(&link) = at_owner(RecordType::CNAME).first() else { break };
        let RData::CNAME(target) = &link.data else { break };
        kept.push(link);
        owner = target.0.clone();
    }
    kept
}

/// Groups records into RRsets by (owner, type, class), keeping order.
fn rrsets<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<Vec<Record>> {
    let mut sets: Vec<Vec<Record>> = Vec::new();
    for record in records {
        match sets.iter_mut().find(|set| {
            set[0].name == record.name
                && set[0].record_type() == record.record_type()
                && set[0].dns_class == record.dns_class
        }) {
            Some(set) => set.push(record.clone()),
            None => sets.push(vec![record.clone()]),
        }
    }
    sets
}

fn ns_target(record: &Record) -> Option<Name> {
    match &record.data {
        RData::NS(ns) => Some(ns.0.clone()),
        _ => None,
    }
}
