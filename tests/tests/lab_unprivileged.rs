//! anycastd as the package's unit runs it: not root but a user of its own
//! (nobody here) with only the capabilities the unit gives it, and no
//! others in its bounding set. So run, it attaches the fast path, serves
//! UDP (XDP answering hot names), TCP, DoT and DoH on the VIP, puts the
//! VIPs on lo (announcing), reloads, takes over the pins a daemon run as
//! root left (an upgrade) and its own after SIGKILL, and withdraws and
//! unpins on SIGTERM.
//! Without one of the capabilities it stops at start with an error that
//! names the one it lacks.

use std::time::Duration;

use anycast_lab::{
    tls::NODE_NAME,
    topology::{Lab, VIP4, VIP6},
    unprivileged::Unprivileged,
};
use anycast_tests::lab::{admit_to_map, anycastd_binary, dig, lab, series, try_dig};

/// What dist/anycastd.service gives anycastd (AmbientCapabilities=).
const CAPABILITIES: [&str; 4] = ["bpf", "perfmon", "net_admin", "net_bind_service"];
const HOT: &str = "www.example.lab.";

#[test]
fn an_unprivileged_node_serves_and_one_short_of_a_capability_says_which() {
    let mut lab = lab();
    let user = Unprivileged::nobody(&CAPABILITIES);
    let tls = tls_args(&lab, &user);
    let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
    each_missing_capability_is_named(&mut lab, &tls);
    takes_over_what_a_root_daemon_pinned(&mut lab, &user, &tls);
    runs_as_its_user_with_only_its_capabilities(&mut lab, &user);
    serves_every_transport_and_announces(&lab);
    reloads(&lab);
    survives_sigkill_and_is_taken_over(&mut lab, &user, &tls);
    withdraws_and_unpins_on_sigterm(&mut lab);
}

/// The lab's certificate, its key readable by `user` as the package
/// documents (group anycastd, mode 0640).
fn tls_args(lab: &Lab, user: &Unprivileged) -> Vec<String> {
    let files = lab.tls_files().unwrap_or_else(|e| panic!("the lab's certificate: {e}"));
    user.own(&files.key).unwrap_or_else(|e| panic!("giving the key to {}: {e}", user.uid));
    lab.tls_args().unwrap_or_else(|e| panic!("the lab's TLS arguments: {e}"))
}

fn each_missing_capability_is_named(lab: &mut Lab, tls: &[&str]) {
    // (the capability left out, what the log must say)
    let cases = [("bpf", "CAP_BPF"), ("net_admin", "CAP_NET_ADMIN"), ("net_bind_service", "CAP_NET_BIND_SERVICE")];
    for (missing, named) in cases {
        let others: Vec<&str> = CAPABILITIES.iter().copied().filter(|c| *c != missing).collect();
        let user = Unprivileged::nobody(&others);
        lab.run_anycastd_as(&anycastd_binary(), &user, tls).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
        let status = lab.wait_anycastd(Duration::from_secs(20));
        let log = lab.anycastd_log();
        assert!(
            status.is_some_and(|s| !s.success()),
            "without {named} anycastd stops at start: {status:?}; log:\n{log}"
        );
        let lacks = log
            .lines()
            .find_map(|l| l.split("anycastd lacks ").nth(1))
            .and_then(|rest| rest.split(": run it as root").next())
            .unwrap_or_else(|| panic!("without {named}: no `anycastd lacks` in the log:\n{log}"));
        println!("without {named}: {status:?}, lacks {lacks}");
        assert!(lacks.starts_with(&format!("{named} (")), "without {named} the error names it first: {lacks}");
        assert_eq!(lacks.matches("CAP_").count(), 1, "and names no other: {lacks}");
        assert!(lab.node_loopback_addresses().unwrap().iter().all(|a| !a.starts_with(VIP4)), "nothing announced");
    }
}

/// An upgrade from a daemon run as root: its pins, given to the user,
/// are taken over.
fn takes_over_what_a_root_daemon_pinned(lab: &mut Lab, user: &Unprivileged, tls: &[&str]) {
    lab.start_anycastd(&anycastd_binary(), tls).unwrap_or_else(|e| panic!("starting anycastd as root: {e}"));
    dig(lab, VIP4, HOT, "A", &[]);
    admit_to_map(lab, VIP4, HOT, "A", &[]);
    assert!(lab.stop_anycastd("KILL", Duration::from_secs(5)).is_some(), "SIGKILL ends anycastd");
    restart_as(lab, user, tls);
}

/// Starts anycastd as `user` over the pins left by the one killed, and
/// waits for it to resolve and announce.
fn restart_as(lab: &mut Lab, user: &Unprivileged, tls: &[&str]) {
    assert_eq!(dig(lab, VIP4, HOT, "A", &[]).status, "NOERROR", "the pinned fast path answers meanwhile");
    lab.start_anycastd_as(&anycastd_binary(), user, tls).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    // The old program answers the lab's readiness check: wait for the
    // daemon itself, with a name it must resolve.
    anycast_lab::wait("the new anycastd announcing", Duration::from_secs(20), || {
        try_dig(lab, VIP4, "mail.example.lab.", "A", &["+time=1"]).is_ok_and(|a| a.status == "NOERROR")
            && lab.stat("anycast_announcement{state=\"announced\"}").is_ok_and(|n| n == 1)
    })
    .unwrap_or_else(|e| panic!("{e}; its log:\n{}", lab.anycastd_log()));
    let log = lab.anycastd_log();
    assert!(log.contains("took over the pinned fast path"), "the link is taken over; log:\n{log}");
    assert!(log.contains("the pinned maps are taken over"), "the maps are taken over; log:\n{log}");
}

/// /proc/PID/status's `key:` line, split.
fn status_line(pid: u32, key: &str) -> Vec<String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {path}"));
    line.split_whitespace().map(str::to_string).collect()
}

fn runs_as_its_user_with_only_its_capabilities(lab: &mut Lab, user: &Unprivileged) {
    let pid = lab.anycastd_pid().expect("anycastd runs");
    let (uid, gid) = (user.uid.to_string(), user.gid.to_string());
    assert_eq!(status_line(pid, "Uid:"), vec![uid.as_str(); 4], "real, effective, saved and fs UID");
    assert_eq!(status_line(pid, "Gid:"), vec![gid.as_str(); 4], "real, effective, saved and fs GID");
    let mask = user.mask().expect("known capabilities");
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        let value = u64::from_str_radix(&status_line(pid, set)[0], 16).expect("a hex mask");
        assert_eq!(value, mask, "{set} {value:#x}: only {CAPABILITIES:?} ({mask:#x})");
    }
    println!("anycastd {pid}: uid {uid}, CapEff {mask:#x} ({CAPABILITIES:?})");
    let links = raw_tracepoint_links(pid);
    assert_eq!(links.len(), 2, "the delivery programs are attached: {links:?}");
    assert_eq!(thread_policy(pid, "anycast-census"), Some(SCHED_IDLE), "the map census runs at idle priority");
}

/// sched(7)'s number for SCHED_IDLE, as /proc/PID/task/TID/stat gives it.
const SCHED_IDLE: u32 = 5;

/// The scheduling policy of `pid`'s thread named `name`, if it has one.
fn thread_policy(pid: u32, name: &str) -> Option<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the daemon's threads");
    tasks.filter_map(Result::ok).find_map(|task| {
        let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // The fields after the name in parentheses: the policy is the 41st of
        // the whole line, the 39th after it.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        (comm.trim() == name).then(|| fields.get(38)?.parse().ok()).flatten()
    })
}

/// The raw tracepoints `pid` holds links to (its descriptors' fdinfo).
fn raw_tracepoint_links(pid: u32) -> Vec<String> {
    let dir = format!("/proc/{pid}/fdinfo");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let infos = entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok());
    infos
        .filter(|info| info.lines().any(|l| l.starts_with("link_type:") && l.ends_with("raw_tracepoint")))
        .map(|info| info.lines().find(|l| l.starts_with("tp_name:")).unwrap_or("tp_name: ?").to_string())
        .collect()
}

fn serves_every_transport_and_announces(lab: &Lab) {
    let answered = || lab.stat(series::XDP_ANSWERED).expect("the XDP counter");
    let files = lab.tls_files().unwrap_or_else(|e| panic!("the lab's certificate: {e}"));
    let (ca, host) = (format!("+tls-ca={}", files.ca.display()), format!("+tls-hostname={NODE_NAME}"));
    // (server, dig's transport options)
    let transports: [(&str, &[&str]); 5] =
        [(VIP4, &[]), (VIP6, &[]), (VIP4, &["+tcp"]), (VIP4, &["+tls", &ca, &host]), (VIP4, &["+https", &ca, &host])];
    for (server, options) in transports {
        let answer = dig(lab, server, HOT, "A", options);
        assert_eq!(answer.status, "NOERROR", "{HOT} over {options:?} at {server}: {answer:?}");
        assert!(!answer.answers.is_empty(), "{HOT} over {options:?} at {server}: {answer:?}");
    }
    let before = answered();
    dig(lab, VIP4, HOT, "A", &[]);
    assert_eq!(answered(), before + 1, "the hot name is answered at XDP");
    let on_lo = lab.node_loopback_addresses().unwrap();
    assert!(on_lo.contains(&format!("{VIP4}/32")), "the VIP is put on lo: {on_lo:?}");
    let log = lab.anycastd_log();
    for line in log.lines().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")) {
        println!("logged: {line}");
    }
    assert!(!log.contains(" ERROR "), "nothing failed; log:\n{log}");
    assert!(!log.contains("cannot be counted"), "the delivery check is on; log:\n{log}");
    assert_eq!(lab.stat("anycast_announcement{state=\"announced\"}").ok(), Some(1), "announced");
}

fn reloads(lab: &Lab) {
    let reply = lab.control("reload").unwrap_or_else(|e| panic!("ctl reload: {e}"));
    assert!(reply.contains("reloaded"), "ctl reload: {reply}");
}

fn survives_sigkill_and_is_taken_over(lab: &mut Lab, user: &Unprivileged, tls: &[&str]) {
    assert!(lab.stop_anycastd("KILL", Duration::from_secs(5)).is_some(), "SIGKILL ends anycastd");
    restart_as(lab, user, tls);
}

fn withdraws_and_unpins_on_sigterm(lab: &mut Lab) {
    let stopped = lab.stop_anycastd("TERM", Duration::from_secs(15));
    assert!(stopped.is_some_and(|s| s.success()), "SIGTERM: a clean stop ({stopped:?}); log:\n{}", lab.anycastd_log());
    let on_lo = lab.node_loopback_addresses().unwrap();
    assert!(!on_lo.contains(&format!("{VIP4}/32")), "the VIP is taken off lo: {on_lo:?}");
    assert!(!lab.pin_dir().join(&lab.node_if).exists(), "nothing left pinned");
}
