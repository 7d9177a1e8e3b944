//! A BGP peer that misbehaves (tests/scripts/bgp_peer.py) against
//! anycastd's built-in speaker: every error gets the NOTIFICATION RFC 4271
//! section 6 calls for, a malformed UPDATE is discarded without a reset,
//! the peer's NOTIFICATION, a reset and a silent peer end the session,
//! anycastd comes back each time, and DNS is served throughout.

use std::time::Duration;

use anycast_lab::topology::VIP4;
use anycast_tests::lab::{anycastd_binary, dig, lab};
use serde_json::{Value, json};

const SCRIPT: &str = include_str!("../scripts/bgp_peer.py");
/// Where the peer listens, in the node's namespace.
const PEER: &str = "127.0.0.2";
const HOLD: u32 = 6;

#[test]
fn malformed_and_unexpected_bgp_is_handled_and_dns_keeps_serving() {
    let mut lab = lab();
    let mut peer = lab.node.command("python3");
    peer.args(["-c", SCRIPT, PEER, "65001", "65000", &HOLD.to_string()]).stdout(std::process::Stdio::piped());
    let peer = peer.spawn().unwrap_or_else(|e| panic!("starting the BGP peer: {e}"));
    let _peer_guard = KillOnDrop(peer.id());
    let config = lab.dir.join("bgp.toml");
    std::fs::write(
        &config,
        format!(
            "[announce]\nmethod = \"bgp\"\n[bgp]\nlocal_as = 65001\nrouter_id = \"10.99.1.1\"\nhold_time = {HOLD}\n\
             [[bgp.peers]]\naddress = \"{PEER}\"\npeer_as = 65000\nnext_hop6 = \"fd99:1::1\"\n"
        ),
    )
    .expect("writing the configuration");
    let config = config.display().to_string();
    lab.start_anycastd(&anycastd_binary(), &["--config", &config]).unwrap_or_else(|e| panic!("starting anycastd: {e}"));

    // DNS keeps being served while the peer plays its scenarios.
    let out = peer.wait_with_output().expect("the BGP peer");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("the peer's report `{text}`: {e}"));
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(dig(&lab, VIP4, "www.example.lab.", "A", &[]).status, "NOERROR", "DNS still served");

    let mut failures = Vec::new();
    let expect = |failures: &mut Vec<String>, scenario: &str, key: &str, want: Value| {
        if report[scenario][key] != want {
            failures.push(format!("{scenario}: {key} is {}, want {want}", report[scenario][key]));
        }
    };
    // RFC 4271 6.1-6.6: (code, subcode).
    expect(&mut failures, "wrong_as", "notification", json!([2, 2]));
    expect(&mut failures, "bad_marker", "notification", json!([1, 1]));
    expect(&mut failures, "bad_length", "notification", json!([1, 2]));
    expect(&mut failures, "bad_type", "notification", json!([1, 3]));
    expect(&mut failures, "open_when_established", "notification", json!([5, 3]));
    expect(&mut failures, "malformed_update", "stayed_up", json!(true));
    expect(&mut failures, "peer_silent", "notification", json!([4, 0]));
    expect(&mut failures, "final", "ipv4_routes", json!([format!("{VIP4}/32")]));
    expect(&mut failures, "final", "ipv6_mp_reach", json!(true));
    for (scenario, entry) in report.as_object().expect("a report per scenario") {
        if let Some(failed) = entry.get("failed") {
            failures.push(format!("{scenario}: the peer's script failed: {failed}"));
        }
        // Backoff: 1 s after an established session, 2 s after the first
        // failure (jitter takes up to a quarter off).
        if entry["came_back_s"].as_f64().is_some_and(|s| s > 3.0) {
            failures.push(format!("{scenario}: anycastd took {}s to reconnect", entry["came_back_s"]));
        }
    }
    let log = std::fs::read_to_string(lab.dir.join("anycastd.log")).unwrap_or_default();
    for logged in ["sending BGP NOTIFICATION", "the peer sent a NOTIFICATION", "malformed message from the BGP peer"] {
        if !log.contains(logged) {
            failures.push(format!("anycastd's log lacks `{logged}`"));
        }
    }
    let established = lab.stat("anycast_bgp_established_total{peer=\"127.0.0.2:179\"}").unwrap();
    if established < 9 {
        failures.push(format!("{established} sessions established, want 9 (every scenario but the wrong AS)"));
    }
    let status = lab.stop_anycastd("TERM", Duration::from_secs(15));
    if !status.is_some_and(|s| s.success()) {
        failures.push(format!("anycastd exits 0 on SIGTERM, got {status:?}"));
    }
    assert!(failures.is_empty(), "BGP error handling:\n{}", failures.join("\n"));
}

/// Kills the peer by PID if the test ends early.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut kill = std::process::Command::new("kill");
        let _ = kill.arg("-KILL").arg(self.0.to_string()).stderr(std::process::Stdio::null()).status();
    }
}
