//! What `anycastd ctl top` shows each second: rates from two `stats`
//! snapshots and the names and clients `top` counted meanwhile.

use std::{collections::HashMap, fmt::Write};

/// Every sample of a `stats` answer, by its series as written.
#[derive(Clone, Debug, Default)]
pub struct Snapshot(HashMap<String, f64>);

impl Snapshot {
    pub fn parse(text: &str) -> Snapshot {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(series, v)| Some((series.to_string(), v.parse().ok()?))))
            .collect();
        Snapshot(samples)
    }

    fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// The samples of `family` with `label`, by the label's value.
    fn by_label(&self, family: &str, label: &str) -> Vec<(String, f64)> {
        let prefix = format!("{family}{{{label}=\"");
        let mut out: Vec<(String, f64)> = self
            .0
            .iter()
            .filter_map(|(series, v)| Some((series.strip_prefix(&prefix)?.strip_suffix("\"}")?.to_string(), *v)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Per-second rates between two snapshots `seconds` apart.
struct Rates<'a> {
    before: &'a Snapshot,
    after: &'a Snapshot,
    seconds: f64,
}

impl Rates<'_> {
    fn of(&self, series: &str) -> f64 {
        (self.after.get(series) - self.before.get(series)).max(0.0) / self.seconds
    }

    /// Rates of every value of `label` in `family` that moved.
    fn by_label(&self, family: &str, label: &str) -> Vec<(String, f64)> {
        let series = |value: &str| format!("{family}{{{label}=\"{value}\"}}");
        self.after
            .by_label(family, label)
            .into_iter()
            .map(|(v, _)| (v.clone(), self.of(&series(&v))))
            .filter(|(_, r)| *r > 0.0)
            .collect()
    }
}

fn xdp(outcome: &str) -> String {
    format!("anycast_xdp_packets_total{{outcome=\"{outcome}\"}}")
}

/// The screen for the second between `before` and `after`, with `top`
/// (the daemon's `top` answer) and `node` (its NSID or address).
pub fn render(node: &str, before: &Snapshot, after: &Snapshot, seconds: f64, top: &str) -> String {
    let r = Rates { before, after, seconds: seconds.max(0.001) };
    let at_xdp = r.of(&xdp("answered")) + r.of(&xdp("slipped"));
    let udp = r.of("anycast_queries_total{transport=\"udp\"}");
    let tcp = r.of("anycast_queries_total{transport=\"tcp\"}");
    let (dot, doh) =
        (r.of("anycast_queries_total{transport=\"dot\"}"), r.of("anycast_queries_total{transport=\"doh\"}"));
    let all = at_xdp + udp + tcp + dot + doh;
    let share = if all > 0.0 { 100.0 * at_xdp / all } else { 0.0 };
    let questions: f64 = r.by_label("anycast_questions_total", "source").iter().map(|(_, n)| n).sum();
    let cached = r.of("anycast_questions_total{source=\"cache\"}");
    let hit = if questions > 0.0 { format!("{:.1}%", 100.0 * cached / questions) } else { "-".into() };
    let replies = r.of("anycast_upstream_latency_seconds_count");
    let latency = match replies > 0.0 {
        true => format!("{:.1} ms mean", 1000.0 * r.of("anycast_upstream_latency_seconds_sum") / replies),
        false => "-".into(),
    };
    let mut out = format!("anycastd top: {node}, every {seconds:.0} s\n\n");
    let _ =
        writeln!(out, "queries/s   XDP {at_xdp:>10.0}   daemon UDP {udp:>8.0}   TCP {tcp:>6.0}   at XDP {share:.1}%");
    let handshakes = r.by_label("anycast_tls_handshakes_failed_total", "transport");
    let _ = writeln!(
        out,
        "encrypted   DoT {dot:.0}/s   DoH {doh:.0}/s   connections/s DoT {:.0} DoH {:.0}   failed handshakes/s {}",
        r.of("anycast_connections_total{transport=\"dot\"}"),
        r.of("anycast_connections_total{transport=\"doh\"}"),
        list(&handshakes),
    );
    let _ = writeln!(out, "resolver    cache hits {hit}   hot answers/s {:.0}", r.of("anycast_hot_answers_total"));
    let _ = writeln!(out, "upstream    replies/s {replies:.0}   latency {latency}");
    let rcodes = r.by_label("anycast_responses_total", "rcode");
    let _ = writeln!(out, "RCODEs/s    {}", list(&rcodes));
    let limited = [
        ("XDP slip", r.of(&xdp("slipped"))),
        ("XDP drop", r.of(&xdp("rate_limited"))),
        ("slip", r.of("anycast_rate_limited_total{action=\"slip\"}")),
        ("drop", r.of("anycast_rate_limited_total{action=\"drop\"}")),
        ("TCP drop", r.of("anycast_rate_limited_total{action=\"tcp_drop\"}")),
    ];
    let _ = writeln!(out, "limited/s   {}", limited.map(|(what, n)| format!("{what} {n:.0}")).join("   "));
    out += &top_lists(top);
    out
}

fn list(rates: &[(String, f64)]) -> String {
    if rates.is_empty() {
        return "-".into();
    }
    rates.iter().map(|(what, n)| format!("{what} {n:.0}")).collect::<Vec<_>>().join("   ")
}

/// The daemon's `top` answer as two columns.
fn top_lists(top: &str) -> String {
    let (names, clients) = top.split_once("clients\n").unwrap_or((top, ""));
    let names: Vec<&str> = names.strip_prefix("names\n").unwrap_or(names).lines().collect();
    let clients: Vec<&str> = clients.lines().collect();
    if names.is_empty() && clients.is_empty() {
        return "\nno sampled XDP answers (top names need [dnstap] with xdp_sample)\n".into();
    }
    let mut out = format!("\n{:<50} {}\n", "top names (sampled XDP answers)", "top clients");
    for i in 0..names.len().max(clients.len()) {
        let _ = writeln!(out, "{:<50} {}", names.get(i).unwrap_or(&""), clients.get(i).unwrap_or(&""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_shares_and_lists_from_two_snapshots() {
        let before = Snapshot::parse(
            "# TYPE x counter\nanycast_xdp_packets_total{outcome=\"answered\"} 1000\n\
             anycast_queries_total{transport=\"udp\"} 10\nanycast_responses_total{rcode=\"noerror\"} 10\n\
             anycast_questions_total{source=\"cache\"} 5\nanycast_questions_total{source=\"network\"} 5\n",
        );
        let after = Snapshot::parse(
            "anycast_xdp_packets_total{outcome=\"answered\"} 2900\nanycast_xdp_packets_total{outcome=\"slipped\"} 100\n\
             anycast_queries_total{transport=\"udp\"} 30\nanycast_queries_total{transport=\"tcp\"} 2\n\
             anycast_responses_total{rcode=\"noerror\"} 28\nanycast_responses_total{rcode=\"nxdomain\"} 2\n\
             anycast_questions_total{source=\"cache\"} 20\nanycast_questions_total{source=\"network\"} 10\n\
             anycast_upstream_latency_seconds_sum 0.5\nanycast_upstream_latency_seconds_count 10\n",
        );
        let screen = render("node-1", &before, &after, 2.0, "names\n7 www.lab.\nclients\n7 10.99.1.2\n");
        for expected in [
            "XDP       1000",
            "daemon UDP       10",
            "TCP      1",
            "at XDP 98.9%",
            "cache hits 75.0%",
            "latency 50.0 ms mean",
            "noerror 9   nxdomain 1",
            "XDP slip 50",
            "7 www.lab.",
            "7 10.99.1.2",
        ] {
            assert!(screen.contains(expected), "`{expected}` not in:\n{screen}");
        }
        assert!(render("n", &after, &after, 1.0, "names\nclients\n").contains("no sampled XDP answers"));
    }
}
