//! `cargo xtask package`: anycastd as a Debian package,
//! `target/debian/anycastd_VERSION_amd64.deb`, staged by hand and built
//! with dpkg-deb (the layout dh would make): the stripped binary (the
//! XDP programs embedded) in /usr/sbin, the systemd unit, the
//! configuration as a conffile, anycastd(8) and anycastd.toml(5), the
//! shell completions, the changelog and the copyright file, and
//! maintainer scripts that create the service's state (not enabled:
//! the example configuration announces example VIPs, so the operator
//! enables the unit once it is theirs). Then lintian (failing on errors)
//! and `systemd-analyze verify` on the unit as installed.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::cmd::{self, output, root, run};

const PACKAGE: &str = "anycastd";
const MAINTAINER: &str = "anycast developers <anycast@example.invalid>";

/// Builds the package; its path.
pub fn build() -> Result<PathBuf> {
    cmd::cargo(&["build", "--release", "--package", "anycast-user", "--bin", "anycastd"])?;
    cmd::cargo(&["build", "--release", "--package", "anycast-docs"])?;
    let release = root().join("target/release");
    let version = version(&release.join("anycastd"))?;
    let out = root().join("target/debian");
    let stage = out.join(format!("{PACKAGE}_{version}_amd64"));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("removing {}", stage.display()))?;
    }
    stage_files(&stage, &release)?;
    control(&stage, &version)?;
    let deb = out.join(format!("{PACKAGE}_{version}_amd64.deb"));
    run(Command::new("dpkg-deb").args(["--root-owner-group", "-Zxz", "--build"]).arg(&stage).arg(&deb))?;
    check(&deb, &stage)?;
    println!("package: {}", deb.display());
    Ok(deb)
}

/// `anycastd --version`'s version.
fn version(binary: &Path) -> Result<String> {
    let text = String::from_utf8(output(Command::new(binary).arg("--version"))?.stdout)?;
    text.split_whitespace().nth(1).map(str::to_string).context("anycastd --version printed no version")
}

/// Where each file goes, and its mode.
fn stage_files(stage: &Path, release: &Path) -> Result<()> {
    let dist = root().join("dist");
    let docs = stage.join("docs-build");
    run(Command::new(release.join("anycastd-docs")).arg(&docs))?;
    let doc = "usr/share/doc/anycastd";
    let strip = |to: &Path| {
        run(Command::new("strip")
            .args(["--strip-unneeded", "--remove-section=.comment"])
            .arg("-o")
            .arg(to)
            .arg(release.join("anycastd")))
    };
    make_dir(&stage.join("usr/sbin"))?;
    strip(&stage.join("usr/sbin/anycastd"))?;
    install(&dist.join("anycastd.service"), &stage.join("lib/systemd/system/anycastd.service"), 0o644)?;
    install(&dist.join("debian/sysusers.conf"), &stage.join("usr/lib/sysusers.d/anycastd.conf"), 0o644)?;
    install(&dist.join("anycastd.toml"), &stage.join("etc/anycastd/anycastd.toml"), 0o644)?;
    install(&dist.join("frr.conf"), &stage.join(doc).join("examples/frr.conf"), 0o644)?;
    install(&docs.join("anycastd"), &stage.join("usr/share/bash-completion/completions/anycastd"), 0o644)?;
    install(&docs.join("_anycastd"), &stage.join("usr/share/zsh/vendor-completions/_anycastd"), 0o644)?;
    install(&docs.join("anycastd.fish"), &stage.join("usr/share/fish/vendor_completions.d/anycastd.fish"), 0o644)?;
    gzip(&docs.join("anycastd.8"), &stage.join("usr/share/man/man8/anycastd.8.gz"))?;
    gzip(&docs.join("anycastd.toml.5"), &stage.join("usr/share/man/man5/anycastd.toml.5.gz"))?;
    install(&dist.join("debian/copyright"), &stage.join(doc).join("copyright"), 0o644)?;
    gzip(&dist.join("debian/changelog"), &stage.join(doc).join("changelog.gz"))?;
    std::fs::remove_dir_all(&docs).context("removing the docs' build")?;
    Ok(())
}

/// DEBIAN/: control (its Depends from dpkg-shlibdeps), conffiles,
/// md5sums, the maintainer scripts.
fn control(stage: &Path, version: &str) -> Result<()> {
    // What postinst makes the user with, as dh_installsysusers depends.
    const SYSUSERS: &str = "systemd | systemd-standalone-sysusers | systemd-sysusers";
    let debian = stage.join("DEBIAN");
    make_dir(&debian)?;
    let depends = shlib_depends(&stage.join("usr/sbin/anycastd"))?;
    let size = installed_size(stage)?;
    let text = format!(
        "Package: {PACKAGE}\nVersion: {version}\nArchitecture: amd64\nMaintainer: {MAINTAINER}\n\
         Installed-Size: {size}\nDepends: {depends}, {SYSUSERS}\nRecommends: bird2 | frr\nSection: net\n\
         Priority: optional\nHomepage: https://example.invalid/anycast\n\
         Description: anycast DNS node: XDP fast path and recursive resolver\n \
         anycastd serves DNS on anycast service addresses (VIPs). An XDP program\n \
         answers hot names from a BPF map at the NIC; the daemon resolves the\n \
         rest (recursively from the root or through forwarders, validating\n \
         DNSSEC), over UDP, TCP, DNS over TLS and DNS over HTTPS, fills the\n \
         map, and announces the VIPs (BGP, or through BIRD or FRR) only while\n \
         healthy.\n"
    );
    std::fs::write(debian.join("control"), text).context("writing DEBIAN/control")?;
    std::fs::write(debian.join("conffiles"), "/etc/anycastd/anycastd.toml\n").context("writing DEBIAN/conffiles")?;
    for script in ["postinst", "prerm", "postrm"] {
        install(&root().join("dist/debian").join(script), &debian.join(script), 0o755)?;
    }
    md5sums(stage)
}

/// The shared libraries' packages, as dpkg-shlibdeps says (it wants a
/// debian/control beside it).
fn shlib_depends(binary: &Path) -> Result<String> {
    let dir = root().join("target/debian/shlibdeps");
    make_dir(&dir.join("debian"))?;
    std::fs::write(
        dir.join("debian/control"),
        format!("Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n"),
    )?;
    let out = output(Command::new("dpkg-shlibdeps").arg("-O").arg(binary).current_dir(&dir))?;
    let text = String::from_utf8(out.stdout)?;
    text.lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(str::to_string)
        .context("dpkg-shlibdeps printed no shlibs:Depends")
}

/// The staged files' size in KiB, as dpkg counts it.
fn installed_size(stage: &Path) -> Result<u64> {
    let out = output(Command::new("du").args(["-sk", "--apparent-size", "--exclude=DEBIAN"]).arg(stage))?;
    let text = String::from_utf8(out.stdout)?;
    text.split_whitespace().next().and_then(|n| n.parse().ok()).context("du printed no size")
}

fn md5sums(stage: &Path) -> Result<()> {
    let script = "find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 md5sum";
    let out = output(Command::new("sh").args(["-c", script]).current_dir(stage))?;
    std::fs::write(stage.join("DEBIAN/md5sums"), out.stdout).context("writing DEBIAN/md5sums")
}

/// lintian, failing on errors (its warnings printed); the unit as
/// installed, verified by systemd.
fn check(deb: &Path, stage: &Path) -> Result<()> {
    let lintian = Command::new("lintian")
        .args(["--fail-on", "error", "--info", "--display-level", ">=warning"])
        .arg(deb)
        .output()?;
    print!("{}", String::from_utf8_lossy(&lintian.stdout));
    if !lintian.status.success() {
        bail!("lintian found errors in {}:\n{}", deb.display(), String::from_utf8_lossy(&lintian.stderr));
    }
    let root = verify_root(stage)?;
    let verify = Command::new("systemd-analyze")
        .arg(format!("--root={}", root.display()))
        .args(["verify", "--man=no", "/lib/systemd/system/anycastd.service"])
        .output()?;
    std::fs::remove_dir_all(&root).context("removing systemd-analyze's root")?;
    let text = format!("{}{}", String::from_utf8_lossy(&verify.stdout), String::from_utf8_lossy(&verify.stderr));
    if !verify.status.success() || !text.trim().is_empty() {
        bail!("systemd-analyze verify anycastd.service: {}", text.trim());
    }
    println!("lintian: no errors; systemd-analyze verify: clean");
    Ok(())
}

/// The package's files over the host's systemd units: the root
/// systemd-analyze verifies the unit in, as it would run on a host with
/// the package installed (the targets and programs it names there, its
/// binary here).
fn verify_root(stage: &Path) -> Result<PathBuf> {
    let root = stage.with_extension("verify");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    make_dir(&root.join("lib/systemd"))?;
    run(Command::new("cp").arg("-a").arg("/lib/systemd/system").arg(root.join("lib/systemd/")))?;
    run(Command::new("cp").arg("-a").arg(format!("{}/.", stage.display())).arg(&root))?;
    let unit = std::fs::read_to_string(stage.join("lib/systemd/system/anycastd.service"))?;
    for program in programs(&unit) {
        let inside = root.join(program.trim_start_matches('/'));
        if !inside.exists() {
            install(Path::new(program), &inside, 0o755)?;
        }
    }
    Ok(root)
}

/// The programs the unit's Exec lines run (past their `+-@!:` prefixes):
/// those from other packages (coreutils) are the host's in the root.
fn programs(unit: &str) -> Vec<&str> {
    unit.lines()
        .filter(|l| l.starts_with("Exec"))
        .filter_map(|l| l.split_once('=')?.1.trim_start_matches(['+', '-', '@', '!', ':']).split_whitespace().next())
        .collect()
}

fn make_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    make_dir(to.parent().expect("a file in a directory"))?;
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", to.display()))
}

/// `gzip -9n` (no name or time stamp: the same bytes every build).
fn gzip(from: &Path, to: &Path) -> Result<()> {
    make_dir(to.parent().expect("a file in a directory"))?;
    let out = output(Command::new("gzip").args(["-9nc"]).arg(from))?;
    std::fs::write(to, out.stdout).with_context(|| format!("writing {}", to.display()))
}
