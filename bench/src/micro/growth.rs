//! What makes a hit cost more: more records to age, a longer name to
//! hash and compare, a larger map to look up in. Each pair is timed in
//! the same rounds, one single-run call per frame as every hit is (see
//! the parent module), and its ratio printed with its target.

use anycast_tests::{
    frame::FrameSpec,
    harness::{AGE, CLIENT4, Node, VIP4, XDP_TX},
    zone::{Sections, a, query, respond, wire},
};
use anyhow::{Result, ensure};
use hickory_proto::{op::ResponseCode, rr::RecordType};

use super::{Options, Subject, median, median_single_run};

/// Names in the small map, and the hot names asked of both maps.
const HOT_NAMES: usize = 1000;
/// Entries in the large map, and its capacity (16 times the daemon's default).
const LARGE_ENTRIES: usize = 1_000_000;
const LARGE_CAPACITY: u32 = 1 << 20;

/// Two subjects timed against each other.
struct Pair<'a> {
    what: String,
    base: Subject<'a>,
    grown: Subject<'a>,
    /// The most `grown` may cost, as a multiple of `base`.
    target: Option<f64>,
}

/// Times each pair over `options.rounds`, the per-call `overhead` taken
/// off, and prints the ratios: the JSON report's figures.
pub fn run(options: &Options, overhead: f64) -> Result<serde_json::Value> {
    let mut small = Node::new();
    for (name, records) in [("one.example.", 1), ("sixteen.example.", 16)] {
        insert(&mut small, name, records);
    }
    let (short, long) = ("ab.example.".to_string(), format!("{0}.{0}.{0}.a.example.", "x".repeat(63)));
    for name in [&short, &long] {
        insert(&mut small, name, 1);
    }
    let hot: Vec<String> = (0..HOT_NAMES).map(|i| format!("h{i}.example.")).collect();
    for name in &hot {
        insert(&mut small, name, 1);
    }
    eprintln!("filling a map of {LARGE_CAPACITY} entries with {LARGE_ENTRIES}");
    let mut large = Node::with_settings(|s| s.answer_capacity = LARGE_CAPACITY);
    fill(&mut large, LARGE_ENTRIES - HOT_NAMES)?;
    // The hot names go in last, as the answers in use are the most
    // recently written: the LRU map keeps them.
    for name in &hot {
        insert(&mut large, name, 1);
    }
    let hot_frames: Vec<Vec<u8>> = hot.iter().map(|n| frame(n)).collect();
    let small_program = small.fast_path.program()?;
    let large_program = large.fast_path.program()?;
    let subject = |name, program, frames| Subject { name, program, frames, action: XDP_TX };
    let name_len = |n: &str| n.len() + 1;
    let pairs = [
        Pair {
            what: "16 records against 1 (A, no EDNS)".into(),
            base: subject("1 record", small_program, vec![frame("one.example.")]),
            grown: subject("16 records", small_program, vec![frame("sixteen.example.")]),
            target: Some(1.5),
        },
        Pair {
            what: format!("a {}-byte name against a {}-byte one", name_len(&long), name_len(&short)),
            base: subject("short name", small_program, vec![frame(&short)]),
            grown: subject("long name", small_program, vec![frame(&long)]),
            target: None,
        },
        Pair {
            what: format!("a map of {LARGE_ENTRIES} entries against {HOT_NAMES}, {HOT_NAMES} names asked in turn"),
            base: subject("1k-entry map", small_program, hot_frames.clone()),
            grown: subject("1M-entry map", large_program, hot_frames),
            target: Some(1.2),
        },
    ];
    time_pairs(options, overhead, &pairs)
}

fn time_pairs(options: &Options, overhead: f64, pairs: &[Pair]) -> Result<serde_json::Value> {
    let mut samples = vec![(Vec::new(), Vec::new()); pairs.len()];
    for round in 0..options.rounds {
        eprintln!("growth round {} of {}", round + 1, options.rounds);
        for (pair, (base, grown)) in pairs.iter().zip(&mut samples) {
            base.push(median_single_run(&pair.base, options.calls)? - overhead);
            grown.push(median_single_run(&pair.grown, options.calls)? - overhead);
        }
    }
    println!();
    println!("what grows the cost of a hit (ns/packet, median of rounds):");
    let mut json = Vec::new();
    for (pair, (base, grown)) in pairs.iter().zip(&samples) {
        let (base, grown) = (median(base), median(grown));
        let ratio = grown / base;
        let verdict = pair
            .target
            .map_or(String::new(), |t| format!("; target <= {t}x: {}", if ratio <= t { "met" } else { "NOT met" }));
        println!(
            "  {:<64} {:>7.1} ({}) against {:>7.1} ({}): {ratio:.2}x{verdict}",
            pair.what, grown, pair.grown.name, base, pair.base.name
        );
        json.push(serde_json::json!({ "what": pair.what, "base_ns": base, "grown_ns": grown, "ratio": ratio, "target": pair.target }));
    }
    Ok(serde_json::Value::Array(json))
}

/// An A answer for `name` with `records` addresses, written [`AGE`] ago.
fn insert(node: &mut Node, name: &str, records: u8) {
    let answers = (1..=records).map(|i| a(name, 300, &format!("192.0.2.{i}"))).collect();
    let response = respond(&query(0, name, RecordType::A, None), ResponseCode::NoError, Sections::answers(answers));
    node.insert(&response, AGE);
}

/// `count` entries nobody asks for: one answer's value under keys of their
/// own (never looked up, so their names need not match).
fn fill(node: &mut Node, count: usize) -> Result<()> {
    let mut entry = node.insert(
        &respond(&query(0, "filler.example.", RecordType::A, None), ResponseCode::NoError, {
            Sections::answers(vec![a("filler.example.", 300, "192.0.2.99")])
        }),
        AGE,
    );
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 1..count {
        // splitmix64: distinct keys spread over the buckets.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        entry.key.name_hash = z ^ (z >> 31);
        node.fast_path.insert(&entry)?;
    }
    ensure!(node.fast_path.answer_map_view()?.count()? >= count * 9 / 10, "the map lost most of its fill");
    Ok(())
}

fn frame(name: &str) -> Vec<u8> {
    FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, name, RecordType::A, None))).build()
}
