//! What the integration tests and the benchmarks share: frames built by
//! hand (with their own checksum code, independent of the product's), a
//! parser that checks the fast path's replies, a node harness around
//! BPF_PROG_TEST_RUN, and the DNS data the fixtures answer with.

pub mod bench_programs;
pub mod corpus;
pub mod failover;
pub mod frame;
pub mod harness;
pub mod lab;
pub mod mutation;
pub mod reply;
pub mod traffic;
pub mod verify;
pub mod zone;

/// Internet checksum (RFC 1071) of `data`, written for the tests from the
/// RFC rather than shared with the code under test.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let hi = pair[0] as u32;
        let lo = pair.get(1).copied().unwrap_or(0) as u32;
        sum += (hi << 8) | lo;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
