//! Stopping anycastd: SIGTERM lets a query under way finish and be
//! answered, then the daemon exits 0 with the XDP program detached and its
//! control socket gone; SIGINT stops it at once, detached too.

use std::time::{Duration, Instant};

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::lab::{anycastd_binary, lab_with_anycastd};

/// Whether an XDP program is attached to the node's client-facing veth.
fn xdp_attached(lab: &Lab) -> bool {
    let link = lab.node.ip(&["-d", "link", "show", "dev", &lab.node_if]).expect("ip link show");
    link.contains("prog/xdp")
}

#[test]
fn sigterm_drains_and_sigint_stops_both_detaching() {
    let mut lab = lab_with_anycastd(&[]);
    assert!(xdp_attached(&lab), "the program is attached while anycastd runs");

    // host.slow.lab. is not cached: resolving it takes at least the slow
    // server's 250 ms, so SIGTERM arrives while it is under way.
    let mut ask = lab.client.command("dig");
    ask.args(["+nocookie", "+tries=1", "+time=5", "+short", &format!("@{VIP4}"), "host.slow.lab.", "A"]);
    let asking = std::thread::spawn(move || anycast_lab::run(&mut ask));
    std::thread::sleep(Duration::from_millis(100));
    let status = lab.stop_anycastd("TERM", Duration::from_secs(10));
    let answer = asking.join().expect("the dig thread");
    assert!(status.is_some_and(|s| s.success()), "SIGTERM: exit 0 within the drain time, got {status:?}");
    assert_eq!(
        answer.as_ref().map(|a| a.trim()).ok(),
        Some("10.99.5.50"),
        "the query under way at SIGTERM is answered: {answer:?}"
    );
    assert!(!xdp_attached(&lab), "detached after SIGTERM");
    assert!(!lab.control_socket().exists(), "the control socket is removed");

    lab.start_anycastd(&anycastd_binary(), &[]).unwrap_or_else(|e| panic!("restarting anycastd: {e}"));
    assert!(xdp_attached(&lab));
    let start = Instant::now();
    let status = lab.stop_anycastd("INT", Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "SIGINT: exit 0, got {status:?}");
    assert!(start.elapsed() < Duration::from_secs(2), "SIGINT stops at once, took {:?}", start.elapsed());
    assert!(!xdp_attached(&lab), "detached after SIGINT");
}
