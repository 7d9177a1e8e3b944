//! The lab's signed subtree, `sec.`, with every case a validator must
//! prove or refuse, and the signing: keymgr makes each signed zone's key
//! before knotd starts, and the parent zone gets its DS records.
//!
//! | server | zones | what it shows |
//! | --- | --- | --- |
//! | 10.99.2.16 | `sec.` (algorithm 8, NSEC3 opt-out) | signed data, secure delegations, an unsigned one (`unsigned.sec.`, proven by an opt-out span), one whose DS matches no key (`badds.sec.`) |
//! | 10.99.2.17 | `nsec.sec.` (13, NSEC), `nsec3.sec.` (13, NSEC3), `unsigned.sec.`, `badds.sec.`, `nosig.sec.` (13) | hosts, a 3-record RRset, CNAMEs (one into the unsigned `lab.`), a wildcard, NXDOMAIN, NODATA, an empty non-terminal |
//! | 10.99.2.18 | `expired.sec.` (13) | knotd living 30 days ago (faketime): every signature expired two weeks ago |
//! | 10.99.2.19 | - | a proxy to 10.99.2.17 that strips the RRSIGs from the answers for `host.nosig.sec.` (a missing signature) |

use std::{collections::BTreeMap, fmt::Write, path::Path, process::Command};

use crate::{
    LabError,
    hierarchy::{Policy, Server, Signed},
    run,
};

pub const SEC: &str = "10.99.2.16";
pub const SIGNED: &str = "10.99.2.17";
pub const EXPIRED: &str = "10.99.2.18";
pub const STRIP: &str = "10.99.2.19";
/// How far in the past the expired zone's server lives.
pub const EXPIRED_DAYS_AGO: u32 = 30;
/// The name whose answers lose their RRSIGs on the way.
pub const STRIPPED_NAME: &str = "host.nosig.sec.";

fn soa(origin: &str) -> String {
    format!("{origin} 3600 IN SOA ns.{origin} hostmaster.{origin} 2026120101 3600 600 86400 60\n")
}

fn signed(origin: &str, policy: Policy) -> Signed {
    Signed { origin: origin.into(), policy, broken_ds: false }
}

/// A child zone with the usual cases, served by 10.99.2.17 (or `at`).
fn child(origin: &str, at: &str) -> String {
    format!(
        "{soa}{origin} 3600 IN NS ns.{origin}\nns.{origin} 3600 IN A {at}\n\
         www.{origin} 300 IN A 10.99.7.10\nwww.{origin} 300 IN AAAA fd99:7::10\n\
         host.{origin} 300 IN A 10.99.7.11\n\
         multi.{origin} 300 IN A 10.99.7.12\nmulti.{origin} 300 IN A 10.99.7.13\nmulti.{origin} 300 IN A 10.99.7.14\n\
         alias.{origin} 300 IN CNAME www.{origin}\n\
         out.{origin} 300 IN CNAME www.example.lab.\n\
         *.wild.{origin} 300 IN A 10.99.7.16\n\
         deep.ent.{origin} 300 IN A 10.99.7.17\n\
         {origin} 300 IN MX 10 mail.{origin}\nmail.{origin} 300 IN A 10.99.7.15\n\
         {origin} 300 IN TXT \"signed\"\n",
        soa = soa(origin)
    )
}

/// The servers of the signed subtree.
pub fn servers() -> Vec<Server> {
    let mut sec = format!(
        "{soa}sec. 3600 IN NS ns.sec.\nns.sec. 3600 IN A {SEC}\nwww.sec. 300 IN A 10.99.7.1\n",
        soa = soa("sec.")
    );
    for (zone, at) in [
        ("nsec", SIGNED),
        ("nsec3", SIGNED),
        ("unsigned", SIGNED),
        ("badds", SIGNED),
        ("nosig", STRIP),
        ("expired", EXPIRED),
    ] {
        let _ = writeln!(sec, "{zone}.sec. 3600 IN NS ns.{zone}.sec.\nns.{zone}.sec. 3600 IN A {at}");
    }
    let children = ["nsec.sec.", "nsec3.sec.", "unsigned.sec.", "badds.sec.", "nosig.sec."];
    vec![
        Server {
            name: "sec",
            listen: format!("{SEC}@53"),
            zones: vec![("sec.".into(), sec)],
            signed: vec![signed("sec.", Policy::RsaNsec3OptOut)],
            days_ago: 0,
        },
        Server {
            name: "signed",
            listen: format!("{SIGNED}@53"),
            zones: children
                .iter()
                .map(|z| (z.to_string(), child(z, if *z == "nosig.sec." { STRIP } else { SIGNED })))
                .collect(),
            signed: vec![
                signed("nsec.sec.", Policy::Ecdsa),
                signed("nsec3.sec.", Policy::EcdsaNsec3),
                Signed { broken_ds: true, ..signed("badds.sec.", Policy::Ecdsa) },
                signed("nosig.sec.", Policy::Ecdsa),
            ],
            days_ago: 0,
        },
        Server {
            name: "expired",
            listen: format!("{EXPIRED}@53"),
            zones: vec![("expired.sec.".into(), child("expired.sec.", EXPIRED))],
            signed: vec![signed("expired.sec.", Policy::Ecdsa)],
            days_ago: EXPIRED_DAYS_AGO,
        },
    ]
}

/// `program` (and what goes before it) run as `server`'s clock has it.
pub fn at_server_time(server: &Server, program: &str) -> Vec<String> {
    match server.days_ago {
        0 => vec![program.to_string()],
        days => vec!["faketime".into(), "-f".into(), format!("-{days}d"), program.into()],
    }
}

fn command(argv: &[String]) -> Command {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// Makes the key of each zone `server` signs (its configuration written
/// to `config`) and returns the DS records for them, by zone.
pub fn make_keys(server: &Server, config: &Path) -> Result<BTreeMap<String, String>, LabError> {
    let mut ds = BTreeMap::new();
    for zone in &server.signed {
        let mut generate = command(&at_server_time(server, "keymgr"));
        generate.arg("-c").arg(config).arg(&zone.origin).arg("generate").args(zone.policy.key());
        run(&mut generate)?;
        let mut print = command(&at_server_time(server, "keymgr"));
        print.arg("-c").arg(config).arg(&zone.origin).arg("ds");
        let lines = run(&mut print)?;
        ds.insert(zone.origin.clone(), if zone.broken_ds { broken(&lines) } else { lines });
    }
    Ok(ds)
}

/// DS lines whose digests no longer match the key: the last hex digit of
/// each changed.
fn broken(lines: &str) -> String {
    let mut out = String::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let mut line = line.trim_end().to_string();
        let last = line.pop().expect("a DS line ends with its digest");
        line.push(if last == '0' { '1' } else { '0' });
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Puts each zone's DS lines into the zone above it (the deepest other
/// zone of the lab that contains it).
pub fn delegate(servers: &mut [Server], ds: &BTreeMap<String, String>) {
    for (zone, lines) in ds {
        if zone == "." {
            continue;
        }
        let parent = servers
            .iter()
            .flat_map(|s| s.zones.iter().map(|(origin, _)| origin.clone()))
            .filter(|origin| origin != zone && (origin == "." || zone.ends_with(&format!(".{origin}"))))
            .max_by_key(|origin| origin.len());
        let Some(parent) = parent else { continue };
        for server in servers.iter_mut() {
            for (origin, text) in server.zones.iter_mut().filter(|(origin, _)| *origin == parent) {
                let _ = origin;
                text.push_str(lines);
                if !lines.ends_with('\n') {
                    text.push('\n');
                }
            }
        }
    }
}

/// A proxy in front of 10.99.2.17 that drops the RRSIGs from the answer
/// section of responses about [`STRIPPED_NAME`], as a broken middlebox
/// would (UDP only: the answers are small).
pub fn stripping_proxy() -> String {
    let target: Vec<u8> = STRIPPED_NAME
        .trim_end_matches('.')
        .split('.')
        .flat_map(|l| std::iter::once(l.len() as u8).chain(l.bytes()))
        .chain([0])
        .collect();
    format!(
        r#"import socket, struct
TARGET = bytes({target:?})
BACKEND = ("{SIGNED}", 53)
def skip(m, i):
    while True:
        n = m[i]
        if n == 0: return i + 1
        if n >= 0xC0: return i + 2
        i += 1 + n
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("{STRIP}", 53))
while True:
    q, peer = s.recvfrom(65535)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(2)
    b.sendto(q, BACKEND)
    try: r = b.recv(65535)
    except OSError: continue
    finally: b.close()
    qd, an = struct.unpack("!HH", r[4:8])
    qend = skip(r, 12)
    if qd == 1 and r[12:qend].lower() == TARGET:
        i, kept = qend + 4, []
        for _ in range(an):
            start = i; i = skip(r, i)
            t, _c, _ttl, rdlen = struct.unpack("!HHIH", r[i:i + 10]); i += 10 + rdlen
            if t != 46: kept.append(r[start:i])
        r = r[:6] + struct.pack("!HHH", len(kept), 0, 0) + r[12:qend + 4] + b"".join(kept)
    s.sendto(r, peer)
"#
    )
}
