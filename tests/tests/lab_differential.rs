//! anycastd against Unbound (Debian) on the same lab hierarchy with the same
//! root hints: a corpus of questions over every zone and case the lab has,
//! asked of both from the client; the RCODE and the answer RRsets must be
//! the same (TTLs aside; record order aside, as RRsets are sets).

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::{
    corpus::corpus,
    lab::{DigAnswer, lab_with_anycastd, try_dig},
};

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
