//! The lab's signed subtree, `sec.`, with every case a validator must
//! prove or refuse, and the signing: keymgr makes each signed zone's key
//! before knotd starts, and the parent zone gets its DS records.
//!
//! | server | zones | what it shows |
//! | --- | --- | --- |
//! | 10.99.2.16 | `sec.` (algorithm 8, NSEC3 opt-out) | signed data, secure delegations, an unsigned one (`unsigned.sec.`, proven by an opt-out span), one whose DS matches no key (`badds.sec.`) |
//! | 10.99.2.17 | `nsec.sec.` (13, NSEC), `nsec3.sec.` (13, NSEC3), `unsigned.sec.`, `badds.sec.`, `nosig.sec.` (13) | hosts, a 3-record RRset, CNAMEs (one into the unsigned `lab.`), a wildcard, NXDOMAIN, NODATA, an empty non-terminal |
//! | 10.99.2.17 | `keytrap.sec.` (8, NSEC) | 100 public-only keys published beside the zone's own, all of its key tag (KeyTrap); a wildcard, so that every name asked is new |
//! | 10.99.2.18 | `expired.sec.` (13) | knotd living 30 days ago (faketime): every signature expired two weeks ago |
//! | 10.99.2.19 | - | a proxy to 10.99.2.17 that strips the RRSIGs from the answers for `host.nosig.sec.` (a missing signature) |

use std::{collections::BTreeMap, fmt::Write, path::Path, process::Command};

use crate::{
    LabError,
    hierarchy::{self, Policy, Server, Signed},
    run,
};

pub const SEC: &str = "10.99.2.16";
/// The name of the knotd that serves `sec.`.
const SEC_SERVER: &str = "sec";
pub const SIGNED: &str = "10.99.2.17";
pub const EXPIRED: &str = "10.99.2.18";
pub const STRIP: &str = "10.99.2.19";
/// How far in the past the expired zone's server lives.
pub const EXPIRED_DAYS_AGO: u32 = 30;
/// Keys of one tag in the KeyTrap zone, beside its own.
pub const COLLIDING_KEYS: u32 = 100;

/// The name whose answers lose their RRSIGs on the way.
pub const STRIPPED_NAME: &str = "host.nosig.sec.";

fn soa(origin: &str) -> String {
    format!("{origin} 3600 IN SOA ns.{origin} hostmaster.{origin} 2026120101 3600 600 86400 60\n")
}

fn signed(origin: &str, policy: Policy) -> Signed {
    Signed { origin: origin.into(), policy, broken_ds: false, colliding_keys: 0 }
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

/// The KeyTrap zone's data: any name below it exists.
fn keytrap() -> String {
    format!(
        "{soa}keytrap.sec. 3600 IN NS ns.keytrap.sec.\nns.keytrap.sec. 3600 IN A {SIGNED}\n\
         *.keytrap.sec. 300 IN A 10.99.7.20\n",
        soa = soa("keytrap.sec.")
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
        ("keytrap", SIGNED),
        // The benchmarks' zones; their DS comes when they start.
        ("bench", hierarchy::BENCH),
    ] {
        let _ = writeln!(sec, "{zone}.sec. 3600 IN NS ns.{zone}.sec.\nns.{zone}.sec. 3600 IN A {at}");
    }
    let children = ["nsec.sec.", "nsec3.sec.", "unsigned.sec.", "badds.sec.", "nosig.sec."];
    vec![
        Server {
            name: SEC_SERVER,
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
                .chain([("keytrap.sec.".to_string(), keytrap())])
                .collect(),
            signed: vec![
                signed("nsec.sec.", Policy::Ecdsa),
                signed("nsec3.sec.", Policy::EcdsaNsec3),
                Signed { broken_ds: true, ..signed("badds.sec.", Policy::Ecdsa) },
                signed("nosig.sec.", Policy::Ecdsa),
                Signed { colliding_keys: COLLIDING_KEYS, ..signed("keytrap.sec.", Policy::Rsa) },
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

/// The environment that runs a program on `server`'s clock: libfaketime
/// preloaded (not the faketime wrapper). libfaketime keeps a semaphore
/// and a shared memory segment per PID in /dev/shm, which a killed
/// process leaves behind and a later process of the same PID then fails
/// on (`sem_open: File exists`): those of processes gone are removed first.
pub fn server_clock(server: &Server) -> Vec<(&'static str, String)> {
    match server.days_ago {
        0 => Vec::new(),
        days => {
            remove_stale_clocks();
            vec![("LD_PRELOAD", LIBFAKETIME.to_string()), ("FAKETIME", format!("-{days}d"))]
        }
    }
}

fn remove_stale_clocks() {
    let Ok(entries) = std::fs::read_dir("/dev/shm") else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("faketime_shm_").or_else(|| name.strip_prefix("sem.faketime_sem_"));
        if pid.is_some_and(|pid| pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// keymgr, on `server`'s clock.
fn keymgr(server: &Server) -> Command {
    let mut command = Command::new("keymgr");
    command.envs(server_clock(server));
    command
}

/// Makes the key of each zone `server` signs (its configuration written
/// to `config`) and returns the DS records for them, by zone.
pub fn make_keys(server: &Server, config: &Path) -> Result<BTreeMap<String, String>, LabError> {
    let mut ds = BTreeMap::new();
    for zone in &server.signed {
        let mut generate = keymgr(server);
        generate.arg("-c").arg(config).arg(&zone.origin).arg("generate").args(zone.policy.key());
        run(&mut generate)?;
        let mut print = keymgr(server);
        print.arg("-c").arg(config).arg(&zone.origin).arg("ds");
        let lines = run(&mut print)?;
        if zone.colliding_keys > 0 {
            publish_colliding_keys(server, config, zone, &lines)?;
        }
        ds.insert(zone.origin.clone(), if zone.broken_ds { broken(&lines) } else { lines });
    }
    Ok(ds)
}

/// Publishes `zone.colliding_keys` public-only RSA keys with the tag of
/// the zone's own key (read off its DS `lines`), made up: random moduli
/// that verify nothing, each costing a validator an RSA operation per
/// signature it tries them on.
fn publish_colliding_keys(server: &Server, config: &Path, zone: &Signed, lines: &str) -> Result<(), LabError> {
    let tag: u16 = lines
        .split_whitespace()
        .skip_while(|t| *t != "DS")
        .nth(1)
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| LabError::NotReady(format!("no key tag in keymgr's DS output: {lines}")))?;
    let dir = config.parent().unwrap_or(Path::new("."));
    let mut seed = 0x5eed_u64 ^ u64::from(tag);
    for i in 0..zone.colliding_keys {
        let key = colliding_key(tag, &mut seed);
        let file = dir.join(format!("Kcollide{i}.key"));
        let text = format!("{} IN DNSKEY 256 3 8 {}\n", zone.origin, data_encoding::BASE64.encode(&key));
        std::fs::write(&file, text)
            .map_err(|source| LabError::Io { what: format!("writing {}", file.display()), source })?;
        let mut import = keymgr(server);
        import.arg("-c").arg(config).arg(&zone.origin).arg("import-pub").arg(&file);
        run(&mut import)?;
    }
    Ok(())
}

/// An RSA public key (RFC 3110: exponent 65537, a 2048-bit odd modulus)
/// whose DNSKEY (flags 256, algorithm 8) has key tag `tag`.
fn colliding_key(tag: u16, seed: &mut u64) -> Vec<u8> {
    let mut key = vec![3, 1, 0, 1];
    for _ in 0..256 {
        // splitmix64: made-up keys need no better.
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        key.push((z ^ (z >> 31)) as u8);
    }
    key[4] |= 0x80;
    *key.last_mut().expect("a modulus") |= 1;
    // One 16-bit word of the modulus is chosen to make the tag: it sits
    // at an even offset of the RDATA (4 bytes of flags, protocol and
    // algorithm before the key), so it adds to the sum as it is.
    let word = 100;
    key[word..word + 2].copy_from_slice(&[0, 0]);
    let rest = word_sum(&key);
    let value =
        (0..=u16::MAX).find(|&w| fold(rest + u32::from(w)) == tag).expect("one word of the sum reaches every tag");
    key[word..word + 2].copy_from_slice(&value.to_be_bytes());
    key
}

/// RFC 4034 appendix B's sum over the RDATA of a DNSKEY with flags 256,
/// protocol 3, algorithm 8 and public key `key`, before its fold.
fn word_sum(key: &[u8]) -> u32 {
    let rdata = [1u8, 0, 3, 8].iter().chain(key);
    rdata.enumerate().map(|(i, &b)| if i % 2 == 0 { u32::from(b) << 8 } else { u32::from(b) }).sum()
}

/// The key tag of a sum.
fn fold(sum: u32) -> u16 {
    ((sum + ((sum >> 16) & 0xffff)) & 0xffff) as u16
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

/// Adds `lines` (DS records) to the zone `sec.` of the running `sec`
/// server, whose files are under `dir`, and has knotd load it again.
pub fn publish_in_sec(dir: &Path, lines: &str) -> Result<(), LabError> {
    let file = hierarchy::zone_file(SEC_SERVER, "sec.", dir);
    let io = |what: String| move |source| LabError::Io { what, source };
    let mut text = std::fs::read_to_string(&file).map_err(io(format!("reading {}", file.display())))?;
    text.push_str(lines);
    std::fs::write(&file, text).map_err(io(format!("writing {}", file.display())))?;
    let config = hierarchy::knot_config(SEC_SERVER, dir);
    run(Command::new("knotc").arg("-c").arg(config).args(["zone-reload", "sec."]))?;
    Ok(())
}

/// A proxy in front of 10.99.2.17 that drops the RRSIGs from the answer
/// section of responses to A queries for [`STRIPPED_NAME`] (other types,
/// the DS query among them, pass untouched), as a broken middlebox
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
    if qd == 1 and r[12:qend].lower() == TARGET and r[qend:qend + 2] == b"\x00\x01":
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_keys_have_the_tag_asked_for() {
        let mut seed = 1;
        for tag in [0, 1, 54082, u16::MAX] {
            let key = colliding_key(tag, &mut seed);
            assert_eq!(fold(word_sum(&key)), tag);
            assert_eq!((key.len(), key[0], key[4] & 0x80, key[259] & 1), (260, 3, 0x80, 1), "RFC 3110, 2048 bits, odd");
        }
    }
}
