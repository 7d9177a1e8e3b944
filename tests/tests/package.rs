//! The Debian package `cargo xtask test` builds (`cargo xtask package`,
//! its path in ANYCASTD_DEB), installed into a throwaway root with dpkg
//! (its maintainer scripts outside it, told it by DPKG_ROOT): its files
//! where Debian wants them, the configuration a conffile, the unit not
//! enabled, the system user it runs anycastd as made, the installed binary runs, finds no problem in the
//! configuration it ships and every problem in broken ones (each at its
//! line, with its key), its man pages render without a warning, and a
//! purge leaves nothing.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// A dpkg root of its own, removed however the test ends.
struct Root(PathBuf);

impl Root {
    fn new() -> Root {
        let dir = std::env::temp_dir().join(format!("anycastd-package-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the throwaway root");
        }
        std::fs::write(dir.join("var/lib/dpkg/status"), "").expect("dpkg's status file");
        Root(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `program ARGS`, which must exit 0; its stdout and stderr.
fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(out.status.success(), "{program} {args:?} failed ({}): {}", out.status, text(&out));
    text(&out)
}

#[test]
fn the_package_installs_runs_checks_configurations_and_documents_itself() {
    let deb =
        std::env::var("ANYCASTD_DEB").expect("ANYCASTD_DEB: run through `cargo xtask test`, which builds the package");
    let fields = ok("dpkg-deb", &["--field", &deb, "Package", "Architecture", "Depends"]);
    for field in ["Package: anycastd", "Architecture: amd64", "libc6 (>="] {
        assert!(fields.contains(field), "the control file says {field}: {fields}");
    }
    let root = Root::new();
    let admin = root.0.join("var/lib/dpkg");
    let (root_arg, admin_arg, log) = (
        format!("--root={}", root.0.display()),
        format!("--admindir={}", admin.display()),
        format!("--log={}", root.0.join("dpkg.log").display()),
    );
    // The maintainer scripts run outside the root, told it by DPKG_ROOT:
    // what they record goes there, nothing to the host's systemd.
    let dpkg = |args: &[&str]| {
        let mut all = vec![root_arg.as_str(), admin_arg.as_str(), log.as_str(), "--force-script-chrootless"];
        all.extend_from_slice(args);
        ok("dpkg", &all)
    };
    dpkg(&["--force-depends", "--install", &deb]);
    let status = dpkg(&["--status", "anycastd"]);
    assert!(status.contains("Status: install ok installed"), "installed and configured: {status}");
    assert!(status.contains("Conffiles:\n /etc/anycastd/anycastd.toml"), "the configuration is a conffile: {status}");
    let in_root = |path: &str| root.0.join(path.trim_start_matches('/'));
    assert!(
        in_root("/var/lib/systemd/deb-systemd-helper-enabled/anycastd.service.dsh-also").is_file(),
        "the unit's state recorded"
    );
    assert!(
        !in_root("/etc/systemd/system/multi-user.target.wants/anycastd.service").exists(),
        "not enabled: the example configuration announces example VIPs"
    );
    let installed = in_root;
    for path in [
        "/usr/sbin/anycastd",
        "/lib/systemd/system/anycastd.service",
        "/etc/anycastd/anycastd.toml",
        "/usr/share/man/man8/anycastd.8.gz",
        "/usr/share/man/man5/anycastd.toml.5.gz",
        "/usr/share/bash-completion/completions/anycastd",
        "/usr/share/zsh/vendor-completions/_anycastd",
        "/usr/share/fish/vendor_completions.d/anycastd.fish",
        "/usr/share/doc/anycastd/copyright",
        "/usr/share/doc/anycastd/changelog.gz",
        "/usr/lib/sysusers.d/anycastd.conf",
    ] {
        assert!(installed(path).is_file(), "{path} installed");
    }
    let passwd = std::fs::read_to_string(installed("/etc/passwd")).unwrap_or_default();
    let user =
        passwd.lines().find(|l| l.starts_with("anycastd:")).unwrap_or_else(|| panic!("no anycastd user: {passwd}"));
    let fields: Vec<&str> = user.split(':').collect();
    let uid: u32 = fields[2].parse().expect("a UID");
    assert!(uid > 0 && uid < 1000, "a system user: {user}");
    assert!(fields[6].ends_with("nologin"), "who cannot log in: {user}");
    let binary = installed("/usr/sbin/anycastd");
    let binary = binary.to_str().expect("a UTF-8 path");
    let version = ok(binary, &["--version"]);
    assert!(version.starts_with("anycastd 0."), "the installed binary runs: {version}");
    let shipped = installed("/etc/anycastd/anycastd.toml");
    let shipped = ok(binary, &["check-config", shipped.to_str().expect("a UTF-8 path")]);
    assert!(shipped.contains("no problems"), "the shipped configuration checks: {shipped}");
    broken_configurations_are_refused(binary, &root.0);
    manual_pages_render(&installed("/usr/share/man"));
    ok("bash", &["-n", installed("/usr/share/bash-completion/completions/anycastd").to_str().expect("UTF-8")]);
    dpkg(&["--purge", "anycastd"]);
    for path in [
        "/usr/sbin/anycastd",
        "/etc/anycastd/anycastd.toml",
        "/var/lib/systemd/deb-systemd-helper-enabled/anycastd.service.dsh-also",
    ] {
        assert!(!installed(path).exists(), "{path} gone after a purge");
    }
}

/// Each broken file, checked by the installed binary: exit code 1, and
/// each problem at its line with its key.
fn broken_configurations_are_refused(binary: &str, dir: &Path) {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("a TOML error", "[service]\nvips = [\"192.0.2.53\"\n", &[":2: unclosed array"]),
        (
            "an unknown key and a wrong type",
            "[service]\nvipz = [\"192.0.2.53\"]\n\n[cache]\ncapacity = \"big\"\n",
            &[":2: service: unknown field `vipz`", ":5: cache: invalid type"],
        ),
        (
            "bad values in two sections",
            "[service]\nvips = [\"192.0.2.53\"]\nxdp_mode = \"off\"\n\n[rate_limit]\nslip = 0\n\n\
             [[forward_zone]]\nname = \"corp.example.\"\nforwarders = [\"not an address\"]\n",
            &[":6: rate_limit.slip", ":10: forward_zone"],
        ),
        (
            "a certificate that is not there",
            "[service]\nvips = [\"192.0.2.53\"]\nxdp_mode = \"off\"\n\n[tls]\ncertificate = \"/nonexistent.pem\"\nkey = \"/nonexistent.key\"\n",
            &[":6: tls.certificate: "],
        ),
    ];
    for (what, config, problems) in cases {
        let file = dir.join("broken.toml");
        std::fs::write(&file, config).expect("writing the broken configuration");
        let out = run(binary, &["check-config", file.to_str().expect("a UTF-8 path")]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: check-config exits 1: {said}");
        let lines: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("broken.toml:") && !l.ends_with("problems") && !l.ends_with("problem"))
            .collect();
        assert_eq!(lines.len(), problems.len(), "{what}: one line a problem: {said}");
        for (line, problem) in lines.iter().zip(problems) {
            assert!(line.contains(problem), "{what}: `{problem}` in {line}");
        }
    }
}

/// man renders both pages, groff warning about nothing.
fn manual_pages_render(man: &Path) {
    for (page, says) in [("man8/anycastd.8.gz", "check-config"), ("man5/anycastd.toml.5.gz", "tcp_max_connections")] {
        let path = man.join(page);
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "")
            .output()
            .expect("cannot run man");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && stderr.trim().is_empty(), "man -l {page}: {}: {stderr}", out.status);
        assert!(stdout.contains(says) && stdout.contains("SEE ALSO"), "{page} renders with {says}: {stdout}");
    }
}
