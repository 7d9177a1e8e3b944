//! Hot names stay at XDP across their TTL boundaries: a name with a 5 s
//! TTL asked steadily for 30 s is answered by the XDP program nearly every
//! time, because anycastd renews the entry before it expires.

use std::time::{Duration, Instant};

use anycast_lab::topology::VIP4;
use anycast_tests::lab::{dig, lab_with_anycastd, series};

#[test]
fn a_hot_name_with_a_5s_ttl_stays_answered_at_xdp() {
    let lab = lab_with_anycastd(&[]);
    let (hits_before, daemon_before) = (lab.stat(series::XDP_ANSWERED).unwrap(), lab.stat(series::DAEMON_UDP).unwrap());
    let start = Instant::now();
    let mut asked = 0u64;
    let mut wrong = Vec::new();
    while start.elapsed() < Duration::from_secs(30) {
        let answer = dig(&lab, VIP4, "short.example.lab.", "A", &[]);
        asked += 1;
        if answer.status != "NOERROR" || answer.answers.first().map(|r| r.data.as_str()) != Some("10.99.5.11") {
            wrong.push(format!("{answer:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let hits = lab.stat(series::XDP_ANSWERED).unwrap() - hits_before;
    let daemon = lab.stat(series::DAEMON_UDP).unwrap() - daemon_before;
    let refreshed = lab.stat(series::REFRESHED).unwrap();
    let ratio = hits as f64 / asked as f64;
    println!(
        "short.example.lab. (TTL 5 s) asked {asked} times in 30 s: {hits} answered at XDP ({:.2}%), {daemon} by the daemon, {refreshed} refreshes",
        ratio * 100.0
    );
    assert!(wrong.is_empty(), "wrong answers: {wrong:?}");
    assert_eq!(hits + daemon, asked, "every query is answered by one of the two");
    assert!(refreshed >= 5, "30 s of a 5 s TTL needs at least 5 refreshes, saw {refreshed}");
    assert!(ratio >= 0.99, "target: 99% at XDP, got {:.2}%", ratio * 100.0);
}
