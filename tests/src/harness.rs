//! A node's fast path loaded into the kernel (not attached anywhere) and
//! driven with BPF_PROG_TEST_RUN.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    ops::RangeInclusive,
    time::Duration,
};

use anycast_common::Outcome;
use anycast_user::{
    answer_entry::{AnswerEntry, WritePolicy},
    clock,
    fastpath::{FastPath, Settings, cookie_map::CookieMap},
    policy::{
        acl::Acl,
        cookies::{self, Cookies},
        ratelimit::RateLimitSettings,
    },
    server::edns::EdnsPolicy,
    wire::Nsid,
};
use aya::programs::{TestRun, TestRunOptions};
use hickory_proto::op::Message;
use std::sync::Arc;

use crate::zone;

pub const VIP4: Ipv4Addr = Ipv4Addr::new(6, 6, 6, 6);
pub const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 6);
pub const CLIENT4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
pub const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc, 0, 0, 0, 0, 7);
/// The node's EDNS UDP size in these tests.
pub const EDNS_UDP_SIZE: u16 = 1232;
/// The node's NSID in these tests.
pub const NSID: &[u8] = b"xdp-test-node";

pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_DROP: u32 = 1;

/// Panics with an explanation unless the process can load BPF programs.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("these tests load XDP programs and must run as root (use `cargo xtask test`, which runs them as root)");
    }
}

/// What one run of the program did.
#[derive(Debug)]
pub struct Run {
    pub action: u32,
    /// The frame as the program left it.
    pub frame: Vec<u8>,
}

pub struct Node {
    pub fast_path: FastPath,
    /// The cookie secrets in the program's map.
    pub cookie_map: CookieMap,
    /// What the daemon answers EDNS with, with the same secrets: the
    /// fast path's OPT records must equal its.
    pub edns: EdnsPolicy,
}

impl Node {
    /// A fast path for VIPs 6.6.6.6 and 2001:db8::6 on port 53.
    pub fn new() -> Node {
        Node::with_rate_limit(RateLimitSettings::OFF)
    }

    /// [`Node::new`] with a rate limit.
    pub fn with_rate_limit(rate_limit: RateLimitSettings) -> Node {
        Node::with_settings(|s| s.rate_limit = rate_limit)
    }

    /// [`Node::new`] with its settings changed by `change`.
    pub fn with_settings(change: impl FnOnce(&mut Settings)) -> Node {
        require_root();
        let mut settings = Settings {
            vips: vec![IpAddr::V4(VIP4), IpAddr::V6(VIP6)],
            acl: Acl::new(vec!["198.51.100.0/24".parse().unwrap(), "2001:db8:c::/48".parse().unwrap()]),
            answer_capacity: 4096,
            udp_port: 53,
            edns_udp_size: EDNS_UDP_SIZE,
            rate_limit: RateLimitSettings::OFF,
            nsid: NSID.to_vec(),
            cookies: true,
            ifindex: 0,
            accept_partial_checksums: false,
            tap: Default::default(),
            rrset_order: Default::default(),
        };
        change(&mut settings);
        let fast_path = FastPath::load(&settings).unwrap_or_else(|e| panic!("loading the XDP program failed: {e:?}"));
        let mut cookie_map = fast_path.cookie_map().unwrap_or_else(|e| panic!("the cookie maps: {e}"));
        let secrets = cookies::random_secrets();
        cookie_map.set(&secrets).unwrap_or_else(|e| panic!("writing the cookie secrets: {e}"));
        let edns = EdnsPolicy {
            udp_size: EDNS_UDP_SIZE,
            nsid: Nsid::new(NSID).expect("a short NSID"),
            cookies: Some(Arc::new(Cookies::new(secrets))),
        };
        Node { fast_path, cookie_map, edns }
    }

    /// Rotates the cookie secret on both sides, as the daemon does.
    pub fn rotate_cookie_secret(&mut self) {
        let cookies = self.edns.cookies.as_ref().expect("cookies on");
        let next = cookies::rotated(&cookies.secrets());
        self.cookie_map.set(&next).unwrap_or_else(|e| panic!("writing the cookie secrets: {e}"));
        cookies.set(next);
    }

    /// A node whose map holds the catalog, written [`AGE`] ago, and one
    /// expired entry; and when it was filled (CLOCK_BOOTTIME, for
    /// [`ages_since`]).
    pub fn populated() -> (Node, u64) {
        Node::populated_with(Node::new())
    }

    /// [`Node::populated`] for a node made already.
    pub fn populated_with(mut node: Node) -> (Node, u64) {
        let populated = clock::boottime_ns();
        for entry in zone::catalog() {
            node.insert(&entry.response(), AGE);
        }
        node.insert(&zone::expired().response(), Duration::from_secs(400));
        (node, populated)
    }

    /// Puts the map writer's entry for `response` into the answer map, as
    /// if it had been written `age` ago.
    pub fn insert(&mut self, response: &Message, age: Duration) -> AnswerEntry {
        let written = clock::boottime_ns() - age.as_nanos() as u64;
        let entry = AnswerEntry::from_response(response, self.fast_path.hash_key(), written, &WritePolicy::default())
            .unwrap_or_else(|e| panic!("the map writer refused a fixture response: {e}"));
        self.fast_path.insert(&entry).unwrap_or_else(|e| panic!("inserting an entry: {e}"));
        entry
    }

    /// Runs the program once on `frame`.
    pub fn run(&mut self, frame: &[u8]) -> Result<Run, String> {
        let mut out = vec![0u8; 4096];
        let program = self.fast_path.program().map_err(|e| e.to_string())?;
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.data_out = Some(&mut out);
        let result = program.test_run(opts).map_err(|e| format!("BPF_PROG_TEST_RUN: {}", error_chain(&e)))?;
        out.truncate(result.data_size_out as usize);
        Ok(Run { action: result.return_value, frame: out })
    }

    /// Runs the program once and also says which outcome counter moved.
    pub fn run_counted(&mut self, frame: &[u8]) -> (Run, Outcome) {
        let before = self.counters();
        let run = self.run(frame).unwrap_or_else(|e| panic!("{e}"));
        let after = self.counters();
        let moved: Vec<Outcome> = Outcome::ALL.into_iter().filter(|o| after[o] != before[o]).collect();
        match moved.as_slice() {
            [one] if after[one] == before[one] + 1 => (run, *one),
            _ => {
                panic!("one packet must move exactly one outcome counter by one; moved: {moved:?}")
            }
        }
    }

    pub fn counters(&self) -> HashMap<Outcome, u64> {
        self.fast_path.counters().unwrap_or_else(|e| panic!("reading the counters: {e}")).into_iter().collect()
    }
}

impl Default for Node {
    fn default() -> Self {
        Node::new()
    }
}

/// An error with all its sources, for messages that say what the kernel said.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text += &format!(": {s}");
        source = s.source();
    }
    text
}

/// How old fixtures' entries are when they are written.
pub const AGE: Duration = Duration::from_secs(100);

/// The whole seconds an entry written [`AGE`] ago at `populated_ns`
/// (CLOCK_BOOTTIME) may have aged by now.
pub fn ages_since(populated_ns: u64) -> RangeInclusive<u32> {
    let since = (clock::boottime_ns() - populated_ns) / 1_000_000_000;
    let age = AGE.as_secs() as u32;
    age..=age + since as u32 + 1
}
