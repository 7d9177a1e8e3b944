//! Makes sure the machine can build and test the project, doing only what
//! is missing: the nightly toolchain's rust-src (for `-Z build-std`),
//! bpf-linker built against the nightly's own libLLVM, and the Debian
//! packages the tests and tools use. Silent when everything is there.

use std::{fs, os::unix::fs::symlink, path::PathBuf, process::Command};

use anyhow::{Context, Result, bail};

use crate::cmd::{output, run};

/// Debian packages the project's tools use: iproute2 and ethtool for the
/// labs, knot for the DNS hierarchy, dig and kdig to ask (kdig over TLS
/// and HTTPS too), openssl for the lab's CA, python3 for a silent
/// server, Unbound to compare answers with, curl to scrape metrics, BIRD
/// as the anycast lab's router, dnsperf and h2load, Knot Resolver,
/// PowerDNS Recursor and dnsdist for the benchmarks, a font for their
/// chart, faketime for the lab's zone whose signatures have expired,
/// fstrm_capture and the dnstap decoder as the dnstap collector, tcpdump
/// to read `ctl capture`'s pcap, FRR as the OSPF lab's routers, dpkg-dev
/// and lintian to build and check the package.
const DEBIAN_PACKAGES: &[&str] = &[
    "iproute2",
    "ethtool",
    "knot",
    "bind9-dnsutils",
    "knot-dnsutils",
    "openssl",
    "python3",
    "unbound",
    "curl",
    "bird2",
    "dnsperf",
    "nghttp2-client",
    "knot-resolver",
    "pdns-recursor",
    "dnsdist",
    "fonts-dejavu-core",
    "faketime",
    "fstrm-bin",
    "golang-github-dnstap-golang-dnstap-cli",
    "tcpdump",
    "frr",
    "dpkg-dev",
    "lintian",
];
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn ensure() -> Result<()> {
    rust_src()?;
    bpf_linker()?;
    debian_packages()
}

fn rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args(["component", "list", "--toolchain", "nightly", "--installed"]))
        .context("the nightly toolchain is needed to build the XDP program")?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "rust-src") {
        return Ok(());
    }
    eprintln!("setup: adding rust-src to the nightly toolchain");
    run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))
}

/// bpf-linker links the eBPF crate with LLVM, and must use the same LLVM
/// major as the nightly that compiles it. No prebuilt binary can be
/// fetched, so it is built from crates.io against the nightly's own
/// libLLVM, found through a minimal prefix (a stub llvm-config and the
/// library). A stamp records which libLLVM it was built for; a nightly
/// with another one means a rebuild.
fn bpf_linker() -> Result<()> {
    let sysroot = String::from_utf8(output(Command::new("rustc").args(["+nightly", "--print", "sysroot"]))?.stdout)?;
    let lib_dir = PathBuf::from(sysroot.trim()).join("lib");
    let libllvm = fs::read_dir(&lib_dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("libLLVM.so.") && n.ends_with("-nightly"))
        .with_context(|| format!("no libLLVM.so.*-nightly in {}", lib_dir.display()))?;
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let cache = home.join(".cache/anycast");
    let stamp = cache.join("bpf-linker.stamp");
    let linker = home.join(".cargo/bin/bpf-linker");
    if linker.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(libllvm.as_str()) {
        return Ok(());
    }

    let llvm_version = nightly_llvm_version()?;
    let major = llvm_version.split('.').next().unwrap_or_default().to_string();
    eprintln!(
        "setup: building bpf-linker {BPF_LINKER_VERSION} against the nightly's LLVM {llvm_version} (about 2 minutes)"
    );
    let prefix = cache.join("llvm-prefix");
    fs::create_dir_all(prefix.join("bin"))?;
    fs::create_dir_all(prefix.join("lib"))?;
    let config = prefix.join("bin/llvm-config");
    fs::write(&config, format!("#!/bin/sh\necho {llvm_version}\n"))?;
    run(Command::new("chmod").arg("+x").arg(&config))?;
    // The build links libLLVM.so; the binary then needs the library under
    // its versioned name, found through the prefix it records as runpath.
    for name in ["libLLVM.so", libllvm.as_str()] {
        let link = prefix.join("lib").join(name);
        let _ = fs::remove_file(&link);
        symlink(lib_dir.join(&libllvm), &link)?;
    }
    run(Command::new(env!("CARGO"))
        .args(["install", "bpf-linker", "--locked", "--force", "--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features", &format!("llvm-{major}")])
        .env("LLVM_PREFIX", &prefix))?;
    fs::write(&stamp, &libllvm)?;
    Ok(())
}

fn nightly_llvm_version() -> Result<String> {
    let vv = String::from_utf8(output(Command::new("rustc").args(["+nightly", "-vV"]))?.stdout)?;
    vv.lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .map(|v| v.trim().to_string())
        .context("`rustc +nightly -vV` names no LLVM version")
}

fn debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: installing Debian packages: {}", missing.join(" "));
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    if !status.success() {
        bail!("apt-get install {} failed: {status}", missing.join(" "));
    }
    Ok(())
}
