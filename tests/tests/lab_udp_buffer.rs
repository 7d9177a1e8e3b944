//! The UDP sockets' receive buffers: as configured (past the kernel's
//! net.core.rmem_max, the daemon running as root), and what the kernel
//! drops when one is full is counted by `anycast_udp_receive_drops_total`,
//! the same count `ss` shows for the sockets. The flood comes from the
//! client namespace: thousands of queries for names the fast path has not
//! got, sent without waiting for answers.

use std::time::Duration;

use anycast_lab::topology::{Lab, VIP4};
use anycast_tests::lab::lab_with_anycastd;

/// Sends `count` queries for names nobody asked before, as fast as the
/// socket takes them, then reads the answers for a second; prints how
/// many came back.
const FLOOD: &str = r#"
import socket, sys, time
vip, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.connect((vip, 53))
for i in range(count):
    s.send(query("flood%d.nowhere.lab." % i, qid=i & 0xffff))
s.settimeout(1.0)
answered = 0
try:
    while True:
        s.recv(4096)
        answered += 1
except socket.timeout:
    pass
print(answered)
"#;

/// The receive buffers (`rb` of `ss -m`, what the kernel reports: twice
/// what was set) and drops (`d`) of the sockets bound to port 53 of `vip`
/// in the node.
fn buffers(lab: &Lab, vip: &str) -> Vec<(u64, u64)> {
    let out = lab.node.exec("ss", &["-uanmH", "sport", "= :53"]).expect("ss in the node");
    let mut lines = out.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if !line.contains(&format!("{vip}:53")) {
            continue;
        }
        let skmem = lines.next().unwrap_or_default();
        let field = |name: &str| -> u64 {
            let at = skmem.find(&format!(",{name}")).unwrap_or_else(|| panic!("no {name} in `{skmem}`"));
            let digits: String = skmem[at + 1 + name.len()..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or_else(|_| panic!("{name} in `{skmem}`"))
        };
        found.push((field("rb"), field("d")));
    }
    assert!(!found.is_empty(), "no socket on {vip}:53 in\n{out}");
    found
}

fn config(body: &str) -> String {
    let path = std::env::temp_dir().join(format!("anycast-udp-buffer-{}-{}.toml", std::process::id(), body.len()));
    std::fs::write(&path, format!("[service]\nthreads = 1\n{body}")).expect("writing the config");
    path.display().to_string()
}

#[test]
fn receive_buffers_are_as_configured_and_their_drops_counted() {
    // (config, receive buffer the kernel reports for each socket)
    let cases: [(&str, u64); 2] = [
        ("", 2 * (4 << 20)),
        // Past this machine's rmem_max (4 MiB in CI): forced, as root.
        ("udp_receive_buffer = 16777216\n", 2 * (16 << 20)),
    ];
    for (body, expected) in cases {
        let path = config(body);
        let lab = lab_with_anycastd(&["--config", &path]);
        let _ = std::fs::remove_file(&path);
        for (rb, _) in buffers(&lab, VIP4) {
            assert_eq!(rb, expected, "the receive buffer with `{}`", body.trim());
        }
        assert!(!lab.anycastd_log().contains("smaller than service.udp_receive_buffer"), "no warning with `{body}`");
    }

    // A buffer of a few datagrams: a flood overflows it.
    let path = config("udp_receive_buffer = 2048\n");
    let lab = lab_with_anycastd(&["--config", &path]);
    let _ = std::fs::remove_file(&path);
    let sent = 3000;
    let script = include_str!("../scripts/dnswire.py");
    let mut flood = lab.client.command("python3");
    flood.args(["-c", &format!("{script}{FLOOD}"), VIP4, &sent.to_string()]);
    let answered: u64 = anycast_lab::run(&mut flood).expect("the flood").trim().parse().expect("a count");
    std::thread::sleep(Duration::from_millis(300));
    let counted = lab.stat("anycast_udp_receive_drops_total").expect("the drops metric");
    let dropped: u64 = buffers(&lab, VIP4).iter().map(|(_, d)| d).sum();
    println!("sent {sent}, answered {answered}, dropped {dropped} (ss), counted {counted}");
    assert!(dropped > 0, "a 2 KiB buffer under {sent} queries at once drops some ({answered} answered)");
    assert_eq!(counted, dropped, "the metric is the kernel's count");
    assert!(answered + dropped <= sent, "nothing answered twice");
}
