//! The queries real clients send, on the wire, through both paths: dig's
//! default (a client cookie), a cookie learned before, DO=1 with a cookie
//! as validating forwarders send, NSID (`dig +nsid`), padding. Each query
//! is sent twice: the daemon answers the first (a miss), the XDP program
//! the second (its counter says so), and the two responses must be the
//! same bytes but for TTLs (and for a server cookie made anew, which must
//! be valid under the node's secret). Then the secret file is rotated:
//! cookies of the previous secret are renewed, older ones replaced. With
//! the fast path off, the daemon answers the repeats from its hot answers,
//! with the same bytes.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use anycast_common::{
    cookie::{self, CLIENT_COOKIE_LEN, ClientAddr, CookieSecrets, OPTION_COOKIE, ServerCookie},
    dns::OPTION_NSID,
};
use anycast_lab::topology::{CLIENT4, Lab, VIP4};
use anycast_tests::{
    lab::{anycastd_binary, lab, series},
    traffic::Traffic,
    zone::{EDNS, EDNS_DO, query, wire, with_options},
};
use anycast_user::policy::cookies::client_addr;
use hickory_proto::rr::RecordType;

const NSID: &str = "lab-node-1";
const PADDING: u16 = 12;
const CLIENT_COOKIE: [u8; CLIENT_COOKIE_LEN] = [0xd1, 0x9c, 0x00, 0x7e, 0x11, 0x22, 0x33, 0x44];
const SECRET: [u8; 16] = [0x5e; 16];
const NEXT_SECRET: [u8; 16] = [0x6f; 16];
const THIRD_SECRET: [u8; 16] = [0x70; 16];

fn hex(secret: &[u8; 16]) -> String {
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

fn secrets(current: [u8; 16]) -> CookieSecrets {
    CookieSecrets { current, previous: [0; 16], tai_offset: 0, has_previous: 0, _pad: [0; 7] }
}

fn unix_now() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32
}

fn client() -> ClientAddr {
    client_addr(CLIENT4.parse::<IpAddr>().unwrap())
}

/// The client cookie and a server cookie made with `secret` now.
fn learned(secret: [u8; 16]) -> Vec<u8> {
    let made = cookie::make(&secrets(secret), u64::from_le_bytes(CLIENT_COOKIE), &client(), unix_now());
    [CLIENT_COOKIE.as_slice(), &made.to_bytes()].concat()
}

/// Offsets of the server cookie in a response's COOKIE option, and of
/// every TTL field but the OPT record's.
struct Layout {
    ttls: Vec<usize>,
    server_cookie: Option<usize>,
}

/// Walks a response's records (names may be compressed).
fn layout(wire: &[u8]) -> Layout {
    let name_end = |mut at: usize| loop {
        match wire[at] {
            0 => return at + 1,
            len if len >= 0xc0 => return at + 2,
            len => at += 1 + len as usize,
        }
    };
    let count = |at: usize| u16::from_be_bytes([wire[at], wire[at + 1]]) as usize;
    let mut at = name_end(12) + 4;
    let mut layout = Layout { ttls: Vec::new(), server_cookie: None };
    for _ in 0..count(6) + count(8) + count(10) {
        at = name_end(at);
        let (rtype, rdlen) = (count(at), count(at + 8));
        if rtype == 41 {
            let mut option = at + 10;
            while option + 4 <= at + 10 + rdlen {
                if count(option) == OPTION_COOKIE as usize {
                    layout.server_cookie = Some(option + 4 + CLIENT_COOKIE_LEN);
                }
                option += 4 + count(option + 2);
            }
        } else {
            layout.ttls.push(at + 4);
        }
        at += 10 + rdlen;
    }
    layout
}

/// `wire` with its TTLs (and its server cookie, if `cookie_too`) zeroed.
fn masked(wire: &[u8], cookie_too: bool) -> Vec<u8> {
    let layout = layout(wire);
    let mut out = wire.to_vec();
    for at in layout.ttls {
        out[at..at + 4].fill(0);
    }
    if let (true, Some(at)) = (cookie_too, layout.server_cookie) {
        out[at..at + 16].fill(0);
    }
    out
}

/// The response's server cookie, checked valid under `secret`.
fn valid_server_cookie(wire: &[u8], secret: [u8; 16]) -> Result<[u8; 16], String> {
    let at = layout(wire).server_cookie.ok_or("no COOKIE in the response")?;
    let server: [u8; 16] = wire[at..at + 16].try_into().unwrap();
    let verdict = cookie::check(
        &secrets(secret),
        &ServerCookie::from_bytes(&server),
        u64::from_le_bytes(CLIENT_COOKIE),
        &client(),
        unix_now(),
    );
    if verdict.is_valid() { Ok(server) } else { Err(format!("server cookie {server:02x?} is {verdict:?}")) }
}

struct Case {
    name: &'static str,
    qname: &'static str,
    dnssec_ok: bool,
    options: Vec<(u16, Vec<u8>)>,
    /// The server cookie is made anew for each response.
    fresh_cookie: bool,
}

/// Asks three times: the daemon resolves the first and answers the second
/// from its hot answers, which admits it to the map; the third must be
/// answered at XDP with the daemon's bytes.
fn both_paths(lab: &Lab, case: &Case, secret: [u8; 16]) -> Result<Vec<u8>, String> {
    repeat_from(lab, case, secret, series::XDP_ANSWERED, 3)
}

/// Asks `asks` times; the first is resolved by the daemon, the last alone
/// must be counted in `repeats` (the XDP program's answers, or the
/// daemon's hot answers), and every one carry the first's bytes.
fn repeat_from(lab: &Lab, case: &Case, secret: [u8; 16], repeats: &str, asks: usize) -> Result<Vec<u8>, String> {
    let edns = if case.dnssec_ok { EDNS_DO } else { EDNS };
    let q = with_options(wire(&query(0x7e57, case.qname, RecordType::A, edns)), &case.options);
    let before = lab.stat(repeats).map_err(|e| e.to_string())?;
    let responses = Traffic::exchange(&lab.client, VIP4, &vec![q; asks]);
    let counted = lab.stat(repeats).map_err(|e| e.to_string())? - before;
    let responses: Vec<&Vec<u8>> = responses.iter().flatten().collect();
    let (Some(first), Some(repeat), true) = (responses.first(), responses.last(), responses.len() == asks) else {
        return Err(format!("{} of {asks} answered: {responses:?}", responses.len()));
    };
    if counted != 1 {
        return Err(format!("{counted} counted in {repeats}, expected the last of {asks}"));
    }
    for (i, response) in responses.iter().enumerate() {
        if masked(first, case.fresh_cookie) != masked(response, case.fresh_cookie) {
            return Err(format!("the first answer was {first:02x?}\n  answer {} {response:02x?}", i + 1));
        }
        valid_server_cookie(response, secret)?;
    }
    Ok((*repeat).clone())
}

/// The cases both tests ask (each name asked by one case only).
fn cases() -> [Case; 5] {
    let cookie_only = vec![(OPTION_COOKIE, CLIENT_COOKIE.to_vec())];
    [
        Case {
            name: "dig's default: a client cookie",
            qname: "h1.example.lab.",
            dnssec_ok: false,
            options: cookie_only.clone(),
            fresh_cookie: true,
        },
        Case {
            name: "a server cookie learned before: sent back",
            qname: "h2.example.lab.",
            dnssec_ok: false,
            options: vec![(OPTION_COOKIE, learned(SECRET))],
            fresh_cookie: false,
        },
        Case {
            name: "DO=1 and a cookie, as a validating forwarder",
            qname: "host.nsec.sec.",
            dnssec_ok: true,
            options: cookie_only.clone(),
            fresh_cookie: true,
        },
        Case {
            name: "NSID and a cookie (dig +nsid)",
            qname: "h3.example.lab.",
            dnssec_ok: false,
            options: vec![(OPTION_NSID, vec![]), (OPTION_COOKIE, CLIENT_COOKIE.to_vec())],
            fresh_cookie: true,
        },
        Case {
            name: "padded to 128 bytes and a cookie (dig +padding)",
            qname: "h4.example.lab.",
            dnssec_ok: false,
            options: vec![(OPTION_COOKIE, CLIENT_COOKIE.to_vec()), (PADDING, vec![0; 65])],
            fresh_cookie: true,
        },
    ]
}

/// Labs are named after the process: the tests here take turns.
static ONE_LAB_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A node with the cookie secret in a file, its fast path attached as
/// `xdp_mode` says; `tag` keeps the files of the tests apart.
fn node_with_secret_file(tag: &str, xdp_mode: &str) -> (Lab, std::path::PathBuf) {
    let config = std::env::temp_dir().join(format!("anycast-real-clients-{tag}-{}.toml", std::process::id()));
    let secret_file = std::env::temp_dir().join(format!("anycast-cookie-secret-{tag}-{}", std::process::id()));
    std::fs::write(&secret_file, format!("{}\n", hex(&SECRET))).expect("writing the secret");
    std::fs::write(&config, format!("[cookies]\nsecret_file = \"{}\"\n", secret_file.display())).expect("config");
    let config_arg = config.display().to_string();
    let mut lab = lab();
    lab.start_anycastd_with(&anycastd_binary(), xdp_mode, &["--config", &config_arg, "--nsid", NSID])
        .unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    let _ = std::fs::remove_file(&config);
    (lab, secret_file)
}

/// With the fast path off, the daemon answers the repeats from its hot
/// answers (received and sent by the batch), with the bytes it resolved.
#[test]
fn without_xdp_repeats_are_answered_from_the_hot_answers() {
    let _turn = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (lab, secret_file) = node_with_secret_file("no-xdp", "off");
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|case| {
            let result = repeat_from(&lab, case, SECRET, "anycast_hot_answers_total", 2);
            result.err().map(|e| format!("{}: {e}", case.name))
        })
        .collect();
    let _ = std::fs::remove_file(&secret_file);
    assert!(failures.is_empty(), "{} failed:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn real_clients_are_answered_the_same_by_both_paths() {
    let _turn = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (lab, secret_file) = node_with_secret_file("xdp", "native");
    let mut failures = Vec::new();
    for case in &cases() {
        match both_paths(&lab, case, SECRET) {
            Ok(_) => println!("{}: the same bytes from both paths", case.name),
            Err(e) => failures.push(format!("{}: {e}", case.name)),
        }
    }

    // dig itself, as users run it: the second repeat of its default query
    // (with its cookie; the first admits it to the map) is answered at XDP,
    // and +nsid names the node.
    let before = lab.stat(series::XDP_ANSWERED).unwrap();
    for _ in 0..3 {
        let out = lab.dig(&["+tries=1", "+time=2", &format!("@{VIP4}"), "h5.example.lab.", "A"]).expect("dig");
        if !out.contains("COOKIE:") || !out.contains("status: NOERROR") {
            failures.push(format!("dig's default query: {out}"));
        }
    }
    if lab.stat(series::XDP_ANSWERED).unwrap() != before + 1 {
        failures.push("dig's repeated default query was not answered at XDP".into());
    }
    for _ in 0..2 {
        let out = lab.dig(&["+nsid", "+tries=1", "+time=2", &format!("@{VIP4}"), "h6.example.lab.", "A"]).expect("dig");
        if !out.contains(&format!("(\"{NSID}\")")) {
            failures.push(format!("dig +nsid: {out}"));
        }
    }

    // Rotation through the file: the new secret with the old as previous.
    std::fs::write(&secret_file, format!("{}\n{}\n", hex(&NEXT_SECRET), hex(&SECRET))).expect("rotating");
    wait_for_secret(&lab, NEXT_SECRET);
    let old_cookie = vec![(OPTION_COOKIE, learned(SECRET))];
    let renewed = Case {
        name: "after a rotation, a cookie of the previous secret: renewed",
        qname: "h7.example.lab.",
        dnssec_ok: false,
        options: old_cookie.clone(),
        fresh_cookie: true,
    };
    if let Err(e) = both_paths(&lab, &renewed, NEXT_SECRET) {
        failures.push(format!("{}: {e}", renewed.name));
    }
    std::fs::write(&secret_file, format!("{}\n", hex(&THIRD_SECRET))).expect("rotating again");
    wait_for_secret(&lab, THIRD_SECRET);
    let replaced = Case {
        name: "two rotations on: answered, with a new cookie",
        qname: "h8.example.lab.",
        dnssec_ok: false,
        options: old_cookie,
        fresh_cookie: true,
    };
    if let Err(e) = both_paths(&lab, &replaced, THIRD_SECRET) {
        failures.push(format!("{}: {e}", replaced.name));
    }
    let _ = std::fs::remove_file(&secret_file);
    if !failures.is_empty() {
        let stats = lab.control("stats").unwrap_or_default();
        println!(
            "{}",
            stats
                .lines()
                .filter(|l| l.contains("xdp_packets") || l.contains("queries_total"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(failures.is_empty(), "{} failed:\n  {}", failures.len(), failures.join("\n  "));
}

/// Waits until the node's cookies are made with `secret` (the daemon reads
/// the file every few seconds).
fn wait_for_secret(lab: &Lab, secret: [u8; 16]) {
    let started = Instant::now();
    let q =
        with_options(wire(&query(0x5ec7, "www.lab.", RecordType::A, EDNS)), &[(OPTION_COOKIE, CLIENT_COOKIE.to_vec())]);
    while started.elapsed() < Duration::from_secs(20) {
        let responses = Traffic::exchange(&lab.client, VIP4, &[q.clone(), q.clone()]);
        if responses.iter().all(|r| r.as_ref().is_some_and(|r| valid_server_cookie(r, secret).is_ok())) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the node did not take the rewritten secret file within 20 s");
}
