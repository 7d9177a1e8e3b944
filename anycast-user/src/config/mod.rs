//! anycastd's configuration: one TOML file ([`file`]), plus command-line
//! flags for the common settings ([`flags`]), which win over the file.
//! Each section checks itself ([`service`], [`acl`], [`resolver`] with the
//! cache, [`fastpath`], [`rate_limit`], [`announce`] with health, [`bgp`],
//! [`local`] zones and blocklists, forward and stub zones in [`routes`],
//! encrypted DNS in [`tls`]);
//! a problem is reported with the key it concerns, and the daemon refuses
//! to start rather than guess. Unknown keys are errors too: a misspelt key
//! silently ignored is a setting silently lost.

pub mod acl;
pub mod announce;
pub mod bgp;
pub mod cookies;
pub mod dnssec;
pub mod dnstap;
pub mod error;
pub mod fastpath;
pub mod file;
pub mod flags;
pub mod local;
pub mod locate;
pub mod rate_limit;
pub mod resolver;
pub mod routes;
pub mod service;
pub mod tls;

use dnssec::DnssecSettings;
use error::ConfigError;
use fastpath::FastPathSettings;
use file::File;
use flags::Flags;
use resolver::ResolverSettings;
use service::ServiceSettings;
use tls::TlsSettings;

use crate::{
    answer_entry::RrsetOrder,
    dnstap::DnstapSettings,
    policy::{acl::Network, cookies::SecretSource, local::LocalSettings, ratelimit::RateLimitSettings},
    resolver::{cache::CacheLimits, routes::Routes},
    route::announce::AnnounceSettings,
    warm::WarmSettings,
};

/// The checked configuration the daemon runs with, by section.
#[derive(Clone, Debug)]
pub struct Config {
    pub service: ServiceSettings,
    pub allow: Vec<Network>,
    pub resolver: ResolverSettings,
    pub cache: CacheLimits,
    /// None when validation is off.
    pub dnssec: Option<DnssecSettings>,
    /// Where the DNS cookie secret comes from; None when cookies are off.
    pub cookies: Option<SecretSource>,
    /// None when dnstap is off.
    pub dnstap: Option<DnstapSettings>,
    pub fast_path: FastPathSettings,
    pub rate_limit: RateLimitSettings,
    pub announce: AnnounceSettings,
    /// Local zones, local data and blocklists.
    pub local: LocalSettings,
    /// Forward and stub zones.
    pub routes: Routes,
    /// How answers order their last A or AAAA RRset, on both paths.
    pub rrset_order: RrsetOrder,
    /// Encrypted DNS; None when off.
    pub tls: Option<TlsSettings>,
    /// The warm start before the first announcement; None when off.
    pub warm: Option<WarmSettings>,
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

    pub fn merge(file: File, flags: &Flags) -> Result<Config, ConfigError> {
        Config::check_every(file, flags).map_err(|mut problems| problems.swap_remove(0))
    }

    /// [`Config::merge`], with every problem of every section rather than
    /// the first (a section that needs another's settings is checked
    /// once that one is right). Never an empty list.
    pub fn check_every(mut file: File, flags: &Flags) -> Result<Config, Vec<ConfigError>> {
        flags.overlay(&mut file);
        let mut problems = Vec::new();
        let p = &mut problems;
        let (service, cache) = (keep(p, file.service.check()), keep(p, file.cache.check()));
        let allow = keep(p, file.acl.check());
        let resolver = keep(p, file.resolver.check());
        let dnssec = keep(p, file.dnssec.check());
        let cookies = keep(p, file.cookies.check());
        let rate_limit = keep(p, file.rate_limit.check());
        let rrset_order = file.policy.rrset_order.unwrap_or_default();
        let local = keep(p, local::check(file.policy, file.local_zone, file.local_data, file.blocklist));
        let routes = keep(p, routes::check(file.forward_zone, file.stub_zone));
        let tls = keep(p, file.tls.check());
        let dnstap = service.as_ref().and_then(|s| keep(p, file.dnstap.check(&s.nsid)));
        let fast_path = cache.as_ref().and_then(|c| keep(p, file.fastpath.check(c.ttl.max_ttl)));
        let warm = keep(p, file.announce.warm());
        let announce =
            service.as_ref().and_then(|s| keep(p, file.announce.check(file.health, file.bgp.as_ref(), &s.vips)));
        let config = (|| {
            Some(Config {
                allow: allow?,
                resolver: resolver?,
                dnssec: dnssec?,
                cookies: cookies?,
                dnstap: dnstap?,
                fast_path: fast_path?,
                rate_limit: rate_limit?,
                announce: announce?,
                rrset_order,
                local: local?,
                routes: routes?,
                tls: tls?,
                warm: warm?,
                cache: cache?,
                service: service?,
            })
        })();
        config.filter(|_| problems.is_empty()).ok_or(problems)
    }
}

/// A section's checked settings, or None with its problem kept.
fn keep<T>(problems: &mut Vec<ConfigError>, checked: Result<T, ConfigError>) -> Option<T> {
    checked.map_err(|problem| problems.push(problem)).ok()
}

#[cfg(test)]
mod tests {
    use std::{
        path::{Path, PathBuf},
        time::Duration,
    };

    use hickory_proto::rr::{Name, RecordType};

    use super::{fastpath::DEFAULT_PIN_DIR, service::XdpMode, *};
    use crate::{
        resolver::Mode,
        route::{
            announce::{Routers, Unhealthy},
            routing_daemon::RoutingDaemon,
        },
    };

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
        assert_eq!(config.service.interface.as_deref(), Some("veth1"));
        assert_eq!(config.service.xdp_mode, XdpMode::Native);
        assert_eq!(config.service.vips.len(), 2);
        let Mode::Forward(forwarders) = &config.resolver.mode else { panic!("forward mode") };
        assert_eq!(forwarders[0], "192.0.2.53:53".parse().unwrap());
        assert_eq!(forwarders[1].port(), 5353);
        assert_eq!(config.cache.ttl.max_negative_ttl, 60);
        assert_eq!(config.fast_path.write_policy.min_ttl, 5);
        assert_eq!(config.service.metrics, Some("127.0.0.1:9153".parse().unwrap()));
        let announce = &config.announce;
        assert_eq!(announce.vip_interface, "lo");
        let Routers::Interface { daemon: Some(RoutingDaemon::Bird(bird)) } = &announce.routers else {
            panic!("BIRD in interface mode")
        };
        assert_eq!(bird.socket, PathBuf::from("/run/bird/bird.ctl"));
        assert_eq!((announce.unhealthy, announce.drain_time), (Unhealthy::Drain, Duration::from_secs(3)));
        let health = &announce.health;
        assert_eq!((health.interval, health.rise, health.fall), (Duration::from_millis(500), 3, 2));
        assert_eq!(health.probe, (Name::from_ascii("example.com").unwrap(), RecordType::AAAA));
    }

    #[test]
    fn frr_in_interface_mode_drains_with_a_metric_unless_told() {
        let vip =
            "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n[announce]\nfrr_route_map = \"ANYCAST-STATE\"\n";
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("", &["set metric 1000"], None),
            (
                "frr_drain = [\"set as-path prepend 65001 65001\"]\nvtysh_socket = \"/run/frr\"\n",
                &["set as-path prepend 65001 65001"],
                Some("/run/frr"),
            ),
        ];
        for (rest, drain, socket) in cases {
            let config = Config::merge(file(&format!("{vip}{rest}")), &Flags::default()).unwrap();
            let Routers::Interface { daemon: Some(RoutingDaemon::Frr(frr)) } = &config.announce.routers else {
                panic!("FRR in interface mode for {rest:?}")
            };
            assert_eq!(frr.route_map, "ANYCAST-STATE");
            assert_eq!(frr.drain, *drain, "{rest:?}");
            assert_eq!(frr.vty_socket.as_deref(), socket.map(std::path::Path::new), "{rest:?}");
        }
    }

    #[test]
    fn the_warm_start_is_a_file_or_a_peer_over_http() {
        use crate::warm::WarmSource;
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n[announce]\n";
        let warm = |rest: &str| Config::merge(file(&format!("{vip}{rest}")), &Flags::default()).map(|c| c.warm);
        assert_eq!(warm("").unwrap(), None);
        let peer = warm("warm_from = \"http://10.0.0.2:9153/hot\"\n").unwrap().expect("on");
        assert_eq!(peer.source, WarmSource::Http("http://10.0.0.2:9153/hot".parse().unwrap()));
        assert_eq!((peer.names, peer.rate, peer.within), (1000, 500, Duration::from_secs(30)));
        let saved = warm("warm_from = \"/var/lib/hot.txt\"\nwarm_names = 50\nwarm_rate = 10\nwarm_seconds = 5\n");
        let saved = saved.unwrap().expect("on");
        assert_eq!(saved.source, WarmSource::File("/var/lib/hot.txt".into()));
        assert_eq!((saved.names, saved.rate, saved.within), (50, 10, Duration::from_secs(5)));
        let flag = Flags { warm_from: Some("/x".into()), ..Flags::default() };
        assert!(Config::merge(file(vip), &flag).unwrap().warm.is_some(), "--warm-from sets it");
        let cases = [
            ("warm_names = 5\n", "announce.warm_names: set without announce.warm_from"),
            ("warm_from = \"hot.txt\"\n", "neither an absolute path nor http://"),
            ("warm_from = \"https://peer/hot\"\n", "neither an absolute path nor http://"),
            ("warm_from = \"http://\"\n", "is not a URL"),
            ("warm_from = \"/x\"\nwarm_names = 0\n", "announce.warm_names: 0 is outside"),
            ("warm_from = \"/x\"\nwarm_rate = 0\n", "announce.warm_rate: 0 is outside"),
            ("warm_from = \"/x\"\nwarm_seconds = 4000\n", "announce.warm_seconds: 4000 is outside"),
        ];
        for (rest, said) in cases {
            let e = warm(rest).expect_err(rest).to_string();
            assert!(e.contains(said), "{rest}: {e}");
        }
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
            error(&format!("{vip}hot_answers_max_bytes = 0\n"), &none).starts_with("service.hot_answers_max_bytes:")
        );
        assert!(error(&format!("{vip}udp_receive_buffer = 0\n"), &none).starts_with("service.udp_receive_buffer:"));
        assert!(
            error(&format!("{vip}udp_receive_buffer = 4294967296\n"), &none).starts_with("service.udp_receive_buffer:")
        );
        assert!(
            error(&format!("{vip}[fastpath]\nedns_udp_size = 4096\n"), &none).starts_with("fastpath.edns_udp_size:")
        );
        assert!(error(&format!("{vip}[health]\nrise = 0\n"), &none).starts_with("health.rise:"));
        assert!(error(&format!("{vip}[health]\ninterval_ms = 5\n"), &none).starts_with("health.interval_ms:"));
        assert!(error(&format!("{vip}[health]\nprobe_type = \"QQ\"\n"), &none).starts_with("health.probe_type:"));
        assert!(
            error(&format!("{vip}[announce]\nvip_interface = \"a/b\"\n"), &none).starts_with("announce.vip_interface:")
        );
        let announce = |rest: &str| error(&format!("{vip}[announce]\n{rest}"), &none);
        assert!(announce("birdc_socket = \"/x\"\n").starts_with("announce.birdc_socket:"));
        assert!(announce("frr_drain = [\"set metric 5\"]\n").starts_with("announce.frr_drain: set without"));
        assert!(announce("vtysh_socket = \"/x\"\n").starts_with("announce.vtysh_socket: set without"));
        assert!(announce("frr_route_map = \"A B\"\n").starts_with("announce.frr_route_map: `A B`"));
        assert!(announce("frr_route_map = \"A\"\nfrr_drain = [\"match tag 1\"]\n").starts_with("announce.frr_drain:"));
        assert!(
            announce("frr_route_map = \"A\"\nbird_include = \"/x\"\n").starts_with("announce.frr_route_map: set with")
        );
        assert!(announce("method = \"bgp\"\nfrr_route_map = \"A\"\n").starts_with("announce.frr_route_map: is for"));
        let rrl = |rest: &str| error(&format!("{vip}[rate_limit]\n{rest}"), &none);
        assert!(rrl("responses_per_second = 0\n").starts_with("rate_limit.responses_per_second: 0 is outside"));
        assert!(rrl("responses_per_second = 10\nslip = 11\n").starts_with("rate_limit.slip:"));
        assert!(rrl("responses_per_second = 10\nipv4_prefix = 33\n").starts_with("rate_limit.ipv4_prefix:"));
        assert!(rrl("responses_per_second = 10\nipv6_prefix = 0\n").starts_with("rate_limit.ipv6_prefix:"));
        assert!(rrl("slip = 1\n").starts_with("rate_limit.slip: set without rate_limit.responses_per_second"));
        let cookies = |rest: &str| error(&format!("{vip}[cookies]\n{rest}"), &none);
        assert!(cookies("rotate_every = 1\n").starts_with("cookies.rotate_every: 1 is outside"));
        assert!(cookies("secret_file = \"/x\"\nrotate_every = 60\n").starts_with("cookies.rotate_every:"));
        let nsid = format!("[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\nnsid = \"{}\"\n", "n".repeat(65));
        assert!(error(&nsid, &none).starts_with("service.nsid: 65 bytes"));
        let partial = toml::from_str::<File>("[fastpath]\npartial_checksums = \"fix\"\n").unwrap_err().to_string();
        assert!(partial.contains("unknown variant `fix`"), "{partial}");
    }

    #[test]
    fn cookies_are_on_with_a_rotated_random_secret_unless_configured() {
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        let config = |text: &str| Config::merge(file(&format!("{vip}{text}")), &Flags::default()).unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(config("").cookies, Some(SecretSource::Random { rotate_every: day }));
        assert_eq!(config("[cookies]\nenabled = false\n").cookies, None);
        let from_file = config("[cookies]\nsecret_file = \"/etc/anycastd/cookie.secret\"\n").cookies;
        assert_eq!(from_file, Some(SecretSource::File("/etc/anycastd/cookie.secret".into())));
        let flags = Flags { nsid: Some("node-7".into()), ..Flags::default() };
        let with_flag = Config::merge(file(vip), &flags).unwrap();
        assert_eq!(with_flag.service.nsid, b"node-7");
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
        assert_eq!(default.fast_path.pin_dir.as_deref(), Some(Path::new(DEFAULT_PIN_DIR)));
        let flags = Flags { pin_dir: Some("/run/bpf".into()), ..Flags::default() };
        let flagged = config("[fastpath]\npin_dir = \"/x\"\n", &flags).unwrap();
        assert_eq!(flagged.fast_path.pin_dir.as_deref(), Some(Path::new("/run/bpf")), "the flag wins");
        assert_eq!(config("[fastpath]\npin = false\n", &Flags::default()).unwrap().fast_path.pin_dir, None);
        let both = config("[fastpath]\npin = false\npin_dir = \"/x\"\n", &Flags::default()).unwrap_err();
        assert!(both.to_string().starts_with("fastpath.pin_dir:"), "{both}");
    }

    #[test]
    fn worker_threads_default_to_the_cpus_and_are_checked() {
        let vip = "[service]\nvips = [\"6.6.6.6\"]\nxdp_mode = \"off\"\n";
        let config = |text: &str, flags: &Flags| Config::merge(file(&format!("{vip}{text}")), flags);
        assert_eq!(config("", &Flags::default()).unwrap().service.threads, None);
        assert_eq!(config("threads = 2\n", &Flags::default()).unwrap().service.threads, Some(2));
        let flags = Flags { threads: Some(1), ..Flags::default() };
        assert_eq!(config("threads = 2\n", &flags).unwrap().service.threads, Some(1), "the flag wins");
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
        assert_eq!(settings.drain, crate::route::bgp::settings::DrainMark::Med(1000));
        assert_eq!(settings.peers[0].address, "10.0.0.1:179".parse().unwrap());
        let bfd = crate::route::bgp::bfd::Timers { interval: Duration::from_millis(300), multiplier: 3 };
        assert_eq!((settings.bfd, settings.peers[0].bfd), (bfd, false), "BFD off unless asked for, 3 x 300 ms");
        let with_bfd = format!("{vips}{bgp}bfd_interval_ms = 100\nbfd_multiplier = 5\n{peer}bfd = true\n");
        let Routers::Bgp(settings) = Config::merge(file(&with_bfd), &none).unwrap().announce.routers else {
            panic!("the BGP speaker with BFD")
        };
        assert_eq!((settings.bfd.interval, settings.bfd.multiplier), (Duration::from_millis(100), 5));
        assert!(settings.peers[0].bfd);

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
        assert!(problem(format!("{vips}{bgp}bfd_interval_ms = 5\n{peer}")).starts_with("bgp.bfd_interval_ms: 5"));
        assert!(problem(format!("{vips}{bgp}bfd_multiplier = 0\n{peer}")).starts_with("bgp.bfd_multiplier: 0"));
        let stray = format!("{vips}[bgp]\nlocal_as = 65001\n");
        assert!(problem(stray).starts_with("bgp: set, but announce.method is not"));
    }
}
