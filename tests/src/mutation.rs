//! Mutated query frames through the XDP program, with no wrong answer
//! allowed: the shared core of the mutation test (100,000 frames) and the
//! benchmark-style sweep (`cargo xtask bench sweep`, 1,000,000 and more).
//!
//! Every XDP_TX must answer exactly the question it was asked from the
//! matching entry (or, on a rate-limited node, be the TC=1 slip for it);
//! anything else must be XDP_PASS with the frame unchanged, or XDP_DROP by
//! the rate limiter. Most mutants get their checksums repaired afterwards,
//! so that they reach the DNS parser instead of stopping at the checksum
//! check.

use std::net::IpAddr;

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use crate::{
    frame::{FrameSpec, TPID_8021AD, TPID_8021Q, udp_checksum},
    harness::{CLIENT4, CLIENT6, Node, VIP4, VIP6, XDP_DROP, XDP_PASS, XDP_TX, ages_since},
    internet_checksum, verify,
    zone::{ClientEdns, catalog, expired, query, wire},
};

/// The seed the test and, by default, the sweep use.
pub const SEED: u64 = 0x0005_eed0_fa11_ca57;

/// What a sweep saw.
#[derive(Debug, Default)]
pub struct Report {
    pub mutants: usize,
    /// XDP_TX, checked to be the right answer.
    pub answered: usize,
    /// XDP_TX, checked to be the right TC=1 slip.
    pub slipped: usize,
    /// XDP_PASS with the frame unchanged.
    pub passed: usize,
    /// XDP_DROP by the rate limiter.
    pub dropped: usize,
    /// Wrong outcomes (at most the first ten are kept).
    pub failures: Vec<String>,
}

/// Runs `count` mutants (from `seed`) through `node`, whose map was filled
/// by [`Node::populated_with`] at `populated`. A node without a rate limit
/// must never slip or drop. Stops after ten failures.
pub fn sweep(node: &mut Node, populated: u64, rate_limited: bool, count: usize, seed: u64) -> Report {
    let bases = bases();
    let mut report = Report::default();
    for base in &bases {
        let action = node.run(&base.frame).expect("base query runs").action;
        let expected = if base.answerable { XDP_TX } else { XDP_PASS };
        if action != expected && !rate_limited {
            report.failures.push(format!("unmutated base query {:02x?}: action {action}", &base.frame[base.l3..]));
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..count {
        let base = bases.choose(&mut rng).unwrap();
        let mutant = mutate(&mut rng, base);
        report.mutants += 1;
        let run = match node.run(&mutant) {
            Ok(run) => run,
            Err(e) => {
                report.failures.push(format!("mutant {i} ({} bytes) did not run: {e}", mutant.len()));
                continue;
            }
        };
        let wrong = |why: String| format!("mutant {i} (base query {:02x?}): {why}", &base.frame[base.l3..]);
        match run.action {
            XDP_TX => match verify::answer(&mutant, &run.frame, ages_since(populated)) {
                Ok(()) => report.answered += 1,
                Err(why) if rate_limited => match verify::truncated(&mutant, &run.frame) {
                    Ok(()) => report.slipped += 1,
                    Err(slip) => report.failures.push(wrong(format!("{why}; nor a slip: {slip}"))),
                },
                Err(why) => report.failures.push(wrong(why)),
            },
            XDP_PASS if run.frame == mutant => report.passed += 1,
            XDP_PASS => report.failures.push(wrong("passed, but changed".into())),
            XDP_DROP if rate_limited => report.dropped += 1,
            other => report.failures.push(wrong(format!("action {other}"))),
        }
        if report.failures.len() >= 10 {
            break;
        }
    }
    report
}

/// A query frame and where its headers are.
pub struct Base {
    frame: Vec<u8>,
    l3: usize,
    ipv6: bool,
    /// Whether the fast path answers it unmutated: a live entry, and an
    /// answer that fits the client's UDP size.
    answerable: bool,
}

/// Queries for every catalog entry (and the expired one) over both
/// families, with zero, one and two VLAN tags, with and without EDNS.
pub fn bases() -> Vec<Base> {
    let mut bases = Vec::new();
    let entries = catalog().into_iter().map(|e| (e, true)).chain([(expired(), false)]);
    for (i, (entry, live)) in entries.enumerate() {
        let edns_choices: &[Option<ClientEdns>] = if entry.dnssec_ok {
            &[Some(ClientEdns { udp_size: 1232, dnssec_ok: true })]
        } else {
            &[None, Some(ClientEdns { udp_size: 4096, dnssec_ok: false })]
        };
        let needs_edns = wire(&entry.response()).len() > 512;
        for (j, edns) in edns_choices.iter().enumerate() {
            let answerable = live && (edns.is_some() || !needs_edns);
            for (k, vlans) in [vec![], vec![TPID_8021Q], vec![TPID_8021AD, TPID_8021Q]].into_iter().enumerate() {
                let ipv6 = (i + j + k) % 2 == 1;
                let (src, dst): (IpAddr, IpAddr) =
                    if ipv6 { (CLIENT6.into(), VIP6.into()) } else { (CLIENT4.into(), VIP4.into()) };
                let payload = wire(&query(0x1000 + i as u16, entry.qname, entry.qtype, *edns));
                let mut spec = FrameSpec::dns(src, dst, payload);
                spec.vlans = vlans.clone();
                bases.push(Base { frame: spec.build(), l3: 14 + 4 * vlans.len(), ipv6, answerable });
            }
        }
    }
    bases
}

pub fn mutate(rng: &mut StdRng, base: &Base) -> Vec<u8> {
    let mut frame = base.frame.clone();
    let rounds = if rng.random_bool(0.2) { 2 } else { 1 };
    for _ in 0..rounds {
        let len = frame.len();
        let dns = base.l3 + if base.ipv6 { 48 } else { 28 };
        match rng.random_range(0..7) {
            0 => frame[rng.random_range(0..len)] ^= 1 << rng.random_range(0..8),
            1 => frame[rng.random_range(0..len)] = rng.random(),
            2 if dns < len => {
                let at = rng.random_range(dns..len);
                frame[at] = *[0u8, 1, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff, b'A', b'.'].choose(rng).unwrap();
            }
            3 => {
                // 0x20: flip the case of a letter, which must still hit.
                let letters: Vec<usize> = (dns.min(len)..len).filter(|&i| frame[i].is_ascii_alphabetic()).collect();
                if let Some(&at) = letters.choose(rng) {
                    frame[at] ^= 0x20;
                }
            }
            4 if len > 14 => frame.truncate(rng.random_range(14..len)),
            5 => frame.extend((0..rng.random_range(1..9)).map(|_| rng.random::<u8>())),
            _ => {
                // Another question type at the QTYPE position of the base.
                let types = [1u16, 28, 15, 16, 5, 255, 41, 252];
                let qtype_at = base.frame.len() - 4 - if is_edns(base) { 11 } else { 0 };
                if qtype_at + 2 <= len {
                    frame[qtype_at..qtype_at + 2].copy_from_slice(&types.choose(rng).unwrap().to_be_bytes());
                }
            }
        }
    }
    if rng.random_bool(0.8) {
        repair_checksums(&mut frame, base);
    }
    frame
}

fn is_edns(base: &Base) -> bool {
    let dns = base.l3 + if base.ipv6 { 48 } else { 28 };
    base.frame[dns + 11] == 1
}

/// Recomputes the IPv4 header checksum and the UDP checksum where the base
/// frame had them, over whatever the mutant now holds there.
fn repair_checksums(frame: &mut [u8], base: &Base) {
    let (udp, src, dst) = if base.ipv6 {
        let Some(addrs) = frame.get(base.l3 + 8..base.l3 + 40) else {
            return;
        };
        let src: [u8; 16] = addrs[..16].try_into().unwrap();
        let dst: [u8; 16] = addrs[16..].try_into().unwrap();
        (base.l3 + 40, IpAddr::from(src), IpAddr::from(dst))
    } else {
        let Some(header) = frame.get_mut(base.l3..base.l3 + 20) else {
            return;
        };
        header[10..12].fill(0);
        let csum = internet_checksum(header);
        header[10..12].copy_from_slice(&csum.to_be_bytes());
        let src: [u8; 4] = header[12..16].try_into().unwrap();
        let dst: [u8; 4] = header[16..20].try_into().unwrap();
        (base.l3 + 20, IpAddr::from(src), IpAddr::from(dst))
    };
    let Some(len) = frame.get(udp + 4..udp + 6).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize) else {
        return;
    };
    if len < 8 || udp + len > frame.len() {
        return;
    }
    let csum = udp_checksum(src, dst, &frame[udp..udp + len]);
    frame[udp + 6..udp + 8].copy_from_slice(&csum.to_be_bytes());
}
