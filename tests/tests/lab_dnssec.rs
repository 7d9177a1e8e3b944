//! DNSSEC on the lab's signed hierarchy: anycastd against Unbound
//! validating from the same trust anchor (the signed root's DS), for every
//! case of `sec.` and the unsigned zones below the signed root, each asked
//! plain, with DO and with DO and CD: the RCODE, the AD bit and the answer
//! RRsets (RRSIGs included) must be the same. Then delv validates
//! anycastd's answers itself, and the DO=1 repeat of a secure answer comes
//! from XDP with its RRSIGs and AD.

use std::collections::BTreeMap;

use anycast_lab::topology::{Lab, Peer, VIP4};
use anycast_tests::lab::{DigAnswer, admit_to_map, dig, lab_with_anycastd, series, try_dig};

/// (name, type, what validation must say: "secure", "insecure" or
/// "bogus").
const CASES: &[(&str, &str, &str)] = &[
    ("www.sec.", "A", "secure"),
    ("sec.", "DNSKEY", "secure"),
    ("sec.", "DS", "secure"),
    ("nope.sec.", "A", "insecure"),
    ("www.nsec.sec.", "A", "secure"),
    ("www.nsec.sec.", "AAAA", "secure"),
    ("multi.nsec.sec.", "A", "secure"),
    ("alias.nsec.sec.", "A", "secure"),
    ("nsec.sec.", "MX", "secure"),
    ("nsec.sec.", "TXT", "secure"),
    ("nsec.sec.", "DS", "secure"),
    ("nsec.sec.", "DNSKEY", "secure"),
    ("any.wild.nsec.sec.", "A", "secure"),
    ("any.wild.nsec.sec.", "AAAA", "secure"),
    ("nope.nsec.sec.", "A", "secure"),
    ("www.nsec.sec.", "MX", "secure"),
    ("ent.nsec.sec.", "A", "secure"),
    ("out.nsec.sec.", "A", "insecure"),
    ("www.nsec3.sec.", "A", "secure"),
    ("multi.nsec3.sec.", "A", "secure"),
    ("alias.nsec3.sec.", "A", "secure"),
    ("any.wild.nsec3.sec.", "A", "secure"),
    ("any.wild.nsec3.sec.", "TXT", "secure"),
    ("nope.nsec3.sec.", "A", "secure"),
    ("www.nsec3.sec.", "MX", "secure"),
    ("ent.nsec3.sec.", "A", "secure"),
    ("nsec3.sec.", "DS", "secure"),
    ("www.unsigned.sec.", "A", "insecure"),
    ("unsigned.sec.", "DS", "insecure"),
    ("www.badds.sec.", "A", "bogus"),
    ("www.expired.sec.", "A", "bogus"),
    ("host.nosig.sec.", "A", "bogus"),
    ("www.nosig.sec.", "A", "secure"),
    ("www.example.lab.", "A", "insecure"),
    ("nope.example.lab.", "A", "insecure"),
    ("lab.", "DS", "secure"),
    (".", "DNSKEY", "secure"),
];

/// The Extended DNS Error each bogus case is refused with (RFC 8914).
const BOGUS_REASONS: &[(&str, &str)] = &[
    ("www.badds.sec.", "EDE: 9 (DNSKEY Missing)"),
    ("www.expired.sec.", "EDE: 7 (Signature Expired)"),
    ("host.nosig.sec.", "EDE: 10 (RRSIGs Missing)"),
];

/// How a case is asked: plain (dig's default sets AD), DO, DO with CD.
const MODES: &[(&str, &[&str])] = &[("plain", &[]), ("DO", &["+dnssec"]), ("DO+CD", &["+dnssec", "+cd"])];

/// What is compared: the RCODE, the AD bit, the answer records without
/// TTLs, lower-cased and sorted.
fn essence(answer: &DigAnswer) -> (String, bool, Vec<String>) {
    let mut records: Vec<String> =
        answer.answers.iter().map(|r| format!("{} {} {}", r.name, r.rtype, r.data).to_lowercase()).collect();
    records.sort();
    (answer.status.clone(), has_ad(answer), records)
}

fn has_ad(answer: &DigAnswer) -> bool {
    answer.flags.split(';').next().unwrap_or_default().split_whitespace().any(|f| f == "ad")
}

fn ask(lab: &Lab, server: &str, name: &str, rtype: &str, mode: &[&str]) -> Result<DigAnswer, String> {
    let mut args = vec!["+tries=2", "+time=4"];
    args.extend_from_slice(mode);
    try_dig(lab, server, name, rtype, &args)
}

/// The verdict a DO answer shows.
fn verdict(answer: &DigAnswer) -> &'static str {
    match (answer.status.as_str(), has_ad(answer)) {
        ("SERVFAIL", _) => "bogus",
        (_, true) => "secure",
        _ => "insecure",
    }
}

#[test]
fn validates_like_unbound_and_serves_signed_answers_from_xdp() {
    let mut lab = lab_with_anycastd(&[]);
    lab.start_peer(Peer::ValidatingUnbound, anycast_lab::topology::NODE4)
        .unwrap_or_else(|e| panic!("starting a validating Unbound: {e}"));
    let unbound = anycast_lab::topology::NODE4;
    let mut differences = Vec::new();
    let mut verdicts = Vec::new();
    for (name, rtype, expected) in CASES {
        for (mode, args) in MODES {
            let (ours, theirs) = (ask(&lab, VIP4, name, rtype, args), ask(&lab, unbound, name, rtype, args));
            match (&ours, &theirs) {
                (Ok(o), Ok(t)) if essence(o) == essence(t) => {}
                _ => differences.push(format!(
                    "{name} {rtype} {mode}:\n    anycastd: {:?}\n    unbound:  {:?}",
                    ours.as_ref().map(essence),
                    theirs.as_ref().map(essence)
                )),
            }
            if *mode == "DO"
                && let Ok(ours) = &ours
                && verdict(ours) != *expected
            {
                verdicts.push(format!("{name} {rtype}: {} where {expected} was due", verdict(ours)));
            }
        }
    }
    let asked = CASES.len() * MODES.len();
    println!("{asked} questions, {} the same as Unbound, {} different", asked - differences.len(), differences.len());
    assert!(differences.is_empty(), "{} of {asked} differ:\n  {}", differences.len(), differences.join("\n  "));
    assert!(verdicts.is_empty(), "wrong verdicts:\n  {}", verdicts.join("\n  "));
    for (name, reason) in BOGUS_REASONS {
        let out = lab.dig(&["+nocookie", "+tries=2", "+time=4", &format!("@{VIP4}"), name, "A"]).expect("dig");
        assert!(out.contains(reason), "{name}: {reason} was due:\n{out}");
    }
    delv_validates(&lab);
    signed_repeats_come_from_xdp(&lab);
    signed_answer_sizes(&lab);
    let pid = lab.anycastd_pid().expect("anycastd runs");
    keytrap_costs_bounded_work(&lab, pid);
    negative_trust_anchors_make_a_zone_insecure(&mut lab);
    validates_in_forward_mode(&mut lab, unbound);
}

/// A negative trust anchor (RFC 7646) over the zone whose DS matches no
/// key: its data is served, without AD; the rest is validated as before.
fn negative_trust_anchors_make_a_zone_insecure(lab: &mut Lab) {
    lab.start_anycastd(&anycast_tests::lab::anycastd_binary(), &["--negative-trust-anchor", "badds.sec"])
        .unwrap_or_else(|e| panic!("starting anycastd with a negative trust anchor: {e}"));
    for (name, expected) in [("www.badds.sec.", "insecure"), ("www.nsec.sec.", "secure"), ("www.expired.sec.", "bogus")]
    {
        let answer = dig(lab, VIP4, name, "A", &["+dnssec"]);
        assert_eq!(verdict(&answer), expected, "{name} under the negative trust anchor for badds.sec.: {answer:?}");
    }
}

/// Forwarding to the validating Unbound, anycastd validates too: the
/// same verdicts (a bogus answer comes back SERVFAIL from Unbound itself).
fn validates_in_forward_mode(lab: &mut Lab, forwarder: &str) {
    lab.start_anycastd(&anycast_tests::lab::anycastd_binary(), &["--mode", "forward", "--forwarder", forwarder])
        .unwrap_or_else(|e| panic!("starting anycastd in forward mode: {e}"));
    let wrong: Vec<String> = CASES
        .iter()
        .filter_map(|(name, rtype, expected)| {
            let answer = ask(lab, VIP4, name, rtype, &["+dnssec"]);
            match answer {
                Ok(a) if verdict(&a) == *expected => None,
                other => Some(format!("{name} {rtype}: {expected} was due, got {other:?}")),
            }
        })
        .collect();
    println!("forward mode: {} of {} verdicts as due", CASES.len() - wrong.len(), CASES.len());
    assert!(wrong.is_empty(), "forward mode:\n  {}", wrong.join("\n  "));
}

/// delv, BIND's validator, checks anycastd's answers itself from the
/// lab's anchor.
fn delv_validates(lab: &Lab) {
    let anchor = std::fs::read_to_string(lab.anchor_path()).expect("the lab's anchor");
    let mut config = String::from("trust-anchors {\n");
    for line in anchor.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let at = f.iter().position(|t| *t == "DS").expect("DS lines");
        config.push_str(&format!(
            "  . static-ds {} {} {} \"{}\";\n",
            f[at + 1],
            f[at + 2],
            f[at + 3],
            f[at + 4..].concat()
        ));
    }
    config.push_str("};\n");
    let file = lab.anchor_path().with_file_name("delv.anchor");
    std::fs::write(&file, config).expect("writing delv's anchor");
    let mut validated = 0;
    for (name, rtype, expected) in CASES.iter().filter(|(_, _, e)| *e == "secure") {
        let out = lab
            .client_exec("delv", &["-a", &file.display().to_string(), &format!("@{VIP4}"), name, rtype])
            .unwrap_or_else(|e| panic!("delv {name} {rtype}: {e}"));
        assert!(out.contains("fully validated"), "delv {name} {rtype} ({expected}):\n{out}");
        validated += 1;
    }
    println!("delv: {validated} secure answers fully validated");
}

/// A DO query's repeat is answered at XDP: the RRSIGs and AD as the
/// daemon gave them.
fn signed_repeats_come_from_xdp(lab: &Lab) {
    for (name, rtype) in [("www.nsec.sec.", "A"), ("multi.nsec3.sec.", "A"), ("www.unsigned.sec.", "A")] {
        let first = dig(lab, VIP4, name, rtype, &["+dnssec"]);
        admit_to_map(lab, VIP4, name, rtype, &["+dnssec"]);
        let (hits, queries) = (lab.stat(series::XDP_ANSWERED).unwrap(), lab.stat(series::DAEMON_UDP).unwrap());
        let again = dig(lab, VIP4, name, rtype, &["+dnssec"]);
        let (hits_after, queries_after) =
            (lab.stat(series::XDP_ANSWERED).unwrap(), lab.stat(series::DAEMON_UDP).unwrap());
        if (hits_after, queries_after) != (hits + 1, queries) {
            let stats = lab.control("stats").unwrap_or_default();
            let counters: Vec<&str> =
                stats.lines().filter(|l| l.contains("xdp") || l.contains("fast_path") || l.contains("feed")).collect();
            panic!(
                "{name} {rtype} with DO: the repeat was not answered at XDP (hits {hits} -> {hits_after}, daemon \
                 queries {queries} -> {queries_after}); counters:\n{}",
                counters.join("\n")
            );
        }
        assert_eq!(essence(&again), essence(&first), "{name} {rtype}: the XDP answer differs from the daemon's");
        assert_eq!(again.authority.len(), first.authority.len(), "{name} {rtype}: the authority section");
    }
}

/// CPU seconds anycastd has used (all its threads).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("anycastd's /proc stat");
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a constant.
    ticks as f64 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Questions into the KeyTrap zone (a hundred keys of its key's tag, a
/// new name each time) cost at most the question's verification budget,
/// and other clients are answered meanwhile.
fn keytrap_costs_bounded_work(lab: &Lab, pid: u32) {
    const QUESTIONS: usize = 40;
    let series = "anycast_signature_verifications_total";
    let bogus = "anycast_bogus_answers_total";
    let (cpu, verifications, withheld) = (cpu_seconds(pid), lab.stat(series).unwrap(), lab.stat(bogus).unwrap());
    let (trapped, others) = std::thread::scope(|s| {
        let trap = s.spawn(|| {
            let mut statuses = BTreeMap::<String, usize>::new();
            for i in 0..QUESTIONS {
                let answer = ask(lab, VIP4, &format!("n{i}.keytrap.sec."), "A", &["+dnssec"]);
                *statuses.entry(answer.map_or_else(|e| e, |a| a.status)).or_default() += 1;
            }
            statuses
        });
        let others: Vec<String> = (0..QUESTIONS)
            .filter_map(|i| {
                let answer = ask(lab, VIP4, &format!("o{i}.wild.nsec.sec."), "A", &["+dnssec"]);
                match answer {
                    Ok(a) if a.status == "NOERROR" && has_ad(&a) => None,
                    other => Some(format!("o{i}.wild.nsec.sec.: {other:?}")),
                }
            })
            .collect();
        (trap.join().expect("the KeyTrap client"), others)
    });
    let spent = lab.stat(series).unwrap() - verifications;
    let withheld = lab.stat(bogus).unwrap() - withheld;
    let cpu = cpu_seconds(pid) - cpu;
    println!(
        "KeyTrap zone: {QUESTIONS} questions ({trapped:?}) beside {QUESTIONS} others: {spent} signature verifications \
         in all, {:.1} per question; anycastd used {:.0} ms of CPU, {:.2} ms per question",
        spent as f64 / (2 * QUESTIONS) as f64,
        cpu * 1000.0,
        cpu * 1000.0 / (2 * QUESTIONS) as f64
    );
    // The zone is bogus (its key is not among the few of its tag tried),
    // not a resolution that failed.
    assert_eq!(trapped.get("SERVFAIL"), Some(&QUESTIONS), "{trapped:?}");
    assert_eq!(withheld, QUESTIONS as u64, "SERVFAILs withheld as bogus");
    assert!(
        others.is_empty(),
        "other clients went unanswered during the KeyTrap questions:\n  {}",
        others.join("\n  ")
    );
    let budget = anycast_user::dnssec::verify::WorkLimits::default().verifications as u64;
    assert!(spent <= budget * 2 * QUESTIONS as u64, "{spent} verifications for {} questions", 2 * QUESTIONS);
}

/// The sizes of the DO answers of the cases that are not bogus, and
/// whether XDP served each one's repeat: a measurement, printed, of the
/// share of signed answers an entry holds (1232 bytes; a larger one goes
/// over TCP) and the share the fast path delivers on this link (a veth
/// hands XDP the client's skb, whose room limits how much a frame grows).
fn signed_answer_sizes(lab: &Lab) {
    let mut rows = Vec::new();
    for (name, rtype, _) in CASES.iter().filter(|(_, _, e)| *e != "bogus") {
        let args = ["+dnssec", "+nocookie", "+tries=2", "+time=4", &format!("@{VIP4}"), name, rtype];
        let out = lab.dig(&args).unwrap_or_else(|e| panic!("dig {name} {rtype}: {e}"));
        let size: usize = out
            .lines()
            .find_map(|l| l.split("MSG SIZE  rcvd: ").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no size in dig's output for {name} {rtype}:\n{out}"));
        // The second ask admits it to the map (see `admit_to_map`).
        lab.dig(&args).unwrap_or_else(|e| panic!("dig {name} {rtype} again: {e}"));
        let hits = lab.stat(series::XDP_ANSWERED).unwrap();
        lab.dig(&args).unwrap_or_else(|e| panic!("dig {name} {rtype} a third time: {e}"));
        rows.push((size, lab.stat(series::XDP_ANSWERED).unwrap() > hits, format!("{name} {rtype}")));
    }
    rows.sort();
    let served = rows.iter().filter(|(_, xdp, _)| *xdp).count();
    let fit = rows.iter().filter(|(size, _, _)| *size <= 1232).count();
    let largest_served = rows.iter().filter(|(_, xdp, _)| *xdp).map(|(size, _, _)| *size).max().unwrap_or(0);
    let sizes: Vec<String> =
        rows.iter().map(|(size, xdp, what)| format!("{size}{} {what}", if *xdp { "*" } else { "" })).collect();
    println!(
        "signed answers (DO=1), bytes, * = repeat served at XDP: {}\n  {fit} of {n} fit an entry; {served} of {n} \
         served at XDP, the largest {largest_served} bytes",
        sizes.join(", "),
        n = rows.len()
    );
}
