//! Compiles programs of the eBPF crate (`anycast-ebpf`, not a host
//! workspace member) for bpfel-unknown-none with the nightly toolchain,
//! from a build script, and leaves the objects in its OUT_DIR for
//! `include_bytes_aligned!`. `cargo xtask setup` installs what this needs
//! (nightly rust-src, bpf-linker).

use std::{env, path::PathBuf, process::Command};

const TARGET: &str = "bpfel-unknown-none";

/// Builds the eBPF crate's binaries `programs` and copies each object to
/// `$OUT_DIR/<program>`. Panics (failing the build) with what to do when
/// the toolchain is missing.
pub fn build(programs: &[&str]) {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root = manifest_dir.parent().expect("the crate lives in the workspace");
    let ebpf_dir = root.join("anycast-ebpf");
    for dir in ["anycast-ebpf/src", "anycast-ebpf/Cargo.toml", "anycast-ebpf/Cargo.lock", "anycast-common/src"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }

    let target_dir = out_dir.join("ebpf-target");
    let mut cargo = Command::new("rustup");
    cargo
        .args(["run", "nightly", "cargo", "build", "--release", "--locked", "-Z", "build-std=core"])
        .args(["--target", TARGET, "--manifest-path"])
        .arg(ebpf_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&ebpf_dir)
        // BTF is needed for maps with BTF-typed values; debuginfo feeds it.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Cdebuginfo=2\x1f-Clink-arg=--btf");
    for program in programs {
        cargo.args(["--bin", program]);
    }
    // The outer (stable) build's compiler and wrappers must not leak in.
    for var in
        ["RUSTC", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "RUSTFLAGS", "CARGO_TARGET_DIR", "RUSTUP_TOOLCHAIN"]
    {
        cargo.env_remove(var);
    }
    let status = cargo.status().unwrap_or_else(|e| {
        panic!("cannot run `rustup run nightly cargo` to build the XDP programs ({e}); run `cargo xtask setup` first")
    });
    if !status.success() {
        panic!(
            "building the XDP programs failed ({status}); if the nightly's rust-src or bpf-linker is missing, \
             run `cargo xtask setup`"
        );
    }
    for program in programs {
        let built = target_dir.join(TARGET).join("release").join(program);
        std::fs::copy(&built, out_dir.join(program)).unwrap_or_else(|e| panic!("cannot copy {}: {e}", built.display()));
    }
}
