//! The workloads, as names to ask: a hot set (all cache hits once warm),
//! the same with DO=1 (signed answers), a Zipf-distributed mix over a
//! million names (popular names hit, the tail misses), and cold-cache
//! recursion (every name new). All names are in the lab's bench zones,
//! which are signed and where every name exists, so every recursion is
//! validated.

use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Hot,
    /// The hot set asked with DO=1: answers with their RRSIGs and proofs.
    HotDo,
    /// The hot set asked as real clients ask (see [`REAL_CLIENTS`]).
    HotReal,
    /// The hot set over DNS over TLS (dnsperf's connections kept open),
    /// and its handshake rate (a connection per query).
    HotDot,
    /// The same over DNS over HTTPS (HTTP/2, GET).
    HotDoh,
    Zipf,
    /// The Zipf mix asked as real clients ask.
    ZipfReal,
    Cold,
}

/// How dnsperf carries the queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Udp,
    Dot,
    Doh,
}

impl Mode {
    /// dnsperf's `-m`.
    pub fn arg(self) -> &'static str {
        match self {
            Mode::Udp => "udp",
            Mode::Dot => "dot",
            Mode::Doh => "doh",
        }
    }
}

/// How one kind of client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// No EDNS option (stub resolvers: glibc, musl, systemd-resolved,
    /// Windows, Android).
    Plain,
    /// EDNS with DO=1, no option.
    Dnssec,
    /// A client cookie (dig, BIND-based forwarders).
    Cookie,
    /// DO=1 and a client cookie (a validating BIND forwarder).
    DnssecCookie,
    /// EDNS padding (RFC 7830) to a 128-byte block (stubs that pad).
    Padding,
}

/// The client cookie the benchmark's clients send.
pub const CLIENT_COOKIE: [u8; 8] = [0xbe, 0x9c, 0x0c, 0x00, 0x4b, 0x1e, 0x55, 0xed];
/// Padding bytes of a padded query (an A query for a bench name padded to
/// the 128-byte block RFC 8467 recommends).
pub const PADDING_LEN: usize = 60;

impl Client {
    pub fn dnssec_ok(self) -> bool {
        matches!(self, Client::Dnssec | Client::DnssecCookie)
    }

    /// Its EDNS option (code, data), if any.
    pub fn option(self) -> Option<(u16, Vec<u8>)> {
        match self {
            Client::Cookie | Client::DnssecCookie => Some((10, CLIENT_COOKIE.to_vec())),
            Client::Padding => Some((12, vec![0; PADDING_LEN])),
            Client::Plain | Client::Dnssec => None,
        }
    }
}

/// Real clients, in twentieths of the queries: half plain (stubs), 30%
/// with a cookie (dig and BIND forwarders send one with every query), 15%
/// DO=1 with a cookie (validating BIND forwarders), 5% padded. A model of
/// a resolver whose clients are both stubs and forwarders, not a
/// measurement; the point is that every kind the fast path must serve is
/// in it.
pub const REAL_CLIENTS: [(Client, u32); 4] =
    [(Client::Plain, 10), (Client::Cookie, 6), (Client::DnssecCookie, 3), (Client::Padding, 1)];

/// Names in the hot set: the hosts of z0.bench.sec.
pub const HOT_NAMES: u64 = anycast_lab::hierarchy::BENCH_HOSTS as u64;
/// Names the Zipf mix draws from, and its exponent.
pub const ZIPF_NAMES: usize = 1_000_000;
const ZIPF_EXPONENT: f64 = 1.0;
/// Queries a second every server is offered when its CPU is measured.
const FIXED_RATE: u32 = 20_000;
/// Cold recursion is slower: every query is a walk from the root's zones.
const COLD_FIXED_RATE: u32 = 2_000;

impl Workload {
    pub const ALL: [Workload; 8] = [
        Workload::Hot,
        Workload::HotDo,
        Workload::HotReal,
        Workload::HotDot,
        Workload::HotDoh,
        Workload::Zipf,
        Workload::ZipfReal,
        Workload::Cold,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Hot => "hot",
            Workload::HotDo => "hot-do",
            Workload::HotReal => "hot-real",
            Workload::HotDot => "hot-dot",
            Workload::HotDoh => "hot-doh",
            Workload::Zipf => "zipf",
            Workload::ZipfReal => "zipf-real",
            Workload::Cold => "cold",
        }
    }

    /// Whether it asks the hot set (else the Zipf mix, or new names).
    pub fn is_hot(self) -> bool {
        matches!(self, Workload::Hot | Workload::HotDo | Workload::HotReal | Workload::HotDot | Workload::HotDoh)
    }

    /// How its queries are carried.
    pub fn mode(self) -> Mode {
        match self {
            Workload::HotDot => Mode::Dot,
            Workload::HotDoh => Mode::Doh,
            _ => Mode::Udp,
        }
    }

    /// The clients that ask it, with their shares (twentieths).
    pub fn clients(self) -> &'static [(Client, u32)] {
        match self {
            Workload::HotDo => &[(Client::Dnssec, 20)],
            Workload::HotReal | Workload::ZipfReal => &REAL_CLIENTS,
            Workload::Hot | Workload::HotDot | Workload::HotDoh | Workload::Zipf | Workload::Cold => {
                &[(Client::Plain, 20)]
            }
        }
    }

    /// The client of the `i`-th query: the shares in turn, query by query.
    pub fn client(self, i: usize) -> Client {
        let mut slot = (i % 20) as u32;
        for &(client, share) in self.clients() {
            if slot < share {
                return client;
            }
            slot -= share;
        }
        unreachable!("the shares of a workload add up to 20")
    }

    /// The offered load at which CPU per query and latency are measured.
    pub fn fixed_rate(self) -> u32 {
        match self {
            Workload::Cold => COLD_FIXED_RATE,
            _ => FIXED_RATE,
        }
    }

    /// Whether every run needs a freshly started server (an empty cache).
    pub fn restarts(self) -> bool {
        self == Workload::Cold
    }
}

/// Draws names for the workloads, reproducibly from a seed.
pub struct Names {
    /// Cumulative Zipf weights over the ranks, normalised to 1.
    zipf_cdf: Vec<f64>,
}

impl Names {
    pub fn new() -> Names {
        let mut cdf = Vec::with_capacity(ZIPF_NAMES);
        let mut sum = 0.0;
        for rank in 1..=ZIPF_NAMES {
            sum += 1.0 / (rank as f64).powf(ZIPF_EXPONENT);
            cdf.push(sum);
        }
        cdf.iter_mut().for_each(|c| *c /= sum);
        Names { zipf_cdf: cdf }
    }

    /// `count` names of `workload`. `seed` picks the Zipf draw and, for the
    /// cold workload, a name space no earlier run has asked for.
    pub fn draw(&self, workload: Workload, count: usize, seed: u64) -> Vec<String> {
        let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        (0..count as u64)
            .map(|i| match workload {
                Workload::Zipf | Workload::ZipfReal => {
                    let u = rng.unit();
                    let rank = self.zipf_cdf.partition_point(|&c| c < u);
                    format!("n{rank}.z{}.bench.sec.", rank % 1000)
                }
                Workload::Cold => format!("c{seed}-{i}.z{}.bench.sec.", i % 1000),
                _ => hot_name(i % HOT_NAMES),
            })
            .collect()
    }
}

pub fn hot_name(i: u64) -> String {
    format!("h{i}.z0.bench.sec.")
}

/// dnsperf's input: one `NAME A` line per query.
pub fn dnsperf_input(names: &[String]) -> String {
    let mut text = String::with_capacity(names.len() * 28);
    for name in names {
        let _ = writeln!(text, "{name} A");
    }
    text
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_come_in_turn() {
        for workload in Workload::ALL {
            assert_eq!(workload.clients().iter().map(|(_, s)| s).sum::<u32>(), 20, "{}", workload.name());
        }
        let kinds: Vec<Client> = (0..20).map(|i| Workload::HotReal.client(i)).collect();
        assert_eq!(kinds.iter().filter(|c| **c == Client::Cookie).count(), 6);
        assert_eq!(Workload::HotReal.client(19), Client::Padding);
        assert_eq!(Workload::HotDo.client(7), Client::Dnssec);
    }

    #[test]
    fn zipf_favours_the_first_ranks_and_reaches_the_tail() {
        let names = Names::new();
        let drawn = names.draw(Workload::Zipf, 100_000, 7);
        let top = drawn.iter().filter(|n| n.starts_with("n0.")).count();
        // Rank 1 of a million under s = 1 has weight 1/H(1e6) ~ 6.9%.
        assert!((6000..8000).contains(&top), "rank 1 drawn {top} times in 100000");
        let distinct: std::collections::HashSet<_> = drawn.iter().collect();
        assert!(distinct.len() > 30_000, "only {} distinct names", distinct.len());
        assert_eq!(drawn, names.draw(Workload::Zipf, 100_000, 7), "the same seed draws the same names");
    }

    #[test]
    fn cold_names_are_new_for_every_seed() {
        let names = Names::new();
        let a = names.draw(Workload::Cold, 10, 1);
        let b = names.draw(Workload::Cold, 10, 2);
        assert!(a.iter().all(|n| !b.contains(n)));
        assert_eq!(a.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    }
}
