//! Builds the XDP fast path (the eBPF crate's `anycast` program) into
//! OUT_DIR, where `fastpath` embeds it. The lab's and the bench's programs
//! are `anycast-lab-xdp`'s: the daemon carries only its own.

fn main() {
    anycast_xdp_build::build(&["anycast"]);
}
