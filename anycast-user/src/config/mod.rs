//! anycastd's configuration: one TOML file, plus command-line flags for the
//! common settings, which win over the file. Everything is checked before
//! the daemon starts; a problem is reported with the key it concerns, and
//! the daemon refuses to start rather than guess. Unknown keys are errors
//! too: a misspelt key silently ignored is a setting silently lost.

mod bgp;

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use serde::Deserialize;

use hickory_proto::rr::{Name, RecordType};

use crate::{
    answer_entry::WritePolicy,
    resolver::{Limits, cache::CacheLimits},
    route::announce::{AnnounceSettings, BirdControl, HealthSettings, Routers, Unhealthy},
    server::{acl::Network, ratelimit::RateLimitSettings},
};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ResolutionMode {
    /// Iterate from the root hints.
    Recursive,
    /// Ask the configured forwarders.
    Forward,
}

/// The file, as written. Every section and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub service: ServiceSection,
    #[serde(default)]
    pub acl: AclSection,
    #[serde(default)]
    pub resolver: ResolverSection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub fastpath: FastPathSection,
    #[serde(default)]
    pub announce: AnnounceSection,
    #[serde(default)]
    pub health: HealthSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    pub bgp: Option<bgp::BgpSection>,
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
    /// The control socket (`anycastd ctl`).
    pub control_socket: Option<PathBuf>,
    /// Where Prometheus metrics are served over HTTP (`ADDRESS:PORT`).
    pub metrics: Option<SocketAddr>,
    /// Worker threads (default: one per CPU the daemon may run on).
    pub threads: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSection {
    /// Networks allowed to query, beside loopback.
    pub allow: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolverSection {
    pub mode: Option<ResolutionMode>,
    /// Root hints file (named.root format); IANA's roots if absent.
    pub root_hints: Option<PathBuf>,
    /// Upstream resolvers for forward mode, `ADDRESS` or `ADDRESS:PORT`.
    pub forwarders: Option<Vec<String>>,
    /// Milliseconds to wait for one upstream answer.
    pub query_timeout_ms: Option<u64>,
    pub max_queries: Option<u32>,
    pub max_referrals: Option<u32>,
    pub max_cname: Option<u32>,
    /// Seconds for a whole client question.
    pub deadline: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    pub capacity: Option<usize>,
    pub max_ttl: Option<u64>,
    pub max_negative_ttl: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastPathSection {
    /// Entries of the answer map.
    pub capacity: Option<u32>,
    pub edns_udp_size: Option<u16>,
    /// Answers with a shorter TTL stay out of the fast path.
    pub min_ttl: Option<u32>,
    /// Pin the program's link and maps under bpffs, so that the fast path
    /// keeps answering while the daemon is down and the next one takes it
    /// over (true if absent).
    pub pin: Option<bool>,
    /// Where (bpffs; mounted if it is not).
    pub pin_dir: Option<PathBuf>,
}

/// Response rate limiting per client prefix, on both paths (off unless
/// `responses_per_second` is set).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    pub responses_per_second: Option<u32>,
    /// Responses at once after a quiet spell; `responses_per_second` if absent.
    pub burst: Option<u32>,
    /// Every `slip`-th response over the limit is TC=1, the others are
    /// dropped; 0 drops all, 1 truncates all. 2 if absent.
    pub slip: Option<u32>,
    pub ipv4_prefix: Option<u8>,
    pub ipv6_prefix: Option<u8>,
    /// Prefixes tracked at once.
    pub table_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceSection {
    /// How routers hear of the VIPs: `interface` (the node's routing
    /// daemon exports the VIP interface) or `bgp` (the built-in speaker).
    pub method: Option<AnnounceMethod>,
    /// The interface the VIPs are put on while announced (a dummy one,
    /// made if missing; `lo` where there is no dummy driver).
    pub vip_interface: Option<String>,
    /// BIRD include file anycastd rewrites with `define ANYCAST_STATE`.
    pub bird_include: Option<PathBuf>,
    /// birdc's control socket.
    pub birdc_socket: Option<PathBuf>,
    /// `withdraw` or `drain` when the health checks fail.
    pub on_unhealthy: Option<Unhealthy>,
    /// Seconds a graceful stop keeps answering after withdrawing.
    pub drain_time: Option<u64>,
    /// While this file exists the node is drained.
    pub maintenance_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnounceMethod {
    Interface,
    Bgp,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    pub interval_ms: Option<u64>,
    /// Checks passed in a row before announcing.
    pub rise: Option<u32>,
    /// Checks failed in a row before withdrawing.
    pub fall: Option<u32>,
    /// The probe question, resolved from the servers at every check.
    pub probe_name: Option<String>,
    pub probe_type: Option<String>,
}

/// Settings given on the command line; each wins over the file's.
#[derive(Debug, Default, clap::Args)]
pub struct Flags {
    /// The configuration file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// NIC to attach the XDP program to (service.interface).
    #[arg(long, short = 'i', value_name = "NAME")]
    pub interface: Option<String>,
    /// An anycast service address; repeat for more (service.vips).
    #[arg(long = "vip", value_name = "ADDRESS")]
    pub vips: Vec<IpAddr>,
    /// How to attach the XDP program (service.xdp_mode).
    #[arg(long, value_enum)]
    pub xdp_mode: Option<XdpMode>,
    /// Recursive from the root hints, or forwarding (resolver.mode).
    #[arg(long, value_enum)]
    pub mode: Option<ResolutionMode>,
    /// An upstream for forward mode; repeat for more (resolver.forwarders).
    #[arg(long = "forwarder", value_name = "ADDRESS[:PORT]")]
    pub forwarders: Vec<String>,
    /// Root hints file (resolver.root_hints).
    #[arg(long, value_name = "FILE")]
    pub root_hints: Option<PathBuf>,
    /// A network allowed to query; repeat for more (acl.allow).
    #[arg(long = "allow", value_name = "NETWORK")]
    pub allow: Vec<String>,
    /// Another address to serve on; repeat for more (service.listen).
    #[arg(long = "listen", value_name = "ADDRESS")]
    pub listen: Vec<IpAddr>,
    /// DNS port (service.port).
    #[arg(long)]
    pub port: Option<u16>,
    /// The control socket (service.control_socket).
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP at ADDRESS:PORT/metrics
    /// (service.metrics; off unless given).
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Where the fast path is pinned, on bpffs (fastpath.pin_dir).
    #[arg(long, value_name = "DIR")]
    pub pin_dir: Option<PathBuf>,
    /// Worker threads; one per CPU the daemon may run on unless given
    /// (service.threads).
    #[arg(long, value_name = "N")]
    pub threads: Option<u64>,
}

/// The checked configuration the daemon runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub vips: Vec<IpAddr>,
    pub listen: Vec<IpAddr>,
    pub port: u16,
    pub interface: Option<String>,
    pub xdp_mode: XdpMode,
    pub tcp_idle_timeout: Duration,
    pub control_socket: PathBuf,
    pub metrics: Option<SocketAddr>,
    /// Worker threads (None: one per CPU the daemon may run on).
    pub threads: Option<usize>,
    pub allow: Vec<Network>,
    pub resolution: Resolution,
    pub query_timeout: Duration,
    pub limits: Limits,
    pub cache: CacheLimits,
    pub answer_capacity: u32,
    /// Where the fast path is pinned (None: not pinned).
    pub pin_dir: Option<PathBuf>,
    pub edns_udp_size: u16,
    pub write_policy: WritePolicy,
    pub rate_limit: RateLimitSettings,
    pub announce: AnnounceSettings,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Recursive { root_hints: Option<PathBuf> },
    Forward { forwarders: Vec<SocketAddr> },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), problem: problem.into() }
}

/// `value` if above 0, `default` if absent.
fn positive(key: &'static str, value: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match value {
        Some(0) => Err(invalid(key, "must be above 0")),
        Some(v) => Ok(v),
        None => Ok(default),
    }
}

/// Most worker threads: more than any machine's CPUs is a typo.
const MAX_THREADS: u64 = 1024;

fn threads(value: Option<u64>) -> Result<Option<usize>, ConfigError> {
    match value {
        Some(0) => Err(invalid("service.threads", "must be above 0")),
        Some(n) if n > MAX_THREADS => Err(invalid("service.threads", format!("at most {MAX_THREADS}"))),
        n => Ok(n.map(|n| n as usize)),
    }
}

impl File {
    pub fn read(path: &Path) -> Result<File, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })
    }
}

impl Config {
    /// The file (if any) with the flags over it, checked.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        let file = match &flags.config {
            Some(path) => File::read(path)?,
            None => File::default(),
        };
        Config::merge(file, flags)
    }

    pub fn merge(mut file: File, flags: &Flags) -> Result<Config, ConfigError> {
        let pick_list = |flag: &Vec<IpAddr>, file: Option<Vec<IpAddr>>| {
            if flag.is_empty() { file.unwrap_or_default() } else { flag.clone() }
        };
        let vips = pick_list(&flags.vips, file.service.vips);
        if vips.is_empty() {
            return Err(invalid("service.vips", "no VIP to serve (give --vip or service.vips)"));
        }
        let xdp_mode = flags.xdp_mode.or(file.service.xdp_mode).unwrap_or(XdpMode::Auto);
        let interface = flags.interface.clone().or(file.service.interface);
        if xdp_mode != XdpMode::Off && interface.is_none() {
            return Err(invalid(
                "service.interface",
                "the fast path needs the NIC to attach to (or xdp_mode = \"off\")",
            ));
        }
        let allow_text = if flags.allow.is_empty() { file.acl.allow.unwrap_or_default() } else { flags.allow.clone() };
        let allow = allow_text
            .iter()
            .map(|n| n.parse::<Network>().map_err(|e| invalid("acl.allow", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;

        let mode = flags.mode.or(file.resolver.mode).unwrap_or(ResolutionMode::Recursive);
        let forwarders_text = if flags.forwarders.is_empty() {
            file.resolver.forwarders.take().unwrap_or_default()
        } else {
            flags.forwarders.clone()
        };
        let resolution = match mode {
            ResolutionMode::Recursive => {
                if !forwarders_text.is_empty() {
                    return Err(invalid(
                        "resolver.forwarders",
                        "given in recursive mode; set resolver.mode = \"forward\"",
                    ));
                }
                Resolution::Recursive { root_hints: flags.root_hints.clone().or(file.resolver.root_hints.take()) }
            }
            ResolutionMode::Forward => {
                if forwarders_text.is_empty() {
                    return Err(invalid("resolver.forwarders", "forward mode needs at least one forwarder"));
                }
                let forwarders = forwarders_text
                    .iter()
                    .map(|f| {
                        parse_forwarder(f).ok_or_else(|| {
                            invalid("resolver.forwarders", format!("`{f}` is not ADDRESS or ADDRESS:PORT"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Resolution::Forward { forwarders }
            }
        };

        let port = flags.port.or(file.service.port).unwrap_or(53);
        if port == 0 {
            return Err(invalid("service.port", "must not be 0"));
        }
        let defaults = Limits::default();
        let r = &file.resolver;
        let limits = Limits {
            max_queries: positive("resolver.max_queries", r.max_queries.map(u64::from), defaults.max_queries as u64)?
                as u32,
            max_referrals: positive(
                "resolver.max_referrals",
                r.max_referrals.map(u64::from),
                defaults.max_referrals as u64,
            )? as u32,
            max_cname: positive("resolver.max_cname", r.max_cname.map(u64::from), defaults.max_cname as u64)? as u32,
            max_ns_depth: defaults.max_ns_depth,
            deadline: Duration::from_secs(positive("resolver.deadline", r.deadline, defaults.deadline.as_secs())?),
        };
        let cache_defaults = CacheLimits::default();
        let cache = CacheLimits {
            capacity: positive("cache.capacity", file.cache.capacity.map(|c| c as u64), cache_defaults.capacity as u64)?
                as usize,
            max_ttl: Duration::from_secs(positive(
                "cache.max_ttl",
                file.cache.max_ttl,
                cache_defaults.max_ttl.as_secs(),
            )?),
            max_negative_ttl: Duration::from_secs(positive(
                "cache.max_negative_ttl",
                file.cache.max_negative_ttl,
                cache_defaults.max_negative_ttl.as_secs(),
            )?),
        };
        let edns_udp_size = file.fastpath.edns_udp_size.unwrap_or(anycast_common::MAX_RESPONSE_LEN as u16);
        if !(anycast_common::CLASSIC_UDP_LEN..=anycast_common::MAX_RESPONSE_LEN as u16).contains(&edns_udp_size) {
            return Err(invalid("fastpath.edns_udp_size", format!("{edns_udp_size} is outside 512..=1232")));
        }
        let rate_limit = rate_limit_settings(&file.rate_limit)?;
        let pin_dir = match (file.fastpath.pin.unwrap_or(true), flags.pin_dir.clone().or(file.fastpath.pin_dir.take()))
        {
            (false, Some(_)) => return Err(invalid("fastpath.pin_dir", "set, but fastpath.pin is false")),
            (false, None) => None,
            (true, dir) => Some(dir.unwrap_or_else(|| PathBuf::from(DEFAULT_PIN_DIR))),
        };
        let announce = announce_settings(&file.announce, &file.health, file.bgp.as_ref(), &vips)?;
        let max_ttl = cache.max_ttl.as_secs().min(u32::MAX as u64) as u32;
        let write_policy =
            WritePolicy { min_ttl: file.fastpath.min_ttl.unwrap_or(WritePolicy::default().min_ttl), max_ttl };
        Ok(Config {
            vips,
            listen: pick_list(&flags.listen, file.service.listen),
            port,
            interface,
            xdp_mode,
            tcp_idle_timeout: Duration::from_secs(positive(
                "service.tcp_idle_timeout",
                file.service.tcp_idle_timeout,
                10,
            )?),
            control_socket: flags
                .control_socket
                .clone()
                .or(file.service.control_socket.take())
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL_SOCKET)),
            metrics: flags.metrics.or(file.service.metrics),
            threads: threads(flags.threads.or(file.service.threads))?,
            allow,
            resolution,
            query_timeout: Duration::from_millis(positive("resolver.query_timeout_ms", r.query_timeout_ms, 800)?),
            limits,
            cache,
            pin_dir,
            answer_capacity: positive("fastpath.capacity", file.fastpath.capacity.map(u64::from), 65_536)? as u32,
            edns_udp_size,
            write_policy,
            rate_limit,
            announce,
        })
    }
}

fn rate_limit_settings(section: &RateLimitSection) -> Result<RateLimitSettings, ConfigError> {
    let off = RateLimitSettings::OFF;
    let Some(rate) = section.responses_per_second else {
        let stray = [
            ("burst", section.burst.is_some()),
            ("slip", section.slip.is_some()),
            ("ipv4_prefix", section.ipv4_prefix.is_some()),
            ("ipv6_prefix", section.ipv6_prefix.is_some()),
            ("table_size", section.table_size.is_some()),
        ];
        return match stray.iter().find(|(_, set)| *set) {
            Some((key, _)) => Err(invalid(format!("rate_limit.{key}"), "set without rate_limit.responses_per_second")),
            None => Ok(off),
        };
    };
    let within = |key: &str, value: u32, range: std::ops::RangeInclusive<u32>| {
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(invalid(format!("rate_limit.{key}"), format!("{value} is outside {}..={}", range.start(), range.end())))
        }
    };
    Ok(RateLimitSettings {
        responses_per_second: within("responses_per_second", rate, 1..=1_000_000)?,
        burst: within("burst", section.burst.unwrap_or(rate), 1..=1_000_000)?,
        slip: within("slip", section.slip.unwrap_or(off.slip), 0..=10)?,
        ipv4_prefix: within("ipv4_prefix", section.ipv4_prefix.unwrap_or(off.ipv4_prefix).into(), 1..=32)? as u8,
        ipv6_prefix: within("ipv6_prefix", section.ipv6_prefix.unwrap_or(off.ipv6_prefix).into(), 1..=128)? as u8,
        table_size: within("table_size", section.table_size.unwrap_or(off.table_size), 1..=16_777_216)?,
    })
}

fn announce_settings(
    announce: &AnnounceSection,
    health: &HealthSection,
    bgp: Option<&bgp::BgpSection>,
    vips: &[IpAddr],
) -> Result<AnnounceSettings, ConfigError> {
    let interval_ms = health.interval_ms.unwrap_or(1000);
    if !(100..=60_000).contains(&interval_ms) {
        return Err(invalid("health.interval_ms", format!("{interval_ms} is outside 100..=60000")));
    }
    let probe_name = health.probe_name.as_deref().unwrap_or(".");
    let probe_name =
        Name::from_ascii(probe_name).map_err(|e| invalid("health.probe_name", format!("`{probe_name}`: {e}")))?;
    let probe_type = health.probe_type.as_deref().unwrap_or("NS");
    let probe_type = RecordType::from_str(&probe_type.to_ascii_uppercase())
        .map_err(|_| invalid("health.probe_type", format!("`{probe_type}` is not a record type")))?;
    let vip_interface = announce.vip_interface.clone().unwrap_or_else(|| "anycast0".to_string());
    if vip_interface.is_empty() || vip_interface.len() > 15 || vip_interface.contains(['/', ' ']) {
        return Err(invalid("announce.vip_interface", format!("`{vip_interface}` is not an interface name")));
    }
    if announce.birdc_socket.is_some() && announce.bird_include.is_none() {
        return Err(invalid("announce.birdc_socket", "set without announce.bird_include"));
    }
    let routers = match (announce.method.unwrap_or(AnnounceMethod::Interface), bgp) {
        (AnnounceMethod::Interface, Some(_)) => {
            return Err(invalid("bgp", "set, but announce.method is not \"bgp\""));
        }
        (AnnounceMethod::Interface, None) => Routers::Interface {
            bird: announce.bird_include.clone().map(|include| BirdControl {
                include,
                socket: announce.birdc_socket.clone().unwrap_or_else(|| PathBuf::from("/run/bird/bird.ctl")),
            }),
        },
        (AnnounceMethod::Bgp, _) if announce.bird_include.is_some() => {
            return Err(invalid("announce.bird_include", "is for announce.method = \"interface\", not \"bgp\""));
        }
        (AnnounceMethod::Bgp, section) => Routers::Bgp(bgp::settings(section.unwrap_or(&Default::default()), vips)?),
    };
    Ok(AnnounceSettings {
        vip_interface,
        routers,
        unhealthy: announce.on_unhealthy.unwrap_or(Unhealthy::Withdraw),
        drain_time: Duration::from_secs(announce.drain_time.unwrap_or(5)),
        maintenance_file: announce.maintenance_file.clone(),
        health: HealthSettings {
            interval: Duration::from_millis(interval_ms),
            rise: positive("health.rise", health.rise.map(u64::from), 2)? as u32,
            fall: positive("health.fall", health.fall.map(u64::from), 2)? as u32,
            probe: (probe_name, probe_type),
        },
    })
}

/// Where the fast path is pinned unless configured.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/anycast";

/// Where the control socket is unless configured.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/anycastd.sock";

fn parse_forwarder(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> File {
        toml::from_str(text).unwrap()
    }

    fn error(text: &str, flags: &Flags) -> String {
        Config::merge(file(text), flags).unwrap_err().to_string()
    }

    #[test]
    fn a_full_file_loads_and_flags_win() {
        let text = r#"
            [service]
            vips = ["6.6.6.6", "2001:db8::6"]
            interface = "eth0"
            xdp_mode = "native"
            metrics = "127.0.0.1:9153"
            [acl]
            allow = ["10.0.0.0/8"]
            [resolver]
            mode = "forward"
            forwarders = ["192.0.2.53", "[2001:db8::53]:5353"]
            [cache]
            max_negative_ttl = 60
            [fastpath]
            min_ttl = 5
            [announce]
            vip_interface = "lo"
            bird_include = "/run/anycastd/bird.conf"
            on_unhealthy = "drain"
            drain_time = 3
            [health]
            interval_ms = 500
            rise = 3
            probe_name = "example.com"
            probe_type = "aaaa"
        "#;
        let flags = Flags { interface: Some("veth1".into()), ..Flags::default() };
        let config = Config::merge(file(text), &flags).unwrap();
        assert_eq!(config.interface.as_deref(), Some("veth1"));
        assert_eq!(config.xdp_mode, XdpMode::Native);
        assert_eq!(config.vips.len(), 2);
        let Resolution::Forward { forwarders } = &config.resolution else { panic!("forward mode") };
        assert_eq!(forwarders[0], "192.0.2.53:53".parse().unwrap());
        assert_eq!(forwarders[1].port(), 5353);
        assert_eq!(config.cache.max_negative_ttl, Duration::from_secs(60));
        assert_eq!(config.write_policy.min_ttl, 5);
        assert_eq!(config.metrics, Some("127.0.0.1:9153".parse().unwrap()));
        let announce = &config.announce;
        assert_eq!(announce.vip_interface, "lo");
        let Routers::Interface { bird: Some(bird) } = &announce.routers else { panic!("BIRD in interface mode") };
        assert_eq!(bird.socket, PathBuf::from("/run/bird/bird.ctl"));
        assert_eq!((announce.unhealthy, announce.drain_time), (Unhealthy::Drain, Duration::from_secs(3)));
        let health = &announce.health;
        assert_eq!((health.interval, health.rise, health.fall), (Duration::from_millis(500), 3, 2));
        assert_eq!(health.probe, (Name::from_ascii("example.com").unwrap(), RecordType::AAAA));
    }

    #[test]
    fn problems_name_their_key() {
        let none = Flags::default();
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        assert!(error("", &none).starts_with("service.vips:"));
        assert!(error("[service]\nvips = [\"6.6.6.6\"]\n", &none).starts_with("service.interface:"));
        assert!(error(&format!("{vip}[acl]\nallow = [\"10.0.0.1/8\"]\n"), &none).starts_with("acl.allow:"));
        assert!(error(&format!("{vip}[resolver]\nmode = \"forward\"\n"), &none).starts_with("resolver.forwarders:"));
        assert!(error(&format!("{vip}[resolver]\nforwarders = [\"192.0.2.1\"]\n"), &none).contains("recursive mode"));
        assert!(
            error(&format!("{vip}[resolver]\nmode = \"forward\"\nforwarders = [\"resolver\"]\n"), &none)
                .contains("`resolver`")
        );
        assert!(error(&format!("{vip}[cache]\ncapacity = 0\n"), &none).starts_with("cache.capacity:"));
        assert!(
            error(&format!("{vip}[fastpath]\nedns_udp_size = 4096\n"), &none).starts_with("fastpath.edns_udp_size:")
        );
        assert!(error(&format!("{vip}[health]\nrise = 0\n"), &none).starts_with("health.rise:"));
        assert!(error(&format!("{vip}[health]\ninterval_ms = 5\n"), &none).starts_with("health.interval_ms:"));
        assert!(error(&format!("{vip}[health]\nprobe_type = \"QQ\"\n"), &none).starts_with("health.probe_type:"));
        assert!(
            error(&format!("{vip}[announce]\nvip_interface = \"a/b\"\n"), &none).starts_with("announce.vip_interface:")
        );
        assert!(
            error(&format!("{vip}[announce]\nbirdc_socket = \"/x\"\n"), &none).starts_with("announce.birdc_socket:")
        );
        let rrl = |rest: &str| error(&format!("{vip}[rate_limit]\n{rest}"), &none);
        assert!(rrl("responses_per_second = 0\n").starts_with("rate_limit.responses_per_second: 0 is outside"));
        assert!(rrl("responses_per_second = 10\nslip = 11\n").starts_with("rate_limit.slip:"));
        assert!(rrl("responses_per_second = 10\nipv4_prefix = 33\n").starts_with("rate_limit.ipv4_prefix:"));
        assert!(rrl("responses_per_second = 10\nipv6_prefix = 0\n").starts_with("rate_limit.ipv6_prefix:"));
        assert!(rrl("slip = 1\n").starts_with("rate_limit.slip: set without rate_limit.responses_per_second"));
    }

    #[test]
    fn the_example_production_config_is_valid() {
        let text = include_str!("../../../dist/anycastd.toml");
        let config = Config::merge(file(text), &Flags::default()).unwrap_or_else(|e| panic!("dist/anycastd.toml: {e}"));
        assert!(config.rate_limit.limit().is_on());
        assert!(matches!(config.announce.routers, Routers::Bgp(_)));
    }

    #[test]
    fn the_fast_path_is_pinned_unless_turned_off() {
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        let config = |text: &str, flags: &Flags| Config::merge(file(&format!("{vip}{text}")), flags);
        let default = config("", &Flags::default()).unwrap();
        assert_eq!(default.pin_dir.as_deref(), Some(Path::new(DEFAULT_PIN_DIR)));
        let flags = Flags { pin_dir: Some("/run/bpf".into()), ..Flags::default() };
        let flagged = config("[fastpath]\npin_dir = \"/x\"\n", &flags).unwrap();
        assert_eq!(flagged.pin_dir.as_deref(), Some(Path::new("/run/bpf")), "the flag wins");
        assert_eq!(config("[fastpath]\npin = false\n", &Flags::default()).unwrap().pin_dir, None);
        let both = config("[fastpath]\npin = false\npin_dir = \"/x\"\n", &Flags::default()).unwrap_err();
        assert!(both.to_string().starts_with("fastpath.pin_dir:"), "{both}");
    }

    #[test]
    fn worker_threads_default_to_the_cpus_and_are_checked() {
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        let config = |text: &str, flags: &Flags| Config::merge(file(&format!("{vip}{text}")), flags);
        assert_eq!(config("", &Flags::default()).unwrap().threads, None);
        assert_eq!(config("threads = 2\n", &Flags::default()).unwrap().threads, Some(2));
        let flags = Flags { threads: Some(1), ..Flags::default() };
        assert_eq!(config("threads = 2\n", &flags).unwrap().threads, Some(1), "the flag wins");
        for bad in ["threads = 0\n", "threads = 5000\n"] {
            let err = config(bad, &Flags::default()).unwrap_err().to_string();
            assert!(err.starts_with("service.threads:"), "{bad}: {err}");
        }
    }

    #[test]
    fn rate_limiting_is_off_unless_asked_for_and_defaults_to_bind_like_values() {
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        let off = Config::merge(file(vip), &Flags::default()).unwrap().rate_limit;
        assert!(!off.limit().is_on());
        let on = Config::merge(file(&format!("{vip}[rate_limit]\nresponses_per_second = 20\n")), &Flags::default())
            .unwrap()
            .rate_limit;
        assert_eq!((on.responses_per_second, on.burst, on.slip, on.ipv4_prefix, on.ipv6_prefix), (20, 20, 2, 24, 56));
    }

    #[test]
    fn unknown_keys_and_bad_values_fail_parsing_with_their_place() {
        let err = toml::from_str::<File>("[service]\nvip = [\"6.6.6.6\"]\n").unwrap_err().to_string();
        assert!(err.contains("vip") && err.contains("unknown field"), "{err}");
        let err = toml::from_str::<File>("[service]\nxdp_mode = \"fast\"\n").unwrap_err().to_string();
        assert!(err.contains("fast") && err.contains("line 2"), "{err}");
        let err = toml::from_str::<File>("[service]\nvips = [\"6.6.6\"]\n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = toml::from_str::<File>("[service]\nmetrics = \"9153\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("metrics"), "{err}");
    }

    #[test]
    fn the_bgp_speaker_is_configured_and_checked() {
        let none = Flags::default();
        let vips = "[service]\nvips = [\"6.6.6.6\", \"2001:db8::6\"]\nxdp_mode = \"off\"\n";
        let bgp = "[announce]\nmethod = \"bgp\"\n[bgp]\nlocal_as = 65001\nrouter_id = \"10.0.0.2\"\n";
        let peer = "[[bgp.peers]]\naddress = \"10.0.0.1\"\npeer_as = 65000\nnext_hop6 = \"fd00::2\"\n";
        let config = Config::merge(file(&format!("{vips}{bgp}drain = \"med\"\n{peer}")), &none).unwrap();
        let Routers::Bgp(settings) = &config.announce.routers else { panic!("the BGP speaker") };
        assert_eq!((settings.local_as, settings.hold_time), (65001, 90));
        assert_eq!(settings.drain, crate::route::bgp::DrainMark::Med(1000));
        assert_eq!(settings.peers[0].address, "10.0.0.1:179".parse().unwrap());

        let problem = |text: String| error(&text, &none);
        assert!(problem(format!("{vips}[announce]\nmethod = \"bgp\"\n")).starts_with("bgp.local_as: required"));
        assert!(problem(format!("{vips}{bgp}")).starts_with("bgp.peers:"));
        let no_hop6 = "[[bgp.peers]]\naddress = \"10.0.0.1\"\npeer_as = 65000\n";
        assert!(problem(format!("{vips}{bgp}{no_hop6}")).starts_with("bgp.peers[0].next_hop6: required"));
        let ibgp = peer.replace("65000", "65001");
        assert!(problem(format!("{vips}{bgp}{ibgp}")).starts_with("bgp.peers[0].peer_as:"));
        assert!(problem(format!("{vips}{bgp}hold_time = 2\n{peer}")).starts_with("bgp.hold_time:"));
        let trans = bgp.replace("65001", "23456");
        assert!(problem(format!("{vips}{trans}{peer}")).starts_with("bgp.local_as: 23456 is not a usable AS"));
        let stray = format!("{vips}[bgp]\nlocal_as = 65001\n");
        assert!(problem(stray).starts_with("bgp: set, but announce.method is not"));
    }
}
