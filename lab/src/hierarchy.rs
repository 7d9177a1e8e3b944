//! The offline DNS hierarchy of the lab, served by knotd: a root, the
//! TLDs `lab.` and `example.`, and zones below them with every case the
//! resolver must handle.
//!
//! The root is signed (its key is the lab's trust anchor, written to
//! [`ANCHOR_FILE`]); `lab.` and `example.` are unsigned delegations from it,
//! and `sec.` is a signed subtree with the DNSSEC cases (see `signed`).
//!
//! | server | zones | what it shows |
//! | --- | --- | --- |
//! | 10.99.2.10 | `.` (signed, NSEC) | referrals to lab. and example. with glue and no DS, to sec. with its DS |
//! | 10.99.2.11 | `lab.` | a delegation with glue (example.lab.), one without (noglue.lab., NS in example.), one lame (lame.lab.: one NS never answers), one slow (slow.lab.), one to a hundred name servers that do not exist (nxns.lab., NXNS) |
//! | 10.99.2.12 | `example.lab.`, `noglue.lab.`, `lame.lab.`, and `intranet.` and `partner.`, which no one delegates (for stub and forward zones) | hosts, NXDOMAIN, NODATA, CNAME chains across zones, an answer too big for UDP, a 5-second TTL, MX, TXT, SRV, wildcards (one with TTL 86400, for floods), a 3-record RRset |
//! | 10.99.2.13 | `example.` | `www.hosting.example.`, and `ns.hosting.example.` (noglue.lab.'s server) |
//! | 10.99.2.14 | - | a server that never answers (UDP and TCP) |
//! | 10.99.4.2 | `slow.lab.` | answers 250 ms late (knotd behind a delaying proxy); a wildcard, for forgers to race |
//! | 10.99.2.15 | `bench.sec.` and `z0`..`z999.bench.sec.`, signed | a large name space for the benchmarks: every name below a zone exists (wildcard); started only by them |

use std::{
    fmt::Write,
    path::{Path, PathBuf},
};

use crate::LabError;

pub const ROOT: &str = "10.99.2.10";
pub const LAB: &str = "10.99.2.11";
pub const EXAMPLE: &str = "10.99.2.12";
pub const TLD_EXAMPLE: &str = "10.99.2.13";
pub const SILENT: &str = "10.99.2.14";
pub const SLOW: &str = "10.99.4.2";
pub const BENCH: &str = "10.99.2.15";
pub use crate::signed::{EXPIRED, SEC, SIGNED, STRIP};
/// Zones z0..BENCH_ZONES-1 below bench.sec.
pub const BENCH_ZONES: u32 = 1000;
/// Hosts h0..BENCH_HOSTS-1 in z0.bench.sec., with records of their own:
/// a hot name's answer is its RRset and RRSIG, as in production, rather
/// than a wildcard expansion with its proof.
pub const BENCH_HOSTS: u32 = 1000;
/// Where the slow zone's knotd listens, behind the delaying proxy.
pub const SLOW_BACKEND: &str = "127.0.0.1@5353";
/// How late the slow server answers.
pub const SLOW_DELAY_MS: u32 = 250;

/// The lab's trust anchor (the root's DS records), in the lab directory.
pub const ANCHOR_FILE: &str = "root.anchor";

/// Name servers of nxns.lab. (all in sink.example., none of which exists).
pub const NXNS_SERVERS: u32 = 100;

/// Hosts h1..=HOSTS in example.lab. (A for all, AAAA for even ones).
pub const HOSTS: u32 = 100;

/// A knotd instance: where it listens and its zones as (origin, zone
/// text).
pub struct Server {
    pub name: &'static str,
    /// `ADDRESS@PORT` for knotd's `listen`.
    pub listen: String,
    pub zones: Vec<(String, String)>,
    /// The zones knotd signs, and how.
    pub signed: Vec<Signed>,
    /// Days in the past the server (and its keys) live in, under
    /// faketime: its signatures have expired by now. 0: the real time.
    pub days_ago: u32,
}

impl Server {
    fn unsigned(name: &'static str, listen: String, zones: Vec<(String, String)>) -> Server {
        Server { name, listen, zones, signed: Vec::new(), days_ago: 0 }
    }
}

/// A zone knotd signs.
#[derive(Clone, Debug)]
pub struct Signed {
    pub origin: String,
    pub policy: Policy,
    /// The parent publishes a DS that matches none of the zone's keys.
    pub broken_ds: bool,
    /// Public-only keys published beside the zone's own, all with its key
    /// tag and algorithm (KeyTrap, CVE-2023-50387).
    pub colliding_keys: u32,
}

/// How a zone is signed: a knotd policy of [`POLICIES`], one CSK made with
/// keymgr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// ECDSA P-256 with SHA-256 (algorithm 13), NSEC.
    Ecdsa,
    /// Algorithm 13, NSEC3 without salt or extra iterations (RFC 9276).
    EcdsaNsec3,
    /// RSA/SHA-256 (algorithm 8, 2048 bits), NSEC3 with opt-out.
    RsaNsec3OptOut,
    /// RSA/SHA-256, NSEC.
    Rsa,
}

impl Policy {
    pub fn id(self) -> &'static str {
        match self {
            Policy::Ecdsa => "ecdsa",
            Policy::EcdsaNsec3 => "ecdsa-nsec3",
            Policy::RsaNsec3OptOut => "rsa-nsec3-optout",
            Policy::Rsa => "rsa",
        }
    }

    /// keymgr's `generate` arguments for the zone's key.
    pub fn key(self) -> &'static [&'static str] {
        match self {
            Policy::Ecdsa | Policy::EcdsaNsec3 => &["algorithm=ecdsap256sha256", "ksk=yes", "zsk=yes"],
            Policy::RsaNsec3OptOut | Policy::Rsa => &["algorithm=rsasha256", "size=2048", "ksk=yes", "zsk=yes"],
        }
    }
}

/// knotd's `policy` section: keys are made by keymgr (manual), signatures
/// live the default 14 days.
const POLICIES: &str = concat!(
    "policy:\n",
    "  - id: ecdsa\n    algorithm: ecdsap256sha256\n    manual: on\n",
    "  - id: ecdsa-nsec3\n    algorithm: ecdsap256sha256\n    manual: on\n",
    "    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n",
    "  - id: rsa-nsec3-optout\n    algorithm: rsasha256\n    manual: on\n",
    "    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    nsec3-opt-out: on\n",
    "  - id: rsa\n    algorithm: rsasha256\n    manual: on\n",
);

fn soa(origin: &str, ns: &str, minimum: u32) -> String {
    format!(
        "{origin} 3600 IN SOA {ns} hostmaster.{origin_tail} 2026112201 3600 600 86400 {minimum}\n",
        origin_tail = if origin == "." { "" } else { origin }
    )
}

/// The root hints for the lab, in named.root format.
pub fn hints() -> String {
    format!(".  3600000  IN  NS  a.root.lab.\na.root.lab.  3600000  IN  A  {ROOT}\n")
}

pub fn servers() -> Vec<Server> {
    let root = format!(
        "{soa}. 86400 IN NS a.root.lab.\n\
         lab. 86400 IN NS ns1.lab.\nns1.lab. 86400 IN A {LAB}\na.root.lab. 86400 IN A {ROOT}\n\
         example. 86400 IN NS ns.example.\nns.example. 86400 IN A {TLD_EXAMPLE}\n\
         sec. 86400 IN NS ns.sec.\nns.sec. 86400 IN A {SEC}\n",
        soa = soa(".", "a.root.lab.", 86400)
    );
    let lab = format!(
        "{soa}lab. 3600 IN NS ns1.lab.\nns1.lab. 3600 IN A {LAB}\n\
         www.lab. 300 IN A 10.99.5.1\n\
         example.lab. 3600 IN NS ns.example.lab.\nns.example.lab. 3600 IN A {EXAMPLE}\n\
         noglue.lab. 3600 IN NS ns.hosting.example.\n\
         lame.lab. 3600 IN NS ns1.lame.lab.\nlame.lab. 3600 IN NS ns2.lame.lab.\n\
         ns1.lame.lab. 3600 IN A {SILENT}\nns2.lame.lab. 3600 IN A {EXAMPLE}\n\
         slow.lab. 3600 IN NS ns.slow.lab.\nns.slow.lab. 3600 IN A {SLOW}\n\
",
        soa = soa("lab.", "ns1.lab.", 300)
    );
    // NXNS: a referral to a hundred name servers that do not exist.
    let mut lab = lab;
    for i in 0..NXNS_SERVERS {
        let _ = writeln!(lab, "nxns.lab. 3600 IN NS ns{i}.sink.example.");
    }
    let mut example = format!(
        "{soa}example.lab. 3600 IN NS ns.example.lab.\nns.example.lab. 3600 IN A {EXAMPLE}\n\
         www.example.lab. 300 IN A 10.99.5.10\nwww.example.lab. 300 IN AAAA fd99:5::10\n\
         alias.example.lab. 300 IN CNAME www.hosting.example.\n\
         chain.example.lab. 300 IN CNAME alias.example.lab.\n\
         short.example.lab. 5 IN A 10.99.5.11\n\
         multi.example.lab. 300 IN A 10.99.5.12\nmulti.example.lab. 300 IN A 10.99.5.13\n\
         multi.example.lab. 300 IN A 10.99.5.14\n\
         example.lab. 300 IN MX 10 mail.example.lab.\nexample.lab. 300 IN MX 20 mail.hosting.example.\n\
         mail.example.lab. 300 IN A 10.99.5.15\n\
         example.lab. 300 IN TXT \"v=spf1 -all\"\n\
         *.wild.example.lab. 300 IN A 10.99.5.16\n\
         *.flood.example.lab. 86400 IN A 10.99.5.17\n\
         _dns._udp.example.lab. 300 IN SRV 0 5 53 ns.example.lab.\n",
        soa = soa("example.lab.", "ns.example.lab.", 60)
    );
    for i in 0..8 {
        let _ = writeln!(example, "big.example.lab. 300 IN TXT \"{}\"", format!("{i}").repeat(200));
    }
    for i in 1..=HOSTS {
        let _ = writeln!(example, "h{i}.example.lab. 300 IN A 10.99.6.{i}");
        if i % 2 == 0 {
            let _ = writeln!(example, "h{i}.example.lab. 300 IN AAAA fd99:6::{i:x}");
        }
    }
    let noglue = format!(
        "{soa}noglue.lab. 3600 IN NS ns.hosting.example.\nhost.noglue.lab. 300 IN A 10.99.5.20\n",
        soa = soa("noglue.lab.", "ns.hosting.example.", 60)
    );
    let lame = format!(
        "{soa}lame.lab. 3600 IN NS ns1.lame.lab.\nlame.lab. 3600 IN NS ns2.lame.lab.\n\
         ns1.lame.lab. 3600 IN A {SILENT}\nns2.lame.lab. 3600 IN A {EXAMPLE}\nhost.lame.lab. 300 IN A 10.99.5.30\n",
        soa = soa("lame.lab.", "ns2.lame.lab.", 60)
    );
    // Zones no one delegates, reached only through a stub or forward zone.
    let intranet = format!(
        "{soa}intranet. 3600 IN NS ns.intranet.\nns.intranet. 3600 IN A {EXAMPLE}\n\
         www.intranet. 300 IN A 10.99.7.1\nwiki.intranet. 300 IN CNAME www.intranet.\n",
        soa = soa("intranet.", "ns.intranet.", 60)
    );
    let partner = format!(
        "{soa}partner. 3600 IN NS ns.partner.\nns.partner. 3600 IN A {EXAMPLE}\nwww.partner. 300 IN A 10.99.7.2\n",
        soa = soa("partner.", "ns.partner.", 60)
    );
    let tld_example = format!(
        "{soa}example. 3600 IN NS ns.example.\nns.example. 3600 IN A {TLD_EXAMPLE}\n\
         ns.hosting.example. 3600 IN A {EXAMPLE}\nwww.hosting.example. 300 IN A 10.99.5.40\n",
        soa = soa("example.", "ns.example.", 300)
    );
    let slow = format!(
        "{soa}slow.lab. 3600 IN NS ns.slow.lab.\nns.slow.lab. 3600 IN A {SLOW}\nhost.slow.lab. 300 IN A 10.99.5.50\n\
         *.slow.lab. 300 IN A 10.99.5.51\n",
        soa = soa("slow.lab.", "ns.slow.lab.", 60)
    );
    let root = Server {
        signed: vec![Signed { origin: ".".into(), policy: Policy::Ecdsa, broken_ds: false, colliding_keys: 0 }],
        ..Server::unsigned("root", format!("{ROOT}@53"), vec![(".".into(), root)])
    };
    let mut servers = vec![
        root,
        Server::unsigned("lab", format!("{LAB}@53"), vec![("lab.".into(), lab)]),
        Server::unsigned(
            "example",
            format!("{EXAMPLE}@53"),
            vec![
                ("example.lab.".into(), example),
                ("noglue.lab.".into(), noglue),
                ("lame.lab.".into(), lame),
                ("intranet.".into(), intranet),
                ("partner.".into(), partner),
            ],
        ),
        Server::unsigned("tld-example", format!("{TLD_EXAMPLE}@53"), vec![("example.".into(), tld_example)]),
        Server::unsigned("slow", SLOW_BACKEND.to_string(), vec![("slow.lab.".into(), slow)]),
    ];
    servers.extend(crate::signed::servers());
    servers
}

/// The benchmarks' server: `bench.sec.` delegating z0..z999, each a
/// wildcard, so that any number of distinct names exist (cold-cache
/// recursion asks each once) while the zone files stay small. Every zone
/// is signed (algorithm 13, NSEC; `sec.` gets the DS of `bench.sec.` when
/// the server starts), so every recursion is validated. TTLs are an hour:
/// nothing expires during a run.
pub fn bench_server() -> Server {
    let mut parent = format!(
        "{soa}bench.sec. 3600 IN NS ns.bench.sec.\nns.bench.sec. 3600 IN A {BENCH}\n",
        soa = soa("bench.sec.", "ns.bench.sec.", 300)
    );
    let mut zones = Vec::new();
    for k in 0..BENCH_ZONES {
        let _ = writeln!(parent, "z{k}.bench.sec. 3600 IN NS ns.bench.sec.");
        let origin = format!("z{k}.bench.sec.");
        let mut zone = format!(
            "{soa}{origin} 3600 IN NS ns.bench.sec.\n*.{origin} 3600 IN A 10.77.{}.{}\n",
            k / 256,
            k % 256,
            soa = soa(&origin, "ns.bench.sec.", 300)
        );
        if k == 0 {
            for i in 0..BENCH_HOSTS {
                let _ = writeln!(zone, "h{i}.{origin} 3600 IN A 10.78.{}.{}", i / 256, i % 256);
            }
        }
        zones.push((origin, zone));
    }
    zones.insert(0, ("bench.sec.".to_string(), parent));
    let signed = zones
        .iter()
        .map(|(origin, _)| Signed {
            origin: origin.clone(),
            policy: Policy::EcdsaNsec3,
            broken_ds: false,
            colliding_keys: 0,
        })
        .collect();
    Server { signed, ..Server::unsigned("bench", format!("{BENCH}@53"), zones) }
}

/// Where the knotd named `server` keeps its files under `dir`.
fn knot_dir(server: &str, dir: &Path) -> PathBuf {
    dir.join(format!("knot-{server}"))
}

/// The file of the zone `origin` of the knotd named `server`.
pub fn zone_file(server: &str, origin: &str, dir: &Path) -> PathBuf {
    knot_dir(server, dir).join(format!("{}zone", if origin == "." { "root." } else { origin }))
}

/// The configuration of the knotd named `server`.
pub fn knot_config(server: &str, dir: &Path) -> PathBuf {
    knot_dir(server, dir).join("knot.conf")
}

/// Writes `server`'s zone files and knotd configuration under `dir` and
/// returns the configuration's path.
pub fn write_knot(server: &Server, dir: &Path) -> Result<PathBuf, LabError> {
    let io = |what: String| move |source| LabError::Io { what, source };
    let base = knot_dir(server.name, dir);
    std::fs::create_dir_all(base.join("db")).map_err(io(format!("creating {}", base.display())))?;
    let mut zones = String::new();
    for (origin, text) in &server.zones {
        let file = zone_file(server.name, origin, dir);
        std::fs::write(&file, text).map_err(io(format!("writing {}", file.display())))?;
        let _ = write!(zones, "  - domain: \"{origin}\"\n    file: \"{}\"\n", file.display());
        if let Some(signed) = server.signed.iter().find(|s| s.origin == *origin) {
            let _ = write!(zones, "    dnssec-signing: on\n    dnssec-policy: {}\n", signed.policy.id());
        }
    }
    let config = format!(
        "server:\n    rundir: \"{base}\"\n    pidfile: \"{base}/knot.pid\"\n    listen: {listen}\n\
         \x20   udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
         database:\n    storage: \"{base}/db\"\n\
         log:\n  - target: \"{base}/knot.log\"\n    any: info\n\
         {POLICIES}\
         template:\n  - id: default\n    journal-content: none\n    zonefile-sync: -1\n\
         zone:\n{zones}",
        base = base.display(),
        listen = server.listen,
    );
    let path = knot_config(server.name, dir);
    std::fs::write(&path, config).map_err(io(format!("writing {}", path.display())))?;
    Ok(path)
}

/// A UDP and TCP proxy that holds every answer of the slow zone's knotd
/// for [`SLOW_DELAY_MS`]: a slow server, where the kernel has no netem.
pub fn slow_proxy() -> String {
    let (host, port) = SLOW_BACKEND.split_once('@').expect("ADDRESS@PORT");
    format!(
        r#"import socket, struct, threading, time
DELAY = {delay}
BACKEND = ("{host}", {port})
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("{SLOW}", 53))
    def relay(data, peer):
        time.sleep(DELAY)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(2)
        b.sendto(data, BACKEND)
        try: s.sendto(b.recv(65535), peer)
        except OSError: pass
    while True:
        data, peer = s.recvfrom(65535)
        threading.Thread(target=relay, args=(data, peer), daemon=True).start()
def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind(("{SLOW}", 53)); s.listen(64)
    def serve(c):
        with c:
            while True:
                head = c.recv(2)
                if len(head) < 2: return
                body = b""
                n = struct.unpack("!H", head)[0]
                while len(body) < n:
                    chunk = c.recv(n - len(body))
                    if not chunk: return
                    body += chunk
                time.sleep(DELAY)
                with socket.create_connection(BACKEND, timeout=2) as b:
                    b.sendall(head + body)
                    n = struct.unpack("!H", b.recv(2))[0]; out = b""
                    while len(out) < n: out += b.recv(n - len(out))
                    c.sendall(struct.pack("!H", n) + out)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
tcp()
"#,
        delay = SLOW_DELAY_MS as f64 / 1000.0,
    )
}
