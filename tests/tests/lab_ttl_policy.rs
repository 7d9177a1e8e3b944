//! One TTL policy on both paths: with `cache.max_ttl = 120` and
//! `cache.max_negative_ttl = 30`, each name is asked twice, the first
//! answer from the daemon (fresh from the servers), the repeat from the
//! XDP program; both must carry TTLs under the caps, the negative answer's
//! SOA min(TTL, MINIMUM) under its cap, and the repeat must be the first
//! less the time between them.

use anycast_lab::topology::VIP4;
use anycast_tests::lab::{DigAnswer, admit_to_map, dig, lab_with_anycastd, series};

const MAX_TTL: u32 = 120;
const MAX_NEGATIVE_TTL: u32 = 30;

struct Case {
    name: &'static str,
    rtype: &'static str,
    status: &'static str,
    /// The TTL the zone gives, and the one the policy allows.
    zone_ttl: u32,
    served_ttl: u32,
}

const CASES: &[Case] = &[
    Case { name: "www.example.lab.", rtype: "A", status: "NOERROR", zone_ttl: 300, served_ttl: MAX_TTL },
    Case { name: "flood1.flood.example.lab.", rtype: "A", status: "NOERROR", zone_ttl: 86_400, served_ttl: MAX_TTL },
    Case { name: "short.example.lab.", rtype: "A", status: "NOERROR", zone_ttl: 5, served_ttl: 5 },
    // example.lab.'s SOA: TTL 3600, MINIMUM 60.
    Case { name: "nope.example.lab.", rtype: "A", status: "NXDOMAIN", zone_ttl: 60, served_ttl: MAX_NEGATIVE_TTL },
    Case { name: "www.example.lab.", rtype: "MX", status: "NOERROR", zone_ttl: 60, served_ttl: MAX_NEGATIVE_TTL },
];

fn ttls(answer: &DigAnswer) -> Vec<u32> {
    answer.answers.iter().chain(&answer.authority).map(|r| r.ttl).collect()
}

#[test]
fn both_paths_send_ttls_under_the_same_caps() {
    let config = std::env::temp_dir().join(format!("anycast-ttl-{}.toml", std::process::id()));
    std::fs::write(&config, format!("[cache]\nmax_ttl = {MAX_TTL}\nmax_negative_ttl = {MAX_NEGATIVE_TTL}\n"))
        .expect("writing the config");
    let lab = lab_with_anycastd(&["--config", &config.display().to_string()]);
    let _ = std::fs::remove_file(&config);
    let mut problems = Vec::new();
    for case in CASES {
        let label = format!("{} {} (zone TTL {})", case.name, case.rtype, case.zone_ttl);
        let first = dig(&lab, VIP4, case.name, case.rtype, &[]);
        admit_to_map(&lab, VIP4, case.name, case.rtype, &[]);
        let at_xdp = lab.stat(series::XDP_ANSWERED).expect("XDP counter");
        let repeat = dig(&lab, VIP4, case.name, case.rtype, &[]);
        let from_xdp = lab.stat(series::XDP_ANSWERED).expect("XDP counter") > at_xdp;
        let (first_ttls, repeat_ttls) = (ttls(&first), ttls(&repeat));
        println!("{label}: daemon {first_ttls:?}, then XDP {from_xdp} {repeat_ttls:?}");
        if first.status != case.status || first_ttls.is_empty() {
            problems.push(format!("{label}: {first:?}"));
        }
        if first_ttls.iter().any(|ttl| *ttl != case.served_ttl) {
            problems
                .push(format!("{label}: the daemon sent TTLs {first_ttls:?}, the policy gives {}", case.served_ttl));
        }
        if !from_xdp {
            problems.push(format!("{label}: the repeat was not answered at XDP"));
        }
        let aged = first_ttls.iter().zip(&repeat_ttls).all(|(a, b)| b <= a && a - b <= 1);
        if !aged || first_ttls.len() != repeat_ttls.len() {
            problems.push(format!("{label}: the XDP answer's TTLs {repeat_ttls:?} are not the daemon's, aged"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
