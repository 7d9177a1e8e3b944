//! Restart without downtime: the fast path is pinned, so when anycastd is
//! killed (SIGKILL: no chance to clean up) the XDP program keeps answering
//! hot names, and the next anycastd takes over its maps and link. A
//! changed map layout is never read: the new daemon starts fresh maps and
//! still takes over the link.

use std::time::Duration;

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::{
    lab::{admit_to_map, anycastd_binary, dig, lab_with_anycastd, series, try_dig},
    traffic::Traffic,
};

const HOT: &str = "www.example.lab.";

/// The layout directories pinned for the node's client-facing veth.
fn layouts(lab: &Lab) -> Vec<String> {
    let dir = lab.pin_dir().join(&lab.node_if);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The ID of the XDP program on the node's client-facing veth, if any.
fn attached_program(lab: &Lab) -> Option<String> {
    let link = lab.node.ip(&["-d", "link", "show", "dev", &lab.node_if]).expect("ip link show");
    link.split("prog/xdp id ").nth(1).and_then(|rest| rest.split_whitespace().next()).map(str::to_string)
}

fn restart(lab: &mut Lab) {
    lab.start_anycastd(&anycastd_binary(), &[]).unwrap_or_else(|e| panic!("restarting anycastd: {e}"));
    // Answering hot names proves nothing here (the fast path never
    // stopped, and the old program may answer from the old maps): wait
    // for the daemon itself, with a name it must resolve, and for the VIPs
    // it answers from to be on lo (announced), which takes a health check.
    anycast_lab::wait("the new anycastd resolving and announcing", Duration::from_secs(20), || {
        try_dig(lab, VIP4, "mail.example.lab.", "A", &["+time=1"]).is_ok_and(|a| a.status == "NOERROR")
            && lab.stat("anycast_announcement{state=\"announced\"}").is_ok_and(|n| n == 1)
    })
    .unwrap_or_else(|e| panic!("{e}; its log:\n{}", lab.anycastd_log()));
}

/// Both scenarios on one lab (a test binary's labs share its PID, so its
/// tests cannot run labs side by side).
#[test]
fn restart_without_downtime() {
    let mut lab = lab_with_anycastd(&[]);
    hot_names_are_answered_through_sigkill_and_restart(&mut lab);
    lab.start_anycastd(&anycastd_binary(), &[]).unwrap_or_else(|e| panic!("starting anycastd again: {e}"));
    another_map_layout_is_never_read_and_its_link_is_taken_over(&mut lab);
}

fn hot_names_are_answered_through_sigkill_and_restart(lab: &mut Lab) {
    dig(lab, VIP4, HOT, "A", &[]);
    admit_to_map(lab, VIP4, HOT, "A", &[]);
    let stream = Traffic::stream(&lab.client, VIP4, HOT, 200, 12.0, 1.0, None);
    std::thread::sleep(Duration::from_secs(2));
    let before = attached_program(lab).expect("attached while anycastd runs");
    let killed = lab.stop_anycastd("KILL", Duration::from_secs(5));
    assert!(killed.is_some_and(|s| !s.success()), "SIGKILL ends anycastd: {killed:?}");
    assert_eq!(attached_program(lab), Some(before.clone()), "the program stays attached without its daemon");
    // Four seconds without a daemon, then the new one.
    std::thread::sleep(Duration::from_secs(4));
    restart(lab);
    let after = attached_program(lab).expect("attached after the restart");
    let stream = stream.finish();
    let log = lab.anycastd_log();
    let answered = lab.stat(series::XDP_ANSWERED).unwrap();
    println!("SIGKILL, 4 s down, restart: the stream of {HOT} saw {stream}");
    println!("program {before} before, {after} after; XDP answered counter {answered} (kept across the restart)");

    assert!(log.contains("took over the pinned fast path"), "the link was taken over; log:\n{log}");
    assert!(log.contains("the pinned maps are taken over"), "the maps were taken over; log:\n{log}");
    let adopted = log
        .lines()
        .find(|l| l.contains("the pinned answers are refreshed from here on"))
        .and_then(|l| l.split("entries=").nth(1))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(adopted.is_some_and(|n| n >= 1), "the live entries are adopted for refreshing: {adopted:?}; log:\n{log}");
    assert_ne!(before, after, "the new daemon's program is the one attached");
    assert!(stream["lost"] == 0 && stream["errors"] == 0, "no hot-name answer lost: {stream}");
    assert!(answered >= stream["sent"].as_u64().unwrap(), "the counters carried on: {answered} answered at XDP");
    assert_eq!(layouts(lab).len(), 1, "one layout pinned: {:?}", layouts(lab));

    // A graceful stop takes it all away.
    assert!(lab.stop_anycastd("TERM", Duration::from_secs(15)).is_some_and(|s| s.success()));
    assert_eq!(attached_program(lab), None, "detached after SIGTERM");
    assert!(!lab.pin_dir().join(&lab.node_if).exists(), "nothing left pinned after SIGTERM");
}

fn another_map_layout_is_never_read_and_its_link_is_taken_over(lab: &mut Lab) {
    dig(lab, VIP4, HOT, "A", &[]);
    assert!(lab.stop_anycastd("KILL", Duration::from_secs(5)).is_some());
    // What an older anycastd with another layout would have left.
    let [ours] = layouts(lab).try_into().expect("one layout pinned");
    let dir = lab.pin_dir().join(&lab.node_if);
    let older = "layout-0000000000000001";
    std::fs::rename(dir.join(&ours), dir.join(older)).expect("renaming the layout directory");
    let before = attached_program(lab).expect("still attached");

    restart(lab);
    let log = lab.anycastd_log();
    let after = attached_program(lab);
    println!("layouts pinned after the restart: {:?}; program {before} -> {after:?}", layouts(lab));
    assert!(log.contains("another map layout"), "the changed layout is logged; log:\n{log}");
    assert!(!log.contains("the pinned maps are taken over"), "the old maps are not read; log:\n{log}");
    assert!(log.contains("took over the pinned fast path"), "the old link is taken over; log:\n{log}");
    assert_eq!(layouts(lab), vec![ours], "the other layout's pins are removed");
    assert!(after.is_some_and(|id| id != before), "the new program is attached");
    // Fresh maps: the hot name is the daemon's to answer again, then XDP's.
    let answered = || lab.stat(series::XDP_ANSWERED).unwrap();
    let start = answered();
    assert_eq!(dig(lab, VIP4, HOT, "A", &[]).status, "NOERROR");
    assert_eq!(answered(), start, "the first answer comes from the daemon (fresh maps)");
    assert_eq!(admit_to_map(lab, VIP4, HOT, "A", &[]).status, "NOERROR");
    assert_eq!(answered(), start, "the second from its hot answers");
    assert_eq!(dig(lab, VIP4, HOT, "A", &[]).status, "NOERROR");
    assert_eq!(answered(), start + 1, "the third from XDP");
}
