//! anycastd in the lab under bad input from the client: garbage datagrams,
//! TCP frames cut short, empty or as large as they come, a slowloris
//! attack with more connections than the daemon takes, and clients outside
//! the ACL. It must answer what deserves an answer, cut off what stalls,
//! and keep serving throughout. The attacks run from a Python script in the
//! client namespace (`tests/scripts/bad_input.py`), which reports in JSON.

use std::time::Duration;

use anycast_lab::topology::{VIP4, VIP6};
use anycast_tests::lab::{admit_to_map, dig, lab_with_anycastd, series};
use serde_json::Value;

const SCRIPT: &str = concat!(include_str!("../scripts/dnswire.py"), include_str!("../scripts/bad_input.py"));
/// The daemon's TCP idle timeout in this test, seconds.
const IDLE: u64 = 2;
/// A client address outside the ACL (on the client link too).
const OUTSIDER: &str = "10.99.8.2";

#[test]
fn bad_input_is_answered_or_cut_off_and_service_goes_on() {
    let config = std::env::temp_dir().join(format!("anycast-bad-input-{}.toml", std::process::id()));
    std::fs::write(&config, format!("[service]\ntcp_idle_timeout = {IDLE}\n")).expect("writing the config");
    let lab = lab_with_anycastd(&["--config", config.to_str().expect("UTF-8 path")]);
    let _ = std::fs::remove_file(&config);
    lab.client.ip(&["addr", "add", &format!("{OUTSIDER}/24"), "dev", &lab.client_if]).expect("outsider address");
    lab.node.ip(&["addr", "add", "10.99.8.1/24", "dev", &lab.node_if]).expect("node address for outsiders");
    // The name is in the fast path's map: the outsider's query below must
    // be refused by the XDP program's ACL, not answered from the map.
    dig(&lab, VIP4, "www.example.lab.", "A", &[]);
    admit_to_map(&lab, VIP4, "www.example.lab.", "A", &[]);
    let refused_at_xdp = lab.stat("anycast_xdp_packets_total{outcome=\"not_allowed\"}").unwrap();

    let mut script = lab.client.command("python3");
    script.args(["-c", SCRIPT, VIP4, VIP6, &IDLE.to_string(), OUTSIDER]);
    let out = anycast_lab::run(&mut script).unwrap_or_else(|e| panic!("the bad-input script: {e}"));
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("its report `{out}`: {e}"));
    println!("{}", serde_json::to_string_pretty(&report).unwrap());

    let mut failures = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            failures.push(what.to_string());
        }
    };
    let garbage = &report["garbage_udp"];
    check(garbage["not_dns_responses"] == 0, "every datagram that came back is a DNS response to one sent");
    check(garbage["responses"].as_u64() > Some(0), "datagrams with a header get FORMERR");
    let tcp = &report["tcp"];
    check(tcp["half_length_prefix"] == "closed", "a half length prefix: closed, no answer");
    check(tcp["body_cut_short"] == "closed", "a body cut short: closed, no answer");
    check(tcp["empty_then_query_rcode"] == 0, "an empty frame is skipped and the next query answered");
    check(tcp["oversized_rcode"] == 1, "a 65535-byte frame of garbage gets FORMERR");
    let cut = tcp["promise_cut_after_s"].as_f64().unwrap_or(f64::MAX);
    check(
        (IDLE as f64 - 0.5..IDLE as f64 + 2.0).contains(&cut),
        "a frame that never completes is cut after the idle time",
    );
    let loris = &report["slowloris"];
    check(loris["still_open"] == 0, "every slowloris connection was cut");
    check(
        loris["last_cut_s"].as_f64().is_some_and(|s| s <= IDLE as f64 + 2.0),
        "slowloris connections are cut within the idle time (plus slack)",
    );
    check(report["after_slowloris_rcode"] == 0, "a new TCP client is answered after the slowloris");
    check(report["outside_acl_rcode"]["udp"] == 5, "an outsider over UDP gets REFUSED");
    check(report["outside_acl_rcode"]["tcp"] == 5, "an outsider over TCP gets REFUSED");
    let refused_now = lab.stat("anycast_xdp_packets_total{outcome=\"not_allowed\"}").unwrap();
    check(refused_now > refused_at_xdp, "the XDP program saw the outsider and passed it up");
    check(lab.stat("anycast_errors_total{kind=\"tcp_idle\"}").unwrap() > 0, "idle cut-offs are counted");
    check(lab.stat("anycast_responses_total{rcode=\"formerr\"}").unwrap() > 0, "FORMERRs are counted");

    // And the daemon still serves, over both paths and families.
    std::thread::sleep(Duration::from_millis(200));
    for (vip, name) in [(VIP4, "www.lab."), (VIP6, "host.noglue.lab."), (VIP4, "www.example.lab.")] {
        let answer = dig(&lab, vip, name, "A", &[]);
        check(answer.status == "NOERROR" && !answer.answers.is_empty(), &format!("{name} from {vip} afterwards"));
    }
    let hits = lab.stat(series::XDP_ANSWERED).unwrap();
    dig(&lab, VIP4, "www.example.lab.", "A", &[]);
    check(lab.stat(series::XDP_ANSWERED).unwrap() == hits + 1, "the fast path still answers");
    assert!(failures.is_empty(), "failed:\n  {}\nreport: {report}", failures.join("\n  "));
}
