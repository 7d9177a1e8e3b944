//! `anycastd-docs OUT`: anycastd(8), anycastd.toml(5) and the bash, zsh and fish
//! completions, written into OUT for `cargo xtask package`. Made from
//! `anycast_user::cli`, the definitions the binary parses with, so the
//! page cannot drift from the flags.

mod config_page;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, roman};

fn main() -> Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).context("usage: anycastd-docs OUT")?);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write(&out.join("anycastd.8"), &man_page()?)?;
    write(&out.join("anycastd.toml.5"), config_page::page().as_bytes())?;
    for (shell, file) in [(Shell::Bash, "anycastd"), (Shell::Zsh, "_anycastd"), (Shell::Fish, "anycastd.fish")] {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut anycast_user::cli::Cli::command(), "anycastd", &mut text);
        write(&out.join(file), &text)?;
    }
    Ok(())
}

/// clap's sections, then what a daemon's page also owes its operator:
/// signals, files, exit status.
fn man_page() -> Result<Vec<u8>> {
    let command = anycast_user::cli::Cli::command();
    let man = clap_mangen::Man::new(command).section("8").manual("System Administration");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    page.extend(daemon_sections().render().into_bytes());
    man.render_version_section(&mut page)?;
    Ok(page)
}

fn daemon_sections() -> Roff {
    let mut roff = Roff::new();
    let entry = |roff: &mut Roff, term: &str, text: &str| {
        roff.control("TP", []).text([bold(term)]).text([roman(text)]);
    };
    roff.control("SH", ["SIGNALS"]);
    entry(
        &mut roff,
        "SIGTERM",
        "Withdraw the VIPs, keep answering for announce.drain_time while routers converge, finish the queries under way, then exit.",
    );
    entry(&mut roff, "SIGINT", "Stop at once.");
    entry(
        &mut roff,
        "SIGHUP",
        "Reload, as anycastd ctl reload: the configuration file read again; local policy, blocklists, forward and stub zones, the ACL, rate limits, NSID and the TLS certificate put in force. A file with a problem is refused and everything in force kept.",
    );
    roff.control("SH", ["PRIVILEGES"]);
    roff.text([roman("anycastd need not run as root. The package's unit runs it as the user anycastd with these capabilities only; at start anycastd names any its configuration needs and it lacks, and stops.")]);
    entry(
        &mut roff,
        "CAP_BPF",
        "Loading the XDP program, making and writing its maps (not with service.xdp_mode = off).",
    );
    entry(&mut roff, "CAP_NET_ADMIN", "Attaching XDP; putting the VIPs on announce.vip_interface and taking them off.");
    entry(&mut roff, "CAP_NET_BIND_SERVICE", "Ports 53, 853 and 443 (any below net.ipv4.ip_unprivileged_port_start).");
    entry(
        &mut roff,
        "CAP_PERFMON",
        "The delivery check's raw tracepoint programs; without it the check is off, with a warning.",
    );
    roff.control("SH", ["FILES"]);
    entry(
        &mut roff,
        anycast_user::cli::DEFAULT_CONFIG,
        "The configuration (TOML), described in anycastd.toml(5). Check it with anycastd check-config before a reload.",
    );
    entry(
        &mut roff,
        "/run/anycastd/control.sock",
        "The control socket anycastd ctl talks to (service.control_socket).",
    );
    entry(
        &mut roff,
        "/sys/fs/bpf/anycast",
        "Where the fast path is pinned (fastpath.pin_dir): it keeps answering hot names while the daemon restarts.",
    );
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman("0 after a clean stop; 1 on a runtime failure or, for check-config and ctl, on a problem or an error reply; 2 for a configuration that does not start.")]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("anycastd.toml(5), systemctl(1), bird(8), vtysh(1), dnsperf(1)")]);
    roff
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
