//! Operator policy in the lab: anycastd and Unbound (Debian) given the same
//! local zones, local data, RPZ file, stub zone and forward zone (to zones
//! no one delegates), and anycastd a hosts-style list, which Unbound gets
//! as local data; asked the same questions. The RCODE
//! and the answer RRsets must be the same (TTLs and order aside), on the
//! daemon's path (the first ask) and on the fast path's (a repeat). A
//! reload under a steady stream takes effect (new data, a list entry, a
//! stub zone gone, a new NSID on both paths), purges what it changes from both paths and the cache,
//! and loses no query; a broken file on reload is refused and
//! the policy in force kept. QNAME minimisation is seen on the wire, and
//! `rrset_order = "rotate"` measured on both paths.

use std::{path::Path, sync::Mutex, time::Duration};

use anycast_lab::{
    hierarchy::EXAMPLE,
    topology::{Lab, VIP4},
};
use anycast_tests::{
    lab::{DigAnswer, lab_with_anycastd, series, try_dig},
    traffic::Traffic,
};

/// One lab at a time: they share addresses.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

const RPZ: &str = "$TTL 60\n\
    @ SOA localhost. hostmaster.rpz.lab. 1 3600 600 86400 30\n\
    @ NS localhost.\n\
    mail.example.lab CNAME .\n\
    *.wild.example.lab CNAME *.\n\
    h1.example.lab CNAME rpz-passthru.\n\
    *.h3.example.lab CNAME .\n\
    h2.example.lab A 10.77.0.9\n\
    h2.example.lab TXT \"rewritten\"\n\
    host.noglue.lab CNAME rpz-drop.\n";

const HOSTS: &str = "# ad servers\n0.0.0.0 banner.lab tracker.lab\n::1 tracker.lab\n";

/// The zones and data, as (Unbound's `local-zone` type, zone) and records.
const ZONES: &[(&str, &str)] = &[
    ("corp.lab.", "static"),
    ("ads.lab.", "redirect"),
    ("closed.lab.", "refuse"),
    ("void.lab.", "always_nxdomain"),
    ("quiet.lab.", "deny"),
    ("example.lab.", "transparent"),
];

const DATA: &[&str] = &[
    "corp.lab. 3600 IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 300",
    "www.corp.lab. 300 IN A 10.77.0.1",
    "www.corp.lab. 300 IN AAAA fd77::1",
    "mail.corp.lab. 300 IN MX 10 www.corp.lab.",
    "a.b.corp.lab. 300 IN TXT \"deep\"",
    "ads.lab. 60 IN A 127.0.0.2",
    "void.lab. 60 IN A 10.77.0.4",
    "closed.lab. 60 IN A 10.77.0.6",
    "www.example.lab. 300 IN A 10.77.0.2",
    "printer.home.lab. 300 IN A 10.77.0.3",
];

/// A name and a type, as dig takes them.
type Question = (&'static str, &'static str);

/// Questions both must answer alike, and those both must leave without
/// a response.
fn corpus() -> (Vec<Question>, Vec<Question>) {
    let answered = vec![
        ("www.corp.lab.", "A"),
        ("WWW.Corp.Lab.", "AAAA"),
        ("www.corp.lab.", "TXT"),
        ("mail.corp.lab.", "MX"),
        ("b.corp.lab.", "A"),
        ("a.b.corp.lab.", "TXT"),
        ("nope.corp.lab.", "A"),
        ("corp.lab.", "SOA"),
        ("corp.lab.", "DS"),
        ("x.y.ads.lab.", "A"),
        ("ads.lab.", "AAAA"),
        ("closed.lab.", "A"),
        ("other.closed.lab.", "A"),
        ("void.lab.", "A"),
        ("any.void.lab.", "A"),
        ("www.example.lab.", "A"),
        ("www.example.lab.", "AAAA"),
        ("multi.example.lab.", "A"),
        ("printer.home.lab.", "A"),
        ("printer.home.lab.", "AAAA"),
        ("home.lab.", "A"),
        ("mail.example.lab.", "A"),
        ("anything.wild.example.lab.", "A"),
        ("h1.example.lab.", "A"),
        ("h2.example.lab.", "A"),
        ("h2.example.lab.", "TXT"),
        ("h2.example.lab.", "MX"),
        ("h3.example.lab.", "A"),
        ("x.h3.example.lab.", "A"),
        ("banner.lab.", "A"),
        ("banner.lab.", "AAAA"),
        ("tracker.lab.", "AAAA"),
        ("www.lab.", "A"),
        ("localhost.", "A"),
        ("db.localhost.", "AAAA"),
        ("1.0.0.127.in-addr.arpa.", "PTR"),
        ("4.3.2.10.in-addr.arpa.", "PTR"),
        ("7.7.168.192.in-addr.arpa.", "PTR"),
        ("x.invalid.", "A"),
        ("hidden.onion.", "A"),
        ("router.home.arpa.", "A"),
        ("www.intranet.", "A"),
        ("wiki.intranet.", "A"),
        ("nope.intranet.", "A"),
        ("intranet.", "SOA"),
        ("www.partner.", "A"),
        ("www.partner.", "AAAA"),
        ("nope.partner.", "A"),
    ];
    let dropped = vec![("quiet.lab.", "A"), ("x.quiet.lab.", "TXT"), ("host.noglue.lab.", "A")];
    (answered, dropped)
}

/// anycastd's configuration for the policy, the lists under `dir`.
fn anycastd_policy(dir: &Path) -> String {
    let mut text = String::new();
    for (zone, kind) in ZONES {
        text += &format!("[[local_zone]]\nname = \"{zone}\"\ntype = \"{kind}\"\n");
    }
    for record in DATA {
        text += &format!("[[local_data]]\nrecord = '{record}'\n");
    }
    text += &format!(
        "[[blocklist]]\nname = \"rpz\"\nfile = \"{}\"\nformat = \"rpz\"\norigin = \"rpz.lab.\"\n\
         [[blocklist]]\nname = \"ads\"\nfile = \"{}\"\nformat = \"hosts\"\nttl = 300\n\
         [[stub_zone]]\nname = \"intranet.\"\nservers = [\"{EXAMPLE}\"]\n\
         [[forward_zone]]\nname = \"partner.\"\nforwarders = [\"{EXAMPLE}\"]\n\
         [dnssec]\nnegative_trust_anchors = [\"intranet.\", \"partner.\"]\n",
        dir.join("block.rpz").display(),
        dir.join("ads.hosts").display()
    );
    text
}

/// The same policy in Unbound's words: the hosts list as local data.
fn unbound_policy(dir: &Path) -> String {
    let mut text = "server:\n    module-config: \"respip iterator\"\n".to_string();
    for (zone, kind) in ZONES {
        text += &format!("    local-zone: \"{zone}\" {kind}\n");
    }
    let hosts = ["banner.lab. 300 IN A 0.0.0.0", "tracker.lab. 300 IN A 0.0.0.0", "tracker.lab. 300 IN AAAA ::1"];
    for record in DATA.iter().chain(&hosts) {
        text += &format!("    local-data: '{record}'\n");
    }
    text + &format!(
        "rpz:\n    name: \"rpz.lab.\"\n    zonefile: \"{}\"\n\
         stub-zone:\n    name: \"intranet.\"\n    stub-addr: {EXAMPLE}\n\
         forward-zone:\n    name: \"partner.\"\n    forward-addr: {EXAMPLE}\n",
        dir.join("block.rpz").display()
    )
}

/// A scratch directory, removed even when the test fails.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("anycast-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        std::fs::write(dir.join("block.rpz"), RPZ).expect("writing the RPZ");
        std::fs::write(dir.join("ads.hosts"), HOSTS).expect("writing the hosts list");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A lab with anycastd running `config` (written under `dir`).
fn node_with(dir: &Path, config: &str) -> Lab {
    let path = dir.join("anycastd.toml");
    std::fs::write(&path, config).expect("writing the config");
    lab_with_anycastd(&["--config", &path.display().to_string()])
}

/// What is compared: the RCODE, and the answer records without TTLs,
/// lower-cased and sorted.
fn essence(answer: &DigAnswer) -> (String, Vec<String>) {
    let mut records: Vec<String> =
        answer.answers.iter().map(|r| format!("{} {} {}", r.name, r.rtype, r.data).to_lowercase()).collect();
    records.sort();
    (answer.status.clone(), records)
}

fn ask(lab: &Lab, server: &str, name: &str, rtype: &str) -> Result<(String, Vec<String>), String> {
    try_dig(lab, server, name, rtype, &["+tries=2", "+time=2"]).map(|a| essence(&a))
}

#[test]
fn answers_like_unbound_with_the_same_policy_on_both_paths() {
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("policy");
    let mut lab = node_with(&scratch.0, &anycastd_policy(&scratch.0));
    let unbound =
        lab.start_unbound_with(&unbound_policy(&scratch.0)).unwrap_or_else(|e| panic!("starting Unbound: {e}"));
    let (answered, dropped) = corpus();
    let xdp_before = lab.stat(series::XDP_ANSWERED).expect("the XDP answer count");
    let mut differences = Vec::new();
    let mut rcodes = std::collections::BTreeMap::<String, usize>::new();
    for (name, rtype) in &answered {
        let theirs = ask(&lab, unbound, name, rtype);
        let first = ask(&lab, VIP4, name, rtype);
        // The second from the daemon's hot answers, which admits it to the
        // map; the third from XDP.
        let hot = ask(&lab, VIP4, name, rtype);
        let repeat = ask(&lab, VIP4, name, rtype);
        match (&theirs, &first, &hot, &repeat) {
            (Ok(t), Ok(f), Ok(h), Ok(r)) if t == f && f == h && f == r => *rcodes.entry(t.0.clone()).or_default() += 1,
            _ => differences.push(format!(
                "{name} {rtype}:\n    unbound:          {theirs:?}\n    anycastd:         {first:?}\n    anycastd, again:  {hot:?}\n    anycastd, repeat: {repeat:?}"
            )),
        }
    }
    let xdp_answers = lab.stat(series::XDP_ANSWERED).expect("the XDP answer count") - xdp_before;
    for (name, rtype) in &dropped {
        let quick = ["+tries=1", "+time=1"];
        let (theirs, ours) = (try_dig(&lab, unbound, name, rtype, &quick), try_dig(&lab, VIP4, name, rtype, &quick));
        if theirs.is_ok() || ours.is_ok() {
            differences.push(format!(
                "{name} {rtype} should get no response:\n    unbound: {theirs:?}\n    anycastd: {ours:?}"
            ));
        }
    }
    let total = answered.len() + dropped.len();
    println!(
        "{total} questions, {} the same ({rcodes:?}, {} without a response), {} different; \
         {xdp_answers} of the {} repeats answered at XDP",
        total - differences.len(),
        dropped.len(),
        differences.len(),
        answered.len()
    );
    assert!(differences.is_empty(), "{} of {total} differ:\n  {}", differences.len(), differences.join("\n  "));
    assert!(xdp_answers >= 20, "the fast path served the policy's repeats too: {xdp_answers} of {}", answered.len());
}

#[test]
fn a_reload_under_a_stream_takes_effect_loses_nothing_and_refuses_a_broken_file() {
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("policy-reload");
    let config = format!("[service]\nnsid = \"node-a\"\n{}", anycastd_policy(&scratch.0));
    let mut lab = node_with(&scratch.0, &config);
    let pid = lab.anycastd_pid().expect("anycastd runs");
    let answer = |name: &str| ask(&lab, VIP4, name, "A").unwrap_or_else(|e| panic!("{name}: {e}"));
    // Twice each: the NXDOMAIN and the answer are then in the map.
    for _ in 0..2 {
        assert_eq!(answer("new.corp.lab.").0, "NXDOMAIN");
        assert_eq!(answer("www.hosting.example.").1, vec!["www.hosting.example. a 10.99.5.40".to_string()]);
        assert_eq!(answer("www.intranet.").1, vec!["www.intranet. a 10.99.7.1".to_string()], "through the stub");
    }
    let stream = Traffic::stream(&lab.client, VIP4, "www.corp.lab.", 200, 6.0, 1.0, None);
    std::thread::sleep(Duration::from_secs(2));
    let stub = format!("[[stub_zone]]\nname = \"intranet.\"\nservers = [\"{EXAMPLE}\"]\n");
    assert!(config.contains(&stub));
    let changed = config.replace(&stub, "").replace("node-a", "node-b");
    let changed = format!("{changed}[[local_data]]\nrecord = 'new.corp.lab. 300 IN A 10.77.0.5'\n");
    std::fs::write(scratch.0.join("anycastd.toml"), changed).expect("rewriting the config");
    std::fs::write(scratch.0.join("ads.hosts"), format!("{HOSTS}0.0.0.0 www.hosting.example\n")).expect("the list");
    let hup = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill -HUP");
    assert!(hup.success(), "SIGHUP sent");
    std::thread::sleep(Duration::from_millis(500));
    let reloaded = (answer("new.corp.lab."), answer("www.hosting.example."));
    assert_eq!(reloaded.0, ("NOERROR".to_string(), vec!["new.corp.lab. a 10.77.0.5".to_string()]), "new local data");
    assert_eq!(reloaded.1.1, vec!["www.hosting.example. a 0.0.0.0".to_string()], "the reloaded list");
    assert_eq!(answer("www.hosting.example.").1, reloaded.1.1, "and its repeat, from either path");
    for _ in 0..2 {
        assert_eq!(answer("www.intranet.").0, "NXDOMAIN", "the stub zone is gone: the root has no intranet.");
    }
    // The NSID, from the fast path (UDP, a name the stream keeps in the
    // map) and from the daemon (TCP).
    for transport in ["+notcp", "+tcp"] {
        let args = [&format!("@{VIP4}"), "+nsid", transport, "+tries=2", "+time=2", "www.corp.lab.", "A"];
        let out = lab.dig(&args).unwrap_or_else(|e| panic!("dig +nsid: {e}"));
        assert!(out.contains("\"node-b\""), "{transport}: the reloaded NSID:\n{out}");
    }

    std::fs::write(scratch.0.join("block.rpz"), "this is not a zone file\n").expect("breaking the RPZ");
    let refused = lab.control("reload").expect("ctl reload");
    assert!(refused.starts_with("error: reload refused") && refused.contains("blocklist rpz"), "{refused}");
    assert_eq!(answer("mail.example.lab.").0, "NXDOMAIN", "the RPZ in force is kept");
    assert_eq!(answer("new.corp.lab.").1, reloaded.0.1, "and the local data");
    let report = stream.finish();
    println!("stream over the reloads: {report}");
    assert_eq!((report["lost"].as_u64(), report["errors"].as_u64()), (Some(0), Some(0)), "{report}");
    assert!(lab.anycastd_log().contains("reload refused"), "the refusal is logged");
}

/// The names the queries to `server` in tcpdump's lines asked about,
/// lower-cased, with their types.
fn asked_of(capture: &str, server: &str) -> Vec<(String, String)> {
    let to = format!("> {server}.53:");
    capture
        .lines()
        .filter(|line| line.contains(&to))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| w.ends_with('?'))?;
            Some((words.get(at + 1)?.to_lowercase(), words[at].trim_end_matches('?').to_string()))
        })
        .collect()
}

#[test]
fn qname_minimisation_tells_each_authority_only_the_next_label() {
    use anycast_lab::hierarchy::{LAB, ROOT};
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("qmin");
    let mut lab = anycast_tests::lab::lab();
    let log = scratch.0.join("upstream.txt");
    let capture = lab.watch_queries_upstream(&log).unwrap_or_else(|e| panic!("starting tcpdump: {e}"));
    lab.start_anycastd(&anycast_tests::lab::anycastd_binary(), &[]).unwrap_or_else(|e| panic!("anycastd: {e}"));
    // Client questions and CNAME links, not NS names (whose addresses are
    // looked up whole: see the README).
    for (name, records) in [("h7.example.lab.", 1), ("a.b.wild.example.lab.", 1), ("chain.example.lab.", 3)] {
        let answer = ask(&lab, VIP4, name, "A").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((answer.0.as_str(), answer.1.len()), ("NOERROR", records), "{name}: {answer:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(capture);
    let text = std::fs::read_to_string(&log).expect("the capture");
    let labels = |name: &str| name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()).count();
    let root = asked_of(&text, ROOT);
    assert!(!root.is_empty(), "the root was asked:\n{text}");
    let leaks: Vec<_> = root.iter().filter(|(name, _)| labels(name) > 1).collect();
    assert!(leaks.is_empty(), "the root hears of TLDs only, but was asked {leaks:?}");
    let lab_server = asked_of(&text, LAB);
    let deep: Vec<_> = lab_server.iter().filter(|(name, _)| labels(name) > 2).collect();
    assert!(deep.is_empty(), "lab.'s server hears of its children only, but was asked {deep:?}");
    println!("root asked {root:?}; lab. asked {lab_server:?}");
}

/// How often each address came first in `rounds` answers to
/// multi.example.lab. A from one dig run (`+tcp` for the daemon's path).
fn firsts(lab: &Lab, rounds: usize, extra: &[&str]) -> std::collections::BTreeMap<String, usize> {
    let mut args = vec![format!("@{VIP4}"), "+short".to_string(), "+tries=2".to_string(), "+time=2".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    for _ in 0..rounds {
        args.extend(["multi.example.lab.".to_string(), "A".to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lab.dig(&args).unwrap_or_else(|e| panic!("dig: {e}"));
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3 * rounds, "three addresses an answer:\n{out}");
    let mut counts = std::collections::BTreeMap::new();
    for answer in lines.chunks(3) {
        let mut sorted = answer.to_vec();
        sorted.sort();
        assert_eq!(sorted, ["10.99.5.12", "10.99.5.13", "10.99.5.14"], "every address once");
        *counts.entry(answer[0].to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn rrset_order_rotate_hands_out_each_address_first_in_turn_on_both_paths() {
    let _one = ONE_LAB_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = Scratch::new("rrset-order");
    let lab = node_with(&scratch.0, "[policy]\nrrset_order = \"rotate\"\n");
    let xdp_before = lab.stat(series::XDP_ANSWERED).expect("the XDP answer count");
    let fast = firsts(&lab, 60, &[]);
    let xdp = lab.stat(series::XDP_ANSWERED).expect("the XDP answer count") - xdp_before;
    let daemon = firsts(&lab, 60, &["+tcp"]);
    println!("first address over 60 answers: UDP (XDP answered {xdp}) {fast:?}; TCP (the daemon) {daemon:?}");
    assert!(xdp >= 55, "the fast path answered the repeats: {xdp}");
    for (path, counts) in [("XDP", &fast), ("daemon", &daemon)] {
        assert_eq!(counts.len(), 3, "{path}: every address comes first: {counts:?}");
        assert!(counts.values().all(|&n| (15..=25).contains(&n)), "{path}: about 20 each: {counts:?}");
    }
}
