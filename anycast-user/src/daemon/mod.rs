//! The running node: every component built once, here, and handed what
//! it needs ([`start`]); the services spawned; the stop in the order the
//! routers need ([`Running`]). It owns what reads across components: the
//! metrics ([`metrics`]) and the control socket ([`control`]).

mod capture;
pub mod check;
pub mod control;
mod cookies;
mod delivery;
mod encrypted;
mod error;
mod fast_path;
pub mod metrics;
pub mod node;
mod privileges;
mod probe;
pub mod reload;
mod sockets;
mod top;
pub mod top_view;
mod xdp_tap;

use std::{sync::Arc, time::Duration};

use arc_swap::ArcSwap;
use tokio::{sync::watch, task::JoinSet};

use crate::{
    config::{Config, dnssec::DnssecSettings, flags::Flags},
    dnssec::anchors::Anchors,
    dnstap::{Tap, Writer},
    fastpath::{FastPath, attachment::Attachment},
    feed::{self, Feed},
    notify,
    policy::{
        acl::Acl,
        local::{Local, LocalPolicy},
    },
    resolver::{Mode, Resolver, Validation, hints::RootHints, upstream::NetUpstream, upstream_tap::UpstreamTap},
    route::announce::{self, Announcer},
    server::{
        admission::Admission,
        edns::EdnsPolicy,
        hot::HotAnswers,
        respond::{AnswerSink, Responder},
        tcp, udp,
    },
    warm::{self, WarmSettings, WarmStats},
    wire::Nsid,
};
use capture::Capture;
use encrypted::Encrypted;
pub use error::DaemonError;
use node::Node;
use probe::NodeProbe;

/// How long a graceful stop waits for queries under way.
const DRAIN: Duration = Duration::from_secs(5);
/// With a fast path, how long after a kept answer was last offered to the
/// map a repeat that reached the daemon offers it again.
const REOFFER_AFTER: Duration = Duration::from_secs(1);

/// A node serving and announcing, until [`Running::stop`].
pub struct Running {
    node: Arc<Node<NetUpstream>>,
    services: JoinSet<()>,
    stop_serving: watch::Sender<bool>,
    stop_announcing: watch::Sender<bool>,
    announcing: tokio::task::JoinHandle<()>,
}

/// How a stop goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: withdraw first and keep answering while routers converge,
    /// then stop accepting and finish what is under way.
    Graceful,
    /// SIGINT: at once.
    Now,
}

/// Validation as `[dnssec]` sets it, its anchors loaded.
fn validation(dnssec: &DnssecSettings) -> Result<Validation, DaemonError> {
    let anchors = match &dnssec.trust_anchor {
        Some(path) => Anchors::from_file(path)?,
        None => Anchors::iana(),
    };
    Ok(Validation { anchors: anchors.with_negative(dnssec.negative_trust_anchors.clone()), work: dnssec.work })
}

/// Builds the node from `config` and starts serving; announcing comes
/// last, so routers send traffic only once the node serves, and only
/// while it is healthy.
pub async fn start(config: Config, flags: Flags) -> Result<Running, DaemonError> {
    privileges::check(&config)?;
    let mode = config.resolver.mode.clone().load_hints(|path| match path {
        Some(path) => RootHints::from_file(&path),
        None => Ok(RootHints::iana()),
    })?;
    let validation = match &config.dnssec {
        Some(dnssec) => Some(validation(dnssec)?),
        None => None,
    };
    let (tap, tap_writer) = match &config.dnstap {
        Some(settings) => {
            let (tap, writer) = Tap::start(settings);
            (tap, Some(writer))
        }
        None => (Tap::off(), None),
    };
    let forwarding = matches!(mode, Mode::Forward(_));
    let upstream = NetUpstream { timeout: config.resolver.query_timeout, tap: UpstreamTap::new(&tap, forwarding) };
    let local = Arc::new(Local::new(LocalPolicy::load(&config.local)?));
    let resolver = Arc::new(
        Resolver::new(upstream, mode, config.resolver.limits, config.cache)
            .with_case_randomisation(config.resolver.randomise_case)
            .with_qname_minimisation(config.resolver.minimisation)
            .with_validation(validation)
            .with_local_policy(local.clone())
            .with_routes(config.routes.clone()),
    );
    let service = &config.service;
    let addresses: Vec<_> = service.vips.iter().chain(&service.listen).copied().collect();
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let (sockets, udp_drops) = sockets::bind_all(&addresses, service.port, workers, service.udp_receive_buffer)?;
    let encrypted = config.tls.as_ref().map(|tls| Encrypted::bind(tls, &addresses, &tap)).transpose()?;
    let mut fast_path = fast_path::load(&config)?;
    let mut cookie_map = match &fast_path {
        Some(fast_path) => {
            Some(fast_path.cookie_map().map_err(fast_path::context("the fast path's cookie maps".into()))?)
        }
        None => None,
    };
    let cookies = match &config.cookies {
        Some(source) => Some(cookies::start(source, cookie_map.as_mut())?),
        None => None,
    };
    // The XDP records go to dnstap only when the program makes them.
    let xdp_tap = match (fast_path.as_mut(), &config.dnstap) {
        (Some(loaded), Some(dnstap)) if dnstap.xdp_every > 0 => {
            Some(loaded.take_tap().map_err(fast_path::context("the fast path's dnstap ring".into()))?)
        }
        _ => None,
    };
    let (xdp_ring, xdp_tap_counters) = xdp_tap.unzip();
    let capture = match fast_path.as_mut() {
        Some(loaded) => {
            let ring = loaded.take_capture().map_err(fast_path::context("the fast path's capture ring".into()))?;
            Some(Capture::new(ring).map_err(DaemonError::Capture)?)
        }
        None => None,
    };
    let (feed, attachment) = match fast_path.as_mut() {
        Some(loaded) => {
            fast_path::attach(&config, loaded)?;
            if let Some(interface) = &config.service.interface {
                delivery::check_veth_peer(interface).await;
            }
            let attachment = watch_attachment(&config, loaded)?;
            let loaded = fast_path.take().expect("loaded");
            (Some(Arc::new(Feed::new(loaded, config.fast_path.write_policy))), attachment)
        }
        None => (None, None),
    };
    let edns = EdnsPolicy {
        udp_size: config.fast_path.edns_udp_size,
        nsid: Nsid::new(&service.nsid).expect("the config checked its length"),
        cookies: cookies.clone(),
    };
    let responder = Arc::new(Responder {
        resolver: resolver.clone(),
        stats: Default::default(),
        admission: ArcSwap::from_pointee(Admission::new(Acl::new(config.allow.clone()), edns, config.rate_limit)),
        sink: feed.clone().map(|feed| feed as Arc<dyn AnswerSink>),
        hot: hot_answers(service.hot_answers_max_bytes, feed.as_deref()).with_rrset_order(config.rrset_order),
        write_policy: config.fast_path.write_policy,
        rrset_order: config.rrset_order,
        turns: Default::default(),
    });
    let announcer = Arc::new(Announcer::new(config.announce.clone(), service.vips.clone()).await?);
    let node = Arc::new(Node {
        resolver,
        responder,
        feed,
        announcer,
        tap,
        xdp_tap: xdp_tap_counters,
        capture,
        top: Default::default(),
        local,
        certificate: encrypted.as_ref().map(|encrypted| encrypted.certificate.clone()),
        flags,
        warm: WarmStats::new(config.warm.is_some()),
        udp_drops,
    });

    let (stop_serving, serving) = watch::channel(false);
    let mut services = serve(&node, sockets, &config, serving.clone()).await?;
    if let Some(encrypted) = encrypted {
        encrypted.spawn(&node.responder, &mut services, &serving);
    }
    if let Some(writer) = tap_writer {
        services.spawn(Writer::run(writer, serving.clone()));
    }
    if let Some(ring) = xdp_ring {
        services.spawn(xdp_tap::run(ring, node.tap.clone(), node.top.clone(), serving.clone()));
    }
    if let (Some(cookies), Some(source)) = (cookies, config.cookies.clone()) {
        services.spawn(cookies::run(cookies, source, cookie_map, serving));
    }
    let watchdog = notify::watchdog_every();
    if let Some(every) = watchdog.filter(|every| *every <= config.announce.health.interval) {
        tracing::warn!(
            ?every,
            health = ?config.announce.health.interval,
            "the health checks feed the watchdog less often than it wants: raise WatchdogSec= or lower health.interval_ms"
        );
    }
    let probe = NodeProbe {
        attachment,
        resolver: node.resolver.clone(),
        question: config.announce.health.probe.clone(),
        timeout: config.announce.health.interval,
        watchdog: watchdog.is_some(),
    };
    let (stop_announcing, announcing) = watch::channel(false);
    let announcing = tokio::spawn(warm_then_announce(node.clone(), config.warm.clone(), probe, announcing));
    tracing::info!(vips = ?service.vips, port = service.port, tls = ?config.tls.as_ref().map(|t| (t.dot_port, t.doh_port)), mode = ?config.resolver.mode, control = %service.control_socket.display(), metrics = ?service.metrics, "serving");
    notify::notify("READY=1\nSTATUS=serving");
    Ok(Running { node, services, stop_serving, stop_announcing, announcing })
}

/// Warms the node as `warm` says, if at all, then announces (see
/// [`announce::run`]) until `stop` turns true; a stop during the warm
/// start ends it there, never announced.
async fn warm_then_announce(
    node: Arc<Node<NetUpstream>>,
    warm: Option<WarmSettings>,
    probe: NodeProbe<NetUpstream>,
    mut stop: watch::Receiver<bool>,
) {
    if let Some(settings) = warm {
        notify::notify(&format!("STATUS=warming from {}", settings.source));
        tokio::select! {
            () = warm::run(&settings, &node.responder, &node.warm) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        notify::notify("STATUS=serving, warm");
    }
    announce::run(node.announcer.clone(), probe, stop).await
}

/// The daemon's hot answers, made with the fast path's hash key when it
/// has one, so that one entry serves both; with a fast path, a repeat
/// that reaches them a second after its entry was offered offers it again.
fn hot_answers(max_bytes: usize, feed: Option<&Feed>) -> HotAnswers {
    let hash_key = feed.map_or_else(rand::random, Feed::hash_key);
    HotAnswers::new(hash_key, max_bytes, feed.map(|_| REOFFER_AFTER))
}

/// The health checks watch that this very program stays attached.
fn watch_attachment(config: &Config, fast_path: &mut FastPath) -> Result<Option<Attachment>, DaemonError> {
    let Some(interface) = &config.service.interface else { return Ok(None) };
    let program = fast_path
        .program_id()
        .map_err(|source| DaemonError::FastPath { context: "the XDP program's ID".into(), source: Box::new(source) })?;
    Attachment::new(interface, program).map(Some).map_err(DaemonError::Attachment)
}

/// Spawns the DNS services on `sockets`, the refresher, the control
/// socket and the metrics, all until `stop` turns true.
async fn serve(
    node: &Arc<Node<NetUpstream>>,
    sockets: Vec<sockets::Bound>,
    config: &Config,
    stop: watch::Receiver<bool>,
) -> Result<JoinSet<()>, DaemonError> {
    let mut services = JoinSet::new();
    let tcp_limits = config.service.tcp;
    for bound in sockets {
        for udp_socket in bound.udp {
            services.spawn(udp::serve(udp_socket, node.responder.clone(), node.tap.clone(), stop.clone()));
        }
        services.spawn(tcp::serve(bound.tcp, node.responder.clone(), tcp_limits, node.tap.clone(), stop.clone()));
    }
    if let Some(feed) = &node.feed {
        services.spawn(feed::refresh::run(feed.clone(), node.resolver.clone(), stop.clone()));
        services.spawn(feed::census::run(feed.clone(), stop.clone()));
        if let Some(interface) = config.service.interface.clone() {
            services.spawn(delivery::run(feed.clone(), interface, stop.clone()));
        }
    }
    let (control_socket, control_node, control_stop) =
        (config.service.control_socket.clone(), node.clone(), stop.clone());
    services.spawn(async move {
        if let Err(e) = control::serve(&control_socket, control_node, control_stop).await {
            tracing::error!(socket = %control_socket.display(), error = %e, "control socket");
        }
    });
    if let Some(addr) = config.service.metrics {
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|source| DaemonError::Metrics { addr, source })?;
        let metrics_node = node.clone();
        let pages = move |page| match page {
            metrics::Page::Metrics => metrics::render(&metrics_node),
            metrics::Page::Hot(n) => metrics_node.hot_names(n),
        };
        services.spawn(metrics::serve(listener, Arc::new(pages), stop));
    }
    Ok(services)
}

impl Running {
    /// SIGHUP: the configuration read again (see [`reload`]); logged.
    pub fn reload(&self) {
        let node = &self.node;
        match reload::reload(node) {
            Ok(done) => tracing::info!("{done}"),
            Err(e) => tracing::error!(error = %e, "reload refused; the configuration in force is kept"),
        }
    }

    /// Stops as `how` says; the VIPs go last (at once on [`Stop::Now`]),
    /// and the fast path with them: unpinned, the program is detached
    /// when the node is dropped. (A crash, unlike a stop, leaves it
    /// pinned and answering.)
    pub async fn stop(mut self, how: Stop) {
        notify::notify(match how {
            Stop::Graceful => "STOPPING=1\nSTATUS=withdrawing, then draining",
            Stop::Now => "STOPPING=1",
        });
        let announcer = &self.node.announcer;
        match how {
            Stop::Graceful => {
                let _ = self.stop_announcing.send(true);
                let _ = (&mut self.announcing).await;
                if let Err(e) = announcer.withdraw_for_stop().await {
                    tracing::error!(error = %e, "withdrawing");
                }
                let _ = self.stop_serving.send(true);
                let drained = async { while self.services.join_next().await.is_some() {} };
                if tokio::time::timeout(DRAIN, drained).await.is_err() {
                    tracing::warn!("queries still under way after {DRAIN:?}; stopping anyway");
                }
            }
            Stop::Now => self.announcing.abort(),
        }
        if let Err(e) = announcer.stop_now().await {
            tracing::error!(error = %e, "removing the VIPs");
        }
        self.services.abort_all();
        if let Some(feed) = &self.node.feed
            && let Err(e) = feed.unpin()
        {
            tracing::error!(error = %e, "unpinning the fast path");
        }
        tracing::info!(cache_entries = self.node.resolver.cache_len(), "stopped");
    }
}
