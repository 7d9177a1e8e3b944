//! Builds the lab's and the bench's XDP programs into OUT_DIR, where
//! `src/lib.rs` embeds them.

fn main() {
    anycast_xdp_build::build(&["pass", "reflector", "generator", "sink"]);
}
