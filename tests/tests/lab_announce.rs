//! anycastd owns its VIPs: it puts them on the node's lo once healthy,
//! puts back one removed behind its back, takes them off when its upstream
//! is cut (withdraw, within fall x interval + 1 s) and back when it heals
//! (within rise x interval + 1 s), and removes them when it stops.

use std::time::{Duration, Instant};

use anycast_lab::topology::{Lab, VIP4, VIP6};
use anycast_tests::lab::lab_with_anycastd;

/// The lab's health settings: 1 s interval, rise 2, fall 2 (the defaults).
const INTERVAL: Duration = Duration::from_secs(1);
const RISE: u32 = 2;
const FALL: u32 = 2;

fn vips_present(lab: &Lab) -> (bool, bool) {
    let addresses = lab.node_loopback_addresses().expect("ip addr show dev lo");
    (addresses.contains(&format!("{VIP4}/32")), addresses.contains(&format!("{VIP6}/128")))
}

/// Waits up to `limit` for the VIPs to be `present` (both) or absent
/// (both); returns how long it took.
fn wait_vips(lab: &Lab, present: bool, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if vips_present(lab) == (present, present) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn vips_follow_health_and_are_restored_and_removed() {
    let mut lab = lab_with_anycastd(&[]);
    assert_eq!(vips_present(&lab), (true, true), "anycastd put both VIPs on lo (it answers on them)");
    assert_eq!(lab.stat("anycast_healthy").unwrap(), 1);
    assert_eq!(lab.stat("anycast_announcement{state=\"announced\"}").unwrap(), 1);

    lab.node.ip(&["addr", "del", &format!("{VIP4}/32"), "dev", "lo"]).unwrap();
    let restored = wait_vips(&lab, true, INTERVAL * 2 + Duration::from_secs(1));
    println!("VIP removed behind anycastd's back: restored after {restored:?}");
    assert!(restored.is_some(), "the removed VIP is put back within an interval or two");

    lab.set_upstream_link(false).unwrap();
    let withdrawn = wait_vips(&lab, false, INTERVAL * FALL + Duration::from_secs(1));
    println!(
        "upstream cut: VIPs withdrawn after {withdrawn:?} (target {:?})",
        INTERVAL * FALL + Duration::from_secs(1)
    );
    assert!(withdrawn.is_some(), "withdrawn within fall x interval + 1 s");
    assert_eq!(lab.stat("anycast_healthy").unwrap(), 0);
    assert_eq!(lab.stat("anycast_announcement{state=\"withdrawn\"}").unwrap(), 1);

    lab.set_upstream_link(true).unwrap();
    let announced = wait_vips(&lab, true, INTERVAL * RISE + Duration::from_secs(1));
    println!("upstream healed: VIPs back after {announced:?} (target {:?})", INTERVAL * RISE + Duration::from_secs(1));
    assert!(announced.is_some(), "announced again within rise x interval + 1 s");

    let status = lab.stop_anycastd("TERM", Duration::from_secs(15));
    assert!(status.is_some_and(|s| s.success()), "exit 0, got {status:?}");
    assert_eq!(vips_present(&lab), (false, false), "the VIPs go with the daemon");
}
