//! Encrypted DNS on the VIP, through real clients: the lab makes its own
//! CA and the node's certificate; Debian's dig (`+tls`, `+https`,
//! `+https-get`) and kdig get the same answers as over UDP for every
//! question of the differential corpus, with DO=1 too; DNS over TLS
//! pipelines, answers out of order and resumes sessions (TLS 1.2 and
//! 1.3); the connection bounds, the handshake and idle timeouts hold; the
//! certificate is reloaded under load with no query failed, and a broken
//! one is refused with the old kept; TLS garbage, a silent client, an
//! outsider and an HTTP/2 rapid reset flood end their connection and
//! leave the others served.

use std::{collections::BTreeMap, path::Path};

use anycast_lab::{
    tls::NODE_NAME,
    topology::{Lab, VIP4},
};
use anycast_tests::{
    corpus::corpus,
    lab::{DigAnswer, dig, lab, try_dig},
    traffic::Traffic,
};
use serde_json::Value;

/// A client address outside the ACL (on the client link too).
const OUTSIDER: &str = "10.99.8.2";

/// anycastd with DNS over TLS and HTTPS from the lab's certificate, and
/// `tls` more keys of its `[tls]` section.
fn lab_with_tls(tls: &str) -> Lab {
    let mut lab = lab();
    let files = lab.tls_files().unwrap_or_else(|e| panic!("the lab's certificate: {e}"));
    let config = lab.dir.join("tls.toml");
    let text =
        format!("[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n{tls}", files.certificate.display(), files.key.display());
    std::fs::write(&config, text).expect("writing the configuration");
    let binary = anycast_tests::lab::anycastd_binary();
    lab.start_anycastd(&binary, &["--config", config.to_str().expect("a UTF-8 path")])
        .unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    lab
}

/// The RCODE, the AD flag, and the answer and authority records without
/// TTLs, lower-cased and sorted.
fn essence(answer: &DigAnswer) -> (String, bool, Vec<String>) {
    let mut records: Vec<String> = (answer.answers.iter().map(|r| ("answer", r)))
        .chain(answer.authority.iter().map(|r| ("authority", r)))
        .map(|(section, r)| format!("{section} {} {} {}", r.name, r.rtype, r.data).to_lowercase())
        .collect();
    records.sort();
    (answer.status.clone(), answer.flags.split_whitespace().any(|f| f == "ad"), records)
}

/// dig's options for each transport; the encrypted ones verify the
/// node's certificate against the lab's CA.
fn transports(ca: &Path) -> Vec<(&'static str, Vec<String>)> {
    let verified =
        |how: &str| vec![how.to_string(), format!("+tls-ca={}", ca.display()), format!("+tls-hostname={NODE_NAME}")];
    vec![("udp", vec![]), ("dot", verified("+tls")), ("doh", verified("+https")), ("doh-get", verified("+https-get"))]
}

/// One lab (its namespaces are named after the process), the phases in
/// turn.
#[test]
fn encrypted_dns_answers_as_udp_holds_its_bounds_and_reloads() {
    let lab = lab_with_tls("handshake_timeout = 2\nidle_timeout = 3\nmax_connections_per_client = 4\n");
    answers_as_udp(&lab);
    pipelined_bounded_and_timed_out(&lab);
    reloads_under_load_and_floods_end_their_connection(&lab);
}

fn answers_as_udp(lab: &Lab) {
    let ca = lab.tls_files().expect("the lab's CA").ca;
    let transports = transports(&ca);
    let mut differences = Vec::new();
    let mut counts = BTreeMap::<String, usize>::new();
    let questions = corpus();
    for dnssec in ["+nodnssec", "+dnssec"] {
        for (name, rtype) in &questions {
            let answers: Vec<_> = transports
                .iter()
                .map(|(transport, options)| {
                    let mut extra: Vec<&str> = options.iter().map(String::as_str).collect();
                    extra.extend(["+tries=2", "+time=3", dnssec]);
                    (transport, try_dig(lab, VIP4, name, rtype, &extra).map(|a| essence(&a)))
                })
                .collect();
            let (_, udp) = &answers[0];
            for (transport, answer) in &answers[1..] {
                if answer.is_err() || answer != udp {
                    differences.push(format!("{name} {rtype} {dnssec} over {transport}: {answer:?}; over UDP {udp:?}"));
                }
            }
            if let Ok((status, _, _)) = udp {
                *counts.entry(format!("{dnssec} {status}")).or_default() += 1;
            }
        }
    }
    println!(
        "{} questions (each with DO=0 and 1) over UDP, DoT, DoH POST and GET: {counts:?}; {} differences",
        questions.len(),
        differences.len()
    );
    assert!(differences.is_empty(), "{} answers differ:\n  {}", differences.len(), differences.join("\n  "));

    // kdig (GnuTLS and nghttp2, another client stack) over both.
    for (name, expected) in [("www.example.lab.", "10.99.5.10"), ("www.lab.", "10.99.5.1")] {
        for how in ["+tls", "+https", "+https-get"] {
            let (ca, host) = (format!("+tls-ca={}", ca.display()), format!("+tls-hostname={NODE_NAME}"));
            let out = lab
                .client_exec("kdig", &[&format!("@{VIP4}"), how, &ca, &host, "+short", name, "A"])
                .unwrap_or_else(|e| panic!("kdig {how} {name}: {e}"));
            assert_eq!(out.trim(), expected, "kdig {how} {name}");
        }
    }
    for transport in ["dot", "doh"] {
        let queries = lab.stat(&format!("anycast_queries_total{{transport=\"{transport}\"}}")).unwrap();
        assert!(queries >= 2 * questions.len() as u64, "{queries} queries counted over {transport}");
    }
}

/// Runs `mode` of `encrypted.py` from the client to completion.
fn client(lab: &Lab, mode: &str, args: &[&str]) -> Value {
    let ca = lab.tls_files().expect("the lab's CA").ca;
    Traffic::encrypted(&lab.client, mode, VIP4, &ca, args).finish()
}

fn seconds(report: &Value) -> f64 {
    report["seconds"].as_f64().unwrap_or_else(|| panic!("no seconds in {report}"))
}

fn pipelined_bounded_and_timed_out(lab: &Lab) {
    // The slow zone's answer (a wildcard not asked before: 250 ms) comes
    // last though it was asked first.
    let names =
        ["pipelined.slow.lab.", "www.lab.", "www.example.lab.", "no-such-name.example.lab.", "mail.example.lab."];
    let piped = client(lab, "pipeline", &names);
    assert_eq!(piped["rcodes"], serde_json::json!([0, 0, 0, 3, 0]), "every pipelined query answered: {piped}");
    assert_eq!(piped["order"][4], 1, "the slow answer last, the others not held behind it: {piped}");

    let resumed = client(lab, "resume", &[]);
    for version in ["tls1.2", "tls1.3"] {
        let expected = serde_json::json!({"reused": [false, true], "rcodes": [0, 0]});
        assert_eq!(resumed[version], expected, "a second connection resumes over {version}: {resumed}");
    }

    let held = client(lab, "hold", &["8", "1"]);
    assert_eq!((held["opened"].as_u64(), held["kept"].as_u64()), (Some(4), Some(4)), "4 per client: {held}");
    assert!(lab.stat("anycast_errors_total{kind=\"tls_client_limit\"}").unwrap() >= 4, "the refused are counted");

    let failed_before = |t: &str| lab.stat(&format!("anycast_tls_handshakes_failed_total{{transport=\"{t}\"}}"));
    let (dot_failed, doh_failed) = (failed_before("dot").unwrap(), failed_before("doh").unwrap());
    let cases: [(&str, &[&str], std::ops::Range<f64>); 5] = [
        ("a client that sends nothing to 853", &["853", "10"], 1.5..4.0),
        ("a client that sends nothing to 443", &["443", "10"], 1.5..4.0),
        ("TLS garbage to 853", &["853"], 0.0..1.0),
        ("TLS garbage to 443", &["443"], 0.0..1.0),
        ("a client idle after one query", &["10"], 2.5..6.0),
    ];
    let modes = ["silent", "silent", "garbage", "garbage", "idle"];
    for ((what, args, within), mode) in cases.into_iter().zip(modes) {
        let report = client(lab, mode, args);
        assert!(within.contains(&seconds(&report)), "{what}: closed after {report}, expected within {within:?}");
    }
    assert!(failed_before("dot").unwrap() >= dot_failed + 2, "the silent and the garbage DoT handshakes counted");
    assert!(failed_before("doh").unwrap() >= doh_failed + 2, "and the DoH ones");

    lab.client.ip(&["addr", "add", &format!("{OUTSIDER}/24"), "dev", &lab.client_if]).expect("outsider address");
    lab.node.ip(&["addr", "add", "10.99.8.1/24", "dev", &lab.node_if]).expect("node address for outsiders");
    for port in ["853", "443"] {
        let report = client(lab, "outsider", &[OUTSIDER, port]);
        assert_eq!(report["handshake"], false, "an outsider on {port} is closed before a handshake: {report}");
    }
    assert!(lab.stat("anycast_errors_total{kind=\"tls_refused\"}").unwrap() >= 2, "outsiders counted");
    assert_eq!(dig(lab, VIP4, "www.lab.", "A", &[]).status, "NOERROR", "UDP served throughout");
}

fn reloads_under_load_and_floods_end_their_connection(lab: &Lab) {
    let files = lab.tls_files().expect("the lab's certificate");
    let presented = || client(lab, "certificate", &[])["sha256"].as_str().expect("a fingerprint").to_string();
    let first = presented();
    let stream = Traffic::encrypted(&lab.client, "stream", VIP4, &files.ca, &["6", "40"]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    files.issue().unwrap_or_else(|e| panic!("a new certificate: {e}"));
    let reloaded = lab.control("reload").expect("ctl reload");
    assert!(reloaded.contains("TLS certificate read again"), "{reloaded}");
    let second = presented();
    assert_ne!(second, first, "new handshakes present the new certificate");

    std::fs::write(&files.key, "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        .expect("a broken key");
    let refused = lab.control("reload").expect("ctl reload");
    assert!(refused.starts_with("error: reload refused") && refused.contains("private key"), "{refused}");
    assert_eq!(presented(), second, "the certificate in force is kept");
    let report = stream.finish();
    println!("DoT stream over the reloads: {report}");
    assert_eq!(report["failed"], 0, "no query failed over the reloads: {report}");
    assert!(report["answered"].as_u64().unwrap() >= 150, "{report}");

    let resident = || lab.stat("anycast_resident_bytes").unwrap();
    let before = resident();
    let flood = client(lab, "rapid_reset", &["20000"]);
    println!("HTTP/2 rapid reset: {flood}; resident {before} -> {} bytes", resident());
    assert!(flood["sent"].as_u64().unwrap() < 20_000, "the server ends the flood's connection: {flood}");
    assert!(flood["goaway"] == true || flood["closed"] == true, "{flood}");
    assert!(resident() < before + (64 << 20), "memory bounded over the flood");
    let ca = format!("+tls-ca={}", files.ca.display());
    let host = format!("+tls-hostname={NODE_NAME}");
    let out = lab
        .client_exec("kdig", &[&format!("@{VIP4}"), "+https", &ca, &host, "+short", "www.lab.", "A"])
        .unwrap_or_else(|e| panic!("kdig +https after the flood: {e}"));
    assert_eq!(out.trim(), "10.99.5.1", "DoH serves other clients after the flood");
}
