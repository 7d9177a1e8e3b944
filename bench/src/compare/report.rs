//! The comparison's results: rows of medians with min and max, the table
//! on stdout with ratios to Unbound, the targets, the JSON and the PNG.

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use serde::Serialize;

use super::{Results, Unmeasured, servers::Server, workload::Workload};

/// One run's figures.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub dnsperf_qps: f64,
    /// Share of dnsperf's queries at the highest rate never answered (each
    /// holds one of its outstanding slots for its 2 s timeout).
    pub dnsperf_lost: f64,
    pub dnsperf_bottleneck: String,
    pub generator_qps: Option<f64>,
    pub generator_sent_qps: Option<f64>,
    pub generator_bottleneck: Option<String>,
    /// How the generator's frames were sent.
    pub generator_source: Option<String>,
    /// Why the generator gave no figures.
    pub generator_error: Option<String>,
    pub server_us_per_query: f64,
    pub total_us_per_query: f64,
    /// Server core microseconds per answer at the same rate from the
    /// generator in bursts, and the share of its frames answered.
    pub batched_us_per_query: Option<f64>,
    pub batched_answered: Option<f64>,
    /// The rate the generator's bursts reached (its target is the fixed
    /// rate).
    pub batched_qps: Option<f64>,
    /// Share of the fixed-load queries answered.
    pub fixed_answered: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Share of the fixed-load answers the XDP program gave.
    pub at_xdp: Option<f64>,
    /// Over TLS: queries a second with a new connection (a handshake) for
    /// each.
    pub handshakes_qps: Option<f64>,
    /// Over HTTPS: the highest rate h2load gets (see `h2load`).
    pub h2load_qps: Option<f64>,
    /// The larger core's share of stolen time.
    pub steal: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Stat { median: v[v.len() / 2], min: v[0], max: v[v.len() - 1] })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub server: Server,
    pub workload: Workload,
    pub runs: usize,
    /// Runs thrown away for steal time and measured again.
    pub repeated: usize,
    /// Runs kept although disturbed (steal time over the limit after the
    /// last retry): their figures are less sure.
    pub disturbed: usize,
    /// The most steal time in a kept run (share of a core).
    pub max_steal: f64,
    pub dnsperf_qps: Stat,
    pub dnsperf_lost: Stat,
    /// The limiting core in the median dnsperf run.
    pub dnsperf_bottleneck: String,
    pub generator_qps: Option<Stat>,
    pub generator_offered_qps: Option<Stat>,
    pub generator_bottleneck: Option<String>,
    pub generator_source: Option<String>,
    pub generator_error: Option<String>,
    pub fixed_rate: u32,
    pub fixed_answered: Stat,
    pub p50_ms: Option<Stat>,
    pub p99_ms: Option<Stat>,
    pub server_us_per_query: Stat,
    pub total_us_per_query: Stat,
    pub batched_us_per_query: Option<Stat>,
    pub batched_answered: Option<Stat>,
    pub batched_qps: Option<Stat>,
    pub at_xdp: Option<Stat>,
    pub handshakes_qps: Option<Stat>,
    pub h2load_qps: Option<Stat>,
}

impl Row {
    pub fn new(server: Server, workload: Workload, runs: &[Figures], repeated: usize) -> Row {
        let stat = |f: fn(&Figures) -> f64| Stat::of(runs.iter().map(f)).expect("at least one run");
        let opt = |f: fn(&Figures) -> Option<f64>| Stat::of(runs.iter().filter_map(f));
        let median_run = |f: fn(&Figures) -> f64| {
            let mut sorted: Vec<&Figures> = runs.iter().collect();
            sorted.sort_by(|a, b| f(a).total_cmp(&f(b)));
            sorted[sorted.len() / 2]
        };
        Row {
            server,
            workload,
            runs: runs.len(),
            repeated,
            disturbed: runs.iter().filter(|f| f.steal > super::MAX_STEAL).count(),
            max_steal: runs.iter().map(|f| f.steal).fold(0.0, f64::max),
            dnsperf_qps: stat(|f| f.dnsperf_qps),
            dnsperf_lost: stat(|f| f.dnsperf_lost),
            dnsperf_bottleneck: median_run(|f| f.dnsperf_qps).dnsperf_bottleneck.clone(),
            generator_qps: opt(|f| f.generator_qps),
            generator_offered_qps: opt(|f| f.generator_sent_qps),
            generator_bottleneck: median_run(|f| f.generator_qps.unwrap_or(0.0)).generator_bottleneck.clone(),
            generator_source: runs.iter().find_map(|f| f.generator_source.clone()),
            generator_error: runs.iter().find_map(|f| f.generator_error.clone()),
            fixed_rate: workload.fixed_rate(),
            fixed_answered: stat(|f| f.fixed_answered),
            p50_ms: opt(|f| f.p50_ms),
            p99_ms: opt(|f| f.p99_ms),
            server_us_per_query: stat(|f| f.server_us_per_query),
            total_us_per_query: stat(|f| f.total_us_per_query),
            batched_us_per_query: opt(|f| f.batched_us_per_query),
            batched_answered: opt(|f| f.batched_answered),
            batched_qps: opt(|f| f.batched_qps),
            at_xdp: opt(|f| f.at_xdp),
            handshakes_qps: opt(|f| f.handshakes_qps),
            h2load_qps: opt(|f| f.h2load_qps),
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "dnsperf {:.0} q/s ({}, {:.2}% lost), generator {}, {:.2} us/query on the server core",
            self.dnsperf_qps.median,
            self.dnsperf_bottleneck,
            self.dnsperf_lost.median * 100.0,
            self.generator_qps.map_or("-".to_string(), |g| format!("{:.0} q/s", g.median)),
            self.server_us_per_query.median
        )
    }

    /// The highest rate measured, by either client.
    fn best_qps(&self) -> f64 {
        self.generator_qps.map_or(self.dnsperf_qps.median, |g| g.median.max(self.dnsperf_qps.median))
    }
}

fn range(s: &Stat, digits: usize) -> String {
    format!("{:.digits$} [{:.digits$}, {:.digits$}]", s.median, s.min, s.max)
}

fn kilo(s: &Stat) -> String {
    format!("{:.1}k [{:.1}, {:.1}]", s.median / 1e3, s.min / 1e3, s.max / 1e3)
}

fn find(rows: &[Row], server: Server, workload: Workload) -> Option<&Row> {
    rows.iter().find(|r| r.server == server && r.workload == workload)
}

/// The table, with ratios to Unbound in the same workload.
pub fn print_table(rows: &[Row], unmeasured: &[Unmeasured]) {
    println!(
        "{:<21} {:<5} {:>26} {:>8} {:>28} {:>8} {:>9} {:>9} {:>22} {:>8} {:>22} {:>8} {:>8} {:>7}",
        "server",
        "load",
        "dnsperf q/s [min, max]",
        "x unbnd",
        "generator q/s [min, max]",
        "x unbnd",
        "p50 ms",
        "p99 ms",
        "server us/q [min, max]",
        "x unbnd",
        "batched us/q",
        "x unbnd",
        "total us",
        "at XDP"
    );
    for row in rows {
        let unbound = find(rows, Server::Unbound, row.workload);
        let ratio = |mine: f64, theirs: Option<f64>| theirs.map_or("-".into(), |t| format!("{:.2}", mine / t));
        println!(
            "{:<21} {:<5} {:>26} {:>8} {:>28} {:>8} {:>9} {:>9} {:>22} {:>8} {:>22} {:>8} {:>8.2} {:>7}",
            format!("{}{}", row.server.name(), if row.disturbed > 0 { " *" } else { "" }),
            row.workload.name(),
            kilo(&row.dnsperf_qps),
            ratio(row.dnsperf_qps.median, unbound.map(|u| u.dnsperf_qps.median)),
            row.generator_qps.as_ref().map_or("- (see note)".into(), kilo),
            row.generator_qps
                .map_or("-".into(), |g| ratio(g.median, unbound.and_then(|u| u.generator_qps.map(|x| x.median)))),
            row.p50_ms.map_or("-".into(), |s| format!("{:.3}", s.median)),
            row.p99_ms.map_or("-".into(), |s| format!("{:.3}", s.median)),
            range(&row.server_us_per_query, 2),
            ratio(row.server_us_per_query.median, unbound.map(|u| u.server_us_per_query.median)),
            row.batched_us_per_query.as_ref().map_or("-".into(), |s| range(s, 2)),
            row.batched_us_per_query.map_or("-".into(), |b| ratio(
                b.median,
                unbound.and_then(|u| u.batched_us_per_query.map(|x| x.median))
            )),
            row.total_us_per_query.median,
            row.at_xdp.map_or("-".into(), |s| format!("{:.1}%", s.median * 100.0)),
        );
    }
    for u in unmeasured {
        println!("{:<21} {:<5} not measured: {}", u.server.name(), u.workload.name(), u.why);
    }
    println!();
    for row in rows.iter().filter(|r| r.disturbed > 0) {
        println!(
            "* {} / {}: {} of {} runs kept with steal time over {:.0}% after {} repeats (at most {:.0}%)",
            row.server.name(),
            row.workload.name(),
            row.disturbed,
            row.runs,
            super::MAX_STEAL * 100.0,
            row.repeated,
            row.max_steal * 100.0
        );
    }
    println!("bottlenecks (the core {:.0}% busy or more in the median run):", super::SATURATED * 100.0);
    for row in rows {
        let generator = match (&row.generator_bottleneck, &row.generator_error) {
            (Some(bottleneck), _) => bottleneck.as_str(),
            (None, Some(error)) => error.as_str(),
            (None, None) if row.workload == Workload::Cold => "not run (cold: prebuilt frames would repeat names)",
            (None, None) => "not run (its frames are UDP)",
        };
        println!(
            "  {:<21} {:<5} dnsperf: {}, {:.2}% lost; generator: {generator}",
            row.server.name(),
            row.workload.name(),
            row.dnsperf_bottleneck,
            row.dnsperf_lost.median * 100.0,
        );
    }
    for row in rows {
        if let Some(h) = &row.handshakes_qps {
            println!(
                "  {:<21} {:<7} handshakes: {} q/s with a new TLS connection for each query (dnsperf)",
                row.server.name(),
                row.workload.name(),
                kilo(h)
            );
        }
        if let Some(h) = &row.h2load_qps {
            println!(
                "  {:<21} {:<7} h2load: {} q/s (8 connections of 100 streams)",
                row.server.name(),
                row.workload.name(),
                kilo(h)
            );
        }
    }
    let mut sources: Vec<&str> = rows.iter().filter_map(|r| r.generator_source.as_deref()).collect();
    sources.sort_unstable();
    sources.dedup();
    for source in sources {
        println!("frame generator source: {source}; its ceiling is the reflector's row");
    }
    let fixed: Vec<String> = Workload::ALL
        .iter()
        .filter(|w| rows.iter().any(|r| r.workload == **w))
        .map(|w| format!("{} {} q/s", w.name(), w.fixed_rate()))
        .collect();
    let reached = Stat::of(rows.iter().filter_map(|r| r.batched_qps.map(|b| b.median)))
        .map_or(String::new(), |r| format!(", reached {:.1}k to {:.1}k q/s", r.min / 1e3, r.max / 1e3));
    println!(
        "CPU per query and latency at a fixed offered load ({}): server us/q from dnsperf's queries, one at a time (on a veth each one wakes the NAPI thread), batched us/q from the generator's frames sent from a packet socket in bursts of {} (as a NIC's interrupt coalescing delivers them{}), both the server's threads and its link's NAPI thread (schedstat); total: both cores (/proc/stat, dnsperf included)",
        fixed.join(", "),
        super::generator::PACED_BURST,
        reached
    );
}

/// The targets, each with its figures, met or not.
pub fn print_targets(rows: &[Row]) {
    println!("\ntargets:");
    let get = |s, w| find(rows, s, w);
    let check = |what: &str, ok: Option<bool>, detail: String| {
        let verdict = match ok {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "not measured",
        };
        println!("  {what:<58} {verdict:<12} {detail}");
    };
    let (xdp, unbound, reflector) = (Server::AnycastdXdp, Server::Unbound, Server::Reflector);
    let hot = |s| get(s, Workload::Hot);
    // The reflector does nothing but echo: its figure against Unbound is
    // the most any XDP program gets on this path, the limit of a target.
    let floor = |ratio: Option<f64>| ratio.map_or(String::new(), |r| format!(" (the reflector: {r:.3}x)"));
    match (hot(xdp), hot(unbound)) {
        (Some(x), Some(u)) => {
            let paced = |r: &Row| r.server_us_per_query.median / u.server_us_per_query.median;
            let r = paced(x);
            check(
                "hot: CPU per query <= 1/10 of Unbound's (dnsperf, paced)",
                Some(r <= 0.1),
                format!("{r:.3}x{}", floor(hot(reflector).map(paced))),
            );
            // Against Unbound's best rate by either client: flooded by the
            // generator, a kernel-path server answers far less than it can.
            let rate = |r: &Row| r.generator_qps.map(|g| g.median / u.best_qps());
            let g = rate(x);
            check(
                "hot: generator rate >= 15x Unbound's best",
                g.map(|g| g >= 15.0),
                g.map_or("-".into(), |g| format!("{g:.1}x{}", floor(hot(reflector).and_then(rate)))),
            );
        }
        _ => check("hot: against Unbound", None, String::new()),
    }
    if let (Some(x), Some(r)) = (hot(xdp), hot(reflector)) {
        let g = x.generator_qps.zip(r.generator_qps).map(|(x, r)| x.median / r.median);
        check(
            "hot: generator rate >= 90% of the reflector's",
            g.map(|g| g >= 0.9),
            g.map_or("-".into(), |g| format!("{:.0}%", g * 100.0)),
        );
        let b = x.batched_us_per_query.zip(r.batched_us_per_query).map(|(x, r)| x.median / r.median);
        check(
            "hot: batched CPU per query <= 1.5x the reflector's",
            b.map(|b| b <= 1.5),
            b.map_or("-".into(), |b| format!("{b:.2}x")),
        );
    }
    fast_path_pays(rows, &check);
    userspace_targets(rows, &check);
    encrypted_targets(rows, &check);
    print_against_dnsdist(rows);
    dnstap_target(rows, &check);
    if let (Some(x), Some(u)) = (get(xdp, Workload::Cold), get(unbound, Workload::Cold)) {
        let r = x.dnsperf_qps.median / u.dnsperf_qps.median;
        check("cold, both validating: >= 1.2x Unbound", Some(r >= 1.2), format!("{r:.2}x"));
    }
    // Real clients (cookies, DO=1, padding): the fast path must serve them
    // as it serves plain queries.
    for workload in [Workload::HotReal, Workload::ZipfReal] {
        let Some(real) = get(xdp, workload) else { continue };
        let at_xdp = real.at_xdp.map(|a| a.median);
        let (what, target) = match workload {
            Workload::HotReal => ("hot-real: >= 95% answered at XDP (dnsperf, paced)", Some(0.95)),
            _ => ("zipf-real: answered at XDP (dnsperf, paced)", None),
        };
        let plain = get(xdp, if workload == Workload::HotReal { Workload::Hot } else { Workload::Zipf });
        let rate = plain
            .and_then(|p| p.generator_qps.zip(real.generator_qps))
            .map_or("-".into(), |(p, r)| format!("{:.0}%", r.median / p.median * 100.0));
        check(
            what,
            target.zip(at_xdp).map(|(t, a)| a >= t),
            format!(
                "{}; generator rate {rate} of the plain workload's",
                at_xdp.map_or("-".into(), |a| format!("{:.1}%", a * 100.0))
            ),
        );
    }
    if let (Some(plain), Some(signed)) = (hot(xdp), get(xdp, Workload::HotDo)) {
        let rate = plain.generator_qps.zip(signed.generator_qps).map(|(p, s)| s.median / p.median);
        let at_xdp = signed.at_xdp.map_or("-".into(), |a| format!("{:.1}%", a.median * 100.0));
        check(
            "hot-do: generator rate at XDP >= 90% of hot's",
            rate.map(|r| r >= 0.9),
            rate.map_or("-".into(), |r| format!("{:.0}%; DO answered at XDP (dnsperf): {at_xdp}", r * 100.0)),
        );
    }
}

/// Logging must not slow the fast path: the hot set's rate at XDP with
/// dnstap on (every answer sampled, the default cap) against off, by the
/// generator (the fast path's own ceiling) and dnsperf.
fn dnstap_target(rows: &[Row], check: &dyn Fn(&str, Option<bool>, String)) {
    let (Some(off), Some(on)) =
        (find(rows, Server::AnycastdXdp, Workload::Hot), find(rows, Server::AnycastdXdpDnstap, Workload::Hot))
    else {
        return;
    };
    let generator = off.generator_qps.zip(on.generator_qps).map(|(off, on)| on.median / off.median);
    let dnsperf = on.dnsperf_qps.median / off.dnsperf_qps.median;
    check(
        "hot: rate at XDP with dnstap on >= 80% of off (generator)",
        generator.map(|r| r >= 0.8),
        format!("{}; dnsperf {:.0}%", generator.map_or("-".into(), |r| format!("{:.0}%", r * 100.0)), dnsperf * 100.0),
    );
}

/// The fast path never makes the Zipf mix slower than no fast path, and
/// the node as deployed (XDP on) beats Unbound on it through dnsperf: the
/// misses feed the map at a cost the hits must repay.
fn fast_path_pays(rows: &[Row], check: &dyn Fn(&str, Option<bool>, String)) {
    let get = |s| find(rows, s, Workload::Zipf);
    let (Some(x), unbound, user) = (get(Server::AnycastdXdp), get(Server::Unbound), get(Server::AnycastdUserspace))
    else {
        return;
    };
    if let Some(off) = user {
        let r = x.dnsperf_qps.median / off.dnsperf_qps.median;
        check("zipf: dnsperf rate with XDP on >= with XDP off", Some(r >= 1.0), format!("{r:.2}x"));
    }
    if let Some(u) = unbound {
        let r = x.dnsperf_qps.median / u.dnsperf_qps.median;
        let p99 = x.p99_ms.zip(u.p99_ms).map(|(x, u)| (x.median, u.median));
        let at_xdp = x.at_xdp.map_or("-".into(), |a| format!("{:.1}%", a.median * 100.0));
        check(
            "zipf: dnsperf rate >= 1.5x Unbound's, p99 no worse",
            Some(r >= 1.5 && p99.is_none_or(|(x, u)| x <= u)),
            format!(
                "{r:.2}x; p99 {}; answered at XDP {at_xdp}",
                p99.map_or("-".into(), |(x, u)| format!("{x:.2} ms against {u:.2}"))
            ),
        );
    }
}

/// Over DNS over TLS and HTTPS, the hot set against Unbound's.
fn encrypted_targets(rows: &[Row], check: &dyn Fn(&str, Option<bool>, String)) {
    for workload in [Workload::HotDot, Workload::HotDoh] {
        let (Some(x), Some(u)) = (find(rows, Server::AnycastdXdp, workload), find(rows, Server::Unbound, workload))
        else {
            continue;
        };
        let r = x.dnsperf_qps.median / u.dnsperf_qps.median;
        let p99 = x.p99_ms.zip(u.p99_ms).map(|(x, u)| (x.median, u.median));
        let handshakes = x.handshakes_qps.zip(u.handshakes_qps).map(|(x, u)| x.median / u.median);
        let h2load = x.h2load_qps.zip(u.h2load_qps).map(|(x, u)| x.median / u.median);
        check(
            &format!("{}: >= 1.2x Unbound's rate (dnsperf), p99 no worse", workload.name()),
            Some(r >= 1.2 && p99.is_none_or(|(x, u)| x <= u)),
            format!(
                "{r:.2}x; p99 {}; handshakes {}",
                p99.map_or("-".into(), |(x, u)| format!("{x:.2} ms against {u:.2}")),
                handshakes.map_or("-".into(), |h| format!("{h:.2}x"))
            ),
        );
        if let Some(h) = h2load {
            check(&format!("{}: >= 1.2x Unbound's rate (h2load)", workload.name()), Some(h >= 1.2), format!("{h:.2}x"));
        }
    }
}

/// anycastd against dnsdist's packet cache over DoT and DoH: no target,
/// the proxy operators would otherwise put in front.
fn print_against_dnsdist(rows: &[Row]) {
    for workload in [Workload::HotDot, Workload::HotDoh] {
        let (Some(x), Some(d)) = (find(rows, Server::AnycastdXdp, workload), find(rows, Server::Dnsdist, workload))
        else {
            continue;
        };
        let p99 = x.p99_ms.zip(d.p99_ms).map(|(x, d)| format!("; p99 {:.2} ms against {:.2}", x.median, d.median));
        let h2load = x.h2load_qps.zip(d.h2load_qps).map(|(x, d)| format!("; h2load {:.2}x", x.median / d.median));
        println!(
            "  {:<58} {:<12} {:.2}x{}{}",
            format!("{}: against dnsdist's rate (dnsperf)", workload.name()),
            "no target",
            x.dnsperf_qps.median / d.dnsperf_qps.median,
            p99.unwrap_or_default(),
            h2load.unwrap_or_default()
        );
    }
}

/// The daemon's own path against Unbound: hot and zipf with the fast path
/// off through both clients; and no collapse under the generator's flood.
fn userspace_targets(rows: &[Row], check: &dyn Fn(&str, Option<bool>, String)) {
    let get = |s, w| find(rows, s, w);
    let (user, unbound) = (Server::AnycastdUserspace, Server::Unbound);
    for workload in [Workload::Hot, Workload::Zipf] {
        let (Some(x), Some(u)) = (get(user, workload), get(unbound, workload)) else { continue };
        let dnsperf = x.dnsperf_qps.median / u.dnsperf_qps.median;
        let generator = x.generator_qps.zip(u.generator_qps).map(|(x, u)| x.median / u.median);
        check(
            &format!("{}, XDP off: >= 1.3x Unbound with both clients", workload.name()),
            Some(dnsperf >= 1.3 && generator.is_none_or(|g| g >= 1.3)),
            format!("dnsperf {dnsperf:.2}x, generator {}", generator.map_or("-".into(), |g| format!("{g:.2}x"))),
        );
    }
    if let Some(x) = get(user, Workload::Hot) {
        // Flooded by the generator, the answered rate stays near the
        // highest dnsperf gets.
        let kept = x.generator_qps.map(|g| g.median / x.dnsperf_qps.median);
        check(
            "hot, XDP off: under the flood the answered rate stays at its peak",
            kept.map(|k| k >= 0.9),
            kept.map_or("-".into(), |k| format!("{:.0}% of the dnsperf peak", k * 100.0)),
        );
    }
}

pub fn write_json(path: &Path, results: &Results, micro: &serde_json::Value) -> Result<()> {
    let json = serde_json::json!({ "comparison": results.rows, "unmeasured": results.unmeasured, "micro": micro });
    std::fs::write(path, serde_json::to_string_pretty(&json)?).with_context(|| format!("writing {}", path.display()))
}

/// Where Debian's fonts-dejavu-core puts the font the chart is labelled in.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(174, 199, 232),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(127, 127, 127),
];

/// Three panels, log scale: the highest rate per server and workload, and
/// the server core's microseconds per query, paced and batched. The legend
/// goes on the first, where the cold bars are low and leave it room.
pub fn write_png(path: &Path, rows: &[Row]) -> Result<()> {
    let font: &'static [u8] =
        Box::leak(std::fs::read(FONT).with_context(|| format!("reading {FONT}"))?.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow::anyhow!("{FONT} is not a usable font"))?;
    let root = BitMapBackend::new(path, (1400, 1350)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((3, 1));
    panel(
        &panels[0],
        rows,
        "highest rate, queries/s (best of dnsperf and the frame generator)",
        Panel { value: Row::best_qps, unit: Unit::Rate, legend: true },
    )?;
    panel(
        &panels[1],
        rows,
        "server core CPU per answered query (fixed offered load, dnsperf: one query per wakeup)",
        Panel { value: |r| r.server_us_per_query.median, unit: Unit::Micros, legend: false },
    )?;
    panel(
        &panels[2],
        rows,
        &format!(
            "server core CPU per answered query (fixed offered load, generator bursts of {})",
            super::generator::PACED_BURST
        ),
        Panel { value: |r| r.batched_us_per_query.map_or(0.0, |b| b.median), unit: Unit::Micros, legend: false },
    )?;
    root.present().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// What a panel shows.
struct Panel {
    value: fn(&Row) -> f64,
    unit: Unit,
    legend: bool,
}

#[derive(Clone, Copy)]
enum Unit {
    /// Queries a second: 950, 120k, 1.2M.
    Rate,
    /// Microseconds: 0.8 us, 12 us.
    Micros,
}

impl Unit {
    /// `v` as people write it.
    fn human(self, v: f64) -> String {
        // Three significant digits at most, no trailing zeros: 2, 1.05, 36.2.
        let short = |v: f64| {
            let text = if v >= 100.0 {
                format!("{v:.0}")
            } else if v >= 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            };
            if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
        };
        match self {
            Unit::Rate if v >= 1e6 => format!("{}M", short(v / 1e6)),
            Unit::Rate if v >= 1e3 => format!("{}k", short(v / 1e3)),
            Unit::Rate => short(v),
            Unit::Micros => format!("{} us", short(v)),
        }
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    rows: &[Row],
    title: &str,
    Panel { value, unit, legend }: Panel,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let workloads: Vec<Workload> =
        Workload::ALL.into_iter().filter(|w| rows.iter().any(|r| r.workload == *w)).collect();
    let servers: Vec<Server> = Server::ALL.into_iter().filter(|s| rows.iter().any(|r| r.server == *s)).collect();
    let values: Vec<f64> = rows.iter().map(value).filter(|v| *v > 0.0).collect();
    if values.is_empty() {
        // Nothing measured for this panel (batched CPU in a cold-only run).
        area.titled(&format!("{title}: not measured in this run"), ("sans-serif", 20))
            .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
        return Ok(());
    }
    let low = values.iter().copied().fold(f64::INFINITY, f64::min).max(1e-3) / 2.0;
    // Room above the tallest bar for its value and ratios.
    let high = values.iter().copied().fold(0.0, f64::max).max(low * 10.0) * 4.0;
    let slots = workloads.len() * (servers.len() + 1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..slots as f64, (low..high).log_scale())
        .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(workloads.len())
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| unit.human(*v))
        .draw()
        .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
    for (w, workload) in workloads.iter().enumerate() {
        let base = (w * (servers.len() + 1)) as f64;
        for (s, server) in servers.iter().enumerate() {
            let Some(row) = find(rows, *server, *workload) else { continue };
            let v = value(row);
            if v <= 0.0 {
                continue;
            }
            let x = base + s as f64;
            let color = COLORS[Server::ALL.iter().position(|a| a == server).unwrap_or(0) % COLORS.len()];
            let bar = chart
                .draw_series(std::iter::once(Rectangle::new([(x + 0.1, low), (x + 0.9, v)], color.filled())))
                .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
            // One legend entry per server.
            if w == 0 {
                bar.label(server.name())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
            }
            // The value on the bar, and beside it the ratio to the echo
            // and to Unbound in the same workload.
            let ratio = |to: Server, name: &str| {
                find(rows, to, *workload)
                    .map(value)
                    .filter(|r| *r > 0.0 && to != *server)
                    .map(|r| format!("{:.2}x {name}", v / r))
            };
            let mut lines = vec![unit.human(v)];
            lines.extend(ratio(Server::Reflector, "echo"));
            lines.extend(ratio(Server::Unbound, "unbound"));
            for (i, line) in lines.iter().enumerate() {
                let y = v * 1.25f64.powi(lines.len() as i32 - i as i32);
                chart
                    .draw_series(std::iter::once(Text::new(line.clone(), (x + 0.05, y), ("sans-serif", 11))))
                    .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
            }
        }
    }
    // Workload names over their groups, after the bars so none covers them.
    for (w, workload) in workloads.iter().enumerate() {
        let x = (w * (servers.len() + 1)) as f64 + servers.len() as f64 / 2.0 - 0.3;
        chart
            .draw_series(std::iter::once(Text::new(workload.name().to_string(), (x, high / 1.6), ("sans-serif", 18))))
            .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Unit;

    #[test]
    fn figures_read_as_people_write_them() {
        let cases = [
            (Unit::Rate, 950.0, "950"),
            (Unit::Rate, 120_400.0, "120k"),
            (Unit::Rate, 15_250.0, "15.2k"),
            (Unit::Rate, 1_234_000.0, "1.23M"),
            (Unit::Micros, 2.0, "2 us"),
            (Unit::Rate, 2_000_000.0, "2M"),
            (Unit::Micros, 0.5, "0.5 us"),
            (Unit::Micros, 36.17, "36.2 us"),
            (Unit::Micros, 150.0, "150 us"),
        ];
        for (unit, value, written) in cases {
            assert_eq!(unit.human(value), written, "{value}");
        }
    }
}
