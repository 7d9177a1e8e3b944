//! The namespace lab with anycastd running in it, for the lab tests, and
//! dig's answers read into fields.

use std::path::{Path, PathBuf};

use anycast_lab::topology::Lab;

use crate::harness::require_root;

/// The anycastd binary `cargo xtask test` builds before the tests.
pub fn anycastd_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("debug/anycastd");
    assert!(binary.exists(), "{} is missing: run the tests with `cargo xtask test`, which builds it", binary.display());
    binary
}

/// Series of anycastd's metrics the lab tests read (`Lab::stat`).
pub mod series {
    /// Queries the XDP program answered.
    pub const XDP_ANSWERED: &str = "anycast_xdp_packets_total{outcome=\"answered\"}";
    /// Answers the XDP program started but could not send.
    pub const XDP_TX_FAILED: &str = "anycast_xdp_packets_total{outcome=\"tx_failed\"}";
    /// Queries that reached the daemon over UDP.
    pub const DAEMON_UDP: &str = "anycast_queries_total{transport=\"udp\"}";
    pub const DAEMON_TCP: &str = "anycast_queries_total{transport=\"tcp\"}";
    /// Fast-path answers the daemon renewed while they were in use.
    pub const REFRESHED: &str = "anycast_fastpath_refreshed_total";
}

/// Runs `start` with the pass-everything XDP object in a file (the labs
/// load it where a veth must take XDP_TX frames).
pub fn with_pass_program<T>(start: impl FnOnce(&Path) -> T) -> T {
    require_root();
    /// Removes the file even when `start` panics.
    struct Removed(PathBuf);
    impl Drop for Removed {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let pass = Removed(std::env::temp_dir().join(format!("anycast-pass-{}.o", std::process::id())));
    std::fs::write(&pass.0, anycast_lab_xdp::PASS).expect("writing the pass program");
    start(&pass.0)
}

/// The lab, anycastd not started yet.
pub fn lab() -> Lab {
    with_pass_program(|pass| Lab::start(pass).unwrap_or_else(|e| panic!("starting the lab: {e}")))
}

/// A lab with anycastd serving in it.
pub fn lab_with_anycastd(extra: &[&str]) -> Lab {
    let mut lab = lab();
    lab.start_anycastd(&anycastd_binary(), extra).unwrap_or_else(|e| panic!("starting anycastd: {e}"));
    lab
}

/// A record as dig prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigRecord {
    pub name: String,
    pub ttl: u32,
    pub rtype: String,
    pub data: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigAnswer {
    pub status: String,
    pub flags: String,
    pub answers: Vec<DigRecord>,
    pub authority: Vec<DigRecord>,
}

/// Reads dig's output (with `+noall +comments +answer +authority`).
pub fn parse_dig(output: &str) -> Result<DigAnswer, String> {
    let status = output
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or_default().to_string())
        .ok_or_else(|| format!("no status in dig's output:\n{output}"))?;
    let flags = output.lines().find_map(|l| l.strip_prefix(";; flags: ")).unwrap_or_default().to_string();
    let (mut answers, mut authority) = (Vec::new(), Vec::new());
    let mut section = "";
    for line in output.lines() {
        if line.starts_with(";; ANSWER SECTION") {
            section = "answer";
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = "authority";
        } else if line.starts_with(';') || line.trim().is_empty() {
            continue;
        } else {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                return Err(format!("cannot read `{line}`"));
            }
            let record = DigRecord {
                name: f[0].to_lowercase(),
                ttl: f[1].parse().map_err(|_| format!("TTL in `{line}`"))?,
                rtype: f[3].to_string(),
                data: f[4..].join(" "),
            };
            match section {
                "answer" => answers.push(record),
                "authority" => authority.push(record),
                _ => {}
            }
        }
    }
    Ok(DigAnswer { status, flags, answers, authority })
}

/// Asks `server` from the lab's client with dig, without cookies (dig's
/// default COOKIE option is one the fast path leaves to the daemon).
pub fn dig(lab: &Lab, server: &str, name: &str, rtype: &str, extra: &[&str]) -> DigAnswer {
    try_dig(lab, server, name, rtype, extra).unwrap_or_else(|e| panic!("dig {name} {rtype}: {e}"))
}

/// Asks `name` once more after a first answer: the daemon keeps an answer
/// out of the fast path's map until it is asked again (its hot answers are
/// the map's doorkeeper), and answers that repeat itself, from its hot
/// answers; the ask after it is XDP's.
pub fn admit_to_map(lab: &Lab, server: &str, name: &str, rtype: &str, extra: &[&str]) -> DigAnswer {
    dig(lab, server, name, rtype, extra)
}

/// `dig`, with a failure (no answer, unreadable output) returned. Later
/// options in `extra` win over the defaults (`+tries=2`).
pub fn try_dig(lab: &Lab, server: &str, name: &str, rtype: &str, extra: &[&str]) -> Result<DigAnswer, String> {
    let at = format!("@{server}");
    let mut args =
        vec!["+nocookie", "+tries=1", "+time=5", "+noall", "+comments", "+answer", "+authority", &at, name, rtype];
    args.extend_from_slice(extra);
    parse_dig(&lab.dig(&args).map_err(|e| e.to_string())?)
}
