//! The capabilities a configuration needs, checked before anything
//! starts. Run as a user of its own (the package's unit does), anycastd
//! has only the capabilities it is given; a missing one would otherwise
//! surface as a bare EPERM deep in a map's creation or a bind. Root has
//! them all, so for root this finds nothing.

use std::fmt;

use super::error::DaemonError;
use crate::config::Config;

/// A capability: its bit in the kernel's masks (linux/capability.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    bit: u32,
    name: &'static str,
}

const NET_BIND_SERVICE: Capability = Capability { bit: 10, name: "CAP_NET_BIND_SERVICE" };
const NET_ADMIN: Capability = Capability { bit: 12, name: "CAP_NET_ADMIN" };
const SYS_ADMIN: Capability = Capability { bit: 21, name: "CAP_SYS_ADMIN" };
const PERFMON: Capability = Capability { bit: 38, name: "CAP_PERFMON" };
const BPF: Capability = Capability { bit: 39, name: "CAP_BPF" };

impl Capability {
    /// Whether `mask` (a CapEff) holds it. CAP_SYS_ADMIN stands in for
    /// CAP_BPF and CAP_PERFMON, as the kernel lets it.
    fn held_in(self, mask: u64) -> bool {
        let has = |c: Capability| mask & (1 << c.bit) != 0;
        has(self) || ((self == BPF || self == PERFMON) && has(SYS_ADMIN))
    }
}

/// A capability needed, and what for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub capability: Capability,
    pub why: String,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.capability.name, self.why)
    }
}

/// Fails naming every capability `config` needs that this process lacks;
/// warns of the delivery check's, which only a fast path wants and which
/// it can do without.
pub fn check(config: &Config) -> Result<(), DaemonError> {
    let mask = effective().map_err(DaemonError::Capabilities)?;
    let lacking = missing(needs(config, unprivileged_port_start()), mask);
    if !lacking.is_empty() {
        let list: Vec<String> = lacking.iter().map(Need::to_string).collect();
        return Err(DaemonError::MissingCapabilities(list.join(", ")));
    }
    if config.service.fast_path_interface().is_some() && !PERFMON.held_in(mask) {
        tracing::warn!(
            "without CAP_PERFMON the XDP transmit errors cannot be counted: undelivered answers go unnoticed"
        );
    }
    Ok(())
}

/// What `config` needs: `unprivileged_ports` is the first port anyone
/// may bind (net.ipv4.ip_unprivileged_port_start).
pub fn needs(config: &Config, unprivileged_ports: u16) -> Vec<Need> {
    let service = &config.service;
    let need = |capability, why: String| Need { capability, why };
    let mut needs = Vec::new();
    if let Some(interface) = service.fast_path_interface() {
        needs.push(need(BPF, "loading the XDP program and writing its maps".into()));
        needs.push(need(NET_ADMIN, format!("attaching XDP to {interface}")));
    }
    if !service.vips.is_empty() && !needs.iter().any(|n| n.capability == NET_ADMIN) {
        needs.push(need(NET_ADMIN, format!("putting the VIPs on {}", config.announce.vip_interface)));
    }
    let tls = config.tls.iter().flat_map(|tls| [tls.dot_port, tls.doh_port]).flatten();
    let metrics = service.metrics.map(|addr| addr.port());
    let low: Vec<String> = std::iter::once(service.port)
        .chain(tls)
        .chain(metrics)
        .filter(|&port| port < unprivileged_ports)
        .map(|port| port.to_string())
        .collect();
    if !low.is_empty() {
        needs.push(need(NET_BIND_SERVICE, format!("binding port {}", low.join(", "))));
    }
    needs
}

/// The needs `mask` does not meet.
pub fn missing(needs: Vec<Need>, mask: u64) -> Vec<Need> {
    needs.into_iter().filter(|need| !need.capability.held_in(mask)).collect()
}

/// This process's effective capabilities (CapEff in /proc/self/status).
pub fn effective() -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| std::io::Error::other("no CapEff line in /proc/self/status"))
}

/// The first port an unprivileged process may bind, in this network
/// namespace (1024 where the sysctl cannot be read).
pub fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{file::File, flags::Flags};

    fn config(toml: &str) -> Config {
        let file: File = toml::from_str(toml).expect("a valid file");
        Config::merge(file, &Flags::default()).expect("a valid configuration")
    }

    fn mask(caps: &[Capability]) -> u64 {
        caps.iter().fold(0, |m, c| m | 1 << c.bit)
    }

    fn names(needs: &[Need]) -> Vec<&'static str> {
        needs.iter().map(|n| n.capability.name).collect()
    }

    #[test]
    fn what_each_configuration_needs_and_what_a_mask_lacks() {
        let xdp = "[service]\nvips = [\"192.0.2.1\"]\ninterface = \"eth0\"\n";
        let off = "[service]\nvips = [\"192.0.2.1\"]\ninterface = \"eth0\"\nxdp_mode = \"off\"\n";
        let high = "[service]\nvips = [\"192.0.2.1\"]\nxdp_mode = \"off\"\nport = 5353\n";
        let all = [BPF, NET_ADMIN, NET_BIND_SERVICE];
        // (configuration, held, missing)
        let cases: [(&str, &[Capability], &[&str]); 7] = [
            (xdp, &all, &[]),
            (xdp, &[SYS_ADMIN, NET_ADMIN, NET_BIND_SERVICE], &[]),
            (xdp, &[NET_ADMIN, NET_BIND_SERVICE], &["CAP_BPF"]),
            (xdp, &[BPF, NET_BIND_SERVICE], &["CAP_NET_ADMIN"]),
            (xdp, &[], &["CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"]),
            (off, &[NET_BIND_SERVICE], &["CAP_NET_ADMIN"]),
            (high, &[NET_ADMIN], &[]),
        ];
        for (toml, held, expected) in cases {
            let lacking = missing(needs(&config(toml), 1024), mask(held));
            assert_eq!(names(&lacking), expected, "{toml} holding {held:?}");
        }
    }

    #[test]
    fn a_need_says_what_for() {
        let toml = "[service]\nvips = [\"192.0.2.1\"]\ninterface = \"eth0\"\nmetrics = \"127.0.0.1:99\"\n";
        let needs = needs(&config(toml), 1024);
        let text: Vec<String> = needs.iter().map(Need::to_string).collect();
        assert_eq!(
            text,
            [
                "CAP_BPF (loading the XDP program and writing its maps)",
                "CAP_NET_ADMIN (attaching XDP to eth0)",
                "CAP_NET_BIND_SERVICE (binding port 53, 99)",
            ]
        );
        assert!(self::needs(&config(toml), 0).iter().all(|n| n.capability != NET_BIND_SERVICE), "all ports open");
    }

    #[test]
    fn the_effective_mask_is_what_capget_says() {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        // _LINUX_CAPABILITY_VERSION_3: two words of 32 capabilities.
        let mut header = Header { version: 0x2008_0522, pid: 0 };
        let mut data = [Data::default(); 2];
        // SAFETY: a v3 header and the two data words it asks for.
        let ok = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } == 0;
        assert!(ok, "capget: {}", std::io::Error::last_os_error());
        let expected = u64::from(data[1].effective) << 32 | u64::from(data[0].effective);
        assert_eq!(effective().expect("CapEff of this process"), expected);
    }
}
