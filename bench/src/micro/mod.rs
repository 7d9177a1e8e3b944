//! Time per packet of the fast path, through BPF_PROG_TEST_RUN.
//!
//! A program that rewrites the packet sees its own output on the next
//! repetition of one BPF_PROG_TEST_RUN call (in live-frame mode too), so a
//! hit can only be timed one run per call, with a fresh query each time.
//! Each single-run call includes the kernel's timer overhead. The reflector
//! is stable under repetition (swapping MACs twice is the original frame),
//! so it is timed both ways: single runs and a million repetitions per
//! call. The difference is the per-call overhead, subtracted from every
//! single-run figure. The miss path does not write either, and is timed in
//! repetition too as a check on that correction.

mod growth;

use std::time::Duration;

use anycast_tests::{
    frame::FrameSpec,
    harness::{CLIENT4, CLIENT6, Node, VIP4, VIP6, XDP_PASS, XDP_TX},
    zone::{EDNS, EDNS_DO, query, wire, with_options},
};
use anycast_user::fastpath::FastPathError;
use anyhow::{Context, Result, bail, ensure};
use aya::programs::{TestRun, TestRunOptions, Xdp};
use hickory_proto::rr::RecordType;

#[derive(clap::Args, Clone)]
pub struct Options {
    /// Single-run calls per measurement.
    #[arg(long, default_value_t = 200_000)]
    calls: u32,
    /// Repetitions per call where the program allows repeating.
    #[arg(long, default_value_t = 1_000_000)]
    repeat: u32,
    /// Rounds; each figure is the median of the rounds' medians, with the
    /// smallest and largest.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// One program and frame to time.
struct Subject<'a> {
    name: &'static str,
    program: &'a Xdp,
    /// Frames asked in turn, one a call.
    frames: Vec<Vec<u8>>,
    action: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options { calls: 200_000, repeat: 1_000_000, rounds: 5 }
    }
}

/// Times the paths, prints the table and returns the figures (ns per
/// packet, median of rounds with min and max) for the JSON report.
pub fn run(options: &Options) -> Result<serde_json::Value> {
    ensure!(options.rounds >= 3 && options.calls >= 1000, "use at least 3 rounds of 1000 calls");
    let (mut node, _) = Node::populated();
    let mut reflector_obj = anycast_lab_xdp::load(anycast_lab_xdp::REFLECTOR, "reflector")?;
    let reflector = anycast_lab_xdp::xdp(&mut reflector_obj, "reflector")?;
    let program: &Xdp = node.fast_path.program().map_err(|e: FastPathError| anyhow::anyhow!(e))?;

    let v4_hit = FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, "www.example.", RecordType::A, None)));
    let v6_hit = FrameSpec::dns(CLIENT6.into(), VIP6.into(), wire(&query(7, "www.example.", RecordType::AAAA, EDNS)));
    let miss = FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, "unknown.example.", RecordType::A, None)));
    let plain = FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, "secure.example.", RecordType::A, EDNS)));
    let signed =
        FrameSpec::dns(CLIENT4.into(), VIP4.into(), wire(&query(7, "secure.example.", RecordType::A, EDNS_DO)));
    // dig's default query: EDNS with a client cookie, answered with a new
    // server cookie (one SipHash).
    let cookie_query = with_options(wire(&query(7, "www.example.", RecordType::A, EDNS)), &[(10, vec![7; 8])]);
    let cookie = FrameSpec::dns(CLIENT4.into(), VIP4.into(), cookie_query);
    let subjects = [
        Subject { name: "reflector (XDP echo)", program: reflector, frames: vec![v4_hit.build()], action: XDP_TX },
        Subject { name: "IPv4 hit (A, no EDNS)", program, frames: vec![v4_hit.build()], action: XDP_TX },
        Subject { name: "IPv6 hit (AAAA, EDNS)", program, frames: vec![v6_hit.build()], action: XDP_TX },
        Subject { name: "miss (XDP_PASS)", program, frames: vec![miss.build()], action: XDP_PASS },
        Subject { name: "secure hit, DO=0 (A, EDNS)", program, frames: vec![plain.build()], action: XDP_TX },
        Subject { name: "secure hit, DO=1 (A+RRSIG, AD)", program, frames: vec![signed.build()], action: XDP_TX },
        Subject { name: "IPv4 hit, client cookie (dig)", program, frames: vec![cookie.build()], action: XDP_TX },
    ];

    let mut single = vec![Vec::new(); subjects.len()];
    let mut repeated_reflector = Vec::new();
    let mut repeated_miss = Vec::new();
    for round in 0..options.rounds {
        eprintln!("round {} of {}", round + 1, options.rounds);
        for (i, s) in subjects.iter().enumerate() {
            single[i].push(median_single_run(s, options.calls)?);
        }
        repeated_reflector.push(per_run_repeated(&subjects[0], options.repeat)?);
        repeated_miss.push(per_run_repeated(&subjects[3], options.repeat)?);
    }

    let overhead = median(&single[0]) - median(&repeated_reflector);
    println!(
        "BPF_PROG_TEST_RUN, {} rounds of {} single-run calls; median of rounds [min, max]",
        options.rounds, options.calls
    );
    println!(
        "per-call timer overhead: {overhead:.1} ns (reflector single-run {:.1} ns minus repeated {:.1} ns), subtracted below",
        median(&single[0]),
        median(&repeated_reflector)
    );
    println!();
    println!("{:<32} {:>10} {:>22}", "path", "ns/packet", "[min, max]");
    let mut corrected = Vec::new();
    let mut json = Vec::new();
    for (s, samples) in subjects.iter().zip(&single) {
        let ns: Vec<f64> = samples.iter().map(|x| x - overhead).collect();
        println!("{:<32} {:>10.1} {:>22}", s.name, median(&ns), format!("[{:.1}, {:.1}]", min(&ns), max(&ns)));
        corrected.push(median(&ns));
        json.push(serde_json::json!({ "path": s.name, "ns_per_packet": { "median": median(&ns), "min": min(&ns), "max": max(&ns) } }));
    }
    println!(
        "{:<32} {:>10.1} {:>22}",
        "miss, repeated (check)",
        median(&repeated_miss),
        format!("[{:.1}, {:.1}]", min(&repeated_miss), max(&repeated_miss))
    );
    println!();
    let reflector = corrected[0];
    for (s, ns) in subjects.iter().zip(&corrected).skip(1) {
        println!("{:<32} {:>6.2}x the reflector", s.name, ns / reflector);
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let (hit, miss, cookie) = (corrected[1] / reflector, corrected[3] / reflector, corrected[6] / reflector);
    println!("target: a hit costs at most 6x the reflector: {} ({hit:.2}x)", verdict(hit <= 6.0));
    println!("target: a miss costs at most 3x the reflector: {} ({miss:.2}x)", verdict(miss <= 3.0));
    println!(
        "target: a hit with a client cookie costs at most 9x the reflector: {} ({cookie:.2}x)",
        verdict(cookie <= 9.0)
    );
    let (plain, signed) = (corrected[4], corrected[5]);
    println!(
        "a DO=1 hit (signed) costs {:.2}x a DO=0 hit of the same name (a rate {:.0}% of it)",
        signed / plain,
        100.0 * plain / signed
    );
    drop(subjects);
    drop(node);
    let growth = growth::run(options, overhead)?;
    Ok(serde_json::json!({ "per_call_overhead_ns": overhead, "paths": json, "growth": growth }))
}

/// Median ns of one run, over `calls` calls with a fresh frame each.
fn median_single_run(subject: &Subject, calls: u32) -> Result<f64> {
    let mut out = vec![0u8; 4096];
    let mut samples = Vec::with_capacity(calls as usize);
    for call in 0..calls as usize {
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(&subject.frames[call % subject.frames.len()]);
        opts.data_out = Some(&mut out);
        let result = subject.program.test_run(opts).with_context(|| format!("running {}", subject.name))?;
        if result.return_value != subject.action {
            bail!("{}: action {} instead of {}", subject.name, result.return_value, subject.action);
        }
        samples.push(result.duration.as_nanos() as f64);
    }
    Ok(median(&samples))
}

/// ns per run of one call repeating the program `repeat` times.
fn per_run_repeated(subject: &Subject, repeat: u32) -> Result<f64> {
    let mut opts = TestRunOptions::new();
    opts.data_in = Some(&subject.frames[0]);
    opts.repeat = repeat;
    let result = subject.program.test_run(opts).with_context(|| format!("repeating {}", subject.name))?;
    // The kernel reports the mean duration of one repetition.
    let per_run: Duration = result.duration;
    Ok(per_run.as_nanos() as f64)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}
