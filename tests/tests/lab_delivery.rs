//! A node whose answers cannot leave: the client's veth has no XDP program
//! (and GRO off), so it drops every frame the node's XDP program sends.
//! anycastd must notice: the transmit errors are counted, the fast path
//! turns itself to pass everything with an error logged, the daemon
//! answers meanwhile (the node stays healthy), and once the peer can
//! receive again the fast path comes back by itself.

use std::time::{Duration, Instant};

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::{
    lab::{anycastd_binary, lab, series, with_pass_program},
    traffic::Traffic,
};

const NAME: &str = "www.lab.";
const PASS_ONLY: &str = "anycast_fastpath_pass_only";
const TX_ERRORS: &str = "anycast_xdp_tx_errors_total";

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within {limit:?}");
}

fn set_client_xdp(lab: &Lab, on: Option<&std::path::Path>) {
    let mut args = vec!["link".to_string(), "set".into(), "dev".into(), lab.client_if.clone()];
    match on {
        Some(object) => {
            args.extend(["xdp".into(), "obj".into(), object.display().to_string(), "sec".into(), "xdp".into()])
        }
        None => args.extend(["xdp".into(), "off".into()]),
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    lab.client.ip(&args).unwrap_or_else(|e| panic!("ip {}: {e}", args.join(" ")));
}

#[test]
fn undelivered_answers_turn_the_fast_path_to_pass_only_and_back() {
    let mut lab = lab();
    set_client_xdp(&lab, None);
    lab.start_anycastd(&anycastd_binary(), &[]).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    assert!(lab.anycastd_log().contains("veth whose peer is in another namespace"), "no warning at start");

    // The first query is the daemon's; the repeats would be XDP's, and
    // are lost until the node notices.
    let stream = Traffic::stream(&lab.client, VIP4, NAME, 20, 6.0, 1.0, None);
    let noticed = wait_for("pass-only", Duration::from_secs(5), || lab.stat(PASS_ONLY).unwrap_or(0) == 1);
    let report = stream.finish();
    let errors = lab.stat(TX_ERRORS).expect("the transmit errors are exported");
    println!("noticed in {noticed:?}; {errors} answers not sent; stream: {report}");
    assert!(errors >= 1, "no transmit error counted");
    assert!(lab.anycastd_log().contains("not leaving the interface"), "no error logged");
    let lost = report["lost"].as_u64().unwrap();
    assert!(lost <= 40, "{lost} queries lost before the fast path was turned off");

    // Meanwhile the daemon answers everything and the node stays healthy.
    let before = lab.stat("anycast_xdp_packets_total{outcome=\"pass_only\"}").unwrap();
    let steady = Traffic::stream(&lab.client, VIP4, NAME, 20, 2.0, 1.0, None).finish();
    assert_eq!((steady["lost"].as_u64(), steady["errors"].as_u64()), (Some(0), Some(0)), "while passing: {steady}");
    assert!(lab.stat("anycast_xdp_packets_total{outcome=\"pass_only\"}").unwrap() >= before + 40);
    assert_eq!(lab.stat("anycast_healthy").unwrap(), 1);

    // The peer can receive again: the next try keeps the fast path on.
    with_pass_program(|pass| set_client_xdp(&lab, Some(pass)));
    let back = wait_for("the fast path back", Duration::from_secs(15), || lab.stat(PASS_ONLY).unwrap_or(1) == 0);
    let answered = lab.stat(series::XDP_ANSWERED).unwrap();
    let after = Traffic::stream(&lab.client, VIP4, NAME, 20, 2.0, 1.0, None).finish();
    println!("back after {back:?}; then {after}");
    assert_eq!(after["lost"].as_u64(), Some(0), "after the peer came back: {after}");
    assert!(lab.stat(series::XDP_ANSWERED).unwrap() >= answered + 35, "answered at XDP again");
    assert_eq!(lab.stat(PASS_ONLY).unwrap(), 0);
}
