//! `[service]`: the addresses and port served, the NIC the fast path is
//! attached to, the control socket, metrics and worker threads.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

use anycast_common::dns::MAX_NSID_LEN;
use serde::Deserialize;

use super::error::{ConfigError, count, invalid, positive, seconds, within};
use crate::server::tcp::TcpLimits;

/// Where the control socket is unless configured.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/anycastd.sock";
/// Most worker threads: more than any machine's CPUs is a typo.
const MAX_THREADS: u64 = 1024;
/// What the hot answers may take unless configured: 32 MiB, a hundred
/// thousand answers of the usual size.
const HOT_ANSWERS_BYTES: u64 = 32 << 20;
/// Each UDP socket's receive buffer unless configured: 4 MiB, what
/// Unbound's documentation advises for a busy resolver. The kernel's
/// default (212,992 bytes, a few hundred datagrams) overflows in the
/// bursts a client with thousands of queries outstanding sends.
const UDP_RECEIVE_BUFFER: u64 = 4 << 20;
/// The largest receive buffer taken: the kernel's own limit for
/// SO_RCVBUFFORCE (half of INT_MAX, as it doubles what it is asked).
const MAX_UDP_RECEIVE_BUFFER: u64 = (i32::MAX / 2) as u64;

/// How the XDP program is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// In the driver; fails where the driver has no XDP support.
    Native,
    /// In the generic (skb) path: works everywhere, slower; a warning says so.
    Generic,
    /// Native where the driver supports it, else generic with a warning.
    Auto,
    /// No fast path: every query goes to the daemon.
    Off,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    /// The anycast service addresses.
    pub vips: Option<Vec<IpAddr>>,
    pub port: Option<u16>,
    /// More addresses to serve on (unicast management addresses).
    pub listen: Option<Vec<IpAddr>>,
    /// The NIC the XDP program is attached to.
    pub interface: Option<String>,
    pub xdp_mode: Option<XdpMode>,
    /// Seconds a TCP connection may stay without a whole query.
    pub tcp_idle_timeout: Option<u64>,
    /// Seconds an answer may wait to be read by a TCP client.
    pub tcp_write_timeout: Option<u64>,
    /// TCP connections open at once, in all and per client.
    pub tcp_max_connections: Option<u64>,
    pub tcp_max_connections_per_client: Option<u64>,
    /// Queries of one TCP connection answered at once.
    pub tcp_max_pipelined: Option<u64>,
    /// The control socket (`anycastd ctl`).
    pub control_socket: Option<PathBuf>,
    /// Where Prometheus metrics are served over HTTP (`ADDRESS:PORT`).
    pub metrics: Option<SocketAddr>,
    /// Worker threads (default: one per CPU the daemon may run on).
    pub threads: Option<u64>,
    /// The node's name server identifier (RFC 5001), given to queries
    /// that ask (`dig +nsid`): which node of the anycast service answered.
    pub nsid: Option<String>,
    /// Memory the hot answers may take (see `server::hot`), in bytes.
    pub hot_answers_max_bytes: Option<u64>,
    /// Each UDP socket's receive buffer (SO_RCVBUF), in bytes.
    pub udp_receive_buffer: Option<u64>,
}

/// `[service]`, checked.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    pub vips: Vec<IpAddr>,
    pub listen: Vec<IpAddr>,
    pub port: u16,
    /// None only with the fast path off.
    pub interface: Option<String>,
    pub xdp_mode: XdpMode,
    pub tcp: TcpLimits,
    pub control_socket: PathBuf,
    pub metrics: Option<SocketAddr>,
    /// Worker threads (None: one per CPU the daemon may run on).
    pub threads: Option<usize>,
    /// The NSID's bytes; empty for none.
    pub nsid: Vec<u8>,
    pub hot_answers_max_bytes: usize,
    pub udp_receive_buffer: usize,
}

impl ServiceSettings {
    /// The interface the fast path goes on; None when it is off.
    pub fn fast_path_interface(&self) -> Option<&str> {
        self.interface.as_deref().filter(|_| self.xdp_mode != XdpMode::Off)
    }
}

impl ServiceSection {
    pub fn check(self) -> Result<ServiceSettings, ConfigError> {
        let tcp = self.tcp_limits()?;
        let vips = self.vips.unwrap_or_default();
        if vips.is_empty() {
            return Err(invalid("service.vips", "no VIP to serve (give --vip or service.vips)"));
        }
        let xdp_mode = self.xdp_mode.unwrap_or(XdpMode::Auto);
        if xdp_mode != XdpMode::Off && self.interface.is_none() {
            return Err(invalid(
                "service.interface",
                "the fast path needs the NIC to attach to (or xdp_mode = \"off\")",
            ));
        }
        let port = self.port.unwrap_or(53);
        if port == 0 {
            return Err(invalid("service.port", "must not be 0"));
        }
        Ok(ServiceSettings {
            vips,
            listen: self.listen.unwrap_or_default(),
            port,
            interface: self.interface,
            xdp_mode,
            tcp,
            control_socket: self.control_socket.unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL_SOCKET)),
            metrics: self.metrics,
            threads: threads(self.threads)?,
            nsid: nsid(self.nsid)?,
            hot_answers_max_bytes: positive(
                "service.hot_answers_max_bytes",
                self.hot_answers_max_bytes,
                HOT_ANSWERS_BYTES,
            )? as usize,
            udp_receive_buffer: within(
                "service.udp_receive_buffer",
                self.udp_receive_buffer.unwrap_or(UDP_RECEIVE_BUFFER),
                1..=MAX_UDP_RECEIVE_BUFFER,
            )? as usize,
        })
    }
}

impl ServiceSection {
    fn tcp_limits(&self) -> Result<TcpLimits, ConfigError> {
        let defaults = TcpLimits::default();
        Ok(TcpLimits {
            idle: seconds("service.tcp_idle_timeout", self.tcp_idle_timeout, defaults.idle, 3600)?,
            write: seconds("service.tcp_write_timeout", self.tcp_write_timeout, defaults.write, 3600)?,
            max_connections: count("service.tcp_max_connections", self.tcp_max_connections, defaults.max_connections)?,
            max_connections_per_client: count(
                "service.tcp_max_connections_per_client",
                self.tcp_max_connections_per_client,
                defaults.max_connections_per_client,
            )?,
            max_pipelined: count("service.tcp_max_pipelined", self.tcp_max_pipelined, defaults.max_pipelined)?,
        })
    }
}

fn nsid(value: Option<String>) -> Result<Vec<u8>, ConfigError> {
    let nsid = value.unwrap_or_default().into_bytes();
    if nsid.len() > MAX_NSID_LEN {
        return Err(invalid("service.nsid", format!("{} bytes; at most {MAX_NSID_LEN}", nsid.len())));
    }
    Ok(nsid)
}

fn threads(value: Option<u64>) -> Result<Option<usize>, ConfigError> {
    match value {
        Some(0) => Err(invalid("service.threads", "must be above 0")),
        Some(n) if n > MAX_THREADS => Err(invalid("service.threads", format!("at most {MAX_THREADS}"))),
        n => Ok(n.map(|n| n as usize)),
    }
}
