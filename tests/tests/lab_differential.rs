//! anycastd against Unbound (Debian) on the same lab hierarchy with the same
//! root hints: a corpus of questions over every zone and case the lab has,
//! asked of both from the client; the RCODE and the answer RRsets must be
//! the same (TTLs aside; record order aside, as RRsets are sets).

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::lab::{DigAnswer, lab_with_anycastd, try_dig};

/// The questions: every host of example.lab. (A, and AAAA where half are
/// NODATA), NXDOMAIN in each zone, and the special cases.
fn corpus() -> Vec<(String, &'static str)> {
    let mut questions = Vec::new();
    for i in 1..=anycast_lab::hierarchy::HOSTS {
        questions.push((format!("h{i}.example.lab."), "A"));
        questions.push((format!("h{i}.example.lab."), "AAAA"));
    }
    for zone in ["example.lab.", "lab.", "noglue.lab.", "lame.lab.", "slow.lab.", "example.", "hosting.example."] {
        questions.push((format!("no-such-name.{zone}"), "A"));
        questions.push((format!("deeper.no-such-name.{zone}"), "AAAA"));
    }
    for (name, rtype) in [
        ("no-such-tld.", "A"),
        (".", "NS"),
        (".", "SOA"),
        ("lab.", "NS"),
        ("lab.", "SOA"),
        ("lab.", "A"),
        ("www.lab.", "A"),
        ("www.lab.", "AAAA"),
        ("example.lab.", "NS"),
        ("example.lab.", "SOA"),
        ("example.lab.", "MX"),
        ("example.lab.", "TXT"),
        ("mail.example.lab.", "A"),
        ("www.example.lab.", "A"),
        ("WWW.Example.LAB.", "AAAA"),
        ("www.example.lab.", "MX"),
        ("multi.example.lab.", "A"),
        ("alias.example.lab.", "A"),
        ("alias.example.lab.", "AAAA"),
        ("alias.example.lab.", "CNAME"),
        ("chain.example.lab.", "A"),
        ("chain.example.lab.", "TXT"),
        ("big.example.lab.", "TXT"),
        ("short.example.lab.", "A"),
        ("anything.wild.example.lab.", "A"),
        ("a.b.wild.example.lab.", "A"),
        ("anything.wild.example.lab.", "AAAA"),
        ("_dns._udp.example.lab.", "SRV"),
        ("host.noglue.lab.", "A"),
        ("noglue.lab.", "NS"),
        ("host.lame.lab.", "A"),
        ("lame.lab.", "SOA"),
        ("host.slow.lab.", "A"),
        ("slow.lab.", "NS"),
        ("www.hosting.example.", "A"),
        ("ns.hosting.example.", "A"),
        ("example.", "NS"),
        ("example.", "SOA"),
    ] {
        questions.push((name.to_string(), rtype));
    }
    questions
}

/// What is compared: the RCODE, and the answer records without TTLs,
/// lower-cased and sorted.
fn essence(answer: &DigAnswer) -> (String, Vec<String>) {
    let mut records: Vec<String> =
        answer.answers.iter().map(|r| format!("{} {} {}", r.name, r.rtype, r.data).to_lowercase()).collect();
    records.sort();
    (answer.status.clone(), records)
}

fn ask(lab: &Lab, server: &str, name: &str, rtype: &str) -> Result<DigAnswer, String> {
    try_dig(lab, server, name, rtype, &["+tries=2", "+time=3"])
}

#[test]
fn answers_like_unbound() {
    let mut lab = lab_with_anycastd(&[]);
    let unbound = lab.start_unbound().unwrap_or_else(|e| panic!("starting Unbound: {e}"));
    let corpus = corpus();
    assert!(corpus.len() >= 200, "the corpus has {} questions", corpus.len());
    let mut differences = Vec::new();
    let mut rcodes = std::collections::BTreeMap::<String, usize>::new();
    for (name, rtype) in &corpus {
        let ours = ask(&lab, VIP4, name, rtype);
        let theirs = ask(&lab, unbound, name, rtype);
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) if essence(&ours) == essence(&theirs) => {
                *rcodes.entry(ours.status).or_default() += 1;
            }
            (ours, theirs) => differences.push(format!(
                "{name} {rtype}:\n    anycastd: {:?}\n    unbound:  {:?}",
                ours.map(|a| essence(&a)),
                theirs.map(|a| essence(&a))
            )),
        }
    }
    println!(
        "{} questions, {} the same ({rcodes:?}), {} different",
        corpus.len(),
        corpus.len() - differences.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} answers differ:\n  {}",
        differences.len(),
        corpus.len(),
        differences.join("\n  ")
    );
}
