//! The daemon's metrics in the Prometheus text format (version 0.0.4),
//! served over HTTP at `/metrics` and shown by `anycastd ctl stats`.
//!
//! The HTTP side is deliberately small: one `GET` per connection, the
//! request head read within a few seconds and at most 8 KiB, then the
//! answer and close. That is all a Prometheus scraper needs, and nothing
//! a stray client can hold open.

use std::{fmt::Display, fmt::Write, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    time::timeout,
};

use super::node::Node;
use crate::{
    dnstap::TapStats,
    fastpath::tap::TapCounters,
    feed::Feed,
    policy::local::Local,
    resolver::{Resolver, telemetry::LATENCY_BOUNDS, upstream::Upstream},
    route::{
        announce::Announcer,
        bgp::{
            bfd::BfdState,
            status::{PeerStatus, SessionState},
        },
        state::State,
    },
    server::{hot::HotAnswers, listener::serve_each, stats::Stats},
    warm::{WarmState, WarmStats},
};

/// Every metric the node has, as Prometheus text.
pub fn render<U: Upstream>(node: &Node<U>) -> String {
    let mut out = Exposition::default();
    serving(&mut out, &node.responder.stats, &node.responder.hot, node.feed.as_deref());
    out.counter(
        "anycast_udp_receive_drops_total",
        "Datagrams the kernel dropped on the UDP sockets, their receive buffers full: queries lost before the \
         daemon read them (raise service.udp_receive_buffer, or add threads).",
        node.udp_drops.total(),
    );
    resolving(&mut out, &node.resolver);
    if let Some(feed) = &node.feed {
        feeding(&mut out, feed);
    }
    announcing(&mut out, &node.announcer);
    warming(&mut out, &node.warm);
    answering_locally(&mut out, &node.local);
    if let Some(stats) = node.tap.stats() {
        tapping(&mut out, stats, node.xdp_tap.as_ref());
    }
    if let Some(bytes) = resident_bytes() {
        out.gauge("anycast_resident_bytes", "The daemon's resident memory.", bytes);
    }
    out.0
}

/// The process's resident set, from /proc/self/statm (pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// The server's counters; a fast path's write errors count among its
/// errors.
fn serving(out: &mut Exposition, stats: &Stats, hot: &HotAnswers, feed: Option<&Feed>) {
    out.family("anycast_queries_total", "counter", "Queries that reached the daemon, by transport.");
    for (transport, n) in stats.queries() {
        out.sample("anycast_queries_total", &[("transport", transport)], n);
    }
    out.family("anycast_connections_total", "counter", "Connections accepted, by transport.");
    for (transport, n) in stats.connections() {
        out.sample("anycast_connections_total", &[("transport", transport)], n);
    }
    out.family(
        "anycast_tls_handshakes_failed_total",
        "counter",
        "TLS handshakes that failed or did not finish in time, by transport.",
    );
    for (transport, n) in stats.handshakes_failed() {
        out.sample("anycast_tls_handshakes_failed_total", &[("transport", transport)], n);
    }
    out.family("anycast_responses_total", "counter", "Responses the daemon sent, by RCODE.");
    for (rcode, n) in stats.responses() {
        out.sample("anycast_responses_total", &[("rcode", rcode)], n);
    }
    out.counter(
        "anycast_hot_answers_total",
        "Queries answered from the daemon's hot answers (UDP, TCP, TLS, HTTPS).",
        load(&hot.hits),
    );
    out.gauge("anycast_hot_answers", "Answers the daemon keeps for repeats, live or expired.", hot.count() as u64);
    out.counter("anycast_truncated_total", "UDP responses cut to TC=1 for the client's size.", load(&stats.truncated));
    out.counter(
        "anycast_bogus_answers_total",
        "Answers withheld as bogus: SERVFAIL with an Extended DNS Error (CD=1 queries get the data).",
        load(&stats.bogus),
    );
    out.family(
        "anycast_rate_limited_total",
        "counter",
        "Queries over their prefix's rate limit, by action (slip and drop over UDP, tcp_drop).",
    );
    out.sample("anycast_rate_limited_total", &[("action", "slip")], load(&stats.slipped));
    out.sample("anycast_rate_limited_total", &[("action", "drop")], load(&stats.rate_dropped));
    out.sample("anycast_rate_limited_total", &[("action", "tcp_drop")], load(&stats.tcp_rate_dropped));
    out.family("anycast_errors_total", "counter", "Problems while serving, by kind.");
    let fast_path_writes = feed.map_or(0, |feed| load(&feed.stats.write_errors));
    for (kind, n) in stats.errors().chain([("fastpath_write", fast_path_writes)]) {
        out.sample("anycast_errors_total", &[("kind", kind)], n);
    }
}

/// The warm start: where it is, its questions, how long it took.
fn warming(out: &mut Exposition, warm: &WarmStats) {
    out.gauge(
        "anycast_warm_state",
        "The warm start before the first announcement: 0 none configured, 1 warming, 2 done.",
        warm.state() as u8,
    );
    if warm.state() == WarmState::Off {
        return;
    }
    out.family(
        "anycast_warm_questions",
        "gauge",
        "The warm start's questions: listed by the source, resolved, failed.",
    );
    out.sample("anycast_warm_questions", &[("outcome", "listed")], load(&warm.listed));
    out.sample("anycast_warm_questions", &[("outcome", "resolved")], load(&warm.resolved));
    out.sample("anycast_warm_questions", &[("outcome", "failed")], load(&warm.failed));
    out.gauge(
        "anycast_warm_duration_seconds",
        "How long the warm start held the first announcement (0 until done).",
        load(&warm.took_ms) as f64 / 1000.0,
    );
}

fn resolving<U: Upstream>(out: &mut Exposition, resolver: &Resolver<U>) {
    let stats = &resolver.stats;
    out.family("anycast_questions_total", "counter", "Client questions resolved, by where the answer came from.");
    for (source, n) in stats.questions() {
        out.sample("anycast_questions_total", &[("source", source.name())], n);
    }
    out.family("anycast_resolution_failures_total", "counter", "Questions answered SERVFAIL, by reason.");
    for (reason, n) in stats.failures() {
        out.sample("anycast_resolution_failures_total", &[("reason", reason)], n);
    }
    out.family(
        "anycast_validations_total",
        "counter",
        "Parts of answers (RRsets, negative answers) validated, by verdict.",
    );
    for (verdict, n) in stats.verdicts() {
        out.sample("anycast_validations_total", &[("verdict", verdict)], n);
    }
    out.family("anycast_validation_bogus_total", "counter", "Bogus verdicts, by reason.");
    for (reason, n) in stats.bogus() {
        out.sample("anycast_validation_bogus_total", &[("reason", reason)], n);
    }
    out.counter(
        "anycast_signature_verifications_total",
        "RRSIG verifications (crypto operations) validation made.",
        stats.verifications(),
    );
    out.family("anycast_upstream_queries_total", "counter", "Queries to other servers, by how they ended.");
    for (outcome, n) in stats.exchanges() {
        out.sample("anycast_upstream_queries_total", &[("outcome", outcome.name())], n);
    }
    out.counter(
        "anycast_qname_minimised_queries_total",
        "Queries upstream that asked for the next label only (QNAME minimisation), among the upstream queries.",
        stats.minimised_queries(),
    );
    let name = "anycast_upstream_latency_seconds";
    out.family(name, "histogram", "Round-trip time of the upstream queries that got a reply.");
    let (counts, sum) = stats.latency.cumulative();
    let bounds = LATENCY_BOUNDS.iter().map(|b| b.to_string()).chain(["+Inf".to_string()]);
    for (bound, count) in bounds.zip(&counts) {
        out.sample(&format!("{name}_bucket"), &[("le", &bound)], count);
    }
    out.sample(&format!("{name}_sum"), &[], sum);
    out.sample(&format!("{name}_count"), &[], counts.last().copied().unwrap_or(0));
    out.gauge("anycast_cache_entries", "RRsets and negative answers in the cache.", resolver.cache_len());
    out.gauge(
        "anycast_cache_bytes",
        "What the cache's entries hold, estimated (cache.max_bytes bounds it).",
        resolver.cache_bytes(),
    );
}

fn feeding(out: &mut Exposition, feed: &Feed) {
    out.counter(
        "anycast_fastpath_written_total",
        "Answers written into the XDP answer map.",
        load(&feed.stats.written),
    );
    out.counter(
        "anycast_fastpath_refreshed_total",
        "Of those, answers renewed before they expired because they were in use.",
        load(&feed.stats.refreshed),
    );
    out.gauge("anycast_fastpath_tracked", "Answers in the map the daemon watches for refresh.", feed.tracked());
    if let Some(count) = feed.map_entries() {
        out.gauge(
            "anycast_fastpath_map_entries",
            "Entries in the XDP answer map, live or expired, as counted at most 10 s ago.",
            count,
        );
    }
    let counters = feed.counters();
    out.gauge("anycast_fastpath_up", "1 if the XDP program's counters could be read.", counters.is_ok() as u8);
    match counters {
        Ok(counters) => {
            out.family("anycast_xdp_packets_total", "counter", "Packets the XDP program saw, by outcome.");
            for (outcome, n) in counters {
                out.sample("anycast_xdp_packets_total", &[("outcome", outcome.name())], n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the fast path's counters"),
    }
    if let Ok(errors) = feed.tx_errors() {
        out.counter(
            "anycast_xdp_tx_errors_total",
            "XDP_TX frames (answers, slips) the interface's driver could not send.",
            errors,
        );
    }
    out.gauge(
        "anycast_fastpath_pass_only",
        "1 while the fast path passes every query to the daemon because its answers were not leaving.",
        feed.pass_only() as u8,
    );
}

fn announcing(out: &mut Exposition, announcer: &Announcer) {
    let status = announcer.status();
    out.gauge("anycast_healthy", "1 if the health checks pass (with hysteresis).", status.healthy as u8);
    out.family("anycast_announcement", "gauge", "1 for what the routers are told about the VIPs now.");
    for state in State::ALL {
        out.sample("anycast_announcement", &[("state", state.name())], (status.state == Some(state)) as u8);
    }
    out.counter(
        "anycast_routing_daemon_told_again_total",
        "Times the node's routing daemon, read back, no longer said the state (restarted, reloaded) and was told again.",
        status.told_again,
    );
    bgp_peers(out, announcer.bgp_peers());
}

/// The built-in speaker's sessions, by peer.
fn bgp_peers(out: &mut Exposition, peers: &[Arc<PeerStatus>]) {
    if peers.is_empty() {
        return;
    }
    out.family("anycast_bgp_session_state", "gauge", "1 for the state each BGP session is in.");
    for peer in peers {
        let address = peer.address.to_string();
        for state in SessionState::ALL {
            let labels = [("peer", address.as_str()), ("state", state.name())];
            out.sample("anycast_bgp_session_state", &labels, (peer.state() == state) as u8);
        }
    }
    out.family("anycast_bgp_established_total", "counter", "Times each BGP session reached Established.");
    for peer in peers {
        out.sample("anycast_bgp_established_total", &[("peer", &peer.address.to_string())], load(&peer.established));
    }
    out.family("anycast_bgp_messages_total", "counter", "BGP messages by peer, direction and type.");
    for peer in peers {
        let address = peer.address.to_string();
        for (kind, sent, received) in peer.messages() {
            for (direction, n) in [("sent", sent), ("received", received)] {
                let labels = [("peer", address.as_str()), ("direction", direction), ("type", kind)];
                out.sample("anycast_bgp_messages_total", &labels, n);
            }
        }
    }
    out.family("anycast_bgp_discarded_total", "counter", "Malformed UPDATEs from each peer, discarded.");
    for peer in peers {
        out.sample("anycast_bgp_discarded_total", &[("peer", &peer.address.to_string())], load(&peer.discarded));
    }
    bfd_sessions(out, peers);
}

/// The speaker's BFD sessions, by peer (those with `bfd`).
fn bfd_sessions(out: &mut Exposition, peers: &[Arc<PeerStatus>]) {
    let with_bfd: Vec<_> = peers.iter().filter_map(|p| Some((p.address.to_string(), p.bfd.as_ref()?))).collect();
    if with_bfd.is_empty() {
        return;
    }
    out.family("anycast_bfd_session_state", "gauge", "1 for the state each BFD session is in.");
    for (address, bfd) in &with_bfd {
        for state in BfdState::ALL {
            let labels = [("peer", address.as_str()), ("state", state.name())];
            out.sample("anycast_bfd_session_state", &labels, (bfd.state() == state) as u8);
        }
    }
    out.family("anycast_bfd_failures_total", "counter", "Times each BFD session went down after being up.");
    for (address, bfd) in &with_bfd {
        out.sample("anycast_bfd_failures_total", &[("peer", address)], load(&bfd.failures));
    }
}

/// What dnstap wrote and lost, and what the XDP program recorded for it.
/// What the local zones and blocklists decided, and how big the lists
/// are. Only the daemon's decisions count: the fast path's repeats of
/// them are among its hits.
fn answering_locally(out: &mut Exposition, local: &Local) {
    let family = "anycast_policy_decisions_total";
    let help = "Questions the local policy decided, by source (a blocklist's name, or local for the local zones) \
                and action (data, alias, nodata, nxdomain, refuse, drop, passthru).";
    out.family(family, "counter", help);
    for (source, action, n) in local.counts() {
        out.sample(family, &[("source", &source), ("action", action)], n);
    }
    let policy = local.policy();
    out.family("anycast_blocklist_triggers", "gauge", "Triggers in each blocklist in force.");
    for (list, n) in policy.list_sizes() {
        out.sample("anycast_blocklist_triggers", &[("list", list)], n);
    }
    out.gauge("anycast_local_zones", "Local zones in force, the default ones included.", policy.zone_count());
}

fn tapping(out: &mut Exposition, stats: &TapStats, xdp: Option<&TapCounters>) {
    out.family(
        "anycast_dnstap_messages_total",
        "counter",
        "dnstap messages, written or dropped (queue full, output away).",
    );
    out.sample("anycast_dnstap_messages_total", &[("outcome", "written")], load(&stats.written));
    out.sample("anycast_dnstap_messages_total", &[("outcome", "dropped")], load(&stats.dropped));
    if let Some(counters) = xdp {
        match counters.read() {
            Ok(counts) => {
                let family = "anycast_xdp_dnstap_records_total";
                let help = "XDP answers sampled for dnstap: recorded, lost to a full ring, over the cap.";
                out.family(family, "counter", help);
                out.sample(family, &[("outcome", "recorded")], counts.recorded);
                out.sample(family, &[("outcome", "ring_full")], counts.ring_full);
                out.sample(family, &[("outcome", "capped")], counts.capped);
                out.sample(family, &[("outcome", "capture_lost")], counts.capture_lost);
            }
            Err(e) => tracing::warn!(error = %e, "reading the XDP program's dnstap counters"),
        }
    }
    out.gauge(
        "anycast_dnstap_connected",
        "1 while the dnstap output is open.",
        stats.connected.load(std::sync::atomic::Ordering::Relaxed) as u8,
    );
}

fn load(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prometheus text, built family by family.
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0 += name;
        if !labels.is_empty() {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let _ = write!(self.0, "{{{}}}", labels.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, "counter", help);
        self.sample(name, &[], value);
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }
}

/// How long a scraper has to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REQUEST_HEAD: usize = 8192;

/// Hot names listed when `/hot` does not say how many.
pub const HOT_NAMES: usize = 1000;
/// The most `/hot?n=` lists.
pub const MAX_HOT_NAMES: usize = 1_000_000;

/// The number of hot names `n` asks for, if it is one from 1 to
/// [`MAX_HOT_NAMES`] (`/hot?n=N`, `ctl dump-hot N`).
pub fn hot_count(n: &str) -> Option<usize> {
    n.parse().ok().filter(|n| (1..=MAX_HOT_NAMES).contains(n))
}

/// What the metrics address serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/metrics`: Prometheus text.
    Metrics,
    /// `/hot` or `/hot?n=N`: the N hot names (see [`crate::warm::list`]),
    /// for a peer's warm start.
    Hot(usize),
}

impl Page {
    /// The page a request target asks for; Err with the status and body
    /// otherwise.
    fn of(target: &str) -> Result<Page, (&'static str, String)> {
        match target.split_once('?') {
            None if target == "/metrics" => Ok(Page::Metrics),
            None if target == "/hot" => Ok(Page::Hot(HOT_NAMES)),
            Some(("/hot", query)) => match query.strip_prefix("n=").and_then(hot_count) {
                Some(n) => Ok(Page::Hot(n)),
                None => Err(("400 Bad Request", format!("/hot takes n=N, N from 1 to {MAX_HOT_NAMES}\n"))),
            },
            _ => Err(("404 Not Found", "metrics are at /metrics, the hot names at /hot?n=N\n".into())),
        }
    }
}

/// Serves `/metrics` and `/hot` on `listener`, each made by `pages` (off
/// the workers: listing the hot names reads the whole map), until
/// `shutdown` turns true.
pub async fn serve<P>(listener: TcpListener, pages: Arc<P>, shutdown: watch::Receiver<bool>)
where
    P: Fn(Page) -> String + Send + Sync + 'static,
{
    serve_each(&listener, shutdown, "metrics request", |stream| {
        let pages = pages.clone();
        async move { exchange(stream, pages).await }
    })
    .await;
}

async fn exchange<P>(mut stream: TcpStream, pages: Arc<P>) -> std::io::Result<()>
where
    P: Fn(Page) -> String + Send + Sync + 'static,
{
    let mut head = Vec::with_capacity(512);
    let read = async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    };
    if timeout(REQUEST_TIMEOUT, read).await.is_err() {
        return Ok(());
    }
    let request_line = head.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
    let mut words = std::str::from_utf8(request_line).unwrap_or_default().split(' ');
    let page = match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Page::of(target),
        _ => Err(("405 Method Not Allowed", "only GET /metrics and /hot\n".into())),
    };
    let (status, content_type, body) = match page {
        Ok(page) => match tokio::task::spawn_blocking(move || pages(page)).await {
            Ok(body) if page == Page::Metrics => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body),
            Ok(body) => ("200 OK", "text/plain; charset=utf-8", body),
            Err(_) => ("500 Internal Server Error", "text/plain", "the page failed\n".to_string()),
        },
        Err((status, body)) => (status, "text/plain", body),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::server::{
        respond::Responder,
        tests::{CLIENT, query, responder},
        transport::Transport,
    };

    /// What a node without a fast path shows of its server and resolver
    /// (the announcement needs netlink).
    fn render(r: &Responder<crate::resolver::testnet::FakeNet>) -> String {
        let mut out = Exposition::default();
        serving(&mut out, &r.stats, &r.hot, None);
        resolving(&mut out, &r.resolver);
        out.0
    }

    /// The value of the sample whose line starts with `series `.
    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
    }

    #[tokio::test]
    async fn counts_what_was_served_and_resolved() {
        let r = responder();
        for _ in 0..2 {
            r.respond(&query("www.example.lab.", RecordType::A, None), CLIENT, Transport::Udp).await.unwrap();
        }
        r.respond(&query("nope.example.lab.", RecordType::A, None), CLIENT, Transport::Tcp).await.unwrap();
        let text = render(&r);
        assert_eq!(value(&text, "anycast_queries_total{transport=\"udp\"}"), 2.0);
        assert_eq!(value(&text, "anycast_queries_total{transport=\"tcp\"}"), 1.0);
        assert_eq!(value(&text, "anycast_responses_total{rcode=\"noerror\"}"), 2.0);
        assert_eq!(value(&text, "anycast_responses_total{rcode=\"nxdomain\"}"), 1.0);
        assert_eq!(value(&text, "anycast_questions_total{source=\"cache\"}"), 1.0);
        assert_eq!(value(&text, "anycast_questions_total{source=\"network\"}"), 2.0);
        let replies = value(&text, "anycast_upstream_queries_total{outcome=\"answered\"}");
        assert!(replies >= 3.0, "root, lab., example.lab.");
        assert_eq!(value(&text, "anycast_upstream_latency_seconds_bucket{le=\"+Inf\"}"), replies);
        assert_eq!(value(&text, "anycast_upstream_latency_seconds_count"), replies);
        assert!(value(&text, "anycast_cache_entries") >= 3.0);
    }

    /// Words of `text` that start with `prefix` (letters, digits, `_`).
    fn words_after<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        text.match_indices(prefix).map(|(at, _)| {
            let word = &text[at..];
            &word[..word.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(word.len())]
        })
    }

    /// The dashboard in dist/ asks only for metrics and labels this module
    /// writes: a renamed metric breaks this, not the operator's graphs.
    #[test]
    fn the_grafana_dashboard_uses_only_metrics_and_labels_that_exist() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../dist/grafana/anycastd.json")).expect("the dashboard is JSON");
        let source = include_str!("metrics.rs");
        let exprs: Vec<&str> = dashboard["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .flat_map(|p| p["targets"].as_array().expect("targets").iter().map(|t| t["expr"].as_str().expect("expr")))
            .collect();
        assert!(exprs.len() > 20, "{} queries", exprs.len());
        let mut unknown = Vec::new();
        for expr in &exprs {
            for metric in words_after(expr, "anycast_") {
                let family = metric.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
                if !source.contains(&format!("\"{family}\"")) && !source.contains(&format!("\"{metric}\"")) {
                    unknown.push(format!("metric {metric} in `{expr}`"));
                }
            }
            let labels =
                expr.split(['{', ',', '(']).filter_map(|part| part.split_once(['=', ')']).map(|(l, _)| l.trim()));
            for label in labels.filter(|l| !l.is_empty() && *l != "instance" && *l != "le" && !l.contains(' ')) {
                if !source.contains(&format!("(\"{label}\",")) && !source.contains(&format!("\"{label}\"")) {
                    unknown.push(format!("label {label} in `{expr}`"));
                }
            }
        }
        assert!(unknown.is_empty(), "the dashboard asks for what is not exported:\n  {}", unknown.join("\n  "));
    }

    #[test]
    fn every_sample_belongs_to_a_declared_family() {
        let text = render(&responder());
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                declared.push(name.to_string());
            } else if !line.starts_with("# HELP ") {
                let series = line.split([' ', '{']).next().unwrap();
                let family = series.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
                assert!(declared.iter().any(|d| d == series || d == family), "undeclared: {line}");
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
            }
        }
    }

    #[test]
    fn the_resident_memory_is_read() {
        let bytes = resident_bytes().expect("/proc/self/statm");
        assert!(bytes > 1 << 20, "{bytes} bytes resident");
    }

    #[tokio::test]
    async fn http_get_metrics_and_nothing_else() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (_stop, stopped) = watch::channel(false);
        let r = responder();
        let pages = move |page| match page {
            Page::Metrics => render(&r),
            Page::Hot(n) => format!("{n} hot names\n"),
        };
        tokio::spawn(serve(listener, Arc::new(pages), stopped));
        let get = |request: &'static str| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).await.unwrap();
            reply
        };
        let ok = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("text/plain; version=0.0.4") && ok.contains("\r\n\r\n# HELP anycast_queries_total"));
        let body_len = ok.split("\r\n\r\n").nth(1).unwrap().len();
        assert!(ok.contains(&format!("Content-Length: {body_len}\r\n")));
        let pages = [
            ("GET /hot HTTP/1.1\r\n\r\n", "HTTP/1.1 200", "1000 hot names"),
            ("GET /hot?n=5 HTTP/1.1\r\n\r\n", "HTTP/1.1 200", "5 hot names"),
            ("GET /hot?n=0 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", "n=N"),
            ("GET /hot?n=1000001 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", "n=N"),
            ("GET /hot?x=1 HTTP/1.1\r\n\r\n", "HTTP/1.1 400", "n=N"),
            ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404", "/metrics"),
            ("GET /metrics?x HTTP/1.1\r\n\r\n", "HTTP/1.1 404", "/metrics"),
            ("POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405", "only GET"),
        ];
        for (request, status, body) in pages {
            let reply = get(request).await;
            assert!(reply.starts_with(status) && reply.contains(body), "{request}: {reply}");
        }
        assert!(get("\r\n\r\n").await.starts_with("HTTP/1.1 405"), "garbage gets an answer, not a hang");
    }
}
