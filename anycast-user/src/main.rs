//! anycastd: the userspace half of an anycast DNS node. It loads and
//! attaches the XDP fast path, serves the VIPs over UDP and TCP, resolves
//! what the fast path cannot answer, and feeds the fast path's answer map.

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use anycast_user::{
    config::{self, Config, Flags, Resolution, XdpMode},
    fastpath::{FastPath, Settings},
    notify,
    resolver::{Mode, Resolver, hints::RootHints, upstream::NetUpstream},
    route::announce::{self, Announcer},
    server::{
        acl::Acl,
        control, metrics,
        ratelimit::Limiter,
        refresh::{self, Refresher},
        respond::{Feed, Responder},
        tcp::{self, TcpLimits},
        udp,
    },
};
use anyhow::{Context, Result};
use clap::Parser;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::watch,
    task::JoinSet,
};

/// Serves DNS on anycast VIPs: answers hot names from an XDP fast path and
/// resolves the rest, recursively from the root or through forwarders.
#[derive(Parser)]
#[command(name = "anycastd", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: Flags,
    /// Log filter (tracing's env-filter syntax, e.g. `info` or
    /// `anycast_user=debug`).
    #[arg(long, default_value = "info", env = "ANYCASTD_LOG")]
    log: String,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Ask a running anycastd through its control socket: `stats`, `dump`,
    /// or `purge NAME`.
    Ctl {
        /// The daemon's control socket.
        #[arg(long, default_value = config::DEFAULT_CONTROL_SOCKET)]
        socket: std::path::PathBuf,
        #[arg(required = true, num_args = 1..)]
        command: Vec<String>,
    },
}

/// How long a graceful stop waits for queries under way.
const DRAIN: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Ctl { socket, command }) = &cli.command {
        return match runtime(Some(1)).and_then(|rt| rt.block_on(control::request(socket, &command.join(" ")))) {
            Ok(reply) => {
                print!("{reply}");
                if reply.starts_with("error") { ExitCode::FAILURE } else { ExitCode::SUCCESS }
            }
            Err(e) => {
                eprintln!("anycastd ctl: {}: {e}", socket.display());
                ExitCode::FAILURE
            }
        };
    }
    let filter = match tracing_subscriber::EnvFilter::try_new(&cli.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("anycastd: --log {}: {e}", cli.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match Config::load(&cli.flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("anycastd: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime(config.threads).context("starting the runtime").and_then(|rt| rt.block_on(run(config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime: `threads` workers, or one per CPU the daemon may run
/// on.
fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}

async fn run(config: Config) -> Result<()> {
    let mode = match &config.resolution {
        Resolution::Recursive { root_hints: Some(path) } => Mode::Recursive(RootHints::from_file(path)?),
        Resolution::Recursive { root_hints: None } => Mode::Recursive(RootHints::iana()),
        Resolution::Forward { forwarders } => Mode::Forward(forwarders.clone()),
    };
    let resolver = Resolver::new(NetUpstream { timeout: config.query_timeout }, mode, config.limits, config.cache);
    // The sockets come before the fast path: a fast path taken over from
    // a previous daemon passes its misses up at once, and the kernel
    // queues them for these sockets rather than refusing them.
    let mut sockets = Vec::new();
    for ip in config.vips.iter().chain(&config.listen) {
        let addr = SocketAddr::new(*ip, config.port);
        let udp_socket = tokio::net::UdpSocket::from_std(bind(addr, Type::DGRAM)?.into())?;
        let tcp_socket = bind(addr, Type::STREAM)?;
        tcp_socket.listen(1024).with_context(|| format!("listening on {addr}"))?;
        sockets.push((udp_socket, tokio::net::TcpListener::from_std(tcp_socket.into())?));
    }
    let mut fast_path = fast_path(&config)?;
    // The announcement checks that this very program stays attached.
    let attached = match (&mut fast_path, &config.interface) {
        (Some(fast_path), Some(interface)) => Some((interface.clone(), fast_path.program_id()?)),
        _ => None,
    };
    let feed = fast_path.map(|mut fast_path| {
        let refresher = Refresher::default();
        if fast_path.taken_over() {
            match refresher.adopt(&mut fast_path) {
                Ok(n) => tracing::info!(entries = n, "the pinned answers are refreshed from here on"),
                Err(e) => tracing::warn!(error = %e, "reading the pinned answers; they expire unrefreshed"),
            }
        }
        let view =
            fast_path.answer_map_view().inspect_err(|e| tracing::warn!(error = %e, "a view of the answer map")).ok();
        Feed { fast_path: std::sync::Mutex::new(fast_path), view, policy: config.write_policy, refresher }
    });
    let responder = Arc::new(Responder {
        resolver,
        stats: Default::default(),
        acl: Acl::new(config.allow.clone()),
        edns_udp_size: config.edns_udp_size,
        feed,
        limiter: Limiter::new(&config.rate_limit),
        announcer: Default::default(),
    });

    let (stop, stopped) = watch::channel(false);
    let mut services = JoinSet::new();
    let tcp_limits = TcpLimits { idle: config.tcp_idle_timeout, ..TcpLimits::default() };
    for (udp_socket, listener) in sockets {
        services.spawn(udp::serve(udp_socket, responder.clone(), stopped.clone()));
        services.spawn(tcp::serve(listener, responder.clone(), tcp_limits, stopped.clone()));
    }
    services.spawn(refresh::run(responder.clone(), stopped.clone()));
    let control_socket = config.control_socket.clone();
    let (control_responder, control_stop) = (responder.clone(), stopped.clone());
    services.spawn(async move {
        if let Err(e) = control::serve(&control_socket, control_responder, control_stop).await {
            tracing::error!(socket = %control_socket.display(), error = %e, "control socket");
        }
    });
    if let Some(addr) = config.metrics {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("metrics on {addr}"))?;
        services.spawn(metrics::serve(listener, responder.clone(), stopped.clone()));
    }
    // Announcing comes last: routers send traffic only once the node is
    // serving, and only while it is healthy.
    let announcer = Arc::new(
        Announcer::new(config.announce.clone(), config.vips.clone(), attached)
            .await
            .context("setting up the route announcement")?,
    );
    let _ = responder.announcer.set(announcer.clone());
    let (stop_announcing, announcing_stopped) = watch::channel(false);
    let announcing = tokio::spawn(announce::run(announcer.clone(), responder.clone(), announcing_stopped));
    tracing::info!(vips = ?config.vips, port = config.port, mode = ?config.resolution, control = %config.control_socket.display(), metrics = ?config.metrics, "serving");
    notify::notify("READY=1\nSTATUS=serving");

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => {
            // Withdraw first and keep answering while routers converge;
            // then stop accepting and finish what is under way.
            tracing::info!("SIGTERM: withdrawing, then draining");
            notify::notify("STOPPING=1\nSTATUS=withdrawing, then draining");
            let _ = stop_announcing.send(true);
            let _ = announcing.await;
            if let Err(e) = announcer.withdraw_for_stop().await {
                tracing::error!(error = %e, "withdrawing");
            }
            let _ = stop.send(true);
            if tokio::time::timeout(DRAIN, async { while services.join_next().await.is_some() {} }).await.is_err() {
                tracing::warn!("queries still under way after {DRAIN:?}; stopping anyway");
            }
        }
        _ = interrupt.recv() => {
            tracing::info!("SIGINT: stopping");
            notify::notify("STOPPING=1");
            announcing.abort();
        }
    }
    // Last, or at once on SIGINT: the VIPs go.
    if let Err(e) = announcer.stop_now().await {
        tracing::error!(error = %e, "removing the VIPs");
    }
    services.abort_all();
    // A stop, unlike a crash, takes the fast path with it: unpinned, the
    // program is detached when the responder (and the fast path) is dropped.
    if let Some(feed) = &responder.feed
        && let Err(e) = feed.fast_path.lock().expect("fast path lock").unpin()
    {
        tracing::error!(error = %e, "unpinning the fast path");
    }
    tracing::info!(cache_entries = responder.resolver.cache_len(), "stopped");
    drop(responder);
    Ok(())
}

/// Loads and attaches the XDP program, unless the fast path is off.
fn fast_path(config: &Config) -> Result<Option<FastPath>> {
    let Some(interface) = config.interface.as_deref().filter(|_| config.xdp_mode != XdpMode::Off) else {
        tracing::warn!("the fast path is off: every query is answered in userspace");
        return Ok(None);
    };
    let settings = Settings {
        vips: config.vips.clone(),
        acl: Acl::new(config.allow.clone()),
        answer_capacity: config.answer_capacity,
        udp_port: config.port,
        edns_udp_size: config.edns_udp_size,
        rate_limit: config.rate_limit,
    };
    let mut fast_path = match &config.pin_dir {
        Some(dir) => FastPath::load_pinned(&settings, dir, interface)
            .with_context(|| format!("loading the XDP program pinned under {}", dir.display()))?,
        None => FastPath::load(&settings).context("loading the XDP program")?,
    };
    if fast_path.taken_over() {
        tracing::info!(interface, "the pinned maps are taken over: answers, counters and rate limits carry on");
    }
    use aya::programs::XdpMode as Attach;
    match config.xdp_mode {
        XdpMode::Native => fast_path
            .attach(interface, Attach::Driver)
            .with_context(|| format!("attaching XDP to {interface} (native)"))?,
        XdpMode::Generic => {
            tracing::warn!(interface, "XDP in generic mode, as configured: slower than native");
            fast_path
                .attach(interface, Attach::Skb)
                .with_context(|| format!("attaching XDP to {interface} (generic)"))?
        }
        XdpMode::Auto => {
            if let Err(native) = fast_path.attach(interface, Attach::Driver) {
                tracing::warn!(interface, error = %native, "native XDP unavailable; falling back to generic mode");
                fast_path
                    .attach(interface, Attach::Skb)
                    .with_context(|| format!("attaching XDP to {interface} (generic)"))?;
            }
        }
        XdpMode::Off => unreachable!("handled above"),
    }
    tracing::info!(interface, "fast path attached");
    Ok(Some(fast_path))
}

/// A socket bound to `addr` even before the address is on an interface
/// (IP_FREEBIND): the VIP may come and go with health.
fn bind(addr: SocketAddr, kind: Type) -> Result<Socket> {
    let protocol = if kind == Type::STREAM { Protocol::TCP } else { Protocol::UDP };
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
        socket.set_freebind_v6(true)?;
    } else {
        socket.set_freebind_v4(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into()).with_context(|| format!("binding {addr} ({kind:?})"))?;
    Ok(socket)
}
