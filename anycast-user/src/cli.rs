//! anycastd's command line: the daemon's flags and its subcommands, here
//! rather than in the binary so that the man page and the shell
//! completions are made from the same definitions (`anycast-docs`).

use std::path::PathBuf;

use crate::config::{flags::Flags, service::DEFAULT_CONTROL_SOCKET};

/// Where the package puts the configuration.
pub const DEFAULT_CONFIG: &str = "/etc/anycastd/anycastd.toml";

/// An anycast DNS node: an XDP fast path and a recursive resolver.
///
/// Serves DNS on anycast service addresses (VIPs): answers hot names from
/// an XDP program's map at the NIC and resolves the rest, recursively from
/// the root or through forwarders, over UDP, TCP, DNS over TLS and DNS
/// over HTTPS; announces the VIPs (BGP, or through BIRD or FRR) only while
/// healthy.
#[derive(clap::Parser)]
#[command(name = "anycastd", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub flags: Flags,
    /// Log filter (tracing's env-filter syntax, e.g. `info` or
    /// `anycast_user=debug`).
    #[arg(long, default_value = "info", env = "ANYCASTD_LOG")]
    pub log: String,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Ask a running anycastd through its control socket: `stats`, `dump`,
    /// `dump-hot [N]` (the N most repeated questions, for a peer's
    /// `warm_from`), `purge NAME`, `reload`, `top [SCREENS]` (a live view,
    /// refreshed every second), or `capture [count N] [seconds S] [client
    /// PREFIX] [name NAME]` (the fast path's answers as pcap on stdout, e.g.
    /// for `| tcpdump -r -`).
    Ctl {
        /// The daemon's control socket.
        #[arg(long, default_value = DEFAULT_CONTROL_SOCKET)]
        socket: PathBuf,
        #[arg(required = true, num_args = 1..)]
        command: Vec<String>,
    },
    /// Withdraw what a daemon that died without stopping left announced:
    /// BIRD's include set to withdrawn (and BIRD reconfigured), the VIPs
    /// taken off their interface. For systemd's `ExecStopPost=` (see
    /// dist/anycastd.service); after a clean stop there is nothing left to
    /// do and it does nothing.
    Withdraw {
        #[command(flatten)]
        flags: Box<Flags>,
    },
    /// Check a configuration as start and reload would, before putting it
    /// in place: every problem with its line and key (the files it names
    /// read too), exit code 1 if any. FILE defaults to --config's, then
    /// to /etc/anycastd/anycastd.toml; flags given are laid over it as
    /// the daemon would.
    CheckConfig {
        file: Option<PathBuf>,
        #[command(flatten)]
        flags: Box<Flags>,
    },
}
