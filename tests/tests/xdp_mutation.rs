//! No wrong answer under mutation: 100,000 randomly mutated queries
//! (seeded, so a failure reproduces) through the program with a populated
//! map (see `anycast_tests::mutation`); `cargo xtask bench sweep` runs a
//! million and more.

use anycast_tests::{
    harness::Node,
    mutation::{SEED, sweep},
};

const MUTANTS: usize = 100_000;

#[test]
fn no_mutated_query_gets_a_wrong_answer() {
    let (mut node, populated) = Node::populated();
    let report = sweep(&mut node, populated, false, MUTANTS, SEED);
    println!(
        "{} mutants (seed {SEED:#x}): {} answered and verified, {} passed",
        report.mutants, report.answered, report.passed
    );
    assert!(report.failures.is_empty(), "wrong outcomes:\n  {}", report.failures.join("\n  "));
    assert_eq!(report.mutants, MUTANTS);
    // The test means something only if many mutants reach the answer path.
    assert!(report.answered >= MUTANTS / 20, "only {} mutants were answered", report.answered);
    assert!(report.passed >= MUTANTS / 4, "only {} mutants were passed", report.passed);
}
